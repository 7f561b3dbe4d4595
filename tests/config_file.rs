//! The example configuration parses as written; bad files list every problem at once.

mod support;

use attune::config::{Config, EXAMPLE};
use std::process::Command;
use support::repo_file;

fn attune(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_attune"))
        .args(args)
        .output()
        .expect("run attune")
}

#[test]
fn the_shipped_example_parses_as_written_and_is_the_embedded_one() {
    let path = repo_file("systemd/attune.toml");
    let text = std::fs::read_to_string(&path).expect("read example");
    assert_eq!(text, EXAMPLE);
    let c = Config::load(&path).expect("example parses");
    assert_eq!(c.kiosk.id, "kiosk-1");
    assert_eq!(c.mqtt.url, "embedded");
    assert!(
        c.check_files().errors.is_empty(),
        "{:?}",
        c.check_files().errors
    );
}

#[test]
fn the_example_lists_every_phrase_list_as_the_defaults() {
    let c = Config::example(&repo_file("systemd")).expect("example parses");
    assert_eq!(c.stress.phrases, attune::stress::CuePhrases::default());
}

#[test]
fn check_config_accepts_the_example() {
    let out = attune(&[
        "check-config",
        repo_file("systemd/attune.toml").to_str().expect("utf8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("configuration is valid"));
}

#[test]
fn print_default_config_prints_the_example() {
    let out = attune(&["print-default-config"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), EXAMPLE);
}

#[test]
fn three_unknown_keys_are_all_named_with_a_config_exit_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = EXAMPLE.replacen(
        "\n[kiosk]\n",
        "\ncolour = \"blue\"\nvolume = 11\n\n[kiosk]\n",
        1,
    ) + "\n[speakers]\nleft = true\n";
    let path = dir.path().join("attune.toml");
    std::fs::write(&path, bad).expect("write");
    std::fs::copy(
        repo_file("systemd/knowledge.toml"),
        dir.path().join("knowledge.toml"),
    )
    .expect("copy kb");
    let out = attune(&["check-config", path.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in ["`colour`", "`volume`", "[speakers]", "3 problem(s)"] {
        assert!(err.contains(needle), "missing {needle} in:\n{err}");
    }
}

#[test]
fn nested_unknown_keys_types_and_ranges_are_reported_together() {
    let text = EXAMPLE
        .replace("hangover_ms = 400", "hangover_ms = 400\nhangvoer_ms = 300")
        .replace("threads = 2", "threads = \"two\"")
        .replace("ack_timeout_s = 90", "ack_timeout_s = 2")
        .replace("url = \"embedded\"", "url = \"http://broker\"")
        .replace("id = \"kiosk-1\"", "id = \"kiosk 1/a\"");
    let err = Config::parse(&text, "test.toml", std::path::Path::new(".")).expect_err("must fail");
    let all = err.to_string();
    for needle in [
        "`vad.hangvoer_ms`",
        "stt.threads",
        "escalation.ack_timeout_s",
        "mqtt.url",
        "kiosk.id",
    ] {
        assert!(all.contains(needle), "missing {needle} in:\n{all}");
    }
    assert_eq!(err.problems.len(), 5, "{all}");
}

#[test]
fn missing_files_are_errors_and_missing_models_are_warnings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = EXAMPLE
        .replace(
            "# ca_file = \"/etc/attune/ca.pem\"",
            "ca_file = \"no-such-ca.pem\"",
        )
        .replace(
            "# dir = \"/var/lib/attune/models\"",
            "dir = \"empty-models\"",
        );
    let path = dir.path().join("attune.toml");
    std::fs::write(&path, text).expect("write");
    let out = attune(&["check-config", path.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("knowledge.toml does not exist"), "{err}");
    assert!(err.contains("no-such-ca.pem does not exist"), "{err}");
    assert!(err.contains("warning: stt.model"), "{err}");
    assert!(err.contains("attune models fetch"), "{err}");
}

#[test]
fn syntax_errors_name_the_file_and_line() {
    let err = Config::parse("[kiosk\nid = 1", "broken.toml", std::path::Path::new("."))
        .expect_err("fail");
    let s = err.to_string();
    assert!(s.contains("broken.toml") && s.contains("line 1"), "{s}");
}
