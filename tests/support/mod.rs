//! Test fakes for the seams of DESIGN.md §2: scripted speech-to-text, fixed stress, a tone
//! synthesiser, a recording alert publisher, and synthetic "speech" WAV fixtures.
#![allow(dead_code)] // each test binary uses a different part of this kit

use attune::alerts::{Alert, AlertError, AlertPublisher, StatusUpdate};
use attune::audio::{Pcm, write_wav_mono};
use attune::conversation::{Pace, StaffAck};
use attune::stress::{StressClassifier, StressError};
use attune::stt::{SpeechToText, SttError, Transcript};
use attune::tts::{TextToSpeech, TtsError};
use std::collections::VecDeque;
use std::path::Path;
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Returns the scripted transcripts in order, one per utterance; records utterance lengths.
pub struct ScriptedStt {
    pub script: VecDeque<String>,
    pub heard_seconds: Arc<Mutex<Vec<f32>>>,
}

impl ScriptedStt {
    pub fn new(lines: &[&str]) -> Self {
        Self {
            script: lines.iter().map(|s| s.to_string()).collect(),
            heard_seconds: Arc::default(),
        }
    }
}

impl SpeechToText for ScriptedStt {
    fn transcribe(&mut self, audio: &[f32]) -> Result<Transcript, SttError> {
        if let Ok(mut h) = self.heard_seconds.lock() {
            h.push(audio.len() as f32 / 16_000.0);
        }
        let text = self.script.pop_front().unwrap_or_default();
        Ok(Transcript {
            text,
            no_speech_prob: 0.0,
            elapsed: Duration::ZERO,
        })
    }
}

/// Gives the same arousal for every utterance.
pub struct FixedStress(pub f32);

impl StressClassifier for FixedStress {
    fn arousal(&mut self, _audio: &[f32]) -> Result<f32, StressError> {
        Ok(self.0)
    }
}

/// Gives the same arousal for every utterance and counts how often it was asked.
pub struct CountingStress {
    /// The arousal given.
    pub p: f32,
    /// Utterances classified so far.
    pub calls: Arc<std::sync::atomic::AtomicUsize>,
}

impl CountingStress {
    /// Always `p`, starting from no calls.
    pub fn new(p: f32) -> Self {
        Self {
            p,
            calls: Arc::default(),
        }
    }
}

impl StressClassifier for CountingStress {
    fn arousal(&mut self, _audio: &[f32]) -> Result<f32, StressError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(self.p)
    }
}

/// Seconds of tone per character at normal pace.
pub const TONE_S_PER_CHAR: f64 = 0.025;

/// "Speaks" a tone whose length follows the text, 20% longer at the slow pace.
pub struct ToneTts {
    pub spoken: Arc<Mutex<Vec<(String, Pace)>>>,
}

impl ToneTts {
    pub fn new() -> Self {
        Self {
            spoken: Arc::default(),
        }
    }
}

impl TextToSpeech for ToneTts {
    fn synthesize(&mut self, text: &str, pace: Pace) -> Result<Pcm, TtsError> {
        if let Ok(mut s) = self.spoken.lock() {
            s.push((text.to_string(), pace));
        }
        let rate = 22_050u32;
        let per_char = if pace == Pace::Slow {
            TONE_S_PER_CHAR * 1.2
        } else {
            TONE_S_PER_CHAR
        };
        let n = (text.len() as f64 * per_char * f64::from(rate)) as usize;
        let samples = (0..n)
            .map(|i| (i as f32 * 440.0 * std::f32::consts::TAU / rate as f32).sin() * 0.2)
            .collect();
        Ok(Pcm {
            samples,
            sample_rate: rate,
        })
    }
}

/// Records alerts; can acknowledge each one as a member of staff would.
pub struct RecordingPublisher {
    pub raised: Arc<Mutex<Vec<Alert>>>,
    pub realerts: Arc<Mutex<Vec<(String, u32)>>>,
    pub status: Arc<Mutex<Vec<StatusUpdate>>>,
    pub ack_as: Option<(String, SyncSender<StaffAck>)>,
}

impl RecordingPublisher {
    pub fn new() -> Self {
        Self {
            raised: Arc::default(),
            realerts: Arc::default(),
            status: Arc::default(),
            ack_as: None,
        }
    }
}

