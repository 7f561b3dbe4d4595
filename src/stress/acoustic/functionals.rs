//! Statistics over frame contours (the "functionals" of eGeMAPS, Eyben et al. 2016,
//! section 3.2). Every function returns a finite value for any finite input, including
//! empty input, for which the documented fallback is 0.

/// Arithmetic mean; 0 for an empty slice.
pub fn mean(x: &[f32]) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|&v| f64::from(v)).sum::<f64>() / x.len() as f64) as f32
}

/// Population standard deviation; 0 for fewer than two values.
pub fn std_dev(x: &[f32]) -> f32 {
    if x.len() < 2 {
        return 0.0;
    }
    let m = f64::from(mean(x));
    let var = x.iter().map(|&v| (f64::from(v) - m).powi(2)).sum::<f64>() / x.len() as f64;
    var.sqrt() as f32
}

/// Percentile `q` in [0, 1] with linear interpolation between order statistics
/// (the usual "type 7" definition); 0 for an empty slice.
pub fn percentile(x: &[f32], q: f32) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    let mut s = x.to_vec();
    s.sort_by(f32::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (s.len() - 1) as f32;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(s.len() - 1);
    let frac = pos - lo as f32;
    s[lo] + (s[hi] - s[lo]) * frac
}

/// Maximal runs of consecutive `true` values as half-open index ranges.
pub fn runs(flags: &[bool]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, &f) in flags.iter().enumerate() {
        match (f, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, flags.len()));
    }
    out
}

/// Three-point moving average; eGeMAPS smooths every contour this way before
/// computing functionals.
pub fn smooth3(x: &[f32]) -> Vec<f32> {
    (0..x.len())
        .map(|i| {
            let lo = i.saturating_sub(1);
            let hi = (i + 2).min(x.len());
            mean(&x[lo..hi])
        })
        .collect()
}

/// Mean slopes (units per second) of the rising and of the falling parts of a contour,
/// over each run of valid frames: eGeMAPS "mean of the slope of rising/falling signal
/// parts". A part runs from one local extremum to the next; the falling mean is
/// reported as a positive magnitude. 0 when there is no such part.
pub fn rise_fall_slopes(contour: &[f32], valid: &[bool], frame_rate: f32) -> (f32, f32) {
    let mut rising = Vec::new();
    let mut falling = Vec::new();
    for (s, e) in runs(valid) {
        if e - s < 2 {
            continue;
        }
        for (a, b) in monotone_parts(&contour[s..e]) {
            let seg = &contour[s..e];
            let slope = (seg[b] - seg[a]) * frame_rate / (b - a) as f32;
            if slope > 0.0 {
                rising.push(slope);
            } else if slope < 0.0 {
                falling.push(-slope);
            }
        }
    }
    (mean(&rising), mean(&falling))
}

/// Splits a contour into maximal monotone parts (index pairs, inclusive ends). Equal
/// neighbours continue the current direction so plateaus do not create extra parts.
fn monotone_parts(x: &[f32]) -> Vec<(usize, usize)> {
    let mut parts = Vec::new();
    let mut start = 0usize;
    let mut dir = 0i8;
    for i in 1..x.len() {
        let step = x[i] - x[i - 1];
        let d = if step > 0.0 {
            1
        } else if step < 0.0 {
            -1
        } else {
            0
        };
        if d != 0 && dir != 0 && d != dir {
            parts.push((start, i - 1));
            start = i - 1;
        }
        if d != 0 {
            dir = d;
        }
    }
    if x.len() > 1 {
        parts.push((start, x.len() - 1));
    }
    parts
}

/// Local maxima per second of a contour that rise above its median: a stand-in for
/// eGeMAPS "loudnessPeaksPerSec", a syllable-rate proxy.
pub fn peaks_per_second(x: &[f32], frame_rate: f32) -> f32 {
    if x.len() < 3 {
        return 0.0;
    }
    let median = percentile(x, 0.5);
    let count = (1..x.len() - 1)
        .filter(|&i| x[i] > x[i - 1] && x[i] >= x[i + 1] && x[i] > median)
        .count();
    count as f32 * frame_rate / x.len() as f32
}

/// Ordinary least-squares slope of `y` against `x`; 0 when `x` has no spread.
pub fn linear_slope(x: &[f32], y: &[f32]) -> f32 {
    let n = x.len().min(y.len());
    if n < 2 {
        return 0.0;
    }
    let mx = f64::from(mean(&x[..n]));
    let my = f64::from(mean(&y[..n]));
    let mut sxy = 0.0f64;
    let mut sxx = 0.0f64;
    for i in 0..n {
        let dx = f64::from(x[i]) - mx;
        sxy += dx * (f64::from(y[i]) - my);
        sxx += dx * dx;
    }
    if sxx <= 0.0 { 0.0 } else { (sxy / sxx) as f32 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&x, 0.5), 3.0);
        assert!((percentile(&x, 0.2) - 1.8).abs() < 1e-6);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    #[test]
    fn runs_are_half_open() {
        assert_eq!(
            runs(&[true, true, false, true, false, false, true]),
            vec![(0, 2), (3, 4), (6, 7)]
        );
    }

    #[test]
    fn rising_and_falling_parts() {
        let x = [0.0, 1.0, 2.0, 1.0, 0.0, 0.0, 3.0];
        let valid = [true; 7];
        let (r, f) = rise_fall_slopes(&x, &valid, 100.0);
        // Parts: 0-2 rising (slope 100), 2-5 falling (-2/3 per frame), 5-6 rising (300).
        assert!((r - 200.0).abs() < 1e-3, "{r}");
        assert!((f - 200.0 / 3.0).abs() < 1e-3, "{f}");
    }

    #[test]
    fn empty_inputs_are_zero() {
        assert_eq!(mean(&[]), 0.0);
        assert_eq!(std_dev(&[1.0]), 0.0);
        assert_eq!(rise_fall_slopes(&[], &[], 100.0), (0.0, 0.0));
        assert_eq!(linear_slope(&[1.0, 1.0], &[0.0, 1.0]), 0.0);
    }
}
