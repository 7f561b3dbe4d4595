//! `attune bench`: per-stage figures, each against a baseline configuration measured in the
//! same run (full-window speech-to-text, whole-reply synthesis, 0.7 s hangover, no energy
//! gate), so the ratios hold whatever else the machine is doing. Figures, never test
//! thresholds.

use anyhow::Context;
use attune::alerts::{Alert, AlertPublisher, StatusInfo};
use attune::app::build;
use attune::audio::{Aec3, EchoFilter, EchoReference, FRAME_SAMPLES, SAMPLE_RATE};
use attune::config::Config;
use attune::conversation::{AlertRequest, Pace, Reason, StaffHints, StressLevel, Trend};
use attune::stress::StressClassifier;
use attune::stt::{SpeechToText, WhisperStt};
use attune::tts::{TextToSpeech, split_sentences};
use attune::vad::{SileroVad, VoiceDetector, gated_probability};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// A typical reply: what the kiosk says after a question (two sentences and a follow-up).
const REPLY: &str = "The ticket office is next to the main entrance. It is open from six in the morning \
                     until eight at night. Is there anything else I can help with?";
/// The hangover of the baseline (Home Assistant's default end-of-speech wait).
const BASELINE_HANGOVER_S: f64 = 0.7;

/// Runs the benchmark; with `json` the last line is one JSON object.
pub(super) fn bench(
    config: Option<&Path>,
    clips: usize,
    live_turns: usize,
    json_out: bool,
) -> anyhow::Result<ExitCode> {
    let cfg = super::setup::config_or_example(config)?;
    let utterances = utterances(clips)?;
    println!(
        "attune bench: {} utterances ({:.1} s mean)",
        utterances.len(),
        mean(
            utterances
                .iter()
                .map(|u| u.len() as f64 / f64::from(SAMPLE_RATE))
        )
    );
    // First, while the process holds only what a running kiosk holds.
    let live = super::bench_live::voice_to_voice(&cfg, &utterances, live_turns)?;
    let vad = bench_vad(&cfg)?;
    let echo = bench_echo(&cfg, &utterances)?;
    let (stt, stt_times) = bench_stt(&cfg, &utterances)?;
    let stress = bench_stress(&cfg, &utterances)?;
    let (tts, first_audio) = bench_tts(&cfg)?;
    let stress_s = stress["ms_per_utterance"].as_f64().unwrap_or(0.0) / 1e3;
    let composed = voice_to_voice(&cfg, &stt_times, stress_s, first_audio);
    let alert = bench_alert(&cfg)?;
    let report = json!({
        "utterances": utterances.len(),
        "vad": vad, "echo_cancellation": echo, "stt": stt, "stress": stress, "tts": tts,
        "voice_to_voice": live, "voice_to_voice_composed": composed, "alert_to_puback": alert,
        "peak_rss_mb": peak_rss_mb(),
    });
    print_human(&report);
    if json_out {
        println!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}

/// speechocean762 clips from the shared data, else the demo recordings.
fn utterances(limit: usize) -> anyhow::Result<Vec<Vec<f32>>> {
    let data = std::env::var_os("ATTUNE_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    let dir = data.join("speech/speechocean762");
    let files = if dir.is_dir() {
        wav_files(&dir)?
    } else {
        eprintln!(
            "bench: {} not found; using the demo recordings",
            dir.display()
        );
        wav_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo"))?
    };
    files
        .iter()
        .take(limit)
        .map(|p| super::setup::read_16k(p))
        .collect()
}

/// The WAV files of `dir`, sorted so every run uses the same clips.
fn wav_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wav"))
        .collect();
    files.sort();
    Ok(files)
}

fn bench_vad(cfg: &Config) -> anyhow::Result<serde_json::Value> {
    let mut vad = SileroVad::load(&cfg.model_path(&cfg.vad.model))?;
    let silence = vec![0.0003f32; 30 * SAMPLE_RATE as usize];
    let loud: Vec<f32> = (0..FRAME_SAMPLES * 300)
        .map(|i| ((i as f32) * 0.05).sin() * 0.2)
        .collect();
    let t = Instant::now();
    for f in loud.chunks_exact(FRAME_SAMPLES) {
        vad.speech_probability(f)?;
    }
    let per_frame_us = t.elapsed().as_secs_f64() * 1e6 / 300.0;
    let cpu = |gate: f32, vad: &mut SileroVad| {
        let t = Instant::now();
        for f in silence.chunks_exact(FRAME_SAMPLES) {
            gated_probability(vad, f, gate);
        }
        100.0 * t.elapsed().as_secs_f64() / 30.0
    };
    let gated = cpu(cfg.vad.energy_gate_db, &mut vad);
    let ungated = cpu(-200.0, &mut vad);
    Ok(
        json!({ "us_per_frame": per_frame_us, "silence_cpu_pct": gated, "baseline_silence_cpu_pct": ungated, "ratio_to_baseline": gated / ungated.max(1e-9) }),
    )
}

/// AEC3 on the listening thread: time per 32 ms frame with the kiosk talking (the far end is
/// an utterance, the near end the same utterance delayed and quieter), as a share of a core.
/// The baseline is the voice detector on the same frames, which every frame pays already.
fn bench_echo(cfg: &Config, clips: &[Vec<f32>]) -> anyhow::Result<serde_json::Value> {
    let far: Vec<f32> = clips
        .iter()
        .flatten()
        .copied()
        .take(20 * SAMPLE_RATE as usize)
        .collect();
    let delay = 800;
    let near: Vec<f32> = std::iter::repeat_n(0.0, delay)
        .chain(far.iter().map(|v| v * 0.5))
        .take(far.len())
        .collect();
    let reference = EchoReference::default();
    let mut filter = EchoFilter::new(Box::new(Aec3::new()), reference.clone());
    reference.push(&far);
    let frames = near.len() / FRAME_SAMPLES;
    let mut frame = vec![0.0; FRAME_SAMPLES];
    let t = Instant::now();
    for f in near.chunks_exact(FRAME_SAMPLES) {
        frame.copy_from_slice(f);
        filter.process(&mut frame)?;
    }
    let us = t.elapsed().as_secs_f64() * 1e6 / frames.max(1) as f64;
    let mut vad = SileroVad::load(&cfg.model_path(&cfg.vad.model))?;
    let t = Instant::now();
    for f in near.chunks_exact(FRAME_SAMPLES) {
        vad.speech_probability(f)?;
    }
    let vad_us = t.elapsed().as_secs_f64() * 1e6 / frames.max(1) as f64;
    let frame_us = FRAME_SAMPLES as f64 * 1e6 / f64::from(SAMPLE_RATE);
    Ok(json!({
        "us_per_frame": us,
        "cpu_pct": 100.0 * us / frame_us,
        "baseline_vad_us_per_frame": vad_us,
        "ratio_to_baseline": us / vad_us.max(1e-9),
    }))
}

/// Per-utterance decoding times, scaled context and full window.
struct SttTimes {
    tuned: Vec<f64>,
    full: Vec<f64>,
}

fn bench_stt(cfg: &Config, clips: &[Vec<f32>]) -> anyhow::Result<(serde_json::Value, SttTimes)> {
    let path = cfg.model_path(&cfg.stt.model);
    let run = |full: bool| -> anyhow::Result<Vec<f64>> {
        let mut stt = WhisperStt::load(&path, &cfg.stt, String::new())?.with_full_window(full);
        clips
            .iter()
            .map(|c| {
                let t = Instant::now();
                stt.transcribe(c)?;
                Ok(t.elapsed().as_secs_f64())
            })
            .collect()
    };
    let tuned = run(false)?;
    let full = run(true)?;
    let audio_s: f64 = clips
        .iter()
        .map(|c| c.len() as f64 / f64::from(SAMPLE_RATE))
        .sum();
    let (t, f) = (mean(tuned.iter().copied()), mean(full.iter().copied()));
    Ok((
        json!({
            "s_per_utterance": t, "rtf": tuned.iter().sum::<f64>() / audio_s,
            "baseline_s_per_utterance": f, "baseline_rtf": full.iter().sum::<f64>() / audio_s,
            "ratio_to_baseline": t / f.max(1e-9),
        }),
        SttTimes { tuned, full },
    ))
}

fn bench_stress(cfg: &Config, clips: &[Vec<f32>]) -> anyhow::Result<serde_json::Value> {
    let mut model = build::arousal(cfg)?;
    let t = Instant::now();
    for c in clips {
        model.arousal(c).ok();
    }
    Ok(json!({ "ms_per_utterance": t.elapsed().as_secs_f64() * 1e3 / clips.len().max(1) as f64 }))
}

/// Sentence streaming against whole-reply synthesis: real-time factor and time to first audio.
fn bench_tts(cfg: &Config) -> anyhow::Result<(serde_json::Value, (f64, f64))> {
    let mut voice = build::voice(cfg)?;
    let mut first = Vec::new();
    let mut whole = Vec::new();
    let (mut synth_s, mut audio_s) = (0.0, 0.0);
    for _ in 0..3 {
        let t = Instant::now();
        for (i, s) in split_sentences(REPLY).iter().enumerate() {
            let pcm = voice.synthesize(s, Pace::Normal)?;
            if i == 0 {
                first.push(t.elapsed().as_secs_f64());
            }
            audio_s += pcm.seconds();
        }
        synth_s += t.elapsed().as_secs_f64();
        let t = Instant::now();
        voice.synthesize(REPLY, Pace::Normal)?;
        whole.push(t.elapsed().as_secs_f64());
    }
    let (f, w) = (median(&first), median(&whole));
    let cached = cached_first_audio(voice)?;
    Ok((
        json!({ "rtf": synth_s / audio_s.max(1e-9), "first_audio_s": f, "baseline_first_audio_s": w, "ratio_to_baseline": f / w.max(1e-9), "cached_first_audio_s": cached }),
        (f, w),
    ))
}

/// Median time to the first audio of a prompt rendered at start-up.
fn cached_first_audio(voice: attune::tts::PiperTts) -> anyhow::Result<f64> {
    let sentences = split_sentences(REPLY);
    let first = sentences.first().map(String::as_str).unwrap_or(REPLY);
    let mut cached = attune::tts::CachedTts::new(voice, &[(first, Pace::Normal)])?;
    let times: Vec<f64> = (0..20)
        .map(|_| {
            let t = Instant::now();
            cached
                .synthesize(first, Pace::Normal)
                .map(|_| t.elapsed().as_secs_f64())
        })
        .collect::<Result<_, _>>()?;
    Ok(median(&times))
}

/// End of speech → first reply audio, per utterance: the hangover, recognition, the voice model
/// and the first synthesised sentence. The baseline waits 0.7 s, decodes the full window and
/// synthesises the whole reply before playing it.
fn voice_to_voice(
    cfg: &Config,
    stt: &SttTimes,
    stress_s: f64,
    first: (f64, f64),
) -> serde_json::Value {
    let hang = f64::from(cfg.vad.hangover_ms) / 1e3;
    let mut ours: Vec<f64> = stt
        .tuned
        .iter()
        .map(|s| hang + s + stress_s + first.0)
        .collect();
    let mut base: Vec<f64> = stt
        .full
        .iter()
        .map(|s| BASELINE_HANGOVER_S + s + stress_s + first.1)
        .collect();
    ours.sort_by(f64::total_cmp);
    base.sort_by(f64::total_cmp);
    let (p50, b50) = (percentile(&ours, 0.5), percentile(&base, 0.5));
    json!({
        "p50_s": p50, "p95_s": percentile(&ours, 0.95),
        "baseline_p50_s": b50, "baseline_p95_s": percentile(&base, 0.95),
        "ratio_to_baseline": p50 / b50.max(1e-9),
    })
}

fn bench_alert(cfg: &Config) -> anyhow::Result<serde_json::Value> {
    let runtime = super::setup::runtime()?;
    let state = std::env::temp_dir().join(format!("attune-bench-{}", std::process::id()));
    let mut bench_cfg = cfg.clone();
    bench_cfg.kiosk.state_dir = state.clone();
    bench_cfg.mqtt.url = "embedded://127.0.0.1:0".into();
    let info = StatusInfo {
        version: env!("CARGO_PKG_VERSION").into(),
        models: Default::default(),
        audio: "bench".into(),
        speaker: "bench".into(),
    };
    let (mut publisher, _acks) = attune::app::build::alerts(&bench_cfg, runtime.handle(), info)
        .context("starting the publisher")?;
    publisher.wait_connected(Duration::from_secs(5));
    let mut times = Vec::new();
    for i in 0..50 {
        let alert = bench_alert_payload(cfg, i);
        let t = Instant::now();
        publisher.raise(&alert)?;
        publisher.flush(Duration::from_secs(2));
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    drop(publisher);
    let _ = std::fs::remove_dir_all(&state);
    times.sort_by(f64::total_cmp);
    Ok(
        json!({ "p50_ms": percentile(&times, 0.5), "p95_ms": percentile(&times, 0.95), "n": times.len() }),
    )
}

fn bench_alert_payload(cfg: &Config, i: usize) -> Alert {
    let request = AlertRequest {
        alert_id: format!("bench-{}-{i}", std::process::id()),
        reason: Reason::Distress,
        level: StressLevel::Distressed,
        score: 0.8,
        trend: Trend::Rising,
        transcripts: vec!["bench".into()],
        topic: None,
        hints: StaffHints {
            sounds: "bench".into(),
            needs: "bench".into(),
            first_sentence: "bench".into(),
        },
    };
    Alert::new(
        &request,
        &attune::app::kiosk_identity(cfg),
        cfg.privacy.alert_transcript,
        0,
    )
}

fn print_human(r: &serde_json::Value) {
    let f = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    println!(
        "VAD            {:.0} us/frame; listening to silence {:.2}% of a core (no gate: {:.2}%)",
        f(&r["vad"]["us_per_frame"]),
        f(&r["vad"]["silence_cpu_pct"]),
        f(&r["vad"]["baseline_silence_cpu_pct"])
    );
    println!(
        "Echo (AEC3)    {:.0} us/frame, {:.2}% of a core while the kiosk speaks ({:.2}x the voice detector)",
        f(&r["echo_cancellation"]["us_per_frame"]),
        f(&r["echo_cancellation"]["cpu_pct"]),
        f(&r["echo_cancellation"]["ratio_to_baseline"])
    );
    println!(
        "STT            {:.3} s/utterance, RTF {:.3} (full window: {:.3} s, RTF {:.3}; ratio {:.2})",
        f(&r["stt"]["s_per_utterance"]),
        f(&r["stt"]["rtf"]),
        f(&r["stt"]["baseline_s_per_utterance"]),
        f(&r["stt"]["baseline_rtf"]),
        f(&r["stt"]["ratio_to_baseline"])
    );
    println!(
        "stress         {:.2} ms/utterance",
        f(&r["stress"]["ms_per_utterance"])
    );
    println!(
        "TTS            RTF {:.3}; first audio {:.3} s (whole reply: {:.3} s; ratio {:.2})",
        f(&r["tts"]["rtf"]),
        f(&r["tts"]["first_audio_s"]),
        f(&r["tts"]["baseline_first_audio_s"]),
        f(&r["tts"]["ratio_to_baseline"])
    );
    println!(
        "               cached prompt: first audio {:.6} s",
        f(&r["tts"]["cached_first_audio_s"])
    );
    let v = &r["voice_to_voice"];
    println!(
        "voice-to-voice p50 {:.3} s, p95 {:.3} s (baseline p50 {:.3} s; ratio {:.2}) live, {} turns",
        f(&v["p50_s"]),
        f(&v["p95_s"]),
        f(&v["baseline_p50_s"]),
        f(&v["ratio_to_baseline"]),
        v["turns"]
    );
    println!("  median ms      {}", v["breakdown_ms"]);
    println!("  per turn ms    {}", v["per_turn_ms"]);
    println!("  baseline ms    {}", v["baseline_breakdown_ms"]);
    println!(
        "  composed from stage times: p50 {:.3} s (baseline {:.3} s)",
        f(&r["voice_to_voice_composed"]["p50_s"]),
        f(&r["voice_to_voice_composed"]["baseline_p50_s"])
    );
    println!(
        "alert->PUBACK  p50 {:.1} ms, p95 {:.1} ms",
        f(&r["alert_to_puback"]["p50_ms"]),
        f(&r["alert_to_puback"]["p95_ms"])
    );
    println!(
        "RSS            {:.0} MB peak after the live pipeline run; {:.0} MB peak in all",
        f(&v["pipeline_rss_mb"]),
        f(&r["peak_rss_mb"])
    );
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (mut s, mut n) = (0.0, 0);
    for x in xs {
        s += x;
        n += 1;
    }
    if n == 0 { 0.0 } else { s / n as f64 }
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    percentile(&v, 0.5)
}

/// Nearest-rank percentile of sorted figures, 0 when there are none.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    attune::latency::percentile(sorted, q).unwrap_or(0.0)
}

/// The process's peak resident memory so far, in MB.
pub(super) fn peak_rss_mb() -> f64 {
    // SAFETY: getrusage fills the struct we pass; no other memory is touched.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return 0.0;
    }
    u.ru_maxrss as f64 / 1024.0
}
