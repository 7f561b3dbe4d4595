//! Per-frame spectral descriptors: loudness, alpha ratio, Hammarberg index, spectral
//! slopes, MFCC 1–4 and spectral flux, all from one 512-point FFT of a Hamming-windowed
//! 25 ms frame at 16 kHz (31.25 Hz bins). Definitions follow eGeMAPS (Eyben et al.
//! 2016, table 1) unless a comment says otherwise.

use std::f32::consts::PI;
use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use super::ANALYSIS_RATE;
use super::error::FeatureError;
use super::frames::{FRAME_LEN, frame};

const FFT_LEN: usize = 512;
const N_BINS: usize = FFT_LEN / 2 + 1;
const BIN_HZ: f32 = ANALYSIS_RATE as f32 / FFT_LEN as f32;
/// Power floor: about 115 dB under a normalised speech frame, far below any real
/// content, so logs and ratios stay finite in digital silence.
const EPS: f32 = 1e-12;
/// Zwicker's critical-band edges (Hz) up to the 8 kHz Nyquist limit.
const BARK_EDGES: [f32; 22] = [
    0.0, 100.0, 200.0, 300.0, 400.0, 510.0, 630.0, 770.0, 920.0, 1080.0, 1270.0, 1480.0, 1720.0,
    2000.0, 2320.0, 2700.0, 3150.0, 3700.0, 4400.0, 5300.0, 6400.0, 7700.0,
];
/// Stevens' intensity-to-loudness power law as used in PLP auditory spectra (Hermansky
/// 1990), the basis of openSMILE-style loudness in eGeMAPS.
const LOUDNESS_EXPONENT: f32 = 0.33;
const N_MEL: usize = 26;
/// MFCC 1–4 (eGeMAPS extended set); c0 is dropped because it only encodes level.
pub const N_MFCC: usize = 4;

/// Spectral descriptors of one frame.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SpectralFrame {
    /// Perceptual loudness: Σ over critical bands of (equal-loudness-weighted energy)^0.33.
    pub loudness: f32,
    /// Alpha ratio (dB): energy 50–1000 Hz over energy 1–5 kHz.
    pub alpha_ratio_db: f32,
    /// Hammarberg index (dB): strongest bin 0–2 kHz over strongest bin 2–5 kHz.
    pub hammarberg_db: f32,
    /// Regression slope of the dB spectrum over 0–500 Hz (dB/kHz).
    pub slope_0_500: f32,
    /// Regression slope of the dB spectrum over 500–1500 Hz (dB/kHz).
    pub slope_500_1500: f32,
    /// Mel cepstral coefficients 1..=4.
    pub mfcc: [f32; N_MFCC],
    /// Spectral flux against the previous frame (0 for the first frame).
    pub flux: f32,
}

/// Reusable analyser: FFT plan, window, filterbanks and the previous spectrum.
pub struct SpectralAnalyzer {
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    bark_weights: Vec<f32>,
    mel: Vec<Vec<(usize, f32)>>,
    input: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    prev_mag: Option<Vec<f32>>,
}

impl Default for SpectralAnalyzer {
    fn default() -> Self {
        Self::new()
    }
}

