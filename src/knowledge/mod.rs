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
    /// Knowledge base file (TOML), relative to the configuration file, or
    /// [`BUILTIN_EXAMPLE`]. Its `[matching] threshold` says how confident a match must be to be
    /// used as an answer.
    pub file: PathBuf,
}

/// The example knowledge base built into the binary (`systemd/knowledge.toml`): a railway
/// station's FAQ, used when `[knowledge] file` is [`BUILTIN_EXAMPLE`] (as in the configuration
/// `attune print-default-config` prints) and printed by `attune print-default-config --knowledge`.
pub const EXAMPLE_KNOWLEDGE: &str = include_str!("../../systemd/knowledge.toml");

/// The `[knowledge] file` value naming the built-in example instead of a file.
pub const BUILTIN_EXAMPLE: &str = "builtin:example";

/// Where the knowledge base is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KnowledgeSource {
    /// A file (resolved against the configuration's directory); it must exist.
    File(PathBuf),
    /// The built-in example, asked for by name.
    Example,
}

impl KnowledgeSource {
    /// Loads the knowledge base from this source.
    pub fn load(&self) -> Result<KnowledgeBase, KnowledgeError> {
        match self {
            Self::File(path) => KnowledgeBase::load(path),
            Self::Example => EXAMPLE_KNOWLEDGE.parse(),
        }
    }
}

impl KnowledgeConfig {
    /// The source this section names; `resolve` turns a relative file name into a path.
    pub fn source(&self, resolve: impl FnOnce(&std::path::Path) -> PathBuf) -> KnowledgeSource {
        if self.file.as_os_str() == BUILTIN_EXAMPLE {
            KnowledgeSource::Example
        } else {
            KnowledgeSource::File(resolve(&self.file))
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
