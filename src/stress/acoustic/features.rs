//! Per-utterance arousal features: the public entry point.
//!
//! [`extract`] resamples to 16 kHz, normalises the gain on the active frames, computes
//! the low-level descriptor contours and summarises them into [`N_FEATURES`]
//! eGeMAPS-style functionals (Eyben et al. 2016) in the order of [`FEATURE_NAMES`].
//!
//! Failure policy: empty, too short (< [`MIN_DURATION_S`]), silent (peak below
//! [`SILENCE_PEAK`]), non-finite input or an unsupported sample rate is an error.
//! Any other input yields finite values; a functional over an empty set (e.g. F0
//! statistics of an utterance without voiced frames) is 0, as openSMILE reports it.

use super::ANALYSIS_RATE;
pub use super::error::FeatureError;
pub use super::error::{MIN_DURATION_S, SAMPLE_RATE_RANGE, SILENCE_PEAK};
use super::formants::FormantAnalyzer;
use super::frames::{self, Activity, FRAME_RATE, HOP};
use super::functionals::{
    linear_slope, mean, peaks_per_second, percentile, rise_fall_slopes, runs, smooth3, std_dev,
};
use super::pitch::{self, PitchFrame, hz_to_semitones};
use super::spectral::{SpectralAnalyzer, SpectralFrame};
use super::voice_quality;
use crate::audio::resample;

/// Feature names, in the order of [`Features::as_slice`]. Units: st = semitones re
/// 27.5 Hz; loudness is relative (gain-normalised); dB/kHz for spectral slopes.
pub const FEATURE_NAMES: &[&str] = &[
    "f0_mean_st",
    "f0_std_st",
    "f0_p20_st",
    "f0_p50_st",
    "f0_p80_st",
    "f0_range_p20_p80_st",
    "f0_rising_slope_mean_st_s",
    "f0_falling_slope_mean_st_s",
    "f0_trend_st_s",
    "loudness_mean",
    "loudness_std",
    "loudness_p20",
    "loudness_p50",
    "loudness_p80",
    "loudness_range_p20_p80",
    "loudness_rising_slope_mean_s",
    "loudness_falling_slope_mean_s",
    "loudness_trend_s",
    "loudness_peaks_per_s",
    "alpha_ratio_v_mean_db",
    "alpha_ratio_v_std_db",
    "alpha_ratio_uv_mean_db",
    "hammarberg_v_mean_db",
    "hammarberg_v_std_db",
    "hammarberg_uv_mean_db",
    "slope_0_500_v_mean",
    "slope_500_1500_v_mean",
    "slope_0_500_uv_mean",
    "slope_500_1500_uv_mean",
    "mfcc1_mean",
    "mfcc1_std",
    "mfcc2_mean",
    "mfcc2_std",
    "mfcc3_mean",
    "mfcc3_std",
    "mfcc4_mean",
    "mfcc4_std",
    "spectral_flux_mean",
    "spectral_flux_std",
    "hnr_mean_db",
    "hnr_std_db",
    "jitter_local",
    "shimmer_local_db",
    "h1_h2_mean_db",
    "f1_mean_hz",
    "f2_mean_hz",
    "f3_mean_hz",
    "voiced_segments_per_s",
    "voiced_segment_mean_s",
    "unvoiced_segment_mean_s",
    "voiced_ratio",
];

/// Number of features.
pub const N_FEATURES: usize = 51;

// The name list and the vector length are one contract; break the build if they drift.
const _: () = assert!(FEATURE_NAMES.len() == N_FEATURES);

/// Features of one utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    values: [f32; N_FEATURES],
    input_level_dbfs: f32,
    speech_duration_s: f32,
}

impl Features {
    /// The feature vector, ordered as [`FEATURE_NAMES`]; every value is finite.
    pub fn as_slice(&self) -> &[f32] {
        &self.values
    }

