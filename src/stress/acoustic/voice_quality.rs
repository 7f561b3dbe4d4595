//! Cycle-level voice quality: jitter, shimmer and the H1–H2 harmonic difference.
//!
//! Jitter and shimmer use Praat's "local" definitions (Boersma & Weenink; also the
//! eGeMAPS definitions, Eyben et al. 2016): the mean absolute difference between
//! consecutive glottal periods divided by the mean period, and the mean absolute
//! dB ratio of consecutive cycle amplitudes. Cycles are marked by peak picking guided by
//! the frame F0 (each next peak searched within ±20 % of one period), which is cruder
//! than Praat's waveform matching but deterministic and cheap.

use std::f64::consts::PI;

use super::ANALYSIS_RATE;
use super::frames::{FRAME_LEN, HOP};
use super::functionals::runs;
use super::pitch::PitchFrame;

/// Praat's "maximum period factor": larger jumps between neighbours are not jitter but
/// a tracking or voicing break, so the pair is skipped.
const MAX_PERIOD_FACTOR: f32 = 1.3;
/// Praat's "maximum amplitude factor" for shimmer, likewise.
const MAX_AMPLITUDE_FACTOR: f32 = 1.6;
/// Search window for the next cycle peak, as a fraction of the expected period.
const SEARCH: f32 = 0.2;
/// Window for harmonic amplitudes: 40 ms resolves H1 from H2 down to about 60 Hz.
const HARMONIC_WIN: usize = 640;
/// H1–H2 is clipped to this range (dB); beyond it one harmonic is simply absent.
const H1_H2_RANGE_DB: f32 = 30.0;

/// One glottal cycle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cycle {
    /// Period in samples at the analysis rate.
    pub period: f32,
    /// Peak-to-peak amplitude inside the cycle.
    pub amplitude: f32,
}

/// Marks cycles inside every voiced run; one vector per run so that differences are
/// never taken across a voicing break.
pub fn cycles(x: &[f32], pitch: &[PitchFrame]) -> Vec<Vec<Cycle>> {
    let flags: Vec<bool> = pitch.iter().map(|p| p.voiced).collect();
    runs(&flags)
        .into_iter()
        .map(|(s, e)| run_cycles(x, pitch, s, e))
        .collect()
}

/// Sample range covered by frames s..e (their central hops).
fn run_bounds(x: &[f32], s: usize, e: usize) -> (usize, usize) {
    let start = (s * HOP + FRAME_LEN / 2).saturating_sub(HOP / 2);
    let end = ((e - 1) * HOP + FRAME_LEN / 2 + HOP / 2).min(x.len());
    (start, end)
}

fn run_cycles(x: &[f32], pitch: &[PitchFrame], s: usize, e: usize) -> Vec<Cycle> {
    let (start, end) = run_bounds(x, s, e);
    let period_at = |pos: f32| {
        let idx = ((pos as usize + HOP / 2).saturating_sub(FRAME_LEN / 2) / HOP).clamp(s, e - 1);
        pitch[idx].period
    };
    let first_period = period_at(start as f32) as usize;
    if start + first_period >= end {
        return Vec::new();
    }
    let mut marks = vec![refined_peak(x, argmax(x, start, start + first_period))];
    loop {
        let last = marks[marks.len() - 1];
        let t = period_at(last);
        let lo = (last + t * (1.0 - SEARCH)).ceil() as usize;
        let hi = (last + t * (1.0 + SEARCH)).floor() as usize;
        if hi + 1 >= end || lo >= hi {
            break;
        }
        marks.push(refined_peak(x, argmax(x, lo, hi + 1)));
    }
    marks
        .windows(2)
        .map(|m| Cycle {
            period: m[1] - m[0],
            amplitude: peak_to_peak(x, m[0] as usize, m[1] as usize + 1),
        })
        .collect()
}

fn argmax(x: &[f32], lo: usize, hi: usize) -> usize {
    (lo..hi.min(x.len()))
        .max_by(|&a, &b| x[a].total_cmp(&x[b]).then(b.cmp(&a)))
        .unwrap_or(lo)
}

/// Peak position refined by a parabola through the peak and its neighbours.
fn refined_peak(x: &[f32], i: usize) -> f32 {
    if i == 0 || i + 1 >= x.len() {
        return i as f32;
    }
    let (a, b, c) = (x[i - 1], x[i], x[i + 1]);
    let den = a - 2.0 * b + c;
    let off = if den.abs() < 1e-12 {
        0.0
    } else {
        (0.5 * (a - c) / den).clamp(-0.5, 0.5)
    };
    i as f32 + off
}

fn peak_to_peak(x: &[f32], lo: usize, hi: usize) -> f32 {
    let seg = &x[lo.min(x.len())..hi.min(x.len())];
    let max = seg.iter().fold(f32::MIN, |m, &v| m.max(v));
    let min = seg.iter().fold(f32::MAX, |m, &v| m.min(v));
    if seg.is_empty() { 0.0 } else { max - min }
}

/// Local jitter (fraction, Praat definition); 0 when fewer than two usable cycles.
pub fn jitter_local(runs: &[Vec<Cycle>]) -> f32 {
    let mut diff_sum = 0.0f64;
    let mut n_diff = 0usize;
    let mut period_sum = 0.0f64;
    let mut n_period = 0usize;
    for run in runs {
        for c in run {
            period_sum += f64::from(c.period);
            n_period += 1;
        }
        for w in run.windows(2) {
            let (a, b) = (w[0].period, w[1].period);
            if a > 0.0 && b > 0.0 && a.max(b) / a.min(b) <= MAX_PERIOD_FACTOR {
                diff_sum += f64::from((a - b).abs());
                n_diff += 1;
            }
        }
    }
    if n_diff == 0 || period_sum <= 0.0 {
        return 0.0;
    }
    ((diff_sum / n_diff as f64) / (period_sum / n_period as f64)) as f32
}

