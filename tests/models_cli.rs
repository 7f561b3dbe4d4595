//! The model tooling through the command line: verification names a truncated model and the
//! fix, conversion is deterministic and its output transcribes speech, and `attune run`
//! refuses to start on a missing model with the same clear message.

mod support;

use std::path::Path;
use std::process::{Command, Output};
use support::{model, repo_file, test_data};

fn attune(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_attune"))
        .args(args)
        .output()
        .expect("run attune")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A copy of the model directory (hard links, so it costs nothing) for tests that damage it.
fn copy_models(to: &Path) {
    let from = attune::config::default_models_dir();
    for entry in walk(&from) {
        let rel = entry.strip_prefix(&from).expect("inside");
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
        std::fs::copy(&entry, &dest).expect("copy");
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if !p.to_string_lossy().contains(".fetch-work") {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_truncated_model_is_named_with_its_fix() {
    model("ggml-tiny.en-q8_0.bin");
    let dir = tempfile::tempdir().expect("tempdir");
    copy_models(dir.path());
    let ggml = dir.path().join("ggml-tiny.en-q8_0.bin");
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&ggml)
        .expect("open");
    f.set_len(1_000_000).expect("truncate");
    let out = attune(&[
        "models",
        "verify",
        "--dir",
        dir.path().to_str().expect("utf8"),
    ]);
    assert!(!out.status.success());
    let all = text(&out);
    assert!(all.contains("ggml-tiny.en-q8_0.bin"), "{all}");
    assert!(all.contains("attune models fetch"), "{all}");
}

#[test]
fn conversion_is_deterministic_and_the_result_transcribes_speech() {
    let src = model("sources/whisper-tiny.en-ct2/model.bin");
    let src_dir = src
        .parent()
        .expect("ct2 dir")
        .to_str()
        .expect("utf8")
        .to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.bin");
    let b = dir.path().join("b.bin");
    for out in [&a, &b] {
        let o = attune(&[
            "models",
            "convert-ct2",
            &src_dir,
            out.to_str().expect("utf8"),
            "--quantize",
            "q8_0",
        ]);
        assert!(o.status.success(), "{}", text(&o));
    }
    assert_eq!(
        std::fs::read(&a).expect("a"),
        std::fs::read(&b).expect("b"),
        "same input, same bytes"
    );
    let Some(data) = test_data("convert-ct2 transcription") else {
        return;
    };
    let jfk = data.join("speech/jfk.wav");
    let o = attune(&[
        "transcribe",
        "--model",
        a.to_str().expect("utf8"),
        jfk.to_str().expect("utf8"),
    ]);
    assert!(
        text(&o)
            .to_lowercase()
            .contains("ask not what your country can do for you"),
        "{}",
        text(&o)
    );
}

#[test]
fn run_refuses_to_start_without_its_models() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = attune::config::EXAMPLE
        .replace(
            "# dir = \"/var/lib/attune/models\"",
            &format!("dir = \"{}\"", dir.path().join("none").display()),
        )
        .replace(
            "state_dir = \"/var/lib/attune\"",
            &format!("state_dir = \"{}\"", dir.path().join("state").display()),
        );
    let path = dir.path().join("attune.toml");
    std::fs::write(&path, cfg).expect("write config");
    std::fs::copy(
        repo_file("systemd/knowledge.toml"),
        dir.path().join("knowledge.toml"),
    )
    .expect("kb");
    let o = attune(&[
        "run",
        "--config",
        path.to_str().expect("utf8"),
        "--input",
        "null",
        "--output",
        "null",
    ]);
    assert_eq!(o.status.code(), Some(78), "{}", text(&o));
    let all = text(&o);
    assert!(
        all.contains("ggml-tiny.en-q8_0.bin") && all.contains("attune models fetch"),
        "{all}"
    );
}
