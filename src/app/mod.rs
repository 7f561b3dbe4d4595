//! The application: the one place that builds real components from the configuration, and
//! [`run`], which wires any components (real or fakes) onto their threads:
//!
//! ```text
//! attune-listen ─frames→ VAD → endpointing ─utterance→ attune-understand (STT, voice stress)
//!       │ speech started/ended                                   │ text + arousal
//!       └──────────────────────────→ attune-brain ←──────────────┘   ← staff acks
//!                     (cues, knowledge, fusion, conversation core, alerts)
//!                                        │ replies
//!                            attune-tts (sentence by sentence) → attune-play (output)
//! ```
//! Every channel is bounded; engines and devices never run on tokio workers.

mod brain;
pub mod build;
mod listen;
mod speak;
mod understand;

pub use brain::answer_from;

use crate::alerts::{Alert, AlertPublisher, KioskIdentity};
use crate::audio::{AudioInput, AudioOutput, Clock};
use crate::config::Config;
use crate::conversation::{Conversation, Reason, StaffAck, StressReading};
use crate::knowledge::KnowledgeBase;
use crate::latency::TurnLatency;
use crate::shutdown::Shutdown;
use crate::stress::StressClassifier;
use crate::stt::SpeechToText;
use crate::tts::TextToSpeech;
use crate::vad::VoiceDetector;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};
use std::time::Duration;

/// Everything [`run`] needs from outside: real engines and devices, or test fakes.
pub struct Components {
    /// The pipeline clock (audio time for files, wall time for devices).
    pub clock: Clock,
    /// Where the customer's voice comes from.
    pub input: Box<dyn AudioInput>,
    /// Feed the input only when the pipeline is idle (`--fast`).
    pub paced_by_pipeline: bool,
    /// Where the kiosk's voice goes.
    pub output: Box<dyn AudioOutput>,
    /// Voice activity detector.
    pub vad: Box<dyn VoiceDetector>,
    /// Speech-to-text engine.
    pub stt: Box<dyn SpeechToText>,
    /// Acoustic stress classifier.
    pub stress: Box<dyn StressClassifier>,
    /// Speech synthesiser.
    pub tts: Box<dyn TextToSpeech>,
    /// Alert delivery.
    pub alerts: Box<dyn AlertPublisher>,
    /// Staff acknowledgements, as they arrive.
    pub acks: Receiver<StaffAck>,
    /// The FAQ knowledge base.
    pub knowledge: KnowledgeBase,
    /// Keep every turn for the [`RunReport`] (a recording, the demo, tests). A live kiosk
    /// keeps nothing, so its memory does not grow with the turns it has heard.
    pub keep_report: bool,
}

/// One customer turn as it went, for the demo's printout and for tests.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnRecord {
    /// What the customer said.
    pub transcript: String,
    /// p(high arousal) from the voice, when available.
    pub acoustic: Option<f32>,
    /// Fused stress.
    pub stress: StressReading,
    /// Matched intent and confidence.
    pub intent: Option<(String, f32)>,
    /// What the kiosk said in answer (and until the next turn).
    pub replies: Vec<String>,
    /// Alert raised by this turn.
    pub alert: Option<(String, Reason)>,
}

/// What happened during a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunReport {
    /// Customer turns in order.
    pub turns: Vec<TurnRecord>,
    /// Everything the kiosk said, in order.
    pub said: Vec<String>,
    /// Alerts raised.
    pub alerts: Vec<Alert>,
    /// Staff acknowledgements received.
    pub acks: Vec<StaffAck>,
    /// Alerts not yet delivered when the run ended (they stay in the outbox).
    pub undelivered: usize,
    /// Latency of each answered turn, in order.
    pub latencies: Vec<TurnLatency>,
}

/// Messages to the brain thread.
#[derive(Debug)]
enum BrainMsg {
    SpeechStarted,
    SpeechEnded,
    Discarded,
    Understood(Box<understand::Understood>),
    PlaybackFinished,
    /// A reply's first audio went out: the turn's latency breakdown is complete.
    FirstAudio(TurnLatency),
    InputTrouble(String),
    /// Frames flow again from the named input.
    InputRecovered(String),
    InputEnded,
}

/// Shared counters that say what the pipeline is busy with.
#[derive(Debug, Clone, Default)]
struct Activity(Arc<ActivityInner>);

#[derive(Debug, Default)]
struct ActivityInner {
    turns_in_flight: AtomicUsize,
    replies_in_flight: AtomicUsize,
    generation: AtomicU64,
}

impl Activity {
    fn turn_started(&self) -> TurnGuard {
        self.0.turns_in_flight.fetch_add(1, Ordering::SeqCst);
        TurnGuard(self.clone())
    }
    fn turns_in_flight(&self) -> usize {
        self.0.turns_in_flight.load(Ordering::SeqCst)
    }
    fn reply_started(&self) {
        self.0.replies_in_flight.fetch_add(1, Ordering::SeqCst);
    }
    fn reply_done(&self) {
        let _ = self
            .0
            .replies_in_flight
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    }
    /// The kiosk is speaking or about to (gates the microphone).
    fn speaking(&self) -> bool {
        self.0.replies_in_flight.load(Ordering::SeqCst) > 0
    }
    fn idle(&self) -> bool {
        self.turns_in_flight() == 0 && !self.speaking()
    }
    fn generation(&self) -> u64 {
        self.0.generation.load(Ordering::SeqCst)
    }
    /// Barge-in: everything queued under the current generation is dropped.
    fn cancel_speech(&self) {
        self.0.generation.fetch_add(1, Ordering::SeqCst);
    }
}