    /// One feature by name.
    pub fn get(&self, name: &str) -> Option<f32> {
        FEATURE_NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| self.values[i])
    }

    /// RMS level of the input's active frames in dBFS, before gain normalisation.
    /// Deliberately not a feature: it depends on microphone gain and distance.
    pub fn input_level_dbfs(&self) -> f32 {
        self.input_level_dbfs
    }

    /// Duration of the analysed span (first to last active frame), seconds.
    pub fn speech_duration_s(&self) -> f32 {
        self.speech_duration_s
    }
}

/// Computes the features of one utterance given as mono samples in [-1, 1] at
/// `sample_rate` Hz. Deterministic: the same input always gives the same bits.
pub fn extract(samples: &[f32], sample_rate: u32) -> Result<Features, FeatureError> {
    validate(samples, sample_rate)?;
    let mut x = resample(samples, sample_rate, ANALYSIS_RATE)
        .map_err(|e| FeatureError::Internal(e.to_string()))?;
    let activity = frames::detect_activity(&x).ok_or(FeatureError::TooShort {
        seconds: samples.len() as f32 / sample_rate as f32,
    })?;
    let input_level_dbfs = frames::normalise_gain(&mut x, &activity.active);
    let pitch = pitch::track(&x, &activity)?;
    let spectral = spectral_frames(&x, &activity)?;
    let values = summarise(&x, &activity, &pitch, &spectral)?;
    let (first, last) = activity.span;
    Ok(Features {
        values: sanitise(values),
        input_level_dbfs,
        speech_duration_s: (last + 1 - first) as f32 / FRAME_RATE,
    })
}

fn validate(samples: &[f32], sample_rate: u32) -> Result<(), FeatureError> {
    if !(SAMPLE_RATE_RANGE.0..=SAMPLE_RATE_RANGE.1).contains(&sample_rate) {
        return Err(FeatureError::SampleRate(sample_rate));
    }
    if samples.is_empty() {
        return Err(FeatureError::Empty);
    }
    if let Some(index) = samples.iter().position(|v| !v.is_finite()) {
        return Err(FeatureError::NonFinite { index });
    }
    let seconds = samples.len() as f32 / sample_rate as f32;
    if seconds < MIN_DURATION_S {
        return Err(FeatureError::TooShort { seconds });
    }
    let peak = samples.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if peak < SILENCE_PEAK {
        return Err(FeatureError::Silence { peak });
    }
    Ok(())
}

/// Spectral descriptors for the frames of the analysed span.
fn spectral_frames(x: &[f32], activity: &Activity) -> Result<Vec<SpectralFrame>, FeatureError> {
    let mut analyser = SpectralAnalyzer::new();
    let (first, last) = activity.span;
    (first..=last).map(|i| analyser.analyse(x, i)).collect()
}

/// Frame classes inside the span, used to pick which frames feed which functional.
struct SpanMasks {
    voiced: Vec<bool>,
    unvoiced_active: Vec<bool>,
}

fn span_masks(activity: &Activity, pitch: &[PitchFrame]) -> SpanMasks {
    let (first, last) = activity.span;
    let voiced: Vec<bool> = pitch[first..=last].iter().map(|p| p.voiced).collect();
    let unvoiced_active = (first..=last)
        .map(|i| activity.active[i] && !pitch[i].voiced)
        .collect();
    SpanMasks {
        voiced,
        unvoiced_active,
    }
}

fn select(values: impl Iterator<Item = f32>, mask: &[bool]) -> Vec<f32> {
    values
        .zip(mask)
        .filter(|&(_, &m)| m)
        .map(|(v, _)| v)
        .collect()
}

fn summarise(
    x: &[f32],
    activity: &Activity,
    pitch: &[PitchFrame],
    spectral: &[SpectralFrame],
) -> Result<[f32; N_FEATURES], FeatureError> {
    let (first, last) = activity.span;
    let span_pitch = &pitch[first..=last];
    let masks = span_masks(activity, pitch);
    let mut out = Vec::with_capacity(N_FEATURES);
    out.extend(f0_functionals(span_pitch));
    out.extend(loudness_functionals(spectral));
    out.extend(tilt_functionals(spectral, &masks));
    out.extend(mfcc_flux_functionals(spectral));
    out.extend(voice_quality_functionals(x, pitch, activity.span));
    out.extend(formant_functionals(x, pitch)?);
    out.extend(temporal_functionals(&masks.voiced));
    let mut values = [0.0f32; N_FEATURES];
    values.iter_mut().zip(out).for_each(|(d, s)| *d = s);
    Ok(values)
}