impl AlertPublisher for RecordingPublisher {
    fn raise(&mut self, alert: &Alert) -> Result<(), AlertError> {
        if let Ok(mut r) = self.raised.lock() {
            r.push(alert.clone());
        }
        if let Some((name, tx)) = &self.ack_as {
            let ack = StaffAck {
                alert_id: alert.alert_id.clone(),
                by: Some(name.clone()),
                eta_s: Some(120),
            };
            let _ = tx.send(ack);
        }
        Ok(())
    }

    fn realert(&mut self, alert_id: &str, attempt: u32) -> Result<(), AlertError> {
        if let Ok(mut r) = self.realerts.lock() {
            r.push((alert_id.to_string(), attempt));
        }
        Ok(())
    }

    fn customer_left(&mut self, _alert_id: &str) -> Result<(), AlertError> {
        Ok(())
    }

    fn flush(&mut self, _grace: Duration) -> usize {
        0
    }

    fn report(&mut self, update: StatusUpdate) {
        if let Ok(mut r) = self.status.lock() {
            r.push(update);
        }
    }
}

/// A voiced burst: a 140 Hz harmonic complex with a syllable-rate envelope, like a voice to an
/// energy detector.
pub fn voiced(seconds: f32, rate: u32) -> Vec<f32> {
    let n = (seconds * rate as f32) as usize;
    (0..n)
        .map(|i| {
            let t = i as f32 / rate as f32;
            let env = 0.6 + 0.4 * (2.0 * std::f32::consts::PI * 4.0 * t).sin();
            let tone: f32 = (1..=8)
                .map(|h| (2.0 * std::f32::consts::PI * 140.0 * h as f32 * t).sin() / h as f32)
                .sum();
            0.15 * env * tone
        })
        .collect()
}

/// Writes a conversation fixture: `(speech seconds, following silence seconds)` per turn,
/// after `lead` seconds of silence.
pub fn conversation_wav(path: &Path, lead: f32, turns: &[(f32, f32)]) {
    let rate = 16_000;
    let mut samples = vec![0.0; (lead * rate as f32) as usize];
    for &(speech, silence) in turns {
        samples.extend(voiced(speech, rate));
        samples.extend(vec![0.0; (silence * rate as f32) as usize]);
    }
    write_wav_mono(path, &samples, rate).expect("write fixture wav");
}

/// Path of the repository's file `rel`.
pub fn repo_file(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The example configuration (systemd/attune.toml) with `edit` applied and its state in
/// `dir/state`, written to `dir/attune.toml` with the example knowledge base beside it.
pub fn example_config(dir: &Path, edit: impl Fn(String) -> String) -> std::path::PathBuf {
    let path = dir.join("attune.toml");
    let text = edit(attune::config::EXAMPLE.replace(
        "state_dir = \"/var/lib/attune\"",
        &format!("state_dir = \"{}\"", dir.join("state").display()),
    ));
    std::fs::write(&path, text).expect("write config");
    std::fs::copy(
        repo_file("systemd/knowledge.toml"),
        dir.join("knowledge.toml"),
    )
    .expect("knowledge base");
    path
}

/// The shared recordings (`ATTUNE_TEST_DATA`, default `../shared/data`), or `None` after saying
/// loudly that the test is skipped. CI sets `ATTUNE_REQUIRE_TEST_DATA=1`, which turns a
/// missing folder into a failure.
pub fn test_data(test: &str) -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("ATTUNE_TEST_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| repo_file("../shared/data"));
    if dir.join("speech").is_dir() {
        return Some(dir);
    }
    let why = format!(
        "{test}: SKIPPED: test recordings not found at {} (set ATTUNE_TEST_DATA)",
        dir.display()
    );
    if std::env::var_os("ATTUNE_REQUIRE_TEST_DATA").is_some() {
        panic!("{why}, and ATTUNE_REQUIRE_TEST_DATA is set");
    }
    eprintln!("\n!!! {why}\n");
    None
}

/// A model file from the model directory; a missing model fails the test loudly (models come
/// from `attune models fetch`, which the setup runs).
pub fn model(rel: &str) -> std::path::PathBuf {
    let path = attune::config::default_models_dir().join(rel);
    assert!(
        path.is_file(),
        "model {} is missing: run `attune models fetch` first",
        path.display()
    );
    path
}
