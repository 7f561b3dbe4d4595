//! Builds the daemon's real components from the configuration: the only place in the library
//! where engines and devices are constructed (the command-line tools in the binary load the
//! single engines they check or measure). Every failure names the file or device and the fix.

use super::Components;
use crate::alerts::{
    AlertPublisher, BrokerScope, BrokerUrl, EmbeddedBroker, MqttPublisher, StatusInfo,
};
use crate::audio::{
    Aec3, AudioInput, AudioOutput, AudioSpec, Clock, CpalInput, EchoCancelledInput, EchoReference,
    EchoTap, NullInput, NullOutput, RodioOutput, SAMPLE_RATE, WavInput, WavOutput,
};
use crate::config::Config;
use crate::conversation::StaffAck;
use crate::conversation::{Pace, Phrases};
use crate::knowledge::KnowledgeBase;
use crate::stress::TractArousal;
use crate::stt::WhisperStt;
use crate::tts::{CachedTts, PiperTts, split_sentences, verified_onnxruntime};
use crate::vad::SileroVad;
use anyhow::{Context, anyhow};
use std::sync::mpsc::{Receiver, sync_channel};
use std::time::Duration;

/// Staff acknowledgements waiting for the brain.
const ACK_QUEUE: usize = 16;

/// Where the customer's voice comes from and where the kiosk's goes.
pub struct Io {
    /// Where the customer's voice comes from.
    pub input: Box<dyn AudioInput>,
    pub output: Box<dyn AudioOutput>,
    pub clock: Clock,
    pub paced_by_pipeline: bool,
    /// Keep every turn for a report (a recording's run); a live kiosk keeps none.
    pub keep_report: bool,
}

/// Opens the input and output named by the specs.
pub fn io(
    config: &Config,
    input: &AudioSpec,
    output: &AudioSpec,
    fast: bool,
) -> anyhow::Result<Io> {
    let clock = match input {
        AudioSpec::Wav(_) => Clock::samples(SAMPLE_RATE),
        _ => Clock::wall(),
    };
    let paced_by_pipeline = fast && matches!(input, AudioSpec::Wav(_));
    let input_box: Box<dyn AudioInput> = match input {
        AudioSpec::Wav(path) => Box::new(WavInput::open(path, !fast, clock.clone())?),
        AudioSpec::Null => Box::new(NullInput::new()),
        AudioSpec::Default | AudioSpec::Device(_) => Box::new(CpalInput::open(
            device_name(input),
            config.audio.capture_buffer_ms,
            Duration::from_secs(u64::from(config.audio.device_retry_max_s)),
        )?),
    };
    let keep_report = matches!(input, AudioSpec::Wav(_));
    let devices = [input, output]
        .iter()
        .all(|s| matches!(s, AudioSpec::Default | AudioSpec::Device(_)));
    let mut input: Box<dyn AudioInput> = input_box;
    let mut output = self::output(output, &clock)?;
    // Only a room puts the kiosk's voice into the microphone.
    if devices && config.audio.cancel_echo {
        let reference = EchoReference::default();
        output = Box::new(EchoTap::new(output, reference.clone()));
        input = Box::new(EchoCancelledInput::start(
            input,
            || Box::new(Aec3::new()),
            reference,
        )?);
    }
    Ok(Io {
        input,
        output,
        clock,
        paced_by_pipeline,
        keep_report,
    })
}

/// Opens the kiosk's voice output named by `spec`.
pub fn output(spec: &AudioSpec, clock: &Clock) -> anyhow::Result<Box<dyn AudioOutput>> {
    Ok(match spec {
        AudioSpec::Wav(path) => Box::new(WavOutput::create(path, clock.clone())?),
        AudioSpec::Null => Box::new(NullOutput::new(clock.clone())),
        AudioSpec::Default | AudioSpec::Device(_) => {
            Box::new(RodioOutput::open(device_name(spec))?)
        }
    })
}

fn device_name(spec: &AudioSpec) -> Option<String> {
    match spec {
        AudioSpec::Device(n) => Some(n.clone()),
        _ => None,
    }
}

/// Connects the alert publisher, then loads every engine; `io` supplies the audio ends.
/// Alerts come first: a taken broker port, a bad certificate or a second daemon on the same
/// state directory fails start-up at once, before seconds of model loading.
pub fn components(
    config: &Config,
    io: Io,
    runtime: &tokio::runtime::Handle,
) -> anyhow::Result<Components> {
    let status = StatusInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        models: [
            ("stt", &config.stt.model),
            ("vad", &config.vad.model),
            ("stress", &config.stress.model),
            ("tts", &config.tts.voice),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect(),
        audio: io.input.describe(),
        speaker: io.output.describe(),
    };
    let (publisher, acks) = alerts(config, runtime, status)?;
    let knowledge = config.knowledge_base()?;
    let prompt = recogniser_prompt(config, &knowledge);
    let stt = WhisperStt::load(&config.model_path(&config.stt.model), &config.stt, prompt)?;
    let vad = SileroVad::load(&config.model_path(&config.vad.model))?;
    let stress = arousal(config)?;
    let tts = tts(config, &knowledge)?;
    let alerts: Box<dyn AlertPublisher> = Box::new(publisher);
    Ok(Components {
        clock: io.clock,
        input: io.input,
        paced_by_pipeline: io.paced_by_pipeline,
        output: io.output,
        vad: Box::new(vad),
        stt: Box::new(stt),
        stress: Box::new(stress),
        tts: Box::new(tts),
        alerts,
        acks,
        knowledge,
        keep_report: io.keep_report,
    })
}

