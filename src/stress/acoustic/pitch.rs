//! F0 estimation, voicing and autocorrelation HNR per frame.
//!
//! F0 follows YIN (de Cheveigné & Kawahara 2002): the squared-difference function
//! d(τ) = E(0) + E(τ) − 2·r(τ), its cumulative-mean normalisation d'(τ), the first dip
//! under an absolute threshold and parabolic refinement. The cross term r(τ) is computed
//! with one real FFT pair per frame, so the cost does not grow with the lag range.
//! HNR is eGeMAPS' "HNRdBACF" (Eyben et al. 2016): 10·log10(r'/(1 − r')) with r' the
//! normalised autocorrelation at the period (Boersma 1993).

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use super::ANALYSIS_RATE;
use super::error::FeatureError;
use super::frames::{Activity, FRAME_LEN, HOP};
use super::functionals::runs;

/// Lowest F0 searched (Hz): below ordinary male creak-free speech.
pub const F0_MIN_HZ: f32 = 55.0;
/// Highest F0 searched (Hz): covers shouted and frightened female speech.
pub const F0_MAX_HZ: f32 = 600.0;
/// Reference of the semitone scale, as in eGeMAPS (A0 = 27.5 Hz).
pub const SEMITONE_REF_HZ: f32 = 27.5;

/// Integration window: must exceed the longest period (291 samples at 55 Hz).
const WIN: usize = 512;
const MIN_LAG: usize = (ANALYSIS_RATE as f32 / F0_MAX_HZ) as usize;
const MAX_LAG: usize = (ANALYSIS_RATE as f32 / F0_MIN_HZ) as usize + 1;
const FFT_LEN: usize = 1024;
/// YIN's absolute threshold for taking the first dip (the paper uses 0.1–0.15).
const DIP_THRESHOLD: f32 = 0.15;
/// A frame is voiced when its best aperiodicity d'(T) is under this value.
const VOICING_THRESHOLD: f32 = 0.3;
/// Voiced runs shorter than this (frames) are treated as spurious.
const MIN_VOICED_RUN: usize = 3;
/// HNR is clipped to this range (dB) so a perfect tone or pure noise stays finite.
const HNR_RANGE_DB: (f32, f32) = (-20.0, 40.0);

/// Pitch analysis result for one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PitchFrame {
    /// Final voicing decision (after activity gating and run clean-up).
    pub voiced: bool,
    /// F0 in Hz (meaningful only when voiced).
    pub f0_hz: f32,
    /// Period in samples at the analysis rate (meaningful only when voiced).
    pub period: f32,
    /// YIN aperiodicity d'(T): 0 for a perfectly periodic frame, about 1 for noise.
    pub aperiodicity: f32,
    /// Harmonics-to-noise ratio from the normalised autocorrelation at the period (dB).
    pub hnr_db: f32,
}

impl PitchFrame {
    /// A frame that was not analysed: unvoiced, aperiodic, the lowest HNR.
    pub const SILENT: PitchFrame = PitchFrame {
        voiced: false,
        f0_hz: 0.0,
        period: 0.0,
        aperiodicity: 1.0,
        hnr_db: HNR_RANGE_DB.0,
    };
}

/// Converts Hz to semitones re 27.5 Hz (eGeMAPS F0 scale).
pub fn hz_to_semitones(f0: f32) -> f32 {
    12.0 * (f0.max(1.0) / SEMITONE_REF_HZ).log2()
}

/// Reusable YIN analyser (FFT plans and buffers).
pub struct Yin {
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
    win_buf: Vec<f32>,
    seg_buf: Vec<f32>,
    win_spec: Vec<Complex<f32>>,
    seg_spec: Vec<Complex<f32>>,
    corr: Vec<f32>,
    diff: Vec<f32>,
    squares: Vec<f64>,
    energy_at: Vec<f32>,
}

impl Default for Yin {
    fn default() -> Self {
        Self::new()
    }
}

impl Yin {
    /// Plans the FFTs and buffers once; analysing frames then allocates nothing.
    pub fn new() -> Self {
        let mut planner = RealFftPlanner::<f32>::new();
        let forward = planner.plan_fft_forward(FFT_LEN);
        let inverse = planner.plan_fft_inverse(FFT_LEN);
        Self {
            win_buf: forward.make_input_vec(),
            seg_buf: forward.make_input_vec(),
            win_spec: forward.make_output_vec(),
            seg_spec: forward.make_output_vec(),
            corr: inverse.make_output_vec(),
            diff: vec![0.0; MAX_LAG + 2],
            squares: vec![0.0; WIN + MAX_LAG + 1],
            energy_at: Vec::with_capacity(MAX_LAG + 2),
            forward,
            inverse,
        }
    }

