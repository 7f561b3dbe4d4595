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

/// The example knowledge base built into the binary (`systemd/knowledge.toml`), used when the
/// default `knowledge.toml` is not beside the configuration, and printed by
/// `attune print-default-config --knowledge`.
pub const EXAMPLE_KNOWLEDGE: &str = include_str!("../../systemd/knowledge.toml");

/// Where the knowledge base is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KnowledgeSource {
    /// The configured file.
    File(PathBuf),
    /// The built-in example, because the default file (named here) does not exist.
    Example {
        /// The default file that was looked for.
        missing: PathBuf,
    },
}

impl KnowledgeSource {
    /// Loads the knowledge base from this source.
    pub fn load(&self) -> Result<KnowledgeBase, KnowledgeError> {
        match self {
            Self::File(path) => KnowledgeBase::load(path),
            Self::Example { .. } => EXAMPLE_KNOWLEDGE.parse(),
        }
    }
}

impl KnowledgeConfig {
    /// The source for this section, with `file` already resolved against the configuration's
    /// directory. Only the default name falls back to the example: a file the installer named
    /// must exist.
    pub fn source(&self, resolved: PathBuf) -> KnowledgeSource {
        if self.file == Self::default().file && !resolved.exists() {
            KnowledgeSource::Example { missing: resolved }
        } else {
            KnowledgeSource::File(resolved)
        }
    }
}

impl Default for KnowledgeConfig {
    fn default() -> Self {
        Self {
            file: PathBuf::from("knowledge.toml"),
        }
    }
}
