//! The daemon: [`run`] wires components (the real ones from [`build`], or test fakes) onto
//! their named threads, joined by bounded channels:
//!
//! ```text
//! attune-listen ─frames→ VAD → endpointing ─utterance→ attune-understand (STT, voice stress)
//!       │ speech started/ended                                   │ text + arousal
//!       └──────────────────────────→ attune-brain ←──────────────┘   ← staff acks
//!                 (turn assessment, conversation core, alerts)
//!                                        │ replies
//!                            attune-tts (sentence by sentence) → attune-play (output)
//! ```
//!
//! Each thread's owner is in its own file (`listen`, `understand`, `brain`, `speak`), the
//! messages between them in `messages`, and what they share in `activity`. Engines and
//! devices never run on tokio workers; alert delivery does (see `alerts`).

mod activity;
mod brain;
pub mod build;
mod listen;
mod messages;
mod report;
mod speak;
mod understand;

pub use report::{RunReport, TurnRecord};

use crate::alerts::{AlertPublisher, KioskIdentity};
use crate::assessment::Assessor;
use crate::audio::{AudioInput, AudioOutput, Clock};
use crate::config::Config;
use crate::conversation::{Conversation, StaffAck};
use crate::knowledge::KnowledgeBase;
use crate::shutdown::Shutdown;
use crate::stress::StressClassifier;
use crate::stt::{Offers, SpeechToText};
use crate::tts::TextToSpeech;
use crate::vad::VoiceDetector;
use activity::Activity;
use brain::{Brain, BrainLinks, BrainSettings};
use listen::{ListenLinks, ListenSettings, Listener};
use speak::{Player, Synthesiser};
use std::sync::mpsc::{Receiver, sync_channel};
use std::time::Duration;
use understand::Understander;

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
    let input_name = input.describe();
    let offers = Offers::default();
    let listener = Listener::new(
        input,
        vad,
        ListenSettings {
            vad: config.vad.clone(),
            echo_cancellation: config.audio.echo_cancellation,
            paced_by_pipeline,
            retry_max: Duration::from_secs(u64::from(config.audio.device_retry_max_s)),
        },
        ListenLinks {
            clock: clock.clone(),
            activity: activity.clone(),
            offers: offers.clone(),
            shutdown: stop.clone(),
            to_brain: brain_tx.clone(),
            to_understand: utt_tx,
        },
    );
    let understander = Understander::new(stt, stress, offers, utt_rx, brain_tx.clone());
    let synthesiser = Synthesiser::new(
        tts,
        config.tts.stream_sentences,
        say_rx,
        play_tx,
        activity.clone(),
    );
    let player = Player::new(output, play_rx, brain_tx.clone(), activity.clone());
    let mut policy = config.escalation.clone();
    policy.min_answer_confidence = knowledge.threshold();
    let brain = Brain::new(
        Conversation::new(policy, config.replies.clone(), alert_tag(config)),
        Assessor::new(&config.stress.phrases, config.stress.clone(), knowledge),
        (alerts, acks),
        BrainSettings {
            kiosk: kiosk_identity(config),
            transcript_policy: config.privacy.alert_transcript,
            log_transcripts: config.privacy.log_transcripts,
            hangover: config.vad.hangover_waited(),
            // A recording ends like a shutdown: a pending alert gets the same grace to be
            // acknowledged as it gets to be delivered.
            ack_grace: Duration::from_secs(config.mqtt.flush_grace_s),
            keep_report,
        },
        BrainLinks {
            inbox: brain_rx,
            to_tts: say_tx,
            activity: activity.clone(),
            clock,
            shutdown: shutdown.clone(),
        },
    );
    drop(brain_tx);
    brain.ready(&input_name);

    let spawn = |name: &str| std::thread::Builder::new().name(name.to_string());
    let listen_h = spawn("attune-listen").spawn(move || listener.run())?;
    let understand_h = spawn("attune-understand").spawn(move || understander.run())?;
    let tts_h = spawn("attune-tts").spawn(move || synthesiser.run())?;
    let play_h = spawn("attune-play").spawn(move || player.run())?;
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