impl SpectralAnalyzer {
    /// Builds the window and filterbanks once.
    pub fn new() -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(FFT_LEN);
        let window: Vec<f32> = (0..FRAME_LEN)
            .map(|n| 0.54 - 0.46 * (2.0 * PI * n as f32 / (FRAME_LEN - 1) as f32).cos())
            .collect();
        Self {
            input: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            bark_weights: bark_band_weights(),
            mel: mel_filterbank(),
            window,
            prev_mag: None,
            fft,
        }
    }

    /// Forgets the previous frame, so the next flux is 0.
    pub fn reset(&mut self) {
        self.prev_mag = None;
    }

    /// Analyses frame `i` of `x` (the caller guarantees it exists).
    pub fn analyse(&mut self, x: &[f32], i: usize) -> Result<SpectralFrame, FeatureError> {
        let power = self.power_spectrum(frame(x, i))?;
        let flux = self.flux(&power);
        Ok(SpectralFrame {
            loudness: self.loudness(&power),
            alpha_ratio_db: alpha_ratio_db(&power),
            hammarberg_db: hammarberg_db(&power),
            slope_0_500: band_slope(&power, 0.0, 500.0),
            slope_500_1500: band_slope(&power, 500.0, 1500.0),
            mfcc: self.mfcc(&power),
            flux,
        })
    }

    /// Power spectrum normalised by the window energy.
    fn power_spectrum(&mut self, samples: &[f32]) -> Result<Vec<f32>, FeatureError> {
        self.input.iter_mut().for_each(|v| *v = 0.0);
        for ((dst, &s), &w) in self.input.iter_mut().zip(samples).zip(&self.window) {
            *dst = s * w;
        }
        self.fft
            .process(&mut self.input, &mut self.spectrum)
            .map_err(|e| FeatureError::Internal(format!("fft: {e}")))?;
        let wsum: f32 = self.window.iter().map(|w| w * w).sum();
        Ok(self.spectrum.iter().map(|c| c.norm_sqr() / wsum).collect())
    }

    fn loudness(&self, power: &[f32]) -> f32 {
        BARK_EDGES
            .windows(2)
            .zip(&self.bark_weights)
            .map(|(edge, &w)| (w * band_energy(power, edge[0], edge[1])).powf(LOUDNESS_EXPONENT))
            .sum()
    }

    /// MFCC from a 26-band HTK mel filterbank, natural log and an orthonormal DCT-II.
    fn mfcc(&self, power: &[f32]) -> [f32; N_MFCC] {
        let log_mel: Vec<f32> = self
            .mel
            .iter()
            .map(|filter| {
                let e: f32 = filter.iter().map(|&(k, w)| w * power[k]).sum();
                (e + EPS).ln()
            })
            .collect();
        let mut out = [0.0; N_MFCC];
        let scale = (2.0 / N_MEL as f32).sqrt();
        for (n, c) in out.iter_mut().enumerate() {
            let q = (n + 1) as f32;
            *c = scale
                * log_mel
                    .iter()
                    .enumerate()
                    .map(|(m, &l)| l * (PI * q * (m as f32 + 0.5) / N_MEL as f32).cos())
                    .sum::<f32>();
        }
        out
    }

    /// Spectral flux: squared distance between consecutive magnitude spectra, each
    /// scaled to unit L2 norm. The scaling (our choice; eGeMAPS leaves it open) makes
    /// the flux describe changes of spectral shape, not of level, which loudness
    /// already covers.
    fn flux(&mut self, power: &[f32]) -> f32 {
        let mag: Vec<f32> = power.iter().map(|p| p.sqrt()).collect();
        let norm = mag.iter().map(|m| m * m).sum::<f32>().sqrt();
        let mag: Vec<f32> = if norm > 0.0 {
            mag.iter().map(|m| m / norm).collect()
        } else {
            mag
        };
        let flux = match &self.prev_mag {
            Some(prev) => prev.iter().zip(&mag).map(|(a, b)| (a - b) * (a - b)).sum(),
            None => 0.0,
        };
        self.prev_mag = Some(mag);
        flux
    }
}

fn bin_range(lo_hz: f32, hi_hz: f32) -> std::ops::Range<usize> {
    let lo = (lo_hz / BIN_HZ).ceil() as usize;
    let hi = ((hi_hz / BIN_HZ).ceil() as usize).min(N_BINS);
    lo.min(hi)..hi
}

/// Sum of power in [lo_hz, hi_hz).
fn band_energy(power: &[f32], lo_hz: f32, hi_hz: f32) -> f32 {
    power[bin_range(lo_hz, hi_hz)].iter().sum()
}

fn band_max(power: &[f32], lo_hz: f32, hi_hz: f32) -> f32 {
    power[bin_range(lo_hz, hi_hz)]
        .iter()
        .fold(0.0, |m, &p| m.max(p))
}

fn ratio_db(num: f32, den: f32) -> f32 {
    10.0 * ((num + EPS) / (den + EPS)).log10()
}

/// Alpha ratio: eGeMAPS, Eyben et al. 2016 (summed energy 50–1000 Hz vs 1–5 kHz);
/// rises with vocal effort as the spectrum flattens.
pub fn alpha_ratio_db(power: &[f32]) -> f32 {
    ratio_db(
        band_energy(power, 50.0, 1000.0),
        band_energy(power, 1000.0, 5000.0),
    )
}

