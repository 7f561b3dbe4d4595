//! Whole-clip sample-rate conversion (FFT resampler from rubato).

use super::AudioError;
use rubato::{FftFixedIn, Resampler};

const CHUNK: usize = 1024;

/// Converts mono `samples` from `from` Hz to `to` Hz; the result has `len * to / from` samples
/// and no added delay.
pub fn resample(samples: &[f32], from: u32, to: u32) -> Result<Vec<f32>, AudioError> {
    if from == to || samples.is_empty() {
        return Ok(samples.to_vec());
    }
    let err = |why: String| AudioError::Resample { from, to, why };
    let mut r = FftFixedIn::<f32>::new(from as usize, to as usize, CHUNK, 2, 1)
        .map_err(|e| err(e.to_string()))?;
    let delay = r.output_delay();
    let expected = (samples.len() as u64 * u64::from(to) / u64::from(from)) as usize;
    let mut out = Vec::with_capacity(expected + delay + CHUNK);
    let mut rest = samples;
    while rest.len() >= r.input_frames_next() {
        let (chunk, tail) = rest.split_at(r.input_frames_next());
        let block = r.process(&[chunk], None).map_err(|e| err(e.to_string()))?;
        out.extend_from_slice(&block[0]);
        rest = tail;
    }
    if !rest.is_empty() {
        let block = r
            .process_partial(Some(&[rest]), None)
            .map_err(|e| err(e.to_string()))?;
        out.extend_from_slice(&block[0]);
    }
    // Flush what the filter still holds so the tail is not lost.
    while out.len() < expected + delay {
        let block = r
            .process_partial::<&[f32]>(None, None)
            .map_err(|e| err(e.to_string()))?;
        if block[0].is_empty() {
            break;
        }
        out.extend_from_slice(&block[0]);
    }
    let end = (delay + expected).min(out.len());
    Ok(out.get(delay..end).map(<[f32]>::to_vec).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, hz: f32, seconds: f32) -> Vec<f32> {
        let n = (rate as f32 * seconds) as usize;
        (0..n)
            .map(|i| (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin() * 0.5)
            .collect()
    }

    #[test]
    fn keeps_length_and_frequency() {
        let input = tone(22_050, 440.0, 1.0);
        let out = resample(&input, 22_050, 16_000).expect("resample");
        assert_eq!(out.len(), 16_000);
        // Zero crossings of a 440 Hz tone over one second: about 880.
        let crossings = out.windows(2).filter(|w| w[0] <= 0.0 && w[1] > 0.0).count();
        assert!(
            (435..=445).contains(&crossings),
            "{crossings} rising crossings"
        );
        let rms = (out[1000..15000].iter().map(|x| x * x).sum::<f32>() / 14000.0).sqrt();
        assert!((rms - 0.3535).abs() < 0.02, "rms {rms}");
    }

    #[test]
    fn same_rate_is_identity() {
        let input = tone(16_000, 100.0, 0.1);
        assert_eq!(resample(&input, 16_000, 16_000).expect("resample"), input);
    }
}
