//! Sentence streaming with the real Piper voice: the kiosk starts playing a reply before the
//! last sentence of it has been synthesised; with streaming off it cannot.

mod support;

use attune::alerts::AlertPublisher;
use attune::app::{Components, run};
use attune::audio::{AudioError, AudioOutput, Clock, NullOutput, Pcm, SAMPLE_RATE, WavInput};
use attune::config::Config;
use attune::conversation::Pace;
use attune::knowledge::KnowledgeBase;
use attune::shutdown::Shutdown;
use attune::tts::{PiperTts, TextToSpeech, TtsError};
use attune::vad::EnergyDetector;
use attune_models::onnxruntime_path;
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use support::*;

/// The real voice, noting when each synthesis finished.
struct TimedVoice {
    voice: PiperTts,
    finished: Arc<Mutex<Vec<Instant>>>,
}

impl TextToSpeech for TimedVoice {
    fn synthesize(&mut self, text: &str, pace: Pace) -> Result<Pcm, TtsError> {
        let pcm = self.voice.synthesize(text, pace);
        self.finished.lock().expect("lock").push(Instant::now());
        pcm
    }
}

/// An output noting when the first audio was handed to it.
struct FirstPlay {
    inner: NullOutput,
    first: Arc<Mutex<Option<Instant>>>,
}

impl AudioOutput for FirstPlay {
    fn play(&mut self, pcm: &Pcm) -> Result<(), AudioError> {
        self.first
            .lock()
            .expect("lock")
            .get_or_insert_with(Instant::now);
        self.inner.play(pcm)
    }
    fn stop(&mut self) -> Result<(), AudioError> {
        self.inner.stop()
    }
    fn is_playing(&mut self) -> bool {
        self.inner.is_playing()
    }
    fn finish(&mut self) -> Result<(), AudioError> {
        self.inner.finish()
    }
    fn describe(&self) -> String {
        "first-play".into()
    }
}

/// One question answered with several sentences; returns when each synthesis finished and
/// when playback started.
fn answer_one_question(stream: bool) -> (Vec<Instant>, Instant) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = Config::load(&repo_file("systemd/attune.toml")).expect("example config");
    cfg.kiosk.state_dir = dir.path().to_path_buf();
    cfg.mqtt.flush_grace_s = 0;
    cfg.tts.stream_sentences = stream;
    let input = dir.path().join("customer.wav");
    conversation_wav(&input, 1.0, &[(1.5, 2.0)]);
    let lib = onnxruntime_path(&attune::config::default_models_dir()).expect("ONNX Runtime");
    let voice =
        PiperTts::load(&model("piper/en_US-joe-medium.onnx"), &lib, &cfg.tts).expect("Piper voice");
    let finished = Arc::new(Mutex::new(Vec::new()));
    let first = Arc::new(Mutex::new(None));
    let clock = Clock::samples(SAMPLE_RATE);
    let (_ack_tx, acks) = sync_channel(4);
    let alerts: Box<dyn AlertPublisher> = Box::new(RecordingPublisher::new());
    let components = Components {
        clock: clock.clone(),
        input: Box::new(WavInput::open(&input, false, clock.clone()).expect("input")),
        paced_by_pipeline: true,
        output: Box::new(FirstPlay {
            inner: NullOutput::new(clock),
            first: first.clone(),
        }),
        vad: Box::new(EnergyDetector::new(-40.0)),
        stt: Box::new(ScriptedStt::new(&["where is the ticket office"])),
        stress: Box::new(FixedStress(0.1)),
        tts: Box::new(TimedVoice {
            voice,
            finished: finished.clone(),
        }),
        alerts,
        acks,
        knowledge: KnowledgeBase::load(cfg.resolve(&cfg.knowledge.file)).expect("knowledge"),
        keep_report: true,
    };
    let report = run(&cfg, components, &Shutdown::new()).expect("run");
    assert!(
        report.said[0].to_lowercase().contains("ticket office"),
        "{:?}",
        report.said
    );
    let finished = finished.lock().expect("lock").clone();
    let first = first.lock().expect("lock").expect("something was played");
    (finished, first)
}

#[test]
fn playback_starts_before_the_last_sentence_is_synthesised() {
    let (finished, first_play) = answer_one_question(true);
    assert!(
        finished.len() >= 3,
        "greeting, answer, follow-up: {finished:?}"
    );
    let last = *finished.last().expect("syntheses");
    assert!(
        first_play < last,
        "first audio {:?} before the last sentence was ready",
        last - first_play
    );
    // Whole-reply synthesis, the contrast: nothing plays until all of it is made.
    let (finished, first_play) = answer_one_question(false);
    assert_eq!(finished.len(), 1, "one synthesis for the whole reply");
    assert!(first_play >= finished[0]);
}
