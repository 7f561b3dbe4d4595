//! The kiosk's voice and replies through the command line: `say` round-trips through
//! `transcribe`, and `reply` answers a calm question but calls staff for a distressed customer.

mod support;

use attune::stt::wer::word_errors;
use std::process::Command;

fn attune(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_attune"))
        .args(args)
        .output()
        .expect("run attune");
    assert!(
        out.status.success(),
        "attune {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn last_json(stdout: &str) -> serde_json::Value {
    let line = stdout.lines().last().expect("output");
    serde_json::from_str(line).expect("last line is JSON")
}

/// The kiosk's voice and a recogniser to hear it with.
struct Listening {
    voice: attune::tts::PiperTts,
    stt: attune::stt::WhisperStt,
}

impl Listening {
    fn new(tts: &attune::tts::TtsConfig) -> Self {
        use attune::stt::{SttConfig, WhisperStt};
        let models = attune::config::default_models_dir();
        let ort = attune_models::onnxruntime_path(&models).expect("onnxruntime for this machine");
        let voice =
            attune::tts::PiperTts::load(&support::model("piper/en_US-joe-medium.onnx"), &ort, tts)
                .expect("voice");
        let stt = WhisperStt::load(
            &support::model("ggml-tiny.en-q8_0.bin"),
            &SttConfig::default(),
            String::new(),
        )
        .expect("whisper");
        Self { voice, stt }
    }

    /// Says `text` sentence by sentence, as the kiosk does, and returns what was heard back.
    fn say_and_hear(&mut self, text: &str) -> String {
        use attune::audio::{SAMPLE_RATE, resample};
        use attune::conversation::Pace;
        use attune::stt::SpeechToText;
        use attune::tts::TextToSpeech;
        let mut heard = String::new();
        for sentence in attune::tts::split_sentences(text) {
            let pcm = self
                .voice
                .synthesize(&sentence, Pace::Normal)
                .expect("synthesize");
            let audio = resample(&pcm.samples, pcm.sample_rate, SAMPLE_RATE).expect("resample");
            heard.push_str(&self.stt.transcribe(&audio).expect("transcribe").text);
            heard.push(' ');
        }
        heard
    }

    /// Word errors and reference words over `texts`, each reported when hard to hear.
    fn errors(&mut self, texts: &[String]) -> (usize, usize) {
        let (mut errors, mut words) = (0, 0);
        for text in texts {
            let heard = self.say_and_hear(text);
            let (e, n) = word_errors(text, &heard);
            if e * 5 > n {
                eprintln!("hard to hear ({e}/{n}): {text:?} -> {heard:?}");
            }
            errors += e;
            words += n;
        }
        (errors, words)
    }
}

/// Everything the kiosk says in the example set-up: each knowledge-base answer and the fixed
/// phrases, synthesised by Piper sentence by sentence as the kiosk speaks them, and transcribed
/// back by whisper. Piper's voice samples noise, so the figure moves by a point or two per run.
#[test]
fn synthesised_speech_is_intelligible() {
    let kb = attune::knowledge::KnowledgeBase::load(support::repo_file("systemd/knowledge.toml"))
        .expect("kb");
    let phrases = attune::conversation::Phrases::default();
    let mut texts: Vec<String> = kb
        .intents()
        .iter()
        .map(|i| i.answer().to_string())
        .collect();
    texts.extend([
        phrases.greeting.clone(),
        phrases.calling_distress.clone(),
        phrases.stay_with_you.clone(),
    ]);
    let (errors, words) = Listening::new(&attune::tts::TtsConfig::default()).errors(&texts);
    let accuracy = 100.0 * (words - errors.min(words)) as f64 / words as f64;
    eprintln!(
        "{} replies, {words} words: {accuracy:.1}% heard back",
        texts.len()
    );
    assert!(
        accuracy >= 90.0,
        "only {accuracy:.1}% of the kiosk's words were heard back"
    );
}

/// `[tts] low_memory` gives up ONNX Runtime's arena, not the voice: the words still come back.
#[test]
fn a_low_memory_voice_says_the_same_words() {
    let cfg = attune::tts::TtsConfig {
        low_memory: true,
        ..Default::default()
    };
    let text = "The ticket office is next to the main entrance. It is open from six in the morning \
                until eight in the evening, every day. Someone is coming to help you now. Please \
                stay where you are, and I will stay with you.";
    let (errors, words) = Listening::new(&cfg).errors(&[text.to_string()]);
    assert!(
        errors * 10 <= words,
        "{errors} of {words} words lost in low-memory mode"
    );
}

#[test]
fn a_calm_question_is_answered_from_the_knowledge_base() {
    let out = last_json(&attune(&["reply", "when does the ticket office open"]));
    assert_eq!(out["intent"], "opening_hours");
    assert_eq!(out["escalate"], false);
    assert!(
        out["reply"]
            .as_str()
            .unwrap_or_default()
            .contains("ticket office is open"),
        "{out}"
    );
}

#[test]
fn a_distressed_customer_hears_different_words_and_staff_are_called() {
    let words = "this is ridiculous, my train was cancelled and nobody is helping";
    let calm = last_json(&attune(&["reply", "--stress", "calm", words]));
    let distressed = last_json(&attune(&["reply", "--stress", "distressed", words]));
    assert_ne!(calm["reply"], distressed["reply"]);
    assert_eq!(distressed["escalate"], true);
    assert_eq!(distressed["reason"], "distress");
    assert!(
        distressed["reply"]
            .as_str()
            .unwrap_or_default()
            .contains("member of staff"),
        "{distressed}"
    );
}