/// Mean F1–F3 (Hz) over voiced frames where the formant was found; 0 if never.
fn formant_functionals(x: &[f32], pitch: &[PitchFrame]) -> Result<Vec<f32>, FeatureError> {
    let mut analyser = FormantAnalyzer::new();
    let mut found: [Vec<f32>; 3] = Default::default();
    for (i, _) in pitch.iter().enumerate().filter(|(_, p)| p.voiced) {
        for (list, f) in found.iter_mut().zip(analyser.analyse(x, i)?) {
            list.extend(f);
        }
    }
    Ok(found.iter().map(|f| mean(f)).collect())
}

/// F0 functionals on the semitone contour of voiced frames (eGeMAPS F0semitoneFrom27.5Hz),
/// plus the least-squares trend over the utterance (not in eGeMAPS; a global rise or fall).
fn f0_functionals(span_pitch: &[PitchFrame]) -> Vec<f32> {
    let st: Vec<f32> = span_pitch
        .iter()
        .map(|p| hz_to_semitones(p.f0_hz))
        .collect();
    let voiced: Vec<bool> = span_pitch.iter().map(|p| p.voiced).collect();
    let v = select(st.iter().copied(), &voiced);
    let (p20, p50, p80) = (
        percentile(&v, 0.2),
        percentile(&v, 0.5),
        percentile(&v, 0.8),
    );
    let smoothed = smooth_runs(&st, &voiced);
    let (rise, fall) = rise_fall_slopes(&smoothed, &voiced, FRAME_RATE);
    let times = select(frame_times(st.len()).into_iter(), &voiced);
    let trend = linear_slope(&times, &v);
    vec![
        mean(&v),
        std_dev(&v),
        p20,
        p50,
        p80,
        p80 - p20,
        rise,
        fall,
        trend,
    ]
}

/// Frame times in seconds from the start of the span.
fn frame_times(n: usize) -> Vec<f32> {
    (0..n).map(|i| i as f32 / FRAME_RATE).collect()
}

/// Three-point smoothing applied inside each valid run only, so unvoiced frames never
/// leak into the F0 contour.
fn smooth_runs(x: &[f32], valid: &[bool]) -> Vec<f32> {
    let mut out = x.to_vec();
    for (s, e) in runs(valid) {
        out[s..e].copy_from_slice(&smooth3(&x[s..e]));
    }
    out
}

/// Loudness functionals over all span frames (the rising/falling means describe syllable
/// dynamics; the least-squares trend keeps a crescendo across the utterance visible) (eGeMAPS computes loudness over voiced and
/// unvoiced frames alike). Values are relative because the gain was normalised.
fn loudness_functionals(spectral: &[SpectralFrame]) -> Vec<f32> {
    let l: Vec<f32> = spectral.iter().map(|s| s.loudness).collect();
    let smoothed = smooth3(&l);
    let all = vec![true; l.len()];
    let (p20, p50, p80) = (
        percentile(&l, 0.2),
        percentile(&l, 0.5),
        percentile(&l, 0.8),
    );
    let (rise, fall) = rise_fall_slopes(&smoothed, &all, FRAME_RATE);
    vec![
        mean(&l),
        std_dev(&l),
        p20,
        p50,
        p80,
        p80 - p20,
        rise,
        fall,
        linear_slope(&frame_times(l.len()), &l),
        peaks_per_second(&smoothed, FRAME_RATE),
    ]
}

