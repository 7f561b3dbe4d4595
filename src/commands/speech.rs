//! `attune say` (the voice on its own) and `attune reply` (the conversation core on its own).

use anyhow::bail;
use attune::app::build;
use attune::assessment::Assessor;
use attune::audio::{AudioSpec, Clock};
use attune::conversation::{Action, Conversation, Event, Pace, StressLevel, StressReading, Turn};
use attune::tts::{TextToSpeech, split_sentences};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Speaks `text` sentence by sentence; reports time to first audio and the real-time factor.
pub(super) fn say(
    config_path: Option<&Path>,
    text: &str,
    slow: bool,
    output: &AudioSpec,
) -> anyhow::Result<ExitCode> {
    let cfg = super::setup::config_or_example(config_path)?;
    let mut tts = build::voice(&cfg)?;
    let clock = Clock::wall();
    let mut out = build::output(output, &clock)?;
    let pace = if slow { Pace::Slow } else { Pace::Normal };
    let t0 = Instant::now();
    let mut first_audio = None;
    let mut seconds = 0.0;
    for sentence in split_sentences(text) {
        let pcm = tts.synthesize(&sentence, pace)?;
        first_audio.get_or_insert(t0.elapsed());
        seconds += pcm.seconds();
        out.play(&pcm)?;
    }
    let synth = t0.elapsed();
    while out.is_playing() {
        std::thread::sleep(Duration::from_millis(20));
    }
    out.finish()?;
    eprintln!(
        "said {seconds:.2} s of speech; first audio after {:.3} s; real-time factor {:.3}",
        first_audio.unwrap_or_default().as_secs_f64(),
        synth.as_secs_f64() / seconds.max(1e-6)
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs one customer turn through the knowledge base, the text cues and the conversation core.
pub(super) fn reply(
    config_path: Option<&Path>,
    words: &str,
    stress: &str,
) -> anyhow::Result<ExitCode> {
    let cfg = super::setup::config_or_example(config_path)?;
    let level = match stress {
        "calm" => StressLevel::Calm,
        "tense" => StressLevel::Tense,
        "distressed" => StressLevel::Distressed,
        other => bail!("--stress must be calm, tense or distressed, not {other:?}"),
    };
    let kb = cfg.knowledge_base()?;
    let threshold = kb.threshold();
    // The daemon's own assessment of the words (cues, knowledge base); the stress level is
    // given rather than heard, so it stands in for the fused reading.
    let mut assessor = Assessor::new(&cfg.stress.phrases, cfg.stress.clone(), kb);
    let mut turn = assessor.assess(words, None).turn;
    let score = match level {
        StressLevel::Calm => 0.1,
        StressLevel::Tense => 0.45,
        StressLevel::Distressed => 0.7,
    };
    turn.stress = StressReading {
        score,
        level,
        reasons: vec![format!("given as {stress}")],
    };
    let matched = turn.answer.clone();
    let mut policy = cfg.escalation.clone();
    policy.min_answer_confidence = threshold;
    // A customer already distressed on the turn before, so "distressed" shows the decision a
    // sustained distress would get.
    let mut conv = Conversation::new(policy, cfg.replies.clone(), "reply");
    let mut actions = Vec::new();
    if level == StressLevel::Distressed {
        let before = Turn {
            transcript: String::new(),
            answer: None,
            safety_phrase: None,
            asked_for_person: None,
            ..turn.clone()
        };
        conv.apply(&Event::Heard(Box::new(before)), Duration::ZERO);
        conv.apply(&Event::PlaybackFinished, Duration::from_secs(1));
    } else {
        conv.apply(&Event::Approached, Duration::ZERO);
        conv.apply(&Event::PlaybackFinished, Duration::from_secs(1));
    }
    actions.extend(conv.apply(&Event::Heard(Box::new(turn)), Duration::from_secs(2)));
    let said: Vec<&str> = actions
        .iter()
        .filter_map(|a| {
            if let Action::Say(s) = a {
                Some(s.text.as_str())
            } else {
                None
            }
        })
        .collect();
    let escalation = actions.iter().find_map(|a| {
        if let Action::RaiseAlert(r) = a {
            Some(r)
        } else {
            None
        }
    });
    for s in &said {
        println!("kiosk: {s}");
    }
    let json = serde_json::json!({
        "reply": said.join(" "),
        "intent": matched.as_ref().map(|m| m.intent.clone()),
        "confidence": matched.as_ref().map(|m| m.confidence),
        "escalate": escalation.is_some(),
        "reason": escalation.map(|r| r.reason.code()),
        "hints": escalation.map(|r| &r.hints),
    });
    println!("{json}");
    Ok(ExitCode::SUCCESS)
}