/// Local shimmer in dB (Praat definition); 0 when fewer than two usable cycles.
pub fn shimmer_local_db(runs: &[Vec<Cycle>]) -> f32 {
    let ratios: Vec<f32> = runs
        .iter()
        .flat_map(|run| run.windows(2))
        .filter_map(|w| {
            let (a, b) = (w[0].amplitude, w[1].amplitude);
            let ok = a > 0.0 && b > 0.0 && a.max(b) / a.min(b) <= MAX_AMPLITUDE_FACTOR;
            ok.then(|| (20.0 * (b / a).log10()).abs())
        })
        .collect();
    super::functionals::mean(&ratios)
}

/// The Hann window [`h1_h2_db`] expects (computed once per utterance).
pub fn harmonic_window() -> Vec<f64> {
    (0..HARMONIC_WIN)
        .map(|n| 0.5 - 0.5 * (2.0 * PI * n as f64 / HARMONIC_WIN as f64).cos())
        .collect()
}

/// H1–H2 (dB): level of the first harmonic over the second, from single-frequency DFTs
/// of a Hann-windowed 40 ms segment at exactly F0 and 2·F0 (eGeMAPS uses H1–H2 as a
/// breathy-vs-pressed phonation cue). `window` comes from [`harmonic_window`].
pub fn h1_h2_db(x: &[f32], center: usize, f0_hz: f32, window: &[f64]) -> f32 {
    let f0 = f64::from(f0_hz);
    let mut h1 = Harmonic::new(f0);
    let mut h2 = Harmonic::new(2.0 * f0);
    // Window positions before the signal starts only turn the phasors; after it ends, nothing.
    let start = center as isize - (HARMONIC_WIN / 2) as isize;
    let skip = usize::try_from(-start).unwrap_or(0).min(window.len());
    for _ in 0..skip {
        h1.turn();
        h2.turn();
    }
    let first = usize::try_from(start).unwrap_or(0);
    let samples = x.get(first..).unwrap_or(&[]);
    for (&w, &s) in window[skip..].iter().zip(samples) {
        let v = w * f64::from(s);
        h1.add(v);
        h2.add(v);
    }
    let db = 20.0 * ((h1.amplitude() + 1e-9) / (h2.amplitude() + 1e-9)).log10();
    (db as f32).clamp(-H1_H2_RANGE_DB, H1_H2_RANGE_DB)
}

/// |Σ w[n]·x[n]·e^{-iωn}| accumulated sample by sample, the phasor advanced by a rotation
/// (no trig per sample).
struct Harmonic {
    rot: (f64, f64),
    phasor: (f64, f64),
    sum: (f64, f64),
}

impl Harmonic {
    fn new(freq: f64) -> Self {
        let omega = 2.0 * PI * freq / f64::from(ANALYSIS_RATE);
        Self {
            rot: (omega.cos(), -omega.sin()),
            phasor: (1.0, 0.0),
            sum: (0.0, 0.0),
        }
    }

    fn add(&mut self, v: f64) {
        self.sum.0 += v * self.phasor.0;
        self.sum.1 += v * self.phasor.1;
        self.turn();
    }

    fn turn(&mut self) {
        let (re, im) = self.phasor;
        let (rr, ri) = self.rot;
        self.phasor = (re * rr - im * ri, re * ri + im * rr);
    }

    fn amplitude(&self) -> f64 {
        (self.sum.0 * self.sum.0 + self.sum.1 * self.sum.1).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn voiced_frames(n: usize, f0: f32) -> Vec<PitchFrame> {
        vec![
            PitchFrame {
                voiced: true,
                f0_hz: f0,
                period: ANALYSIS_RATE as f32 / f0,
                aperiodicity: 0.0,
                hnr_db: 30.0,
            };
            n
        ]
    }

    fn pulse_train(f0: f32, n: usize, shimmer: bool) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let t = i as f32 / ANALYSIS_RATE as f32;
                let cycle = (t * f0) as usize;
                let amp = if shimmer && cycle % 2 == 1 { 0.8 } else { 1.0 };
                amp * ((2.0 * std::f32::consts::PI * f0 * t).sin()
                    + 0.5 * (4.0 * std::f32::consts::PI * f0 * t).sin())
            })
            .collect()
    }

    #[test]
    fn steady_voice_has_tiny_jitter_and_shimmer() {
        let x = pulse_train(160.0, 16000, false);
        let c = cycles(&x, &voiced_frames(98, 160.0));
        assert!(c[0].len() > 100);
        assert!(jitter_local(&c) < 0.005, "{}", jitter_local(&c));
        assert!(shimmer_local_db(&c) < 0.1);
    }

    #[test]
    fn alternating_amplitude_shows_shimmer() {
        let x = pulse_train(160.0, 16000, true);
        let c = cycles(&x, &voiced_frames(98, 160.0));
        // The amplitude steps at zero phase while cycles run peak to peak, so each
        // cycle mixes both levels: expect roughly half of the 1.94 dB step.
        assert!(shimmer_local_db(&c) > 0.7, "{}", shimmer_local_db(&c));
    }

    #[test]
    fn h1_h2_reads_harmonic_balance() {
        let x = pulse_train(200.0, 4000, false);
        // Second harmonic at half amplitude: about +6 dB.
        assert!((h1_h2_db(&x, 2000, 200.0, &harmonic_window()) - 6.02).abs() < 0.3);
    }

    #[test]
    fn no_cycles_is_zero() {
        assert_eq!(jitter_local(&[]), 0.0);
        assert_eq!(shimmer_local_db(&[vec![]]), 0.0);
    }
}
