//! Framing, activity detection and gain normalisation at the analysis rate.
//!
//! eGeMAPS computes its low-level descriptors on 25 ms frames every 10 ms (Eyben et al.
//! 2016, section 3). A kiosk microphone has an unknown gain and the speaker an unknown
//! distance, so the signal is scaled to a fixed active-speech level before any feature
//! is computed; only level *relations* inside the utterance survive, which is what lets
//! "louder within the utterance" remain visible while the absolute gain does not.

/// Frame length: 25 ms at 16 kHz.
pub const FRAME_LEN: usize = 400;
/// Frame hop: 10 ms at 16 kHz.
pub const HOP: usize = 160;
/// Frames per second implied by [`HOP`].
pub const FRAME_RATE: f32 = 100.0;
/// RMS the active frames are scaled to (about -26 dBFS, a typical speech level).
pub const TARGET_RMS: f32 = 0.05;

/// Activity above the loudest frames is limited to this dynamic range (dB): quieter
/// frames are silence or breath, whatever the noise floor.
const MAX_DYNAMIC_DB: f32 = 35.0;
/// Frames must exceed the estimated noise floor (10th percentile) by this margin (dB).
const FLOOR_MARGIN_DB: f32 = 6.0;
/// Never call the loud frames themselves inactive: the threshold stays this far below
/// the 95th percentile even for a steady signal whose floor equals its peak.
const PEAK_MARGIN_DB: f32 = 6.0;

/// Per-frame activity and the span of speech inside the utterance.
#[derive(Debug, Clone)]
pub struct Activity {
    /// Frame energy in dB (mean square, 10·log10), before gain normalisation.
    pub energy_db: Vec<f32>,
    /// Whether each frame is active (speech or loud sound rather than background).
    pub active: Vec<bool>,
    /// Activity threshold in dB on the same scale as `energy_db`.
    pub threshold_db: f32,
    /// First and last active frame (inclusive); the features describe this span so
    /// that leading/trailing silence left by the endpointer does not change them.
    pub span: (usize, usize),
}

/// Number of complete frames in `len` samples.
pub fn frame_count(len: usize) -> usize {
    if len < FRAME_LEN {
        0
    } else {
        1 + (len - FRAME_LEN) / HOP
    }
}

/// The samples of frame `i` (the caller guarantees `i < frame_count(x.len())`).
pub fn frame(x: &[f32], i: usize) -> &[f32] {
    &x[i * HOP..i * HOP + FRAME_LEN]
}

/// Mean-square energy of every frame in dB.
pub fn frame_energy_db(x: &[f32]) -> Vec<f32> {
    (0..frame_count(x.len()))
        .map(|i| {
            let ms = frame(x, i)
                .iter()
                .map(|&v| f64::from(v) * f64::from(v))
                .sum::<f64>()
                / FRAME_LEN as f64;
            (10.0 * (ms + 1e-20).log10()) as f32
        })
        .collect()
}

/// Finds active frames with a percentile-based threshold, so the decision is relative
/// to the utterance itself and invariant to a gain change.
pub fn detect_activity(x: &[f32]) -> Option<Activity> {
    let energy_db = frame_energy_db(x);
    if energy_db.is_empty() {
        return None;
    }
    let p10 = super::functionals::percentile(&energy_db, 0.10);
    let p95 = super::functionals::percentile(&energy_db, 0.95);
    let threshold_db =
        (p95 - MAX_DYNAMIC_DB).max((p10 + FLOOR_MARGIN_DB).min(p95 - PEAK_MARGIN_DB));
    let active: Vec<bool> = energy_db.iter().map(|&e| e >= threshold_db).collect();
    let first = active.iter().position(|&a| a)?;
    let last = active.iter().rposition(|&a| a)?;
    Some(Activity {
        energy_db,
        active,
        threshold_db,
        span: (first, last),
    })
}

/// RMS over the active frames' samples (overlaps counted once per frame, which is
/// fine for a level estimate).
pub fn active_rms(x: &[f32], active: &[bool]) -> f32 {
    let mut sum = 0.0f64;
    let mut n = 0usize;
    for (i, _) in active.iter().enumerate().filter(|&(_, &a)| a) {
        sum += frame(x, i)
            .iter()
            .map(|&v| f64::from(v) * f64::from(v))
            .sum::<f64>();
        n += FRAME_LEN;
    }
    if n == 0 {
        0.0
    } else {
        (sum / n as f64).sqrt() as f32
    }
}

/// Scales `x` in place so the active frames have [`TARGET_RMS`]; returns the input's
/// active level in dBFS (the only place the absolute level is kept).
pub fn normalise_gain(x: &mut [f32], active: &[bool]) -> f32 {
    let rms = active_rms(x, active);
    if rms <= 0.0 {
        return -200.0;
    }
    let gain = TARGET_RMS / rms;
    x.iter_mut().for_each(|v| *v *= gain);
    20.0 * rms.log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_count_matches_hop() {
        assert_eq!(frame_count(399), 0);
        assert_eq!(frame_count(400), 1);
        assert_eq!(frame_count(16000), 98);
    }

    #[test]
    fn activity_skips_leading_silence() {
        let mut x = vec![0.0f32; 8000];
        x.extend((0..8000).map(|i| (i as f32 * 0.08).sin() * 0.3));
        let act = detect_activity(&x).expect("frames");
        assert!(act.span.0 >= 45 && act.span.0 <= 50, "{:?}", act.span);
        assert_eq!(act.span.1, frame_count(x.len()) - 1);
    }

    #[test]
    fn steady_signal_is_all_active() {
        let x: Vec<f32> = (0..16000).map(|i| (i as f32 * 0.08).sin()).collect();
        let act = detect_activity(&x).expect("frames");
        assert!(act.active.iter().all(|&a| a));
    }

    #[test]
    fn gain_normalisation_hits_target() {
        let mut x: Vec<f32> = (0..16000).map(|i| (i as f32 * 0.08).sin() * 0.01).collect();
        let act = detect_activity(&x).expect("frames");
        let level = normalise_gain(&mut x, &act.active);
        assert!((level - (-43.0)).abs() < 0.2, "{level}");
        assert!((active_rms(&x, &act.active) - TARGET_RMS).abs() < 1e-4);
    }
}
