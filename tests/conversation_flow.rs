//! A multi-turn conversation (WAV in) through `app::run` with the fakes: the spoken replies and
//! the published alert are checked end to end.

mod support;

use attune::alerts::StatusUpdate;
use attune::app::{Components, RunReport, run};
use attune::audio::{
    AudioError, AudioInput, Clock, NullOutput, SAMPLE_RATE, WavInput, WavOutput, read_wav_mono,
};
use attune::config::Config;
use attune::conversation::{Pace, Reason};
use attune::knowledge::KnowledgeBase;
use attune::shutdown::Shutdown;
use attune::vad::EnergyDetector;
use std::path::Path;
use std::sync::mpsc::sync_channel;
use support::*;

fn tone_seconds(text: &str, pace: Pace) -> f64 {
    let slow = if pace == Pace::Slow { 1.2 } else { 1.0 };
    text.len() as f64 * TONE_S_PER_CHAR * slow
}

fn config(state: &Path) -> Config {
    let mut c = Config::load(&repo_file("systemd/attune.toml")).expect("example config");
    c.kiosk.state_dir = state.to_path_buf();
    c.mqtt.flush_grace_s = 0;
    c
}

struct Outcome {
    report: RunReport,
    alerts: Vec<attune::alerts::Alert>,
    spoken: Vec<(String, Pace)>,
    recorded_s: f64,
    heard_s: Vec<f32>,
    status: Vec<StatusUpdate>,
    /// Utterances the voice model was asked about.
    stress_calls: usize,
}

fn converse(turns: &[(f32, f32)], script: &[&str], arousal: f32, fast: bool) -> Outcome {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path());
    let input_path = dir.path().join("customer.wav");
    let output_path = dir.path().join("kiosk.wav");
    conversation_wav(&input_path, 1.0, turns);
    let clock = Clock::samples(SAMPLE_RATE);
    let (ack_tx, ack_rx) = sync_channel(8);
    let mut publisher = RecordingPublisher::new();
    publisher.ack_as = Some(("Sam".into(), ack_tx));
    let raised = publisher.raised.clone();
    let status = publisher.status.clone();
    let tts = ToneTts::new();
    let spoken = tts.spoken.clone();
    let stt = ScriptedStt::new(script);
    let heard = stt.heard_seconds.clone();
    let stress = CountingStress::new(arousal);
    let stress_calls = stress.calls.clone();
    let components = Components {
        clock: clock.clone(),
        input: Box::new(WavInput::open(&input_path, !fast, clock.clone()).expect("input")),
        paced_by_pipeline: fast,
        output: Box::new(WavOutput::create(&output_path, clock).expect("output")),
        vad: Box::new(EnergyDetector::new(-40.0)),
        stt: Box::new(stt),
        stress: Box::new(stress),
        tts: Box::new(tts),
        alerts: Box::new(publisher),
        acks: ack_rx,
        knowledge: KnowledgeBase::load(cfg.resolve(&cfg.knowledge.file)).expect("knowledge base"),
        keep_report: true,
    };
    let report = run(&cfg, components, &Shutdown::new()).expect("run");
    let recorded = read_wav_mono(&output_path).expect("kiosk recording");
    Outcome {
        report,
        alerts: raised.lock().expect("lock").clone(),
        spoken: spoken.lock().expect("lock").clone(),
        recorded_s: recorded.samples.len() as f64 / f64::from(recorded.sample_rate),
        heard_s: heard.lock().expect("lock").clone(),
        status: status.lock().expect("lock").clone(),
        stress_calls: stress_calls.load(std::sync::atomic::Ordering::SeqCst),
    }
}

#[test]
fn questions_are_answered_and_a_request_for_a_person_reaches_staff() {
    let o = converse(
        &[(1.5, 10.0), (1.5, 8.0), (2.0, 12.0)],
        &[
            "where are the toilets",
            "when does the ticket office open",
            "this is useless, can I speak to a real person",
        ],
        0.2,
        true,
    );
    assert_eq!(
        o.heard_s.len(),
        3,
        "three utterances found in the WAV: {:?}",
        o.heard_s
    );
    for s in &o.heard_s {
        assert!((1.4..3.0).contains(s), "utterance length {s}");
    }
    let said = &o.report.said;
    assert_eq!(said.len(), 4, "{said:#?}");
    assert!(
        said[0].starts_with("Hello, I'm the automated help point."),
        "{}",
        said[0]
    );
    assert!(said[0].to_lowercase().contains("toilet"), "{}", said[0]);
    assert!(
        said[1].to_lowercase().contains("ticket office"),
        "{}",
        said[1]
    );
    assert!(
        said[2].contains("I'm asking a member of staff to come to you now."),
        "{}",
        said[2]
    );
    assert_eq!(
        said[3],
        "Sam is on the way. They should be with you in about 2 minutes."
    );

    assert_eq!(o.alerts.len(), 1);
    let alert = &o.alerts[0];
    assert_eq!(alert.reason, Reason::AskedForPerson);
    assert_eq!(alert.kiosk.id, "kiosk-1");
    assert_eq!(alert.kiosk.site, "central-station");
    assert!(alert.alert_id.starts_with("kiosk-1-"));
    let words = alert.customer_said.clone().unwrap_or_default();
    assert_eq!(
        words.last().map(String::as_str),
        Some("this is useless, can I speak to a real person")
    );
    assert_eq!(o.report.acks.len(), 1);

    // Synthesis is sentence by sentence, and the recording holds what was said.
    assert_eq!(o.spoken[0].0, "Hello, I'm the automated help point.");
    assert!(o.spoken.len() > said.len());
    let expected: f64 = o.spoken.iter().map(|(t, p)| tone_seconds(t, *p)).sum();
    assert!(
        o.recorded_s >= expected - 0.1,
        "recorded {} s, spoken {} s: {:#?}",
        o.recorded_s,
        expected,
        o.spoken
    );
}

