//! Whisper's log-mel spectrogram (25 ms Hann frames every 10 ms, the model file's own filter
//! bank, log10 clamped to 8 below the maximum and scaled by (x + 4) / 4), as whisper.cpp computes
//! it, over the utterance only: no padding to 30 s.

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};
use std::sync::Arc;

/// Samples per frame (25 ms at 16 kHz) and the hop between frames (10 ms).
pub const FRAME: usize = 400;
/// Hop between frames.
pub const HOP: usize = 160;
/// FFT bins of one frame.
pub const BINS: usize = FRAME / 2 + 1;

/// Computes log-mel spectrograms with a fixed filter bank.
pub struct MelSpectrogram {
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    filters: Vec<f32>,
    n_mels: usize,
}

impl MelSpectrogram {
    /// `filters`: `n_mels` rows of [`BINS`] weights, as stored in the model file.
    pub fn new(filters: Vec<f32>, n_mels: usize) -> Self {
        let window = (0..FRAME)
            .map(|i| 0.5 * (1.0 - (2.0 * std::f32::consts::PI * i as f32 / FRAME as f32).cos()))
            .collect();
        Self {
            fft: RealFftPlanner::new().plan_fft_forward(FRAME),
            window,
            filters,
            n_mels,
        }
    }

    /// Log-mel of 16 kHz samples: `n_mels` rows of one value per 10 ms (row-major, time
    /// fastest) and the number of frames. Reflective padding at the start and zeros at the end
    /// centre the frames as whisper.cpp does.
    pub fn compute(&self, samples: &[f32]) -> (Vec<f32>, usize) {
        let pad = FRAME / 2;
        let mut x = Vec::with_capacity(samples.len() + 2 * pad);
        x.extend(
            (1..=pad)
                .rev()
                .map(|i| samples.get(i).copied().unwrap_or(0.0)),
        );
        x.extend_from_slice(samples);
        x.resize(samples.len() + 2 * pad, 0.0);
        let n_frames = (x.len() - FRAME) / HOP;
        let mut mel = vec![0.0f32; self.n_mels * n_frames];
        let mut input = vec![0.0f32; FRAME];
        let mut spectrum = vec![Complex::default(); BINS];
        let mut power = vec![0.0f32; BINS];
        for t in 0..n_frames {
            let frame = &x[t * HOP..t * HOP + FRAME];
            for ((d, s), w) in input.iter_mut().zip(frame).zip(&self.window) {
                *d = s * w;
            }
            // Lengths match by construction; a failure would leave the frame at zero power.
            if self.fft.process(&mut input, &mut spectrum).is_err() {
                continue;
            }
            for (p, c) in power.iter_mut().zip(&spectrum) {
                *p = c.norm_sqr();
            }
            for (m, row) in self.filters.chunks_exact(BINS).enumerate() {
                let e: f32 = row.iter().zip(&power).map(|(f, p)| f * p).sum();
                mel[m * n_frames + t] = e.max(1e-10).log10();
            }
        }
        let floor = mel.iter().fold(f32::MIN, |m, &v| m.max(v)) - 8.0;
        for v in &mut mel {
            *v = (v.max(floor) + 4.0) / 4.0;
        }
        (mel, n_frames)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tone_lights_the_filter_that_covers_it() {
        // Two "filters": bin 25 (1 kHz) and bin 100 (4 kHz).
        let mut filters = vec![0.0; 2 * BINS];
        filters[25] = 1.0;
        filters[BINS + 100] = 1.0;
        let mel = MelSpectrogram::new(filters, 2);
        let tone: Vec<f32> = (0..16_000)
            .map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 16_000.0).sin())
            .collect();
        let (m, n) = mel.compute(&tone);
        assert_eq!(n, 100);
        assert!(m[50] > m[n + 50] + 1.0, "{} vs {}", m[50], m[n + 50]);
    }
}
