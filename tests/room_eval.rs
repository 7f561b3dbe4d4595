//! `attune eval room` in a reduced, seeded form (the full run is documented in the README):
//! the kiosk's replies through simulated rooms, customers talking over them, and noise, through
//! the daemon's listening front end. Checks that the simulation is a real test of the echo (the
//! front end without a canceller hears the kiosk's own voice) and that the canceller removes
//! some of it; the figures themselves go to the closing note and the README.

mod support;

use std::process::Command;
use support::{model, test_data};

#[test]
fn the_echo_canceller_stops_the_kiosk_from_hearing_itself_in_a_simulated_room() {
    let Some(data) = test_data("room_eval") else {
        return;
    };
    model("ggml-tiny.en-q8_0.bin");
    let out = Command::new(env!("CARGO_BIN_EXE_attune"))
        .args([
            "eval",
            "room",
            "--replies",
            "12",
            "--clips",
            "12",
            "--seed",
            "1",
            "--noise-suppression",
            "--json",
        ])
        .arg("--data")
        .arg(&data)
        .output()
        .expect("attune eval room");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().expect("a JSON line");
    let r: serde_json::Value = serde_json::from_str(last).expect("JSON");
    let n = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    assert_eq!(n(&r["replies"]), 12.0);
    assert_eq!(n(&r["barge_in_tries"]), 12.0);
    let without = n(&r["without_aec"]["self_triggered_turns"]);
    let with = n(&r["self_triggered_turns"]);
    assert!(
        without >= 6.0,
        "the room's echo is heard without a canceller: {r}"
    );
    assert!(
        // The replies are synthesised without Piper's random variation, so these counts
        // repeat from run to run; the full run's figures are in the README.
        with < without,
        "the canceller removes some of it: {r}"
    );
    assert!(
        n(&r["barge_in_missed"]) < n(&r["without_aec"]["barge_in_missed"]),
        "customers talking over the kiosk are heard more often with it: {r}"
    );
    assert_eq!(r["stt_model"], "ggml-tiny.en-q8_0.bin", "{r}");
    assert!(
        n(&r["stt_seconds_per_clip"]) > 0.0,
        "the recogniser is timed: {r}"
    );
    for condition in ["clean", "snr20", "snr10", "snr5", "barge_in_snr10"] {
        let wer = n(&r["wer"][condition]);
        assert!((0.0..=300.0).contains(&wer), "{condition}: {r}");
    }
    for condition in ["clean", "snr20", "snr10", "snr5"] {
        let wer = n(&r["wer_noise_suppressed"][condition]);
        assert!((0.0..=300.0).contains(&wer), "suppressed {condition}: {r}");
        assert!(
            r["vad_false_triggers_noise_suppressed"][condition].is_u64(),
            "{r}"
        );
    }
}
