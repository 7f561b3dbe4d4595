//! Text-to-speech: the [`TextToSpeech`] seam and sentence splitting for streaming synthesis.

mod onnxruntime;
mod piper;

pub use onnxruntime::verified_onnxruntime;
pub use piper::{PiperTts, espeak_data_dir};

use crate::audio::{self, Pcm};
use crate::conversation::Pace;
use std::collections::HashMap;
use std::path::PathBuf;
use thiserror::Error;

/// Errors of a speech synthesiser; each names the voice file.
#[derive(Debug, Error)]
pub enum TtsError {
    /// The voice could not be loaded.
    #[error(
        "cannot load voice {path}: {why} (fix: attune models fetch, then attune models verify)"
    )]
    Load {
        /// The voice file.
        path: PathBuf,
        /// What went wrong.
        why: String,
    },
    /// The ONNX Runtime library is missing, or is not the pinned one.
    #[error("ONNX Runtime library {path}: {why}")]
    Runtime {
        /// The library file.
        path: PathBuf,
        /// What is wrong, with the fix.
        why: String,
    },
    /// Synthesis failed.
    #[error("speech synthesis failed: {0}")]
    Synthesis(String),
}

/// Speaks text. Runs on its own thread; the voice is loaded once.
pub trait TextToSpeech: Send {
    /// Synthesises one sentence (or a short text) at the given pace.
    fn synthesize(&mut self, text: &str, pace: Pace) -> Result<Pcm, TtsError>;
}

/// Longest piece synthesised at once, in characters (about five seconds of speech). Piper's
/// memory grows with the length of what it synthesises (measured: a 2.6 s sentence peaks at
/// 163 MB for the whole process, a 9 s one at 297 MB) and a long first sentence delays the
/// first audio, so longer sentences are cut at their commas, semicolons or colons.
const MAX_PIECE_CHARS: usize = 90;

/// Splits a reply into sentences so the first can play while the next is synthesised, and
/// long sentences at their clause boundaries. Keeps abbreviations such as "Mr." and decimal
/// numbers together.
pub fn split_sentences(text: &str) -> Vec<String> {
    sentences(text)
        .into_iter()
        .flat_map(|s| split_long(&s))
        .collect()
}

/// Cuts a sentence after commas, semicolons or colons into pieces of at most
/// [`MAX_PIECE_CHARS`] where it can (a single long clause stays whole).
fn split_long(sentence: &str) -> Vec<String> {
    if sentence.len() <= MAX_PIECE_CHARS {
        return vec![sentence.to_string()];
    }
    let mut clauses = Vec::new();
    let mut start = 0;
    for (i, c) in sentence.char_indices() {
        let next_is_space = sentence[i + c.len_utf8()..].starts_with(' ');
        if matches!(c, ',' | ';' | ':') && next_is_space {
            clauses.push(&sentence[start..=i]);
            start = i + 1;
        }
    }
    clauses.push(&sentence[start..]);
    let mut out: Vec<String> = Vec::new();
    let mut piece = String::new();
    for clause in clauses {
        if !piece.is_empty() && piece.len() + clause.len() > MAX_PIECE_CHARS {
            out.push(piece.trim().to_string());
            piece.clear();
        }
        piece.push_str(clause);
    }
    push_trimmed(&mut out, &piece);
    out
}

fn sentences(text: &str) -> Vec<String> {
    const ABBREVIATIONS: [&str; 6] = ["mr.", "mrs.", "ms.", "dr.", "st.", "no."];
    let mut out = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        current.push(c);
        let ends =
            matches!(c, '.' | '!' | '?') && chars.get(i + 1).is_none_or(|n| n.is_whitespace());
        let last_word = current
            .split_whitespace()
            .last()
            .unwrap_or("")
            .to_lowercase();
        if ends && !ABBREVIATIONS.contains(&last_word.as_str()) {
            push_trimmed(&mut out, &current);
            current.clear();
        }
    }
    push_trimmed(&mut out, &current);
    out
}

