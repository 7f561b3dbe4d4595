//! Whisper's encoder as the stress model's voice embedding, read from the recogniser's own
//! model files: both stored forms give the same embedding, speech of different people and
//! moods gives different ones, and a wrong or missing file is named.

mod support;

use attune::audio::{SAMPLE_RATE, read_wav_mono, resample};
use attune::stress::TractArousal;
use attune::stress::whisper_encoder::WhisperEncoder;
use support::{model, repo_file};

fn fixture(name: &str) -> Vec<f32> {
    let pcm = read_wav_mono(&repo_file(&format!("tests/fixtures/demo/{name}"))).expect("wav");
    resample(&pcm.samples, pcm.sample_rate, SAMPLE_RATE).expect("resample")
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b))
}

/// The q8_0 file the kiosk ships and the f16 original give the same embedding (so both
/// decoders of the file format are right), and it tells two utterances apart far more than
/// the quantisation moves it.
#[test]
fn f16_and_q8_0_files_give_the_same_embedding() {
    let q8 = WhisperEncoder::load(&model("ggml-tiny.en-q8_0.bin")).expect("q8_0");
    let f16 = WhisperEncoder::load(&model("ggml-tiny.en-f16.bin")).expect("f16");
    assert_eq!(q8.width(), 384);
    let calm = fixture("01-calm-toilets.wav");
    let safety = fixture("11-safety.wav");
    let (a, b) = (q8.embed(&calm).expect("q8"), f16.embed(&calm).expect("f16"));
    assert_eq!(a.len(), 384);
    assert!(a.iter().all(|v| v.is_finite()));
    let same = cosine(&a, &b);
    let other = cosine(&a, &q8.embed(&safety).expect("safety"));
    eprintln!("cosine q8_0/f16 {same:.4}, calm/safety {other:.4}");
    assert!(same > 0.99, "q8_0 and f16 disagree: cosine {same}");
    assert!(
        1.0 - other > 5.0 * (1.0 - same),
        "two utterances ({other}) barely differ more than two encodings of one ({same})"
    );
}

/// A file that is not a whisper.cpp model is an error naming it, with the fix.
#[test]
fn a_file_that_is_not_a_whisper_model_is_named() {
    let wrong = model("stress-arousal.onnx");
    let err = WhisperEncoder::load(&wrong)
        .err()
        .expect("not a whisper model");
    let msg = err.to_string();
    assert!(msg.contains(&wrong.display().to_string()), "{msg}");
    assert!(msg.contains("bad magic") && msg.contains("fix:"), "{msg}");
}

/// The shipped stress model listens through the encoder; if the recogniser's model file is
/// missing, loading it says which file.
#[test]
fn the_stress_model_names_a_missing_recogniser_model() {
    let stress = model("stress-arousal.onnx");
    let ok = TractArousal::load(&stress, &model("ggml-tiny.en-q8_0.bin")).expect("loads");
    assert!(ok.uses_encoder());
    let missing = std::path::Path::new("/nonexistent/ggml-tiny.en-q8_0.bin");
    let err = TractArousal::load(&stress, missing)
        .err()
        .expect("needs the encoder");
    assert!(
        err.to_string()
            .contains("/nonexistent/ggml-tiny.en-q8_0.bin"),
        "{err}"
    );
}

/// A long utterance costs no more than its last ten seconds: those are what is heard.
#[test]
fn a_long_utterance_is_heard_by_its_last_ten_seconds() {
    let q8 = WhisperEncoder::load(&model("ggml-tiny.en-q8_0.bin")).expect("q8_0");
    assert_eq!(q8.max_samples(), 10 * SAMPLE_RATE as usize);
    let mut long = Vec::new();
    for name in [
        "02-train-cancelled.wav",
        "04-distressed.wav",
        "03-frustrated.wav",
    ] {
        long.extend(fixture(name));
    }
    assert!(long.len() > q8.max_samples(), "{} samples", long.len());
    let tail = long[long.len() - q8.max_samples()..].to_vec();
    assert_eq!(
        q8.embed(&long).expect("long"),
        q8.embed(&tail).expect("tail")
    );
}
