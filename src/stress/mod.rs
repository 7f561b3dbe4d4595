//! Stress detection: acoustic arousal (the [`StressClassifier`] seam), cues from the words
//! and the dialogue, and their fusion into a level the conversation core acts on.

pub mod acoustic;
pub mod cues;
mod fusion;
pub mod labels;
mod tract_onnx;
pub mod whisper_encoder;

pub use cues::{CuePhrases, DialogueCues, TextCues};
pub use fusion::{StressConfig, StressInputs, fuse};
pub use tract_onnx::TractArousal;

use std::path::PathBuf;
use thiserror::Error;

/// Errors of the acoustic stress classifier; each names the model file.
#[derive(Debug, Error)]
pub enum StressError {
    /// The model could not be loaded.
    #[error("cannot load stress model {path}: {why} (fix: attune models verify)")]
    Load {
        /// The model file.
        path: PathBuf,
        /// What went wrong.
        why: String,
    },
    /// Features or inference failed.
    #[error("stress classification failed: {0}")]
    Inference(String),
}

/// Gives p(high arousal) for one utterance (16 kHz mono) from the voice alone.
pub trait StressClassifier: Send {
    /// Probability in 0..=1 that the voice is highly aroused (angry, afraid, agitated).
    fn arousal(&mut self, audio: &[f32]) -> Result<f32, StressError>;
}
