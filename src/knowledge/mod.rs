//! The help point's knowledge base (FAQ intents) and speech-error-tolerant intent matching.
//!
//! [`KnowledgeBase`] loads and validates `knowledge.toml`, then answers customer utterances
//! with [`KnowledgeBase::match_intent`], tolerating speech-recognition slips and paraphrase.
//! Everything is deterministic: the same input always gives the same output.

mod kb;
mod matcher;
pub(crate) mod text;

pub use kb::{Intent, KnowledgeBase, KnowledgeError, Problem};
pub use matcher::IntentMatch;

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
