//! Acoustic arousal features in pure Rust: one utterance → a fixed vector of eGeMAPS-style
//! functionals (Eyben et al. 2016, "The Geneva Minimalistic Acoustic Parameter Set"), written
//! from the published definitions (openSMILE's licence rules it out).
//!
//! 1. resample to 16 kHz; [`frames`]: 25 ms / 10 ms framing, activity detection and gain
//!    normalisation, so features do not depend on the unknown microphone gain;
//! 2. [`pitch`]: YIN-style F0, voicing and autocorrelation HNR per frame;
//! 3. [`spectral`]: loudness, alpha ratio, Hammarberg index, spectral slopes, MFCC 1-4,
//!    spectral flux; [`voice_quality`]: jitter, shimmer, H1-H2; [`formants`]: F1-F3;
//! 4. [`functionals`]: statistics over the contours; [`features::extract`] ties it together.
//!
//! [`mix`] mixes noise at a given SNR for training and evaluation.

pub mod error;
pub mod features;
pub mod formants;
pub mod frames;
pub mod functionals;
pub mod mix;
pub mod pitch;
pub mod room;
pub mod spectral;
pub mod voice_quality;

pub use features::{FEATURE_NAMES, FeatureError, Features, N_FEATURES, extract};

/// The rate all features are computed at.
pub const ANALYSIS_RATE: u32 = 16_000;
