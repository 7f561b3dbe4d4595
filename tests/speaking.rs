//! The kiosk's voice and replies through the command line: `say` round-trips through
//! `transcribe`, and `reply` answers a calm question but calls staff for a distressed customer.

mod support;

use attune::stt::wer::word_errors;
use std::process::Command;

fn attune(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_attune")).args(args).output().expect("run attune");
    assert!(out.status.success(), "attune {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn last_json(stdout: &str) -> serde_json::Value {
    let line = stdout.lines().last().expect("output");
    serde_json::from_str(line).expect("last line is JSON")
}

#[test]
fn synthesised_speech_is_intelligible() {
    support::model("piper/en_US-joe-medium.onnx");
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = dir.path().join("say.wav");
    let text = "The lifts to platforms two and three are next to the ticket office. Staff can help you with step free access.";
    attune(&["say", "--output", &format!("wav:{}", wav.display()), text]);
    let heard = attune(&["transcribe", wav.to_str().expect("utf8")]);
    let heard = heard.split('\t').nth(1).unwrap_or_default();
    let (errors, words) = word_errors(text, heard);
    assert!(errors * 10 <= words, "{errors} of {words} words wrong: {heard}");
}

#[test]
fn a_calm_question_is_answered_from_the_knowledge_base() {
    let out = last_json(&attune(&["reply", "when does the ticket office open"]));
    assert_eq!(out["intent"], "opening_hours");
    assert_eq!(out["escalate"], false);
    assert!(out["reply"].as_str().unwrap_or_default().contains("ticket office is open"), "{out}");
}

#[test]
fn a_distressed_customer_hears_different_words_and_staff_are_called() {
    let words = "this is ridiculous, my train was cancelled and nobody is helping";
    let calm = last_json(&attune(&["reply", "--stress", "calm", words]));
    let distressed = last_json(&attune(&["reply", "--stress", "distressed", words]));
    assert_ne!(calm["reply"], distressed["reply"]);
    assert_eq!(distressed["escalate"], true);
    assert_eq!(distressed["reason"], "distress");
    assert!(distressed["reply"].as_str().unwrap_or_default().contains("member of staff"), "{distressed}");
}
