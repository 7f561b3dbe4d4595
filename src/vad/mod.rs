//! Voice activity: a per-frame speech probability ([`VoiceDetector`]) and the endpointing
//! [`Segmenter`] that turns probabilities into utterances.

mod energy;
mod front;
mod segmenter;
mod silero;

pub use energy::EnergyDetector;
pub use front::FrontEnd;
pub use segmenter::{Segment, Segmenter, VadConfig};
pub use silero::SileroVad;

use std::path::PathBuf;
use thiserror::Error;

/// Errors of a voice detector; each names the model file.
#[derive(Debug, Error)]
pub enum VadError {
    /// The model could not be loaded.
    #[error("cannot load VAD model {path}: {why} (fix: attune models fetch)")]
    Load {
        /// The model file.
        path: PathBuf,
        /// What went wrong.
        why: String,
    },
    /// Inference failed on a frame.
    #[error("VAD inference failed: {0}")]
    Inference(String),
}

/// Gives the probability that a 32 ms frame of 16 kHz audio holds speech.
pub trait VoiceDetector: Send {
    /// Probability in 0..=1 for one frame of [`crate::audio::FRAME_SAMPLES`] samples.
    fn speech_probability(&mut self, frame: &[f32]) -> Result<f32, VadError>;
    /// Forgets carried state (between conversations, or after a gap in the audio).
    fn reset(&mut self);
}

/// Speech probability behind the cheap energy gate: frames quieter than `gate_db` dBFS never
/// reach the model, so silence costs almost nothing. A failing model counts as silence (and is
/// logged) rather than stopping the kiosk from listening.
pub fn gated_probability(detector: &mut dyn VoiceDetector, frame: &[f32], gate_db: f32) -> f32 {
    if EnergyDetector::level_db(frame) < gate_db {
        return 0.0;
    }
    detector.speech_probability(frame).unwrap_or_else(|e| {
        tracing::warn!("voice detector failed on a frame: {e}");
        0.0
    })
}
