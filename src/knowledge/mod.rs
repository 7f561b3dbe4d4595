//! The help point's knowledge base (FAQ intents) and speech-error-tolerant intent matching.
//!
//! [`KnowledgeBase`] loads and validates `knowledge.toml`, then answers customer utterances
//! with [`KnowledgeBase::match_intent`], tolerating speech-recognition slips and paraphrase.
//! Everything is deterministic: the same input always gives the same output.

mod intent;
mod kb;
mod matcher;
mod parse;
pub(crate) mod text;

pub use intent::Intent;
pub use kb::{KnowledgeBase, KnowledgeError};
pub use matcher::IntentMatch;
pub use parse::{DEFAULT_THRESHOLD, Problem};

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The `[knowledge]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KnowledgeConfig {
    /// Knowledge base file (TOML), relative to the configuration file. Its `[matching]
    /// threshold` says how confident a match must be to be used as an answer.
    pub file: PathBuf,
}

impl Default for KnowledgeConfig {
    fn default() -> Self {
        Self {
            file: PathBuf::from("knowledge.toml"),
        }
    }
}