    /// Analyses the window centred on sample `center` (zero outside the signal).
    /// Returns an unvoiced-by-default frame; the voicing decision is made by [`track`].
    pub fn analyse(&mut self, x: &[f32], center: usize) -> Result<PitchFrame, FeatureError> {
        self.load(x, center);
        // The energies read the segment before the FFT reuses its buffer.
        let e0 = self.energies();
        self.cross_correlate()?;
        self.difference(e0);
        Ok(self.pick(e0))
    }

    /// Copies the analysis window and the longer comparison segment.
    fn load(&mut self, x: &[f32], center: usize) {
        let start = center as isize - ((WIN + MAX_LAG) / 2) as isize;
        self.win_buf.iter_mut().for_each(|v| *v = 0.0);
        self.seg_buf.iter_mut().for_each(|v| *v = 0.0);
        for j in 0..WIN + MAX_LAG + 1 {
            let idx = start + j as isize;
            let v = if idx >= 0 && (idx as usize) < x.len() {
                x[idx as usize]
            } else {
                0.0
            };
            self.seg_buf[j] = v;
            if j < WIN {
                self.win_buf[j] = v;
            }
        }
    }

    /// r(τ) = Σ_j w[j]·s[j+τ] for τ ≤ MAX_LAG via FFT (no wrap-around: the segment is
    /// shorter than the FFT).
    fn cross_correlate(&mut self) -> Result<(), FeatureError> {
        self.forward
            .process(&mut self.win_buf, &mut self.win_spec)
            .map_err(|e| FeatureError::Internal(format!("fft: {e}")))?;
        self.forward
            .process(&mut self.seg_buf, &mut self.seg_spec)
            .map_err(|e| FeatureError::Internal(format!("fft: {e}")))?;
        for (s, w) in self.seg_spec.iter_mut().zip(&self.win_spec) {
            *s *= w.conj();
        }
        let last = self.seg_spec.len() - 1;
        self.seg_spec[0].im = 0.0;
        self.seg_spec[last].im = 0.0;
        self.inverse
            .process(&mut self.seg_spec, &mut self.corr)
            .map_err(|e| FeatureError::Internal(format!("ifft: {e}")))?;
        let norm = 1.0 / FFT_LEN as f32;
        self.corr.iter_mut().for_each(|v| *v *= norm);
        Ok(())
    }

    /// Window energy E(0), and the sliding energies E(τ) of the shifted windows into
    /// `self.energy_at`.
    fn energies(&mut self) -> f32 {
        let sq = &mut self.squares;
        for (s, &v) in sq.iter_mut().zip(&self.seg_buf[..WIN + MAX_LAG + 1]) {
            *s = f64::from(v) * f64::from(v);
        }
        let mut e = sq[..WIN].iter().sum::<f64>();
        let e0 = e as f32;
        let out = &mut self.energy_at;
        out.clear();
        out.push(e0);
        for tau in 1..=MAX_LAG + 1 {
            e += sq[tau + WIN - 1] - sq[tau - 1];
            out.push(e.max(0.0) as f32);
        }
        e0
    }

    /// Cumulative-mean-normalised difference d'(τ) into `self.diff`.
    fn difference(&mut self, e0: f32) {
        self.diff[0] = 1.0;
        let mut cum = 0.0f64;
        let lags = self
            .energy_at
            .iter()
            .zip(&self.corr)
            .zip(self.diff.iter_mut());
        for (tau, ((&et, &r), out)) in lags.enumerate().take(MAX_LAG + 2).skip(1) {
            let d = (e0 + et - 2.0 * r).max(0.0);
            cum += f64::from(d);
            *out = if cum > 0.0 {
                (f64::from(d) * tau as f64 / cum) as f32
            } else {
                1.0
            };
        }
    }

    /// First dip under the threshold (else the global minimum), refined parabolically.
    fn pick(&self, e0: f32) -> PitchFrame {
        let d = &self.diff;
        let mut best = (MIN_LAG..=MAX_LAG)
            .min_by(|&a, &b| d[a].total_cmp(&d[b]))
            .unwrap_or(MIN_LAG);
        if let Some(first) = (MIN_LAG..=MAX_LAG).find(|&t| d[t] < DIP_THRESHOLD) {
            let mut t = first;
            while t < MAX_LAG && d[t + 1] < d[t] {
                t += 1;
            }
            best = t;
        }
        let period = best as f32 + parabolic_offset(d[best - 1], d[best], d[best + 1]);
        let r = normalised_acf(e0, self.energy_at[best], self.corr[best]);
        PitchFrame {
            voiced: false,
            f0_hz: ANALYSIS_RATE as f32 / period,
            period,
            aperiodicity: d[best].clamp(0.0, 2.0),
            hnr_db: hnr_db(r),
        }
    }
}

