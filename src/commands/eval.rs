//! `attune assess`, `attune eval stress` and `attune eval features`.

use anyhow::{Context, anyhow, bail};
use attune::assessment::{Assessment, Assessor};
use attune::audio::SAMPLE_RATE;
use attune::audio::{read_wav_mono, resample};
use attune::cli::EvalCommand;
use attune::conversation::StressLevel;
use attune::stress::acoustic::mix::NoiseBank;
use attune::stress::acoustic::room::Room;
use attune::stress::acoustic::{FEATURE_NAMES, extract};
use attune::stress::labels::{Table, score};
use attune::stress::whisper_encoder::WhisperEncoder;
use attune::stress::{StressClassifier, TractArousal};
use attune::stt::{SpeechToText, WhisperStt};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Runs one `attune eval` subcommand.
pub(super) fn eval(command: EvalCommand) -> anyhow::Result<ExitCode> {
    match command {
        EvalCommand::Stress {
            labels,
            by,
            noise_dir,
            snr_db,
            config,
        } => eval_stress(
            &labels,
            by.as_deref(),
            noise_dir.as_deref(),
            snr_db,
            config.as_deref(),
        ),
        EvalCommand::Room {
            config,
            data,
            replies,
            clips,
            seed,
            model,
            noise_suppression,
            json,
        } => super::room::eval_room(super::room::RoomArgs {
            config,
            data: data.unwrap_or_else(default_test_data),
            replies,
            clips,
            seed,
            model,
            noise_suppression,
            json,
        }),
        EvalCommand::Features {
            labels,
            noise_dir,
            snr_db,
            seed,
            rooms,
            encoder,
            out,
        } => dump_features(
            &labels,
            &Augment {
                noise_dir: noise_dir.as_deref(),
                snrs: &snr_db,
                seed,
                rooms,
            },
            encoder.as_deref(),
            &out,
        ),
    }
}

/// `ATTUNE_TEST_DATA`, else `../shared/data`.
fn default_test_data() -> PathBuf {
    std::env::var_os("ATTUNE_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/data"))
}

fn eval_stress(
    labels: &Path,
    by: Option<&str>,
    noise_dir: Option<&Path>,
    snr_db: f32,
    config: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let table = Table::read(labels)?;
    let arousal_col = table
        .column("arousal")
        .ok_or_else(|| anyhow!("{}: no `arousal` column", labels.display()))?;
    let by_col = match by {
        Some(name) => Some(
            table
                .column(name)
                .ok_or_else(|| anyhow!("{}: no `{name}` column", labels.display()))?,
        ),
        None => None,
    };
    if table.rows.is_empty() {
        bail!("{}: no recordings listed", labels.display());
    }
    let high = arousal_labels(&table, arousal_col, labels)?;
    if !high.contains(&true) {
        return eval_calm(
            &table,
            by_col.map(|c| (by.unwrap_or_default(), c)),
            noise_dir,
            snr_db,
            config,
        );
    }
    let mut model = attune::app::build::arousal(&super::setup::config_or_example(config)?)?;
    let mut bank = noise_dir.map(NoiseBank::load).transpose()?;
    let mut all = Vec::new();
    let mut groups: BTreeMap<String, Vec<(f32, bool)>> = BTreeMap::new();
    for (i, (row, &is_high)) in table.rows.iter().zip(&high).enumerate() {
        let path = table.audio_path(row);
        let pcm = read_wav_mono(&path)?;
        let mut samples = pcm.samples;
        if let Some(b) = bank.as_mut()
            && let Some((mixed, _)) = b.mix(&samples, pcm.sample_rate, snr_db, (7, i as u64, 0))?
        {
            samples = mixed;
        }
        let at_16k = resample(&samples, pcm.sample_rate, SAMPLE_RATE)?;
        let p = model
            .arousal(&at_16k)
            .with_context(|| format!("arousal of {}", path.display()))?;
        all.push((p, is_high));
        if let Some(c) = by_col {
            groups.entry(row[c].clone()).or_default().push((p, is_high));
        }
    }
    let overall = score(&all).ok_or_else(|| {
        anyhow!(
            "{}: only high rows; scores need low rows too (rows only labelled low count false alarms)",
            labels.display()
        )
    })?;
    let mut json = serde_json::to_value(overall)?;
    if let (Some(name), serde_json::Value::Object(map)) = (by, &mut json) {
        let per: serde_json::Map<String, serde_json::Value> = groups
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    score(v)
                        .map(|s| serde_json::json!(s))
                        .unwrap_or(serde_json::json!({ "n": v.len() })),
                )
            })
            .collect();
        map.insert(format!("by_{name}"), serde_json::Value::Object(per));
    }
    println!("{json}");
    Ok(ExitCode::SUCCESS)
}

