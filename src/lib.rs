//! attune: an offline voice help point.
//!
//! A customer speaks; `audio` captures it, `vad` finds the utterance, `stt` transcribes it,
//! `stress` hears arousal in the voice and cues in the words, `knowledge` finds an answer, and
//! `assessment` puts these and the dialogue together into the turn the core decides on. The pure `conversation` core decides what to say and whether
//! to call staff; `tts` speaks the reply and `alerts` delivers alerts over MQTT through a
//! durable outbox. `app` is the daemon: it builds the real components and wires them onto
//! their threads. `config` reads and validates the one configuration file; `cli` is the
//! command line (its tools live in the binary, `src/commands`); `shutdown` turns signals into
//! one orderly stop; `latency` says where a turn's time went; `backoff` spaces retries;
//! `wallclock` gives informational timestamps. The model tooling is a crate of its own (`crates/attune-models`), which this
//! library does not use.

pub mod alerts;
pub mod app;
pub mod assessment;
pub mod audio;
pub mod backoff;
pub mod cli;
pub mod config;
pub mod conversation;
pub mod knowledge;
pub mod latency;
pub mod shutdown;
pub mod stress;
pub mod stt;
pub mod tts;
pub mod vad;
pub mod wallclock;
