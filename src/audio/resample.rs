//! Sample-rate conversion (FFT resamplers from rubato): whole clips, and fixed-size frames as
//! they stream.

use super::AudioError;
use rubato::{FftFixedIn, FftFixedInOut, Resampler};

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

/// Converts a stream of fixed-size frames from one rate to another (an integer ratio, such as
/// 16 kHz to 48 kHz and back), with a constant delay.
pub struct FrameResampler {
    inner: FftFixedInOut<f32>,
    from: u32,
    to: u32,
}

impl FrameResampler {
    /// Frames of `frame` samples at `from` Hz in, frames of `frame * to / from` out.
    pub fn new(from: u32, to: u32, frame: usize) -> Result<Self, AudioError> {
        let inner = FftFixedInOut::new(from as usize, to as usize, frame, 1).map_err(|e| {
            AudioError::Resample {
                from,
                to,
                why: e.to_string(),
            }
        })?;
        if inner.input_frames_next() != frame {
            return Err(AudioError::Resample {
                from,
                to,
                why: format!("frames of {frame} samples do not divide into the ratio"),
            });
        }
        Ok(Self { inner, from, to })
    }

    /// Samples of delay the conversion adds, at the output rate.
    pub fn delay(&self) -> usize {
        self.inner.output_delay()
    }

    /// One frame in, one frame out.
    pub fn process(&mut self, frame: &[f32]) -> Result<Vec<f32>, AudioError> {
        let (from, to) = (self.from, self.to);
        let mut out = self
            .inner
            .process(&[frame], None)
            .map_err(|e| AudioError::Resample {
                from,
                to,
                why: e.to_string(),
            })?;
        Ok(out.pop().unwrap_or_default())
    }
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
    fn frames_stream_up_and_back_down_with_a_constant_delay() {
        let input = tone(16_000, 440.0, 1.0);
        let mut up = FrameResampler::new(16_000, 48_000, 512).expect("up");
        let mut down = FrameResampler::new(48_000, 16_000, 1536).expect("down");
        let mut out = Vec::new();
        for frame in input.chunks_exact(512) {
            let high = up.process(frame).expect("up");
            assert_eq!(high.len(), 1536);
            out.extend(down.process(&high).expect("down"));
        }
        let delay = up.delay() / 3 + down.delay();
        let err = input[..out.len() - delay]
            .iter()
            .zip(&out[delay..])
            .skip(2048)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(err < 0.02, "largest difference after the delay: {err}");
    }

    #[test]
    fn same_rate_is_identity() {
        let input = tone(16_000, 100.0, 0.1);
        assert_eq!(resample(&input, 16_000, 16_000).expect("resample"), input);
    }
}
