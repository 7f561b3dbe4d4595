//! Formant frequencies F1–F3 from an LPC envelope (eGeMAPS lists F1–F3 centre
//! frequencies; Eyben et al. 2016). F1 rises with vocal effort as the jaw opens wider,
//! and F2/F3 scale with vocal-tract length, which lets a linear model relate the F0
//! level to the speaker's size instead of reading high F0 as high arousal.
//!
//! Method: pre-emphasis, Hamming window, autocorrelation LPC by Levinson–Durbin
//! (Makhoul 1975), the all-pole envelope 1/|A(e^{jω})|² sampled by a 512-point FFT, and
//! its first three peaks above 200 Hz. Peak picking on the envelope (rather than root
//! solving) can merge close formants, which only blurs the means the features use.

use std::f32::consts::PI;
use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use super::ANALYSIS_RATE;
use super::error::FeatureError;
use super::frames::{FRAME_LEN, frame};

/// LPC order: two poles per kHz of bandwidth plus two for the glottal/radiation tilt.
const ORDER: usize = 18;
const FFT_LEN: usize = 512;
const BIN_HZ: f32 = ANALYSIS_RATE as f32 / FFT_LEN as f32;
/// Lowest accepted formant: below it an envelope peak is the voice source, not F1.
const MIN_FORMANT_HZ: f32 = 200.0;
const MAX_FORMANT_HZ: f32 = 5000.0;
/// First-order pre-emphasis, the usual 0.97, flattens the source tilt before LPC.
const PRE_EMPHASIS: f32 = 0.97;

/// Reusable LPC formant analyser.
pub struct FormantAnalyzer {
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    input: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
}

impl Default for FormantAnalyzer {
    fn default() -> Self {
        Self::new()
    }
}

impl FormantAnalyzer {
    /// Plans the FFT and the window once.
    pub fn new() -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(FFT_LEN);
        Self {
            window: (0..FRAME_LEN)
                .map(|n| 0.54 - 0.46 * (2.0 * PI * n as f32 / (FRAME_LEN - 1) as f32).cos())
                .collect(),
            input: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            fft,
        }
    }

    /// F1–F3 in Hz of frame `i`; a formant that is not found is `None`.
    pub fn analyse(&mut self, x: &[f32], i: usize) -> Result<[Option<f32>; 3], FeatureError> {
        let samples = frame(x, i);
        let windowed: Vec<f32> = (0..FRAME_LEN)
            .map(|n| {
                let prev = if n > 0 { samples[n - 1] } else { 0.0 };
                (samples[n] - PRE_EMPHASIS * prev) * self.window[n]
            })
            .collect();
        let Some(a) = lpc(&windowed, ORDER) else {
            return Ok([None; 3]);
        };
        let envelope = self.envelope(&a)?;
        Ok(peaks(&envelope))
    }

    /// 1/|A|² on the FFT grid.
    fn envelope(&mut self, a: &[f32]) -> Result<Vec<f32>, FeatureError> {
        self.input.iter_mut().for_each(|v| *v = 0.0);
        self.input[..a.len()].copy_from_slice(a);
        self.fft
            .process(&mut self.input, &mut self.spectrum)
            .map_err(|e| FeatureError::Internal(format!("fft: {e}")))?;
        Ok(self
            .spectrum
            .iter()
            .map(|c| 1.0 / c.norm_sqr().max(1e-12))
            .collect())
    }
}

/// Levinson–Durbin recursion on the autocorrelation; returns [1, a1..ap], or `None`
/// for a silent frame or a numerically unstable one.
fn lpc(x: &[f32], order: usize) -> Option<Vec<f32>> {
    let r: Vec<f64> = (0..=order)
        .map(|k| {
            x.iter()
                .zip(&x[k..])
                .map(|(&a, &b)| f64::from(a) * f64::from(b))
                .sum()
        })
        .collect();
    if r[0] <= 1e-12 {
        return None;
    }
    let mut a = vec![0.0f64; order + 1];
    a[0] = 1.0;
    // A little white-noise correction (lag-0 scaling) keeps the recursion stable.
    let mut err = r[0] * (1.0 + 1e-9);
    for i in 1..=order {
        let acc: f64 = (1..i).map(|j| a[j] * r[i - j]).sum::<f64>() + r[i];
        let k = -acc / err;
        if !k.is_finite() || k.abs() >= 1.0 {
            return None;
        }
        let prev = a.clone();
        for j in 1..i {
            a[j] = prev[j] + k * prev[i - j];
        }
        a[i] = k;
        err *= 1.0 - k * k;
    }
    Some(a.iter().map(|&v| v as f32).collect())
}

/// First three local maxima of the envelope inside [MIN, MAX] Hz, refined parabolically.
fn peaks(env: &[f32]) -> [Option<f32>; 3] {
    let mut out = [None; 3];
    let lo = (MIN_FORMANT_HZ / BIN_HZ).ceil() as usize;
    let hi = ((MAX_FORMANT_HZ / BIN_HZ) as usize).min(env.len() - 2);
    let mut n = 0;
    for k in lo.max(1)..=hi {
        if n == 3 {
            break;
        }
        if env[k] > env[k - 1] && env[k] >= env[k + 1] {
            let (a, b, c) = (env[k - 1].ln(), env[k].ln(), env[k + 1].ln());
            let den = a - 2.0 * b + c;
            let off = if den.abs() < 1e-12 {
                0.0
            } else {
                (0.5 * (a - c) / den).clamp(-0.5, 0.5)
            };
            out[n] = Some((k as f32 + off) * BIN_HZ);
            n += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Impulse train through two resonators at 700 and 1200 Hz (an /a/-like vowel).
    fn vowel() -> Vec<f32> {
        let mut x: Vec<f32> = (0..4000)
            .map(|i| if i % 128 == 0 { 1.0 } else { 0.0 })
            .collect();
        for (f, bw) in [(700.0f32, 80.0f32), (1200.0, 90.0), (2600.0, 120.0)] {
            let r = (-PI * bw / ANALYSIS_RATE as f32).exp();
            let c = 2.0 * r * (2.0 * PI * f / ANALYSIS_RATE as f32).cos();
            let (mut y1, mut y2) = (0.0f32, 0.0f32);
            for v in x.iter_mut() {
                let y = *v + c * y1 - r * r * y2;
                y2 = y1;
                y1 = y;
                *v = y;
            }
        }
        x
    }

    #[test]
    fn finds_resonances() {
        let f = FormantAnalyzer::new().analyse(&vowel(), 5).expect("fft");
        let f1 = f[0].expect("F1");
        let f2 = f[1].expect("F2");
        assert!((f1 - 700.0).abs() < 60.0, "{f1}");
        assert!((f2 - 1200.0).abs() < 80.0, "{f2}");
    }

    #[test]
    fn silence_has_no_formants() {
        let f = FormantAnalyzer::new().analyse(&[0.0; 800], 0).expect("fft");
        assert_eq!(f, [None; 3]);
    }
}
