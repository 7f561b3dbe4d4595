//! `attune eval stress` on rows labelled only `low`: calm speech, counted by the level the
//! kiosk's fused detector (words, voice, dialogue) gives it, as false alarms.

mod support;

use std::path::Path;
use std::process::Command;
use support::{model, test_data};

fn attune(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_attune"))
        .args(args)
        .output()
        .expect("run attune")
}

/// Runs `eval stress --by speaker` on `rows` of `(wav, speaker)`, all labelled low.
fn eval_calm(dir: &Path, rows: &[(String, String)]) -> serde_json::Value {
    let csv = dir.join("calm.csv");
    let mut text = String::from("path,speaker,arousal\n");
    for (wav, speaker) in rows {
        text.push_str(&format!("{wav},{speaker},low\n"));
    }
    std::fs::write(&csv, text).expect("labels");
    let out = attune(&[
        "eval",
        "stress",
        "--labels",
        csv.to_str().expect("utf8"),
        "--by",
        "speaker",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

fn count(v: &serde_json::Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("no {key} in {v}"))
}

#[test]
fn the_kiosks_own_calm_voice_is_not_a_false_alarm() {
    model("ggml-tiny.en-q8_0.bin");
    let dir = tempfile::tempdir().expect("tempdir");
    let sentences = [
        "Where are the toilets, please?",
        "When does the next train to the airport leave?",
    ];
    let mut rows = Vec::new();
    for (i, sentence) in sentences.iter().enumerate() {
        let wav = dir.path().join(format!("calm-{i}.wav"));
        let out = attune(&[
            "say",
            "--output",
            &format!("wav:{}", wav.display()),
            sentence,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        rows.push((format!("calm-{i}.wav"), "kiosk-voice".to_string()));
    }
    let v = eval_calm(dir.path(), &rows);
    assert_eq!(v["only_low"], true, "{v}");
    let fused = &v["fused"];
    assert_eq!(count(fused, "n"), 2, "{v}");
    assert_eq!(count(fused, "calm"), 2, "a calm question is calm: {v}");
    assert_eq!(fused["false_alarm_rate"], 0.0, "{v}");
    assert_eq!(count(&v["by_speaker"]["kiosk-voice"], "n"), 2, "{v}");
}

/// Calm read English from non-native speakers (children and adults) the model never heard
/// (one speaker in three, every clip of theirs): every clip is counted once, per speaker too,
/// none is called distressed and at most 3% tense (model 0.4.0: 0 distressed and 1 tense of
/// all 300 clips; 0.2.0, without whisper's encoder, called 10 tense and 1 distressed).
#[test]
fn calm_read_english_is_never_called_distressed() {
    let Some(data) = test_data("calm_read_english_is_never_called_distressed") else {
        return;
    };
    model("ggml-tiny.en-q8_0.bin");
    let refs = data.join("speech/speechocean762/refs.tsv");
    let text = std::fs::read_to_string(&refs).expect("refs.tsv");
    let mut speakers: Vec<&str> = Vec::new();
    let rows: Vec<(String, String)> = text
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut f = line.split('\t');
            let (file, speaker) = (f.next()?, f.next()?);
            let index = match speakers.iter().position(|s| *s == speaker) {
                Some(i) => i,
                None => {
                    speakers.push(speaker);
                    speakers.len() - 1
                }
            };
            let wav = data.join("speech/speechocean762").join(file);
            (index % 3 == 0).then(|| (wav.display().to_string(), speaker.to_string()))
        })
        .collect();
    assert!(rows.len() >= 30, "{} rows", rows.len());
    let dir = tempfile::tempdir().expect("tempdir");
    let v = eval_calm(dir.path(), &rows);
    let fused = &v["fused"];
    let n = rows.len() as u64;
    assert_eq!(count(fused, "n"), n, "{v}");
    let per_speaker: u64 = v["by_speaker"]
        .as_object()
        .expect("by_speaker")
        .values()
        .map(|s| count(s, "n"))
        .sum();
    assert_eq!(per_speaker, n, "{v}");
    assert_eq!(
        count(fused, "distressed"),
        0,
        "calm speech called distressed: {v}"
    );
    assert!(
        count(fused, "tense") * 100 <= 3 * n,
        "more than 3% tense: {v}"
    );
    eprintln!("calm read English: {fused}");
}

/// The voice model on EmoDB scores women and men alike, within 0.03 ROC-AUC. EmoDB is the
/// corpus it was trained on and scores 1.0 there when clean, so it is heard here with other
/// noise at 0 dB SNR, where it is not perfect; the held-out figures per sex are in the model's
/// card (next test).
#[test]
fn the_voice_model_scores_women_and_men_alike_on_emodb() {
    let Some(data) = test_data("the_voice_model_scores_women_and_men_alike_on_emodb") else {
        return;
    };
    let labels = data.join("emodb/labels.csv");
    let noise = data.join("noise");
    let out = attune(&[
        "eval",
        "stress",
        "--labels",
        labels.to_str().expect("utf8"),
        "--by",
        "sex",
        "--noise-dir",
        noise.to_str().expect("utf8"),
        "--snr-db",
        "0",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(count(&v, "n"), 535, "{v}");
    let auc = |sex: &str| {
        v["by_sex"][sex]["auc"]
            .as_f64()
            .unwrap_or_else(|| panic!("no AUC for {sex}: {v}"))
    };
    let gap = (auc("female") - auc("male")).abs();
    eprintln!(
        "EmoDB per-sex AUC: female {:.3}, male {:.3}",
        auc("female"),
        auc("male")
    );
    assert!(gap <= 0.03, "per-sex AUC gap {gap:.3}: {v}");
}

/// The model card's leave-one-speaker-out figures (each speaker scored by a model trained
/// without them; `models/training/check.sh` proves the card is what the training gives): the
/// per-sex ROC-AUC gap is within 0.03 on clean speech, in noise and in unseen rooms.
#[test]
fn held_out_speakers_are_scored_alike_for_both_sexes() {
    let card = support::repo_file("models/stress-arousal.json");
    let card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&card).expect("card")).expect("JSON");
    let lr = &card["evaluation"]["lr"];
    for set in ["clean", "snr10", "rooms"] {
        let auc = |sex: &str| {
            lr[set][sex]["auc"]
                .as_f64()
                .unwrap_or_else(|| panic!("no {set} AUC for {sex} in the card"))
        };
        let gap = (auc("female") - auc("male")).abs();
        assert!(gap <= 0.03, "{set}: per-sex AUC gap {gap:.3}");
    }
}