/// Which kiosk an embedded broker serves.
pub fn broker_scope(config: &Config) -> BrokerScope {
    BrokerScope {
        prefix: config.mqtt.topic_prefix.clone(),
        site: config.kiosk.site.clone(),
        kiosk: config.kiosk.id.clone(),
    }
}

/// Alert delivery: the embedded broker when the configuration asks for it (logged in with
/// its kiosk account), and the publisher with its outbox.
pub fn alerts(
    config: &Config,
    runtime: &tokio::runtime::Handle,
    status: StatusInfo,
) -> anyhow::Result<(MqttPublisher, Receiver<StaffAck>)> {
    let mut mqtt = config.mqtt();
    let broker = match BrokerUrl::parse(&mqtt.url).map_err(|e| anyhow!("mqtt.url: {e}"))? {
        BrokerUrl::Embedded(addr) => {
            let broker =
                EmbeddedBroker::start(addr, &config.state_dir(), &broker_scope(config), runtime)?;
            mqtt.url = broker.url();
            mqtt.credentials_file = Some(broker.kiosk_credentials().to_path_buf());
            Some(broker)
        }
        BrokerUrl::Remote { .. } => None,
    };
    let (ack_tx, acks) = sync_channel(ACK_QUEUE);
    let mut publisher = MqttPublisher::start(
        &mqtt,
        &super::kiosk_identity(config),
        &config.state_dir(),
        runtime,
        ack_tx,
        status,
    )
    .with_context(|| format!("starting alert delivery to {}", mqtt.url))?;
    if let Some(broker) = broker {
        publisher.attach_broker(broker);
    }
    Ok((publisher, acks))
}

/// The configured Piper voice.
pub fn voice(config: &Config) -> anyhow::Result<PiperTts> {
    let lib = match config.tts.onnxruntime.as_str() {
        // The models directory is the service's to write: check the library before loading.
        "" => verified_onnxruntime(&config.models_dir())?,
        // An installer's own library, in a place the installer chose and protects.
        path => config.resolve(std::path::Path::new(path)),
    };
    Ok(PiperTts::load(
        &config.model_path(&config.tts.voice),
        &lib,
        &config.tts,
    )?)
}

/// The Piper voice, with every fixed phrase and the first sentence of every knowledge-base
/// answer rendered now: a reply then usually starts playing without waiting for synthesis,
/// and the rest is synthesised while its first sentence plays.
fn tts(config: &Config, kb: &KnowledgeBase) -> anyhow::Result<CachedTts<PiperTts>> {
    let voice = voice(config)?;
    let t0 = std::time::Instant::now();
    let fixed = fixed_prompts(&config.replies, kb);
    let fixed: Vec<(&str, Pace)> = fixed.iter().map(|(s, p)| (s.as_str(), *p)).collect();
    let tts = CachedTts::new(voice, &fixed)?;
    let (sentences, seconds) = tts.cached();
    tracing::info!(
        sentences,
        seconds,
        ms = t0.elapsed().as_millis() as u64,
        "fixed prompts rendered"
    );
    Ok(tts)
}

/// What the kiosk says often, at the pace it says it: distressed customers hear the slower
/// voice. Names and times ("Sam is on the way in 2 minutes") are synthesised when needed.
pub fn fixed_prompts(r: &Phrases, kb: &KnowledgeBase) -> Vec<(String, Pace)> {
    let normal = [
        &r.greeting,
        &r.one_moment,
        &r.staff_coming,
        &r.already_called,
        &r.calling_asked,
        &r.calling_staff_only,
        &r.calling_unresolved,
    ];
    let slow = [
        &r.stay_with_you,
        &r.calling_safety,
        &r.calling_distress,
        &r.emergency_hint,
    ];
    let mut out: Vec<(String, Pace)> = Vec::new();
    out.extend(normal.into_iter().map(|s| (s.clone(), Pace::Normal)));
    out.extend(slow.into_iter().map(|s| (s.clone(), Pace::Slow)));
    for s in r
        .rephrase
        .iter()
        .chain(&r.acknowledge)
        .chain(&r.still_waiting)
    {
        out.push((s.clone(), Pace::Normal));
    }
    for s in r.validate.iter().chain(&r.reassure).chain(&r.rephrase) {
        out.push((s.clone(), Pace::Slow));
    }
    for intent in kb.intents() {
        if let Some(first) = split_sentences(intent.answer()).into_iter().next() {
            out.push((first, Pace::Normal));
        }
    }
    out
}

/// The recogniser's initial prompt as configured: the knowledge base's vocabulary with
/// `[stt] prompt_from_knowledge`, else none.
pub fn recogniser_prompt(config: &Config, kb: &KnowledgeBase) -> String {
    if config.stt.prompt_from_knowledge {
        vocabulary_prompt(kb)
    } else {
        String::new()
    }
}

/// The knowledge base's vocabulary (place names, services) as a recogniser prompt.
fn vocabulary_prompt(kb: &KnowledgeBase) -> String {
    let mut out = String::new();
    // Whisper keeps about 224 prompt tokens; stay well under.
    for w in kb.vocabulary() {
        if out.len() + w.len() > 400 {
            break;
        }
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(w);
    }
    if !out.is_empty() {
        out.push('.');
    }
    out
}

/// The acoustic arousal classifier of `config`, with whisper's encoder from `stress.encoder`
/// when the model was trained with it.
pub fn arousal(config: &Config) -> Result<TractArousal, crate::stress::StressError> {
    TractArousal::load(
        &config.model_path(&config.stress.model),
        &config.model_path(&config.stress.encoder),
    )
}