/// Held while a turn is being handled; dropping it marks the turn done.
#[derive(Debug)]
struct TurnGuard(Activity);

impl Drop for TurnGuard {
    fn drop(&mut self) {
        let _ = self
            .0
            .0
            .turns_in_flight
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    }
}

/// Channel sizes: small, so a stalled stage shows up as back-pressure rather than memory.
const BRAIN_QUEUE: usize = 64;
const UTTERANCE_QUEUE: usize = 4;
const SAY_QUEUE: usize = 8;
const PLAY_QUEUE: usize = 4;

/// Runs the help point with `components` until the input ends (after the last turn is
/// finished) or `shutdown` is triggered; then flushes pending alerts for the grace period.
pub fn run(
    config: &Config,
    components: Components,
    shutdown: &Shutdown,
) -> anyhow::Result<RunReport> {
    let Components {
        clock,
        input,
        paced_by_pipeline,
        output,
        vad,
        stt,
        stress,
        tts,
        alerts,
        acks,
        knowledge,
        keep_report,
    } = components;
    let activity = Activity::default();
    // Stops the listening thread; raised by the brain's end, whatever ended it.
    let stop = Shutdown::new();
    let (brain_tx, brain_rx) = sync_channel(BRAIN_QUEUE);
    let (utt_tx, utt_rx) = sync_channel(UTTERANCE_QUEUE);
    let (say_tx, say_rx) = sync_channel(SAY_QUEUE);
    let (play_tx, play_rx) = sync_channel(PLAY_QUEUE);

    let brain_input_name = input.describe();
    let offers = crate::stt::Offers::default();
    let listener = listen::Listener {
        input,
        vad,
        cfg: config.vad.clone(),
        echo_cancellation: config.audio.echo_cancellation,
        paced_by_pipeline,
        clock: clock.clone(),
        activity: activity.clone(),
        to_brain: brain_tx.clone(),
        to_understand: utt_tx,
        offers: offers.clone(),
        shutdown: stop.clone(),
        retry_max: Duration::from_secs(u64::from(config.audio.device_retry_max_s)),
    };
    let understander = understand::Understander {
        stt,
        stress,
        from_listener: utt_rx,
        offers,
        to_brain: brain_tx.clone(),
    };
    let mut policy = config.escalation.clone();
    policy.min_answer_confidence = knowledge.threshold();
    let brain = brain::Brain {
        conversation: Conversation::new(policy, config.replies.clone(), alert_tag(config)),
        knowledge,
        stress_cfg: config.stress.clone(),
        cues: config.stress.phrases.clone(),
        privacy: config.privacy.clone(),
        kiosk: kiosk_identity(config),
        alerts,
        acks,
        inbox: brain_rx,
        to_tts: say_tx,
        activity: activity.clone(),
        clock: clock.clone(),
        shutdown: shutdown.clone(),
        history: Vec::new(),
        unanswered_run: 0,
        report: brain::Recorder::new(keep_report),
        recent_acks: std::collections::VecDeque::new(),
        ack_grace: Duration::from_secs(config.mqtt.flush_grace_s),
        hangover: config.vad.hangover_waited(),
        timing: None,
        systemd: crate::shutdown::Systemd::new(),
    };
    brain
        .systemd
        .ready(&format!("listening on {}", brain_input_name));

    let spawn = |name: &str| std::thread::Builder::new().name(name.to_string());
    let listen_h = spawn("attune-listen").spawn(move || listener.run())?;
    let understand_h = spawn("attune-understand").spawn(move || understander.run())?;
    let act = activity.clone();
    let stream = config.tts.stream_sentences;
    let tts_h = spawn("attune-tts")
        .spawn(move || speak::synthesis_loop(tts, say_rx, play_tx, act, stream))?;
    let act = activity.clone();
    let to_brain = brain_tx.clone();
    let play_h =
        spawn("attune-play").spawn(move || speak::playback_loop(output, play_rx, to_brain, act))?;
    drop(brain_tx);
    let (mut report, mut alerts) = spawn("attune-brain")
        .spawn(move || brain.run())?
        .join()
        .map_err(|_| anyhow::anyhow!("the brain thread panicked"))?;

    // The brain has hung up on the speech threads; stop listening too and wait for all.
    stop.trigger();
    for (name, h) in [
        ("listen", listen_h),
        ("understand", understand_h),
        ("tts", tts_h),
        ("play", play_h),
    ] {
        if h.join().is_err() {
            tracing::error!("the {name} thread panicked");
        }
    }
    report.undelivered = alerts.flush(Duration::from_secs(config.mqtt.flush_grace_s));
    Ok(report)
}

/// The kiosk as named in alerts.
pub fn kiosk_identity(config: &Config) -> KioskIdentity {
    KioskIdentity {
        site: config.kiosk.site.clone(),
        id: config.kiosk.id.clone(),
        location: config.kiosk.location.clone(),
    }
}

/// Alert ids are `{kiosk}-{boot tag}-{n}`: unique across restarts without trusting the clock.
fn alert_tag(config: &Config) -> String {
    let boot = uuid::Uuid::new_v4().simple().to_string();
    format!("{}-{}", config.kiosk.id, &boot[..8])
}
