//! Synthetic rooms: impulse responses and convolution, for the training augmentation
//! (`stress::acoustic::room`) and the kiosk-room evaluation (`attune eval room`).

use crate::stress::acoustic::mix::splitmix64;
use realfft::RealFftPlanner;
use realfft::num_complex::Complex;

/// A synthetic room impulse response: the direct sound (1.0 at t = 0), then exponentially
/// decaying noise from 2 ms on, lasting `rt60_s` (its 60 dB decay) and scaled so the direct
/// sound is `drr_db` above the reverberant tail. The tail is drawn from `seed`.
pub fn impulse_response(rate: u32, rt60_s: f32, drr_db: f32, seed: u64) -> Vec<f32> {
    let rate_f = rate as f32;
    let start = (0.002 * rate_f) as usize;
    let len = start + (rt60_s * rate_f) as usize;
    let mut state = seed;
    let mut tail: Vec<f32> = (start..len)
        .map(|i| {
            state = splitmix64(state);
            let unit = ((state & 0xFF_FFFF) as f32 / 16_777_216.0) * 2.0 - 1.0;
            unit * (-6.908 * (i - start) as f32 / (rt60_s * rate_f)).exp()
        })
        .collect();
    let tail_energy: f32 = tail.iter().map(|v| v * v).sum();
    let scale = (10f32.powf(-drr_db / 10.0) / tail_energy.max(f32::MIN_POSITIVE)).sqrt();
    tail.iter_mut().for_each(|v| *v *= scale);
    let mut rir = vec![0.0; len];
    rir[0] = 1.0;
    rir[start..].copy_from_slice(&tail);
    rir
}

/// Full linear convolution of `x` with `h` (length `x.len() + h.len() - 1`), by FFT.
pub fn convolve(x: &[f32], h: &[f32]) -> Vec<f32> {
    if x.is_empty() || h.is_empty() {
        return Vec::new();
    }
    let full = x.len() + h.len() - 1;
    let n = full.next_power_of_two();
    let mut planner = RealFftPlanner::<f32>::new();
    let (fwd, inv) = (planner.plan_fft_forward(n), planner.plan_fft_inverse(n));
    let spectrum = |s: &[f32]| {
        let mut buf = vec![0.0; n];
        buf[..s.len()].copy_from_slice(s);
        let mut out = fwd.make_output_vec();
        // Lengths come from the plan itself, so the transform cannot fail.
        let _ = fwd.process(&mut buf, &mut out);
        out
    };
    let (xs, hs) = (spectrum(x), spectrum(h));
    let mut product: Vec<Complex<f32>> = xs.iter().zip(&hs).map(|(a, b)| a * b).collect();
    let mut out = inv.make_output_vec();
    let _ = inv.process(&mut product, &mut out);
    out.truncate(full);
    out.iter().map(|v| v / n as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn convolving_with_a_unit_impulse_is_the_identity() {
        let x = [0.5, -0.25, 1.0];
        let y = convolve(&x, &[1.0]);
        assert_eq!(y.len(), 3);
        assert!(x.iter().zip(&y).all(|(a, b)| (a - b).abs() < 1e-6));
    }

    #[test]
    fn the_impulse_response_decays_and_keeps_its_direct_to_reverberant_ratio() {
        let h = impulse_response(16_000, 0.5, 6.0, 7);
        assert_eq!(h.len(), 32 + 8000);
        let tail: f32 = h[32..].iter().map(|v| v * v).sum();
        assert!((10.0 * tail.log10() + 6.0).abs() < 0.01, "{tail}");
        let early: f32 = h[32..2000].iter().map(|v| v.abs()).sum();
        let late: f32 = h[6000..].iter().map(|v| v.abs()).sum();
        assert!(early > 10.0 * late);
    }
}