/// The `arousal` column as booleans (true = high), or the first row that is neither.
fn arousal_labels(table: &Table, col: usize, labels: &Path) -> anyhow::Result<Vec<bool>> {
    table
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| match row[col].trim().to_lowercase().as_str() {
            "high" => Ok(true),
            "low" => Ok(false),
            other => bail!(
                "{} line {}: arousal must be high or low, not {other:?}",
                labels.display(),
                table.line(i)
            ),
        })
        .collect()
}

/// Rows labelled only `low` (calm speech): how often the kiosk's fused detector (words, voice
/// and dialogue, exactly as `attune assess`) would call the speaker tense or distressed.
fn eval_calm(
    table: &Table,
    by: Option<(&str, usize)>,
    noise_dir: Option<&Path>,
    snr_db: f32,
    config: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let mut judge = TurnJudge::new(config)?;
    let mut bank = noise_dir.map(NoiseBank::load).transpose()?;
    let mut all = LevelCounts::default();
    let mut groups: BTreeMap<String, LevelCounts> = BTreeMap::new();
    for (i, row) in table.rows.iter().enumerate() {
        let mut audio = super::setup::read_16k(&table.audio_path(row))?;
        if let Some(b) = bank.as_mut()
            && let Some((mixed, _)) = b.mix(&audio, SAMPLE_RATE, snr_db, (7, i as u64, 0))?
        {
            audio = mixed;
        }
        let (a, acoustic) = judge.judge(&audio)?;
        let level = a.turn.stress.level;
        all.add(level, acoustic);
        if let Some((_, c)) = by {
            groups
                .entry(row[c].clone())
                .or_default()
                .add(level, acoustic);
        }
    }
    let mut json = serde_json::json!({ "only_low": true, "fused": all.json() });
    if let (Some((name, _)), serde_json::Value::Object(map)) = (by, &mut json) {
        let per = groups.iter().map(|(k, v)| (k.clone(), v.json())).collect();
        map.insert(format!("by_{name}"), serde_json::Value::Object(per));
    }
    println!("{json}");
    Ok(ExitCode::SUCCESS)
}

/// Fused levels given to calm speech, and acoustic p(high) >= 0.5 among them.
#[derive(Debug, Default)]
struct LevelCounts {
    calm: usize,
    tense: usize,
    distressed: usize,
    acoustic_high: usize,
}

impl LevelCounts {
    fn add(&mut self, level: StressLevel, acoustic: Option<f32>) {
        match level {
            StressLevel::Calm => self.calm += 1,
            StressLevel::Tense => self.tense += 1,
            StressLevel::Distressed => self.distressed += 1,
        }
        self.acoustic_high += usize::from(acoustic.is_some_and(|p| p >= 0.5));
    }

    fn json(&self) -> serde_json::Value {
        let n = self.calm + self.tense + self.distressed;
        let flagged = self.tense + self.distressed;
        serde_json::json!({
            "n": n,
            "calm": self.calm,
            "tense": self.tense,
            "distressed": self.distressed,
            "false_alarm_rate": if n == 0 { 0.0 } else { flagged as f64 / n as f64 },
            "acoustic_p_high_over_half": self.acoustic_high,
        })
    }
}

/// The daemon's view of one recording as a new customer's first turn: recogniser, arousal
/// model and the shared turn assessment.
struct TurnJudge {
    stt: WhisperStt,
    model: TractArousal,
    assessor: Assessor,
}

impl TurnJudge {
    fn new(config: Option<&Path>) -> anyhow::Result<Self> {
        let cfg = super::setup::config_or_example(config)?;
        let kb = cfg.knowledge_base()?;
        let prompt = attune::app::build::recogniser_prompt(&cfg, &kb);
        Ok(Self {
            stt: WhisperStt::load(&cfg.model_path(&cfg.stt.model), &cfg.stt, prompt)?,
            model: attune::app::build::arousal(&cfg)?,
            assessor: Assessor::new(&cfg.stress.phrases, cfg.stress.clone(), kb),
        })
    }

    /// The assessment of 16 kHz `audio`, and the acoustic p(high) behind it.
    fn judge(&mut self, audio: &[f32]) -> anyhow::Result<(Assessment, Option<f32>)> {
        let transcript = self.stt.transcribe(audio)?.text;
        let acoustic = self.model.arousal(audio).ok();
        self.assessor.customer_left();
        Ok((self.assessor.assess(transcript.trim(), acoustic), acoustic))
    }
}