#[test]
fn customer_talking_over_the_kiosk_cuts_it_short() {
    // The second question starts 1 s after the first ends, while the long greeting plays.
    let o = converse(
        &[(1.5, 1.0), (1.5, 10.0)],
        &["where are the toilets", "where is the lift"],
        0.2,
        true,
    );
    assert_eq!(o.report.said.len(), 2, "{:#?}", o.report.said);
    let full: f64 = o.spoken.iter().map(|(t, p)| tone_seconds(t, *p)).sum();
    assert!(
        o.recorded_s < full - 1.0,
        "barge-in must cut the first reply: {} of {} s",
        o.recorded_s,
        full
    );
    assert!(
        o.report.said[1].to_lowercase().contains("lift"),
        "{}",
        o.report.said[1]
    );
}

#[test]
fn a_safety_phrase_alerts_at_once_and_is_spoken_slowly() {
    let o = converse(
        &[(2.0, 12.0)],
        &["please help me my husband has chest pain"],
        0.9,
        true,
    );
    assert_eq!(o.alerts.len(), 1);
    assert_eq!(o.alerts[0].reason, Reason::Safety);
    assert!(
        o.spoken
            .iter()
            .any(|(t, p)| t.contains("calling a member of staff") && *p == Pace::Slow)
    );
}

#[test]
fn real_time_feeding_reaches_the_same_decisions() {
    let o = converse(&[(1.2, 3.0)], &["where are the toilets"], 0.1, false);
    assert_eq!(o.report.said.len(), 1);
    assert!(o.report.said[0].to_lowercase().contains("toilet"));
    assert!(o.alerts.is_empty());
    // Live, the transcript is started in the pause and is ready when the hangover ends.
    let [l] = o.report.latencies[..] else {
        panic!("one turn's latency: {:?}", o.report.latencies)
    };
    assert!(l.stt_early, "{l:?}");
    // The voice was read with the early transcript, once, not again after the hangover.
    assert_eq!(o.stress_calls, 1, "{l:?}");
    assert_eq!(l.hangover_ms, 416, "13 frames of 32 ms");
    assert!(l.voice_to_voice_ms >= l.hangover_ms, "{l:?}");
    assert!(
        o.status.contains(&StatusUpdate::Turn(l)),
        "the turn is counted on the status topic: {:?}",
        o.status
    );
    assert!(
        o.status
            .iter()
            .any(|u| matches!(u, StatusUpdate::Stress(s) if (0.0..=1.0).contains(s))),
        "the customer's stress is reported for Home Assistant: {:?}",
        o.status
    );
}

/// A microphone that vanishes for its first reads, then comes back.
struct FlakyInput {
    inner: WavInput,
    failures_left: u32,
}

impl AudioInput for FlakyInput {
    fn read_frame(&mut self) -> Result<Option<Vec<f32>>, AudioError> {
        if self.failures_left > 0 {
            self.failures_left -= 1;
            return Err(AudioError::Device {
                device: "usb-mic".into(),
                why: "device unplugged".into(),
            });
        }
        self.inner.read_frame()
    }

    fn describe(&self) -> String {
        "device:usb-mic".into()
    }
}

#[test]
fn a_lost_microphone_is_reported_on_the_status_topic_and_recovered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(dir.path());
    cfg.audio.device_retry_max_s = 1;
    let input_path = dir.path().join("customer.wav");
    conversation_wav(&input_path, 1.0, &[(1.2, 2.0)]);
    let clock = Clock::samples(SAMPLE_RATE);
    let (_ack_tx, ack_rx) = sync_channel(8);
    let publisher = RecordingPublisher::new();
    let status = publisher.status.clone();
    let inner = WavInput::open(&input_path, false, clock.clone()).expect("input");
    let components = Components {
        clock: clock.clone(),
        input: Box::new(FlakyInput {
            inner,
            failures_left: 2,
        }),
        paced_by_pipeline: true,
        output: Box::new(NullOutput::new(clock.clone())),
        vad: Box::new(EnergyDetector::new(-40.0)),
        stt: Box::new(ScriptedStt::new(&["where are the toilets"])),
        stress: Box::new(FixedStress(0.1)),
        tts: Box::new(ToneTts::new()),
        alerts: Box::new(publisher),
        acks: ack_rx,
        knowledge: KnowledgeBase::load(cfg.resolve(&cfg.knowledge.file)).expect("knowledge base"),
        keep_report: true,
    };
    let report = run(&cfg, components, &Shutdown::new()).expect("run");
    let audio: Vec<String> = status
        .lock()
        .expect("lock")
        .iter()
        .filter_map(|u| match u {
            StatusUpdate::Audio(s) => Some(s.clone()),
            StatusUpdate::Turn(_) | StatusUpdate::Stress(_) | StatusUpdate::Speaker(_) => None,
        })
        .collect();
    assert_eq!(audio.len(), 3, "{audio:?}");
    assert!(audio[0].contains("device unplugged"), "{audio:?}");
    assert_eq!(
        audio[2], "device:usb-mic",
        "back to the working input: {audio:?}"
    );
    assert!(
        report.said[0].to_lowercase().contains("toilet"),
        "the customer is still answered: {:?}",
        report.said
    );
}
