//! Deterministic "kiosk room" augmentation for training data: what a help point changes about
//! a voice besides noise — the microphone's gain, a band-limited microphone path, and a hard
//! room's reverberation with the customer at a distance. Each variant is drawn from a
//! SplitMix64 hash of (seed, row, variant) like [`super::mix`], so a run is reproducible.

use super::mix::{splitmix64, uniform};
use crate::audio::room::{convolve, impulse_response};

/// One room: gain, optional band limits and reverberation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Room {
    /// Microphone gain change in dB.
    pub gain_db: f32,
    /// High-pass and low-pass corner frequencies in Hz, when the path is band-limited.
    pub band_hz: Option<(f32, f32)>,
    /// Reverberation time (60 dB decay) in seconds.
    pub rt60_s: f32,
    /// Direct-to-reverberant energy ratio in dB (lower: the customer stands farther away).
    pub drr_db: f32,
    seed: u64,
}

impl Room {
    /// The room for `(seed, row, variant)`: gain -12..+6 dB; half the rooms band-limited
    /// (200-400 Hz to 3-5 kHz, a cheap microphone or a phone-like path); RT60 0.2-1.0 s
    /// (a shop to a hard-walled concourse); direct-to-reverberant ratio -3..+9 dB.
    pub fn draw(key: (u64, u64, u64)) -> Room {
        let (seed, row, variant) = key;
        let a = splitmix64(splitmix64(splitmix64(seed) ^ row) ^ variant);
        let b = splitmix64(a);
        Room {
            gain_db: uniform(a, 0, -12.0, 6.0),
            band_hz: (b & 1 == 1)
                .then(|| (uniform(b, 1, 200.0, 400.0), uniform(b, 25, 3000.0, 5000.0))),
            rt60_s: uniform(a, 24, 0.2, 1.0),
            drr_db: uniform(b, 40, -3.0, 9.0),
            seed: splitmix64(b),
        }
    }

    /// A short label for the features file, e.g. `g-3.1 bp300-3400 rt0.62 drr4.0`.
    pub fn label(&self) -> String {
        let band = self
            .band_hz
            .map(|(lo, hi)| format!(" bp{lo:.0}-{hi:.0}"))
            .unwrap_or_default();
        format!(
            "g{:.1}{band} rt{:.2} drr{:.1}",
            self.gain_db, self.rt60_s, self.drr_db
        )
    }

    /// `speech` (at `rate`) as heard in this room; the same length as the input.
    pub fn apply(&self, speech: &[f32], rate: u32) -> Vec<f32> {
        let mut x = reverberate(speech, rate, self.rt60_s, self.drr_db, self.seed);
        if let Some((lo, hi)) = self.band_hz {
            for _ in 0..2 {
                x = Biquad::high_pass(lo, rate).run(&x);
                x = Biquad::low_pass(hi, rate).run(&x);
            }
        }
        let gain = 10f32.powf(self.gain_db / 20.0);
        x.iter().map(|v| (v * gain).clamp(-1.0, 1.0)).collect()
    }
}

/// Convolves `x` with a synthetic room impulse response ([`impulse_response`]). The output
/// keeps the input's length and overall level.
fn reverberate(x: &[f32], rate: u32, rt60_s: f32, drr_db: f32, seed: u64) -> Vec<f32> {
    if x.is_empty() {
        return Vec::new();
    }
    let rir = impulse_response(rate, rt60_s, drr_db, seed);
    let wet = convolve(x, &rir);
    let level = |s: &[f32]| s.iter().map(|v| v * v).sum::<f32>().sqrt();
    let norm = level(x) / level(&wet[..x.len()]).max(f32::MIN_POSITIVE);
    wet[..x.len()].iter().map(|v| v * norm).collect()
}

/// A second-order section (RBJ audio-EQ cookbook), Butterworth Q.
struct Biquad {
    b: [f32; 3],
    a: [f32; 2],
}

impl Biquad {
    fn coefficients(f0: f32, rate: u32, high: bool) -> Biquad {
        let w0 = 2.0 * std::f32::consts::PI * f0 / rate as f32;
        let alpha = w0.sin() / (2.0 * std::f32::consts::FRAC_1_SQRT_2);
        let cos = w0.cos();
        let a0 = 1.0 + alpha;
        let (b0, b1) = if high {
            ((1.0 + cos) / 2.0, -(1.0 + cos))
        } else {
            ((1.0 - cos) / 2.0, 1.0 - cos)
        };
        Biquad {
            b: [b0 / a0, b1 / a0, b0 / a0],
            a: [-2.0 * cos / a0, (1.0 - alpha) / a0],
        }
    }

    fn high_pass(f0: f32, rate: u32) -> Biquad {
        Self::coefficients(f0, rate, true)
    }

    fn low_pass(f0: f32, rate: u32) -> Biquad {
        // Above Nyquist there is nothing to cut.
        Self::coefficients(f0.min(rate as f32 * 0.45), rate, false)
    }

    fn run(&self, x: &[f32]) -> Vec<f32> {
        let (mut x1, mut x2, mut y1, mut y2) = (0.0, 0.0, 0.0, 0.0);
        x.iter()
            .map(|&v| {
                let y = self.b[0] * v + self.b[1] * x1 + self.b[2] * x2
                    - self.a[0] * y1
                    - self.a[1] * y2;
                (x2, x1, y2, y1) = (x1, v, y1, y);
                y
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f32, rate: u32, seconds: f32) -> Vec<f32> {
        (0..(rate as f32 * seconds) as usize)
            .map(|i| 0.3 * (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin())
            .collect()
    }

    fn rms(x: &[f32]) -> f32 {
        (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt()
    }

    #[test]
    fn rooms_are_reproducible_and_in_range() {
        for row in 0..200 {
            let r = Room::draw((1, row, 0));
            assert_eq!(r, Room::draw((1, row, 0)));
            assert!((-12.0..=6.0).contains(&r.gain_db), "{r:?}");
            assert!((0.2..=1.0).contains(&r.rt60_s), "{r:?}");
            assert!((-3.0..=9.0).contains(&r.drr_db), "{r:?}");
        }
        let banded = (0..200)
            .filter(|&row| Room::draw((1, row, 0)).band_hz.is_some())
            .count();
        assert!(
            (70..130).contains(&banded),
            "about half band-limited: {banded}"
        );
    }

    #[test]
    fn the_band_limit_cuts_outside_and_keeps_inside() {
        let filter = |x: &[f32]| {
            let x = Biquad::high_pass(300.0, 16_000).run(x);
            Biquad::low_pass(3400.0, 16_000).run(&x)
        };
        let pass = rms(&filter(&tone(1000.0, 16_000, 1.0))[1600..]);
        let low = rms(&filter(&tone(60.0, 16_000, 1.0))[1600..]);
        let high = rms(&filter(&tone(7000.0, 16_000, 1.0))[1600..]);
        assert!(pass > 0.19, "1 kHz kept: {pass}");
        assert!(low < 0.02 && high < 0.05, "60 Hz {low}, 7 kHz {high}");
    }

    #[test]
    fn reverberation_keeps_length_and_level_and_smears_in_time() {
        let mut click = vec![0.0; 16_000];
        click[100] = 1.0;
        let wet = reverberate(&click, 16_000, 0.6, 0.0, 7);
        assert_eq!(wet.len(), click.len());
        assert!((rms(&wet) - rms(&click)).abs() < 1e-3, "level kept");
        let late: f32 = wet[100 + 1600..].iter().map(|v| v * v).sum();
        assert!(late > 0.05, "energy 100 ms after the click: {late}");
    }
}