fn push_trimmed(out: &mut Vec<String>, s: &str) {
    let t = s.trim();
    if !t.is_empty() {
        out.push(t.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_sentences_are_cut_at_clause_boundaries() {
        let long = "If you have lost something on a train, the lost property office by platform \
                    one can check the records, and if it has been handed in they will keep it for \
                    you for up to three months, so please ask them.";
        let pieces = split_sentences(long);
        assert!(pieces.len() >= 2, "{pieces:?}");
        assert!(
            pieces.iter().all(|p| p.len() <= MAX_PIECE_CHARS),
            "{pieces:?}"
        );
        assert_eq!(pieces.join(" "), long, "nothing lost or reordered");
        assert!(pieces[0].ends_with(','));
        let one_clause = "a".repeat(MAX_PIECE_CHARS + 10);
        assert_eq!(split_sentences(&one_clause), vec![one_clause.clone()]);
    }

    #[test]
    fn splits_sentences_but_not_abbreviations_or_decimals() {
        assert_eq!(
            split_sentences("Hello. Platform 2.5 is closed! Ask Dr. Smith? ok"),
            vec!["Hello.", "Platform 2.5 is closed!", "Ask Dr. Smith?", "ok"]
        );
        assert!(split_sentences("   ").is_empty());
    }
}

/// The `[tts]` section.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TtsConfig {
    /// Piper voice (.onnx, with its .onnx.json beside it), relative to the model directory.
    pub voice: String,
    /// ONNX Runtime shared library; empty means the one installed in the model directory.
    pub onnxruntime: String,
    /// Directory holding `espeak-ng-data`; empty means the system's.
    pub espeak_data: String,
    /// Piper length scale at normal pace (1.0 is the voice's own rate; larger is slower).
    pub length_scale: f32,
    /// Length scale for a distressed customer: slower and calmer.
    pub slow_length_scale: f32,
    /// Synthesise a reply sentence by sentence, playing each while the next is made; `false`
    /// makes the whole reply first (only for comparison: the customer waits longer).
    pub stream_sentences: bool,
    /// Trade synthesis speed for memory, for boards with little RAM: ONNX Runtime allocates per
    /// run instead of keeping an arena the size of the longest sentence.
    pub low_memory: bool,
    /// Speak without Piper's random variation (its noise scales set to 0): the same text
    /// always gives the same audio, a little flatter. `attune eval room` uses it so that its
    /// figures repeat from run to run.
    pub deterministic: bool,
}

impl Default for TtsConfig {
    fn default() -> Self {
        Self {
            voice: "piper/en_US-joe-medium.onnx".into(),
            onnxruntime: String::new(),
            espeak_data: String::new(),
            length_scale: 1.0,
            slow_length_scale: 1.2,
            stream_sentences: true,
            low_memory: false,
            deterministic: false,
        }
    }
}

impl TtsConfig {
    /// Lists every out-of-range value, each with its key.
    pub fn problems(&self) -> Vec<String> {
        [
            ("length_scale", self.length_scale),
            ("slow_length_scale", self.slow_length_scale),
        ]
        .into_iter()
        .filter(|(_, v)| !(0.5..=2.0).contains(v))
        .map(|(k, v)| format!("tts.{k} = {v} is out of range 0.5..=2"))
        .collect()
    }
}

/// A voice with fixed prompts rendered once at start-up, so the greeting, "one moment" or the
/// first sentence of a knowledge-base answer play without synthesis delay. Sentences are cached
/// whole, as the synthesis thread asks for them, as 16-bit samples (half the memory of f32).
pub struct CachedTts<T: TextToSpeech> {
    inner: T,
    cache: HashMap<(String, Pace), Cached>,
}

struct Cached {
    samples: Vec<i16>,
    sample_rate: u32,
}

impl<T: TextToSpeech> CachedTts<T> {
    /// Wraps `inner`, rendering every sentence of the `fixed` prompts now.
    pub fn new(mut inner: T, fixed: &[(&str, Pace)]) -> Result<Self, TtsError> {
        let mut cache = HashMap::new();
        for (text, pace) in fixed {
            for sentence in split_sentences(text) {
                if cache.contains_key(&(sentence.clone(), *pace)) {
                    continue;
                }
                let pcm = inner.synthesize(&sentence, *pace)?;
                let samples = pcm.samples.iter().map(|&s| audio::to_i16(s)).collect();
                let cached = Cached {
                    samples,
                    sample_rate: pcm.sample_rate,
                };
                cache.insert((sentence, *pace), cached);
            }
        }
        Ok(Self { inner, cache })
    }

    /// Sentences held, and the seconds of audio they make.
    pub fn cached(&self) -> (usize, f64) {
        let seconds = self
            .cache
            .values()
            .map(|c| c.samples.len() as f64 / f64::from(c.sample_rate.max(1)))
            .sum();
        (self.cache.len(), seconds)
    }
}

impl<T: TextToSpeech> TextToSpeech for CachedTts<T> {
    fn synthesize(&mut self, text: &str, pace: Pace) -> Result<Pcm, TtsError> {
        match self.cache.get(&(text.to_string(), pace)) {
            Some(c) => Ok(Pcm {
                samples: c.samples.iter().map(|&s| audio::from_i16(s)).collect(),
                sample_rate: c.sample_rate,
            }),
            None => self.inner.synthesize(text, pace),
        }
    }
}