/// Vertex offset of the parabola through three equally spaced points, within ±0.5.
fn parabolic_offset(a: f32, b: f32, c: f32) -> f32 {
    let den = a - 2.0 * b + c;
    if den.abs() < 1e-12 {
        0.0
    } else {
        (0.5 * (a - c) / den).clamp(-0.5, 0.5)
    }
}

/// r' = 2·r(τ)/(E(0)+E(τ)), the correlation of the window with its shifted copy.
fn normalised_acf(e0: f32, et: f32, r: f32) -> f32 {
    let den = e0 + et;
    if den <= 0.0 {
        0.0
    } else {
        (2.0 * r / den).clamp(0.0, 1.0)
    }
}

/// HNR in dB from the normalised autocorrelation (Boersma 1993), clipped.
pub fn hnr_db(r: f32) -> f32 {
    let r = r.clamp(1e-6, 1.0 - 1e-6);
    (10.0 * (r / (1.0 - r)).log10()).clamp(HNR_RANGE_DB.0, HNR_RANGE_DB.1)
}

/// Pitch track over all frames: YIN per active frame, voicing decision, removal of
/// short voiced runs and a 3-point median on F0 inside runs (removes single-frame
/// octave jumps without touching real glides).
pub fn track(x: &[f32], activity: &Activity) -> Result<Vec<PitchFrame>, FeatureError> {
    let mut yin = Yin::new();
    let mut out = Vec::with_capacity(activity.active.len());
    let (first, last) = activity.span;
    for (i, &active) in activity.active.iter().enumerate() {
        // Outside the active span nothing reads the pitch: the endpointer's pre-roll and
        // trailing silence cost no YIN analysis.
        if !(first..=last).contains(&i) {
            out.push(PitchFrame::SILENT);
            continue;
        }
        let mut frame = yin.analyse(x, i * HOP + FRAME_LEN / 2)?;
        frame.voiced = active
            && frame.aperiodicity < VOICING_THRESHOLD
            && (F0_MIN_HZ..=F0_MAX_HZ).contains(&frame.f0_hz);
        out.push(frame);
    }
    drop_short_runs(&mut out);
    median_smooth(&mut out);
    Ok(out)
}

fn drop_short_runs(frames: &mut [PitchFrame]) {
    let flags: Vec<bool> = frames.iter().map(|f| f.voiced).collect();
    for (s, e) in runs(&flags) {
        if e - s < MIN_VOICED_RUN {
            frames[s..e].iter_mut().for_each(|f| f.voiced = false);
        }
    }
}

fn median_smooth(frames: &mut [PitchFrame]) {
    let flags: Vec<bool> = frames.iter().map(|f| f.voiced).collect();
    for (s, e) in runs(&flags) {
        let periods: Vec<f32> = frames[s..e].iter().map(|f| f.period).collect();
        for k in 1..periods.len().saturating_sub(1) {
            let mut w = [periods[k - 1], periods[k], periods[k + 1]];
            w.sort_by(f32::total_cmp);
            frames[s + k].period = w[1];
            frames[s + k].f0_hz = ANALYSIS_RATE as f32 / w[1];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn harmonic(f0: f32, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let t = i as f32 / ANALYSIS_RATE as f32;
                (1..=5)
                    .map(|h| (2.0 * std::f32::consts::PI * f0 * h as f32 * t).sin() / h as f32)
                    .sum::<f32>()
            })
            .collect()
    }

    #[test]
    fn yin_finds_period_of_harmonic_complex() {
        for f0 in [80.0, 120.0, 200.0, 350.0, 500.0] {
            let x = harmonic(f0, 8000);
            let frame = Yin::new().analyse(&x, 4000).expect("fft");
            assert!(
                (frame.f0_hz - f0).abs() / f0 < 0.01,
                "{f0}: {}",
                frame.f0_hz
            );
            assert!(frame.aperiodicity < 0.05);
            assert!(frame.hnr_db > 20.0);
        }
    }

    #[test]
    fn semitone_scale() {
        assert!((hz_to_semitones(55.0) - 12.0).abs() < 1e-4);
        assert!((hz_to_semitones(27.5)).abs() < 1e-4);
    }

    #[test]
    fn hnr_stays_finite_at_extremes() {
        assert_eq!(hnr_db(1.0), HNR_RANGE_DB.1);
        assert_eq!(hnr_db(0.0), HNR_RANGE_DB.0);
    }
}
