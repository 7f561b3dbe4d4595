//! A kiosk that runs for weeks must not grow with the turns it hears: 10,000 turns through
//! `app::run` from an endless, device-like input (customers coming and going, asking,
//! escalating, being acknowledged), with fakes for the engines. The resident memory after
//! the first 2,000 turns is the baseline; the remaining 8,000 may not add to it.

mod support;

use attune::alerts::{Alert, AlertError, AlertPublisher, StatusUpdate};
use attune::app::{Components, run};
use attune::audio::{AudioError, AudioInput, Clock, FRAME_SAMPLES, NullOutput, Pcm, SAMPLE_RATE};
use attune::config::Config;
use attune::conversation::{Pace, StaffAck};
use attune::knowledge::KnowledgeBase;
use attune::shutdown::Shutdown;
use attune::stt::{SpeechToText, SttError, Transcript};
use attune::tts::{TextToSpeech, TtsError};
use attune::vad::EnergyDetector;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{FixedStress, repo_file, voiced};

const TURNS: usize = 10_000;
const BASELINE_AT: usize = 2_000;

/// Customers without end: 0.5 s of voice, 0.8 s of quiet; every 40th turn the customer
/// walks away (60 s of quiet) and the next one arrives. Never ends, like a microphone.
struct EndlessCustomers {
    voice: Vec<f32>,
    at: usize,
    turn: usize,
}

impl AudioInput for EndlessCustomers {
    fn read_frame(&mut self) -> Result<Option<Vec<f32>>, AudioError> {
        let quiet_s = if self.turn % 40 == 39 { 60.0 } else { 0.8 };
        let quiet = (quiet_s * SAMPLE_RATE as f32) as usize;
        let period = self.voice.len() + quiet;
        let mut frame = Vec::with_capacity(FRAME_SAMPLES);
        for _ in 0..FRAME_SAMPLES {
            frame.push(self.voice.get(self.at).copied().unwrap_or(0.0));
            self.at += 1;
            if self.at >= period {
                self.at = 0;
                self.turn += 1;
            }
        }
        Ok(Some(frame))
    }

    fn describe(&self) -> String {
        "device:endless-customers".into()
    }
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Says what customers say, in turn; stops the run after [`TURNS`] and notes the resident
/// memory at [`BASELINE_AT`] and at the end.
struct Customers {
    n: usize,
    stop: Shutdown,
    rss: Arc<Mutex<Vec<u64>>>,
}

const LINES: [&str; 6] = [
    "where are the toilets",
    "my train to Leeds was cancelled, my number is 07700 900123",
    "this is ridiculous, nobody is helping me",
    "can I speak to a person please",
    "thank you",
    "help me, I have been attacked",
];

impl SpeechToText for Customers {
    fn transcribe(&mut self, _audio: &[f32]) -> Result<Transcript, SttError> {
        self.n += 1;
        if self.n == BASELINE_AT || self.n == TURNS {
            self.rss.lock().expect("lock").push(rss_kb());
        }
        if self.n >= TURNS {
            self.stop.trigger();
        }
        Ok(Transcript {
            text: LINES[self.n % LINES.len()].to_string(),
            no_speech_prob: 0.0,
            elapsed: Duration::ZERO,
        })
    }
}

/// 20 ms of silence per reply: the words matter here, not the sound.
struct QuickVoice;

impl TextToSpeech for QuickVoice {
    fn synthesize(&mut self, _text: &str, _pace: Pace) -> Result<Pcm, TtsError> {
        Ok(Pcm {
            samples: vec![0.0; 320],
            sample_rate: SAMPLE_RATE,
        })
    }
}

/// Counts alerts and acknowledges each at once, keeping nothing.
struct AckingPublisher {
    acks: SyncSender<StaffAck>,
    raised: Arc<Mutex<usize>>,
}

impl AlertPublisher for AckingPublisher {
    fn raise(&mut self, alert: &Alert) -> Result<(), AlertError> {
        *self.raised.lock().expect("lock") += 1;
        let _ = self.acks.try_send(StaffAck {
            alert_id: alert.alert_id.clone(),
            by: Some("Sam".into()),
            eta_s: Some(60),
        });
        Ok(())
    }
    fn realert(&mut self, _alert_id: &str, _attempt: u32) -> Result<(), AlertError> {
        Ok(())
    }
    fn customer_left(&mut self, _alert_id: &str) -> Result<(), AlertError> {
        Ok(())
    }
    fn flush(&mut self, _grace: Duration) -> usize {
        0
    }
    fn report(&mut self, _update: StatusUpdate) {}
}

#[test]
fn ten_thousand_turns_keep_memory_flat() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = Config::load(&repo_file("systemd/attune.toml")).expect("example config");
    cfg.kiosk.state_dir = dir.path().to_path_buf();
    cfg.mqtt.flush_grace_s = 0;
    let clock = Clock::samples(SAMPLE_RATE);
    let stop = Shutdown::new();
    let rss = Arc::new(Mutex::new(Vec::new()));
    let raised = Arc::new(Mutex::new(0));
    let (ack_tx, acks) = sync_channel(16);
    let components = Components {
        clock: clock.clone(),
        input: Box::new(EndlessCustomers {
            voice: voiced(0.5, SAMPLE_RATE),
            at: 0,
            turn: 0,
        }),
        paced_by_pipeline: true,
        output: Box::new(NullOutput::new(clock)),
        vad: Box::new(EnergyDetector::new(-40.0)),
        stt: Box::new(Customers {
            n: 0,
            stop: stop.clone(),
            rss: rss.clone(),
        }),
        stress: Box::new(FixedStress(0.3)),
        tts: Box::new(QuickVoice),
        alerts: Box::new(AckingPublisher {
            acks: ack_tx,
            raised: raised.clone(),
        }),
        acks,
        knowledge: KnowledgeBase::load(cfg.resolve(&cfg.knowledge.file)).expect("knowledge"),
        keep_report: false,
    };
    let report = run(&cfg, components, &stop).expect("run");
    let rss = rss.lock().expect("lock").clone();
    let raised = *raised.lock().expect("lock");
    eprintln!("resident memory at turn {BASELINE_AT} and {TURNS}: {rss:?} kB; {raised} alerts");
    assert_eq!(rss.len(), 2, "the run reached {TURNS} turns");
    assert!(raised >= TURNS / 60, "customers escalated: {raised} alerts");
    assert!(
        report.turns.is_empty() && report.said.is_empty() && report.latencies.is_empty(),
        "a live kiosk keeps no run report"
    );
    let growth_kb = rss[1].saturating_sub(rss[0]);
    assert!(
        growth_kb < 2048,
        "grew {growth_kb} kB over {} turns",
        TURNS - BASELINE_AT
    );
}
