//! Noise suppression with RNNoise (the `nnnoiseless` crate, pure Rust). RNNoise works on
//! 10 ms blocks at 48 kHz, so frames go up to 48 kHz, through it, and back down.
//!
//! Speech recognisers are often hurt by suppression (it removes parts of the voice along with
//! the noise); `attune eval room --noise-suppression` measures whether it helps here.

use super::resample::FrameResampler;
use super::{AudioError, FRAME_SAMPLES, SAMPLE_RATE};
use nnnoiseless::DenoiseState;
use std::collections::VecDeque;

const RNNOISE_RATE: u32 = 48_000;
/// RNNoise takes samples on the 16-bit scale.
const SCALE: f32 = 32_768.0;

/// Removes steady and babble noise from microphone frames, in place.
pub struct NoiseSuppressor {
    state: Box<DenoiseState<'static>>,
    up: FrameResampler,
    down: FrameResampler,
    high: Vec<f32>,
    cleaned: VecDeque<f32>,
}

impl NoiseSuppressor {
    /// A suppressor for frames of [`FRAME_SAMPLES`] at [`SAMPLE_RATE`].
    pub fn new() -> Result<Self, AudioError> {
        let high_frame = FRAME_SAMPLES * (RNNOISE_RATE / SAMPLE_RATE) as usize;
        let block = DenoiseState::FRAME_SIZE;
        Ok(Self {
            state: DenoiseState::new(),
            up: FrameResampler::new(SAMPLE_RATE, RNNOISE_RATE, FRAME_SAMPLES)?,
            down: FrameResampler::new(RNNOISE_RATE, SAMPLE_RATE, high_frame)?,
            high: Vec::with_capacity(high_frame + block),
            // One block of delay, so every frame can be filled whatever the block phase.
            cleaned: std::iter::repeat_n(0.0, block).collect(),
        })
    }

    /// Suppresses noise in one frame of [`FRAME_SAMPLES`] samples.
    pub fn process(&mut self, frame: &mut [f32]) -> Result<(), AudioError> {
        let high = self.up.process(frame)?;
        self.high.extend(high.iter().map(|v| v * SCALE));
        let block = DenoiseState::FRAME_SIZE;
        let mut out = [0.0; DenoiseState::FRAME_SIZE];
        let mut start = 0;
        while self.high.len() - start >= block {
            self.state
                .process_frame(&mut out, &self.high[start..start + block]);
            self.cleaned.extend(out.iter().map(|v| v / SCALE));
            start += block;
        }
        self.high.drain(..start);
        let n = high.len();
        let back: Vec<f32> = self.cleaned.drain(..n.min(self.cleaned.len())).collect();
        let low = self.down.process(&back)?;
        for (o, v) in frame.iter_mut().zip(low) {
            *o = v;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vad::EnergyDetector;

    /// White noise (deterministic).
    fn noise(n: usize, amplitude: f32) -> Vec<f32> {
        let mut state = 99u64;
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                amplitude * (((state >> 40) as f32 / 16_777_216.0) * 2.0 - 1.0)
            })
            .collect()
    }

    #[test]
    fn steady_noise_is_made_quieter_and_frames_keep_their_length() {
        let input = noise(3 * SAMPLE_RATE as usize, 0.05);
        let mut ns = NoiseSuppressor::new().expect("suppressor");
        let mut out = Vec::new();
        for chunk in input.chunks_exact(FRAME_SAMPLES) {
            let mut frame = chunk.to_vec();
            ns.process(&mut frame).expect("process");
            assert_eq!(frame.len(), FRAME_SAMPLES);
            out.extend(frame);
        }
        let last = SAMPLE_RATE as usize;
        let drop = EnergyDetector::level_db(&input[input.len() - last..])
            - EnergyDetector::level_db(&out[out.len() - last..]);
        // 6.6 dB here: RNNoise keeps some of a noise that fills the whole speech band.
        assert!(drop > 4.0, "steady noise only {drop:.1} dB quieter");
    }
}
