//! Why features could not be computed, shared by every analyser of the acoustic front end.

use thiserror::Error;

/// Shortest accepted utterance (s): fewer than ~8 frames gives no usable statistics.
pub const MIN_DURATION_S: f32 = 0.1;
/// Inputs whose absolute peak stays below this (-100 dBFS) are silence.
pub const SILENCE_PEAK: f32 = 1e-5;
/// Accepted input sample rates (Hz).
pub const SAMPLE_RATE_RANGE: (u32, u32) = (4_000, 384_000);

/// Why features could not be computed.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum FeatureError {
    /// No samples at all.
    #[error("empty audio: no samples to analyse")]
    Empty,
    /// Fewer samples than [`MIN_DURATION_S`] seconds.
    #[error("audio too short: {seconds:.3} s, need at least {MIN_DURATION_S} s")]
    TooShort {
        /// Duration of the input.
        seconds: f32,
    },
    /// The input never exceeds [`SILENCE_PEAK`].
    #[error("audio is silent (peak {peak:e} below {SILENCE_PEAK:e})")]
    Silence {
        /// Largest absolute sample value.
        peak: f32,
    },
    /// NaN or infinite sample.
    #[error("non-finite sample at index {index}")]
    NonFinite {
        /// Index of the first bad sample.
        index: usize,
    },
    /// Sample rate outside [`SAMPLE_RATE_RANGE`].
    #[error("unsupported sample rate {0} Hz (accepted: 4000..=384000)")]
    SampleRate(u32),
    /// An internal computation failed (an FFT buffer mismatch; a bug, not bad input).
    #[error("internal feature error: {0}")]
    Internal(String),
}