/// The versions of each recording `eval features` writes besides the clean one.
struct Augment<'a> {
    noise_dir: Option<&'a Path>,
    snrs: &'a str,
    seed: u64,
    rooms: u32,
}

fn dump_features(
    labels: &Path,
    augment: &Augment,
    encoder: Option<&Path>,
    out: &Path,
) -> anyhow::Result<ExitCode> {
    let Augment {
        noise_dir,
        snrs,
        seed,
        rooms,
    } = *augment;
    let table = Table::read(labels)?;
    let encoder = encoder.map(WhisperEncoder::load).transpose()?;
    let snrs: Vec<f32> = snrs
        .split(',')
        .map(|s| {
            s.trim()
                .parse::<f32>()
                .map_err(|_| anyhow!("bad --snr-db value {s:?}"))
        })
        .collect::<anyhow::Result<_>>()?;
    let mut bank = noise_dir.map(NoiseBank::load).transpose()?;
    if bank.as_ref().is_some_and(NoiseBank::is_empty) {
        bail!(
            "no WAV files in the noise folder {}",
            noise_dir
                .map(Path::display)
                .map(|d| d.to_string())
                .unwrap_or_default()
        );
    }
    let mut w =
        csv::Writer::from_path(out).with_context(|| format!("creating {}", out.display()))?;
    let mut cols = table.header.clone();
    cols.push("snr_db".into());
    cols.push("room".into());
    cols.extend(FEATURE_NAMES.iter().map(|s| s.to_string()));
    let width = encoder.as_ref().map_or(0, WhisperEncoder::width);
    cols.extend((0..width).map(|i| format!("enc_{i}")));
    w.write_record(&cols)?;
    for (i, row) in table.rows.iter().enumerate() {
        let path = table.audio_path(row);
        let pcm = read_wav_mono(&path)?;
        let mut versions: Vec<(String, String, Vec<f32>)> = Vec::new();
        let none = || "none".to_string();
        match bank.as_mut() {
            None => versions.push(("inf".into(), none(), pcm.samples.clone())),
            Some(b) => {
                for (k, &snr) in snrs.iter().enumerate() {
                    if let Some((mixed, _)) = b.mix(
                        &pcm.samples,
                        pcm.sample_rate,
                        snr,
                        (seed, i as u64, k as u64),
                    )? {
                        versions.push((snr.to_string(), none(), mixed));
                    }
                }
            }
        }
        for k in 0..u64::from(rooms) {
            // Variants 1000+ keep the rooms' draws apart from the noise segments'.
            let room = Room::draw((seed, i as u64, 1000 + k));
            let heard = room.apply(&pcm.samples, pcm.sample_rate);
            versions.push(("inf".into(), room.label(), heard));
        }
        for (snr, room, samples) in versions {
            let f = extract(&samples, pcm.sample_rate)
                .with_context(|| format!("features of {}", path.display()))?;
            let mut values = f.as_slice().to_vec();
            if let Some(e) = &encoder {
                let at_16k = resample(&samples, pcm.sample_rate, SAMPLE_RATE)?;
                values.extend(
                    e.embed(&at_16k)
                        .with_context(|| format!("encoder output of {}", path.display()))?,
                );
            }
            let values = values.iter().map(|v| v.to_string());
            let record = row.iter().cloned().chain([snr, room]).chain(values);
            w.write_record(record)?;
        }
    }
    w.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `attune assess`: the kiosk's view of each recording, one JSON line per file, from the
/// daemon's own turn assessment (each recording a new customer's first turn).
pub(super) fn assess(config: Option<&Path>, wavs: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut judge = TurnJudge::new(config)?;
    for wav in wavs {
        let audio = super::setup::read_16k(wav)?;
        let (a, acoustic) = judge.judge(&audio)?;
        let (turn, cues) = (&a.turn, &a.cues);
        let line = serde_json::json!({
            "file": wav.display().to_string(),
            "transcript": turn.transcript,
            "acoustic_p_high": acoustic,
            "text_cues": {
                "safety": cues.safety, "asked_for_person": cues.asked_for_person,
                "frustration": cues.frustration, "sentiment": cues.sentiment,
                "negated": cues.negated, "score": cues.score,
            },
            "intent": turn.answer.as_ref().map(|m| &m.intent),
            "intent_confidence": turn.answer.as_ref().map(|m| m.confidence),
            "score": turn.stress.score,
            "level": turn.stress.level,
            "reasons": turn.stress.reasons,
        });
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}