/// Spectral balance functionals: voiced means/stds and active-unvoiced means, as in
/// eGeMAPS' V/UV split of alpha ratio, Hammarberg index and slopes.
fn tilt_functionals(spectral: &[SpectralFrame], masks: &SpanMasks) -> Vec<f32> {
    let v = |f: fn(&SpectralFrame) -> f32| select(spectral.iter().map(f), &masks.voiced);
    let uv = |f: fn(&SpectralFrame) -> f32| select(spectral.iter().map(f), &masks.unvoiced_active);
    let alpha_v = v(|s| s.alpha_ratio_db);
    let hamm_v = v(|s| s.hammarberg_db);
    vec![
        mean(&alpha_v),
        std_dev(&alpha_v),
        mean(&uv(|s| s.alpha_ratio_db)),
        mean(&hamm_v),
        std_dev(&hamm_v),
        mean(&uv(|s| s.hammarberg_db)),
        mean(&v(|s| s.slope_0_500)),
        mean(&v(|s| s.slope_500_1500)),
        mean(&uv(|s| s.slope_0_500)),
        mean(&uv(|s| s.slope_500_1500)),
    ]
}

/// MFCC 1–4 mean/std and spectral flux mean/std over the span (flux of the span's
/// first frame is undefined and skipped).
fn mfcc_flux_functionals(spectral: &[SpectralFrame]) -> Vec<f32> {
    let mut out = Vec::with_capacity(10);
    for k in 0..super::spectral::N_MFCC {
        let c: Vec<f32> = spectral.iter().map(|s| s.mfcc[k]).collect();
        out.push(mean(&c));
        out.push(std_dev(&c));
    }
    let flux: Vec<f32> = spectral.iter().skip(1).map(|s| s.flux).collect();
    out.push(mean(&flux));
    out.push(std_dev(&flux));
    out
}

/// HNR (voiced frames; all span frames if none is voiced, so noise reads as low HNR
/// rather than 0), jitter, shimmer and H1–H2.
fn voice_quality_functionals(x: &[f32], pitch: &[PitchFrame], span: (usize, usize)) -> Vec<f32> {
    let voiced: Vec<&PitchFrame> = pitch.iter().filter(|p| p.voiced).collect();
    let hnr: Vec<f32> = if voiced.is_empty() {
        pitch[span.0..=span.1].iter().map(|p| p.hnr_db).collect()
    } else {
        voiced.iter().map(|p| p.hnr_db).collect()
    };
    let cycles = voice_quality::cycles(x, pitch);
    let window = voice_quality::harmonic_window();
    let h1h2: Vec<f32> = pitch
        .iter()
        .enumerate()
        .filter(|(_, p)| p.voiced)
        .map(|(i, p)| voice_quality::h1_h2_db(x, i * HOP + frames::FRAME_LEN / 2, p.f0_hz, &window))
        .collect();
    vec![
        mean(&hnr),
        std_dev(&hnr),
        voice_quality::jitter_local(&cycles),
        voice_quality::shimmer_local_db(&cycles),
        mean(&h1h2),
    ]
}

/// Rhythm: eGeMAPS VoicedSegmentsPerSec, MeanVoicedSegmentLengthSec and
/// MeanUnvoicedSegmentLength, over the span, plus the voiced fraction.
fn temporal_functionals(voiced: &[bool]) -> Vec<f32> {
    let duration = voiced.len() as f32 / FRAME_RATE;
    let v_runs = runs(voiced);
    let unvoiced: Vec<bool> = voiced.iter().map(|v| !v).collect();
    let uv_runs = runs(&unvoiced);
    let len_s = |r: &[(usize, usize)]| {
        let l: Vec<f32> = r.iter().map(|(s, e)| (e - s) as f32 / FRAME_RATE).collect();
        mean(&l)
    };
    let n_voiced = voiced.iter().filter(|&&v| v).count();
    vec![
        v_runs.len() as f32 / duration.max(1.0 / FRAME_RATE),
        len_s(&v_runs),
        len_s(&uv_runs),
        n_voiced as f32 / voiced.len().max(1) as f32,
    ]
}

/// Last line of defence for the "never NaN" contract: every computation above is
/// guarded, so this should never fire; if it does, 0 is the documented fallback.
fn sanitise(mut values: [f32; N_FEATURES]) -> [f32; N_FEATURES] {
    values
        .iter_mut()
        .filter(|v| !v.is_finite())
        .for_each(|v| *v = 0.0);
    values
}
