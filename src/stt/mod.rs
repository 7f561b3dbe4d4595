//! Speech-to-text: the [`SpeechToText`] seam. The whisper.cpp engine lives in its own file.

pub mod wer;
mod whisper;

pub use whisper::WhisperStt;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use thiserror::Error;

/// Errors of a speech recogniser; each names the model file.
#[derive(Debug, Error)]
pub enum SttError {
    /// The model could not be loaded.
    #[error(
        "cannot load speech-to-text model {path}: {why} (fix: attune models fetch, then attune models verify)"
    )]
    Load {
        /// The model file.
        path: PathBuf,
        /// What went wrong.
        why: String,
    },
    /// Decoding failed.
    #[error("transcription failed: {0}")]
    Decode(String),
    /// The transcript was no longer wanted and decoding stopped part-way.
    #[error("transcription cancelled")]
    Cancelled,
}

/// Says when an early transcription has gone stale: the customer spoke again, so the
/// utterance it was started for will never be the turn. Shared between the thread that
/// offers work (which moves the counter on) and the recogniser (which checks it).
#[derive(Debug, Clone, Default)]
pub struct Offers(Arc<AtomicU64>);

impl Offers {
    /// Supersedes every earlier offer; returns the new one's number.
    pub fn supersede(&self) -> u64 {
        self.0.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// The latest offer's number.
    pub fn latest(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    /// A check that turns true once offer `number` has been superseded.
    pub fn stale_check(&self, number: u64) -> Stale {
        Stale {
            offers: self.clone(),
            number,
        }
    }
}

/// Whether one offer has been superseded (see [`Offers`]).
#[derive(Debug, Clone)]
pub struct Stale {
    offers: Offers,
    number: u64,
}

impl Stale {
    /// True once a newer offer exists.
    pub fn is_stale(&self) -> bool {
        self.offers.latest() != self.number
    }
}

/// The text of one utterance.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Transcript {
    /// Recognised words, trimmed; empty when nothing usable was heard.
    pub text: String,
    /// The recogniser's probability that there was no speech at all.
    pub no_speech_prob: f32,
    /// Time spent decoding.
    pub elapsed: Duration,
}

/// Turns one utterance (16 kHz mono) into text. Runs on its own thread; the model stays warm.
pub trait SpeechToText: Send {
    /// Transcribes `audio`.
    fn transcribe(&mut self, audio: &[f32]) -> Result<Transcript, SttError>;

    /// Transcribes `audio` unless `stale` turns true first ([`SttError::Cancelled`]).
    /// Recognisers that cannot stop part-way finish the work.
    fn transcribe_unless_stale(
        &mut self,
        audio: &[f32],
        stale: Stale,
    ) -> Result<Transcript, SttError> {
        let _ = stale;
        self.transcribe(audio)
    }
}

/// The `[stt]` section.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SttConfig {
    /// whisper.cpp ggml model, relative to the model directory.
    pub model: String,
    /// Spoken language (ISO 639-1), e.g. "en". English-only models need "en".
    pub language: String,
    /// Decoder threads.
    pub threads: u32,
    /// Shrink the audio context to the utterance for speed (guarded against runaway decoding).
    pub scale_audio_ctx: bool,
    /// Text is dropped when whisper's no-speech probability is above this.
    pub no_speech_threshold: f32,
    /// Prime the recogniser with the knowledge base's vocabulary (place names, services).
    pub prompt_from_knowledge: bool,
}

impl Default for SttConfig {
    fn default() -> Self {
        Self {
            model: "ggml-tiny.en-q8_0.bin".into(),
            language: "en".into(),
            threads: 2,
            scale_audio_ctx: true,
            no_speech_threshold: 0.6,
            prompt_from_knowledge: true,
        }
    }
}

impl SttConfig {
    /// Lists every out-of-range value, each with its key.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(1..=16).contains(&self.threads) {
            out.push(format!(
                "stt.threads = {} is out of range 1..=16",
                self.threads
            ));
        }
        if !(0.0..=1.0).contains(&self.no_speech_threshold) {
            out.push(format!(
                "stt.no_speech_threshold = {} is out of range 0..=1",
                self.no_speech_threshold
            ));
        }
        let lang_ok =
            self.language.len() == 2 && self.language.chars().all(|c| c.is_ascii_lowercase());
        if !lang_ok {
            out.push(format!(
                "stt.language = {:?} is not a two-letter language code",
                self.language
            ));
        }
        if self.model.contains(".en") && self.language != "en" {
            out.push(format!(
                "stt.model {} is English-only but stt.language is {:?}",
                self.model, self.language
            ));
        }
        out
    }
}

/// Checks that `path` is a whisper.cpp ggml file that is not truncated, without loading it
/// (whisper.cpp would otherwise fail with a message that does not name the cause).
pub fn check_ggml_file(path: &std::path::Path) -> Result<(), String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let len = f.metadata().map_err(|e| e.to_string())?.len();
    let mut magic = [0u8; 4];
    f.read_exact(&mut magic)
        .map_err(|_| "the file is empty or truncated".to_string())?;
    if u32::from_le_bytes(magic) != 0x6767_6d6c {
        return Err("not a whisper.cpp ggml model (bad magic)".into());
    }
    // tiny.en q8_0 is ~44 MB; anything under 1 MB cannot hold a whisper model.
    if len < 1_000_000 {
        return Err(format!("only {len} bytes: truncated"));
    }
    Ok(())
}
