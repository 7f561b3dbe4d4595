//! Voice to voice through the live pipeline: real customer speech played into `app::run` in
//! real time (Silero, whisper, the stress model, Piper, MQTT on an embedded broker), each
//! turn timed from the end of speech to the first audio of the reply, and the same run with
//! the baseline configuration (full-window speech-to-text, whole-reply synthesis, 0.7 s
//! hangover, no early transcription).

use anyhow::Context;
use attune::app::build;
use attune::audio::{Clock, NullOutput, SAMPLE_RATE, WavInput};
use attune::config::Config;
use attune::latency::{TurnLatency, percentile};
use attune::shutdown::Shutdown;
use serde_json::json;
use std::path::Path;

/// Silence after each customer turn: room for the reply before the next customer speaks.
const GAP_S: f32 = 3.5;
/// Baseline hangover (Home Assistant's default end-of-speech wait).
const BASELINE_HANGOVER_MS: u32 = 700;

/// Figures of one configuration's run.
struct Live {
    latencies: Vec<TurnLatency>,
    rss_mb: f64,
}

/// Runs `turns` customer turns of 2–4 s from `clips` through both configurations.
pub(super) fn voice_to_voice(
    cfg: &Config,
    clips: &[Vec<f32>],
    turns: usize,
) -> anyhow::Result<serde_json::Value> {
    let chosen: Vec<&Vec<f32>> = clips
        .iter()
        .filter(|c| (2.0..=4.0).contains(&(c.len() as f32 / SAMPLE_RATE as f32)))
        .take(turns + 1)
        .collect();
    anyhow::ensure!(chosen.len() >= 2, "too few 2-4 s clips for a live run");
    // The alert outboxes of both runs live here, and go with it.
    let dir = std::env::temp_dir().join(format!("attune-bench-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let audio = customer(&chosen);
    // Each run starts its own embedded broker, on a port of its own.
    let runs = run_live(&live_config(cfg, &dir, false), &audio).and_then(|ours| {
        let base = run_live(&live_config(cfg, &dir, true), &audio)?;
        Ok((ours, base))
    });
    let _ = std::fs::remove_dir_all(&dir);
    let (ours, base) = runs?;
    let (p50, p95) = v2v(&ours.latencies);
    let (b50, b95) = v2v(&base.latencies);
    Ok(json!({
        "p50_s": p50, "p95_s": p95,
        "baseline_p50_s": b50, "baseline_p95_s": b95,
        "ratio_to_baseline": p50 / b50.max(1e-9),
        "turns": ours.latencies.len().saturating_sub(1),
        "breakdown_ms": breakdown(&ours.latencies),
        "per_turn_ms": ours.latencies.iter().skip(1).map(|l| l.voice_to_voice_ms).collect::<Vec<_>>(),
        "baseline_breakdown_ms": breakdown(&base.latencies),
        "pipeline_rss_mb": ours.rss_mb,
        "measured": "live: speech played in real time through the whole pipeline",
    }))
}

/// One second of silence, then each clip followed by a gap.
fn customer(clips: &[&Vec<f32>]) -> Vec<f32> {
    let gap = (GAP_S * SAMPLE_RATE as f32) as usize;
    let mut out = vec![0.0; SAMPLE_RATE as usize];
    for c in clips {
        out.extend_from_slice(c);
        out.extend(std::iter::repeat_n(0.0, gap));
    }
    out
}

/// The kiosk's configuration, with escalation held back (every turn gets a spoken reply, no
/// member of staff is called) and the state in `dir`; `baseline` switches to the baseline.
fn live_config(cfg: &Config, dir: &Path, baseline: bool) -> Config {
    let mut c = cfg.clone();
    c.kiosk.state_dir = dir.join(if baseline { "state-base" } else { "state" });
    c.mqtt.url = "embedded://127.0.0.1:0".into();
    c.mqtt.flush_grace_s = 0;
    c.escalation.unresolved_turns = u32::MAX;
    c.escalation.sustained_turns = u32::MAX;
    c.escalation.very_high_score = f32::INFINITY;
    c.escalation.leave_after_s = 3_600;
    if baseline {
        c.stt.scale_audio_ctx = false;
        c.tts.stream_sentences = false;
        c.vad.hangover_ms = BASELINE_HANGOVER_MS;
        c.vad.early_transcription = false;
    }
    c
}

fn run_live(cfg: &Config, customer: &[f32]) -> anyhow::Result<Live> {
    let runtime = super::setup::runtime()?;
    let _rt = runtime.enter();
    // Audio time, as for any recording; fed at the speed of speech, so waits are real.
    let clock = Clock::samples(SAMPLE_RATE);
    let io = build::Io {
        input: Box::new(WavInput::from_samples(
            customer.to_vec(),
            "bench customer",
            true,
            clock.clone(),
        )),
        output: Box::new(NullOutput::new(clock.clone())),
        clock,
        paced_by_pipeline: false,
        keep_report: true,
    };
    let components = build::components(cfg, io, runtime.handle())?;
    let report = attune::app::run(cfg, components, &Shutdown::new())?;
    Ok(Live {
        latencies: report.latencies,
        rss_mb: super::bench::peak_rss_mb(),
    })
}

/// p50 and p95 in seconds, leaving out the first turn (its reply opens with the cached
/// greeting, so it would flatter the figures).
fn v2v(latencies: &[TurnLatency]) -> (f64, f64) {
    let mut ms: Vec<u32> = latencies
        .iter()
        .skip(1)
        .map(|l| l.voice_to_voice_ms)
        .collect();
    ms.sort_unstable();
    let s = |q| f64::from(percentile(&ms, q).unwrap_or(0)) / 1e3;
    (s(0.5), s(0.95))
}

/// Median of each stage over the turns after the first.
fn breakdown(latencies: &[TurnLatency]) -> serde_json::Value {
    let median = |f: fn(&TurnLatency) -> u32| {
        let mut v: Vec<u32> = latencies.iter().skip(1).map(f).collect();
        v.sort_unstable();
        percentile(&v, 0.5).unwrap_or(0)
    };
    json!({
        "hangover": median(|l| l.hangover_ms),
        "stt_wait": median(|l| l.stt_wait_ms),
        "stt": median(|l| l.stt_ms),
        "stress": median(|l| l.stress_ms),
        "think": median(|l| l.think_ms),
        "tts_first": median(|l| l.tts_first_ms),
        "voice_to_voice": median(|l| l.voice_to_voice_ms),
        "early_transcripts_used": latencies.iter().skip(1).filter(|l| l.stt_early).count(),
    })
}
