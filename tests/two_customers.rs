//! Black-box: the released binary with every real engine and its embedded broker. Customer A
//! reports a medical emergency, staff acknowledge, A leaves; within the cooldown customer B
//! reports an attack. Both emergencies must reach staff as separate safety alerts, and B must
//! not be told that A's helper is coming.

mod support;

use attune::alerts::{Credentials, STAFF_CREDENTIALS, StaffClient};
use attune::audio::{SAMPLE_RATE, read_wav_mono, resample, write_wav_mono};
use attune::conversation::Reason;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{model, repo_file};

/// 16 kHz mono samples of a recording.
fn speech(path: &Path) -> Vec<f32> {
    let pcm = read_wav_mono(path).expect("recording");
    resample(&pcm.samples, pcm.sample_rate, SAMPLE_RATE).expect("resample")
}

fn silence(seconds: f32) -> Vec<f32> {
    vec![0.0; (seconds * SAMPLE_RATE as f32) as usize]
}

/// Customer B's words, in the kiosk's own (Piper) voice: a different voice and words from A.
fn synthesise(dir: &Path, text: &str) -> Vec<f32> {
    let wav = dir.join("b.wav");
    let out = Command::new(env!("CARGO_BIN_EXE_attune"))
        .args(["say", "--output", &format!("wav:{}", wav.display()), text])
        .output()
        .expect("attune say");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    speech(&wav)
}

#[test]
fn a_second_customers_emergency_within_the_cooldown_reaches_staff() {
    model("ggml-tiny.en-q8_0.bin");
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let state = dir.path().join("state");
    let config = std::fs::read_to_string(repo_file("systemd/attune.toml"))
        .expect("example")
        .replace(
            "state_dir = \"/var/lib/attune\"",
            &format!("state_dir = \"{}\"", state.display()),
        )
        .replace(
            "url = \"embedded\"",
            &format!("url = \"embedded://127.0.0.1:{port}\""),
        )
        .replace("leave_after_s = 45", "leave_after_s = 5");
    let cfg_path = dir.path().join("attune.toml");
    std::fs::write(&cfg_path, config).expect("config");
    std::fs::copy(
        repo_file("systemd/knowledge.toml"),
        dir.path().join("knowledge.toml"),
    )
    .expect("kb");

    let mut audio = silence(1.0);
    audio.extend(speech(&repo_file("tests/fixtures/demo/11-safety.wav")));
    // A is helped and walks away: the kiosk ends A's conversation after 5 s of quiet.
    audio.extend(silence(16.0));
    audio.extend(synthesise(
        dir.path(),
        "Please help me, someone is following me. I have been attacked.",
    ));
    audio.extend(silence(4.0));
    let input = dir.path().join("customers.wav");
    write_wav_mono(&input, &audio, SAMPLE_RATE).expect("write input");

    let mut kiosk = Command::new(env!("CARGO_BIN_EXE_attune"))
        .args(["run", "--config"])
        .arg(&cfg_path)
        .args([
            "--input",
            &format!("wav:{}", input.display()),
            "--output",
            "null",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .expect("attune run");
    let creds_path = state.join(STAFF_CREDENTIALS);
    let t0 = Instant::now();
    while !creds_path.is_file() && t0.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let creds = Credentials::read(&creds_path).expect("staff credentials created by the kiosk");
    let url = format!("mqtt://127.0.0.1:{port}");
    let mut staff = StaffClient::connect(&url, "attune", "central-station", Some(&creds))
        .expect("staff connect");
    let mut alerts = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while alerts.len() < 2 && Instant::now() < deadline {
        if let Some(a) = staff.next_alert(Duration::from_millis(500))
            && a.attempt == 0
        {
            staff.acknowledge(&a, "Sam", 120).expect("ack");
            alerts.push(a);
        }
        if let Ok(Some(_)) = kiosk.try_wait() {
            break;
        }
    }
    let status = kiosk.wait().expect("kiosk ends after its input");
    let mut log = String::new();
    if let Some(mut e) = kiosk.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut log);
    }
    assert!(status.success(), "kiosk failed: {log}");
    let ids: Vec<&str> = alerts.iter().map(|a| a.alert_id.as_str()).collect();
    assert_eq!(
        alerts.len(),
        2,
        "both emergencies reach staff: {ids:?}\n{log}"
    );
    assert_ne!(ids[0], ids[1]);
    for a in &alerts {
        assert_eq!(a.reason, Reason::Safety, "{}", a.alert_id);
    }
}
