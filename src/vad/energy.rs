//! An energy detector: speech probability from frame loudness.
//!
//! Used as the cheap gate in front of the neural detector (silence costs almost nothing) and
//! on its own where no model is wanted (tests, synthetic signals).

use super::{VadError, VoiceDetector};

/// Maps frame level in dBFS to a probability with a logistic curve around `threshold_db`.
#[derive(Debug, Clone)]
pub struct EnergyDetector {
    threshold_db: f32,
}

impl EnergyDetector {
    /// A detector that gives 0.5 at `threshold_db` dBFS (e.g. -45).
    pub fn new(threshold_db: f32) -> Self {
        Self { threshold_db }
    }

    /// The RMS level of a frame in dBFS (-120 for digital silence).
    pub fn level_db(frame: &[f32]) -> f32 {
        if frame.is_empty() {
            return -120.0;
        }
        let power = frame.iter().map(|s| s * s).sum::<f32>() / frame.len() as f32;
        (10.0 * power.max(1e-12).log10()).max(-120.0)
    }
}

impl VoiceDetector for EnergyDetector {
    fn speech_probability(&mut self, frame: &[f32]) -> Result<f32, VadError> {
        // 3 dB per logistic unit: a clear step between room noise and a voice.
        let x = (Self::level_db(frame) - self.threshold_db) / 3.0;
        Ok(1.0 / (1.0 + (-x).exp()))
    }

    fn reset(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loud_frames_are_speech_and_silence_is_not() {
        let mut d = EnergyDetector::new(-45.0);
        let loud: Vec<f32> = (0..512).map(|i| (i as f32 * 0.1).sin() * 0.3).collect();
        let quiet = vec![0.0001f32; 512];
        assert!(d.speech_probability(&loud).expect("p") > 0.99);
        assert!(d.speech_probability(&quiet).expect("p") < 0.01);
        assert!((EnergyDetector::level_db(&[1.0; 64]) - 0.0).abs() < 1e-3);
        assert_eq!(EnergyDetector::level_db(&[]), -120.0);
    }
}