/// Hammarberg index: Hammarberg et al. 1980 as used in eGeMAPS (strongest energy peak
/// 0–2 kHz vs 2–5 kHz).
pub fn hammarberg_db(power: &[f32]) -> f32 {
    ratio_db(
        band_max(power, 0.0, 2000.0),
        band_max(power, 2000.0, 5000.0),
    )
}

/// Least-squares slope of the dB power spectrum against frequency (kHz) over
/// [lo_hz, hi_hz]. The DC bin is skipped: it reflects the recording chain's offset and
/// high-pass, not the voice.
pub fn band_slope(power: &[f32], lo_hz: f32, hi_hz: f32) -> f32 {
    let range = bin_range(lo_hz.max(BIN_HZ), hi_hz + BIN_HZ * 0.5);
    let freqs: Vec<f32> = range.clone().map(|k| k as f32 * BIN_HZ / 1000.0).collect();
    let db: Vec<f32> = power[range]
        .iter()
        .map(|&p| 10.0 * (p + EPS).log10())
        .collect();
    super::functionals::linear_slope(&freqs, &db)
}

/// Equal-loudness weight per critical band at its centre frequency (Hermansky 1990,
/// PLP's approximation of the 40-phon curve).
fn bark_band_weights() -> Vec<f32> {
    BARK_EDGES
        .windows(2)
        .map(|e| {
            let f = f64::from(0.5 * (e[0] + e[1]));
            let w2 = (2.0 * std::f64::consts::PI * f).powi(2);
            let num = (w2 + 56.8e6) * w2 * w2;
            let den = (w2 + 6.3e6).powi(2) * (w2 + 0.38e9);
            (num / den) as f32
        })
        .collect()
}

fn hz_to_mel(f: f32) -> f32 {
    2595.0 * (1.0 + f / 700.0).log10()
}

fn mel_to_hz(m: f32) -> f32 {
    700.0 * (10f32.powf(m / 2595.0) - 1.0)
}

/// Triangular HTK-style mel filters between 20 Hz and 8 kHz, as sparse (bin, weight).
fn mel_filterbank() -> Vec<Vec<(usize, f32)>> {
    let (lo, hi) = (hz_to_mel(20.0), hz_to_mel(8000.0));
    let centres: Vec<f32> = (0..N_MEL + 2)
        .map(|i| mel_to_hz(lo + (hi - lo) * i as f32 / (N_MEL + 1) as f32))
        .collect();
    (0..N_MEL)
        .map(|m| {
            let (l, c, r) = (centres[m], centres[m + 1], centres[m + 2]);
            (0..N_BINS)
                .filter_map(|k| {
                    let f = k as f32 * BIN_HZ;
                    let w = if f > l && f <= c {
                        (f - l) / (c - l)
                    } else if f > c && f < r {
                        (r - f) / (r - c)
                    } else {
                        0.0
                    };
                    (w > 0.0).then_some((k, w))
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f32, amp: f32) -> Vec<f32> {
        (0..FRAME_LEN)
            .map(|i| amp * (2.0 * PI * freq * i as f32 / ANALYSIS_RATE as f32).sin())
            .collect()
    }

    #[test]
    fn alpha_ratio_sign_follows_energy_balance() {
        let mut a = SpectralAnalyzer::new();
        let low = a.analyse(&tone(300.0, 0.1), 0).expect("fft");
        let high = a.analyse(&tone(3000.0, 0.1), 0).expect("fft");
        assert!(low.alpha_ratio_db > 20.0 && high.alpha_ratio_db < -20.0);
        assert!(low.hammarberg_db > 20.0 && high.hammarberg_db < -20.0);
    }

    #[test]
    fn loudness_grows_with_level() {
        let mut a = SpectralAnalyzer::new();
        let quiet = a.analyse(&tone(1000.0, 0.01), 0).expect("fft").loudness;
        let loud = a.analyse(&tone(1000.0, 0.1), 0).expect("fft").loudness;
        // 20 dB more power -> 10^(2*0.33) ≈ 4.6x loudness.
        assert!((loud / quiet - 4.57).abs() < 0.1, "{}", loud / quiet);
    }

    #[test]
    fn silence_is_finite() {
        let mut a = SpectralAnalyzer::new();
        let f = a.analyse(&vec![0.0; FRAME_LEN], 0).expect("fft");
        assert!(f.alpha_ratio_db.is_finite() && f.slope_0_500.is_finite());
        assert!(f.mfcc.iter().all(|c| c.is_finite()));
    }
}
