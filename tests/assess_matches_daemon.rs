//! `attune assess` and the running kiosk use one turn assessment: for the same recording, the
//! level `attune assess` prints is the level the daemon logs for that turn.

mod support;

use std::path::Path;
use std::process::Command;
use support::{example_config, model, repo_file};

fn attune(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_attune"))
        .args(args)
        .output()
        .expect("run attune")
}

/// Removes ANSI colour codes from a log.
fn plain(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn assessed_level(wav: &Path) -> String {
    let out = attune(&["assess", wav.to_str().expect("utf8")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(line.trim()).expect("one JSON line");
    v["level"].as_str().expect("level").to_string()
}

/// The level of the daemon's first turn, from its `turn` log line.
fn daemon_level(wav: &Path, dir: &Path) -> String {
    let cfg = example_config(dir, |t| {
        t.replace("url = \"embedded\"", "url = \"embedded://127.0.0.1:0\"")
            .replace("flush_grace_s = 5", "flush_grace_s = 0")
    });
    let out = Command::new(env!("CARGO_BIN_EXE_attune"))
        .args(["run", "--fast", "--config"])
        .arg(&cfg)
        .args([
            "--input",
            &format!("wav:{}", wav.display()),
            "--output",
            "null",
        ])
        .env("RUST_LOG", "attune=info")
        .output()
        .expect("attune run");
    let log = plain(&String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{log}");
    let line = log
        .lines()
        .find(|l| l.contains(" turn ") && l.contains("level="))
        .unwrap_or_else(|| panic!("no turn logged:\n{log}"));
    let level = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("level="))
        .expect("level field");
    level.to_lowercase()
}

#[test]
fn assess_and_the_daemon_agree_on_the_level() {
    model("ggml-tiny.en-q8_0.bin");
    for name in ["01-calm-toilets.wav", "03-frustrated.wav", "11-safety.wav"] {
        let wav = repo_file(&format!("tests/fixtures/demo/{name}"));
        let dir = tempfile::tempdir().expect("tempdir");
        let daemon = daemon_level(&wav, dir.path());
        let assessed = assessed_level(&wav);
        assert_eq!(assessed, daemon, "{name}");
    }
}
