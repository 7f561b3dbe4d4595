//! The example configuration parses as written; bad files list every problem at once.

mod support;

use attune::config::{Config, EXAMPLE};
use std::process::Command;
use support::{example_config, repo_file};

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
fn print_default_config_prints_the_example_with_the_builtin_knowledge_base() {
    let out = attune(&["print-default-config"]);
    assert!(out.status.success());
    let printed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(printed, attune::config::printed_example());
    let changed: Vec<&str> = printed
        .lines()
        .filter(|l| !EXAMPLE.lines().any(|e| e == *l))
        .collect();
    assert!(
        changed[0].starts_with("file = \"builtin:example\""),
        "only the knowledge line differs from the installed example: {changed:?}"
    );
    assert!(
        changed[1..].iter().all(|l| l.trim_start().starts_with('#')),
        "{changed:?}"
    );
    let kb = attune(&["print-default-config", "--knowledge"]);
    assert_eq!(
        String::from_utf8_lossy(&kb.stdout),
        std::fs::read_to_string(repo_file("systemd/knowledge.toml")).expect("example kb")
    );
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

#[test]
fn check_config_rejects_what_start_up_would_reject() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("ca.pem"), "not a certificate\n").expect("ca");
    std::fs::write(dir.path().join("creds"), "no colon here\n").expect("creds");
    let cases: [(&str, &str, &str); 7] = [
        (
            "url = \"embedded\"",
            "url = \"mqtt://host:99999\"",
            "1..=65535",
        ),
        (
            "url = \"embedded\"",
            "url = \"mqtt://:1883\"",
            "host is missing",
        ),
        ("url = \"embedded\"", "url = \"mqtts://[::1\"", "closing ]"),
        (
            "url = \"embedded\"",
            "url = \"embedded://8.8.8.8:1883\"",
            "not one of this machine's",
        ),
        (
            "# ca_file = \"/etc/attune/ca.pem\"",
            "ca_file = \"ca.pem\"\nurl = \"mqtts://broker:8883\"",
            "ca.pem",
        ),
        (
            "# credentials_file = \"/etc/attune/mqtt-credentials\"",
            "credentials_file = \"creds\"\nurl = \"mqtt://broker:1883\"",
            "user:password",
        ),
        (
            "topic_prefix = \"attune\"",
            "topic_prefix = \"$SYS//x\"",
            "mqtt.topic_prefix",
        ),
    ];
    for (from, to, needle) in cases {
        let path = example_config(dir.path(), |t| {
            let t = t.replace(from, to);
            // Only one url line may remain.
            if to.contains("url =") && from != "url = \"embedded\"" {
                t.replacen("url = \"embedded\"", "", 1)
            } else {
                t
            }
        });
        let out = attune(&["check-config", path.to_str().expect("utf8")]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(78), "{to}: {err}");
        assert!(err.contains(needle), "{to}: missing {needle:?} in:\n{err}");
    }
}

#[test]
fn a_site_broker_comes_with_the_acl_requirement() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = example_config(dir.path(), |t| {
        t.replace("url = \"embedded\"", "url = \"mqtt://broker.local:1883\"")
    });
    let out = attune(&["check-config", path.to_str().expect("utf8")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("note: requirement"), "{err}");
    assert!(err.contains("central-station/+/ack"), "{err}");
    assert!(err.contains("anonymously"), "{err}");
}

#[test]
fn run_exits_78_when_the_embedded_brokers_port_is_taken() {
    let dir = tempfile::tempdir().expect("tempdir");
    let squatter = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = squatter.local_addr().expect("addr").port();
    let path = example_config(dir.path(), |t| {
        t.replace(
            "url = \"embedded\"",
            &format!("url = \"embedded://127.0.0.1:{port}\""),
        )
    });
    let out = attune(&[
        "run",
        "--config",
        path.to_str().expect("utf8"),
        "--input",
        "null",
        "--output",
        "null",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(
        err.contains(&port.to_string()) && err.contains("another program"),
        "{err}"
    );
}

#[test]
fn run_exits_78_on_a_bad_certificate_instead_of_restarting_forever() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("ca.pem"), "not a certificate\n").expect("ca");
    let path = example_config(dir.path(), |t| {
        t.replace("url = \"embedded\"", "url = \"mqtts://127.0.0.1:8883\"")
            .replace("# ca_file = \"/etc/attune/ca.pem\"", "ca_file = \"ca.pem\"")
    });
    let out = attune(&[
        "run",
        "--config",
        path.to_str().expect("utf8"),
        "--input",
        "null",
        "--output",
        "null",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(
        err.contains("mqtt.ca_file") && err.contains("ca.pem"),
        "{err}"
    );
}

#[test]
fn a_knowledge_file_the_installer_named_must_exist() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = EXAMPLE.replace("file = \"knowledge.toml\"", "file = \"station-faq.toml\"");
    let path = dir.path().join("attune.toml");
    std::fs::write(&path, text).expect("write");
    let out = attune(&["check-config", path.to_str().expect("utf8")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(err.contains("station-faq.toml does not exist"), "{err}");
}

/// What a new user does: print the example into an empty directory, check it, run a recording.
/// Only what tests running side by side would share is changed (the state directory and the
/// embedded broker's port); the knowledge base (the built-in example the printed file names)
/// and the models are found as printed.
#[test]
fn the_printed_config_checks_and_runs_a_recording_from_an_empty_directory() {
    support::model("ggml-tiny.en-q8_0.bin");
    let dir = tempfile::tempdir().expect("tempdir");
    let in_dir = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_attune"))
            .args(args)
            .current_dir(dir.path())
            .env("RUST_LOG", "attune=info")
            .output()
            .expect("run attune")
    };
    let printed = in_dir(&["print-default-config"]);
    assert!(printed.status.success());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let text = String::from_utf8(printed.stdout)
        .expect("utf8")
        .replace("state_dir = \"/var/lib/attune\"", "state_dir = \"state\"")
        .replace(
            "url = \"embedded\"",
            &format!("url = \"embedded://127.0.0.1:{port}\""),
        );
    std::fs::write(dir.path().join("my.toml"), text).expect("write config");

    let checked = in_dir(&["check-config", "my.toml"]);
    let err = String::from_utf8_lossy(&checked.stderr);
    assert!(checked.status.success(), "{err}");
    assert!(
        err.contains("note: knowledge.file = \"builtin:example\""),
        "{err}"
    );

    let question = repo_file("tests/fixtures/demo/01-calm-toilets.wav");
    let input = format!("wav:{}", question.display());
    let ran = in_dir(&[
        "run", "--config", "my.toml", "--input", &input, "--output", "null",
    ]);
    let log = String::from_utf8_lossy(&ran.stderr);
    assert!(ran.status.success(), "{log}");
    assert!(
        log.contains("intent=\"toilets\""),
        "the question is answered from the built-in knowledge base:\n{log}"
    );
}

#[test]
fn a_missing_input_file_names_its_cause_once() {
    support::model("ggml-tiny.en-q8_0.bin");
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let path = example_config(dir.path(), |t| {
        t.replace(
            "url = \"embedded\"",
            &format!("url = \"embedded://127.0.0.1:{port}\""),
        )
    });
    let missing = dir.path().join("no-such-recording.wav");
    let input = format!("wav:{}", missing.display());
    let config = path.to_str().expect("utf8");
    let runs = [
        attune(&[
            "run", "--config", config, "--input", &input, "--output", "null",
        ]),
        attune(&[
            "assess",
            "--config",
            config,
            missing.to_str().expect("utf8"),
        ]),
    ];
    for out in runs {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert!(err.contains("no-such-recording.wav"), "{err}");
        assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    }
}

#[test]
fn a_wrong_type_is_one_problem_on_one_line() {
    let text = EXAMPLE.replace("site = \"central-station\"", "site = 5");
    let err = Config::parse(&text, "test.toml", std::path::Path::new(".")).expect_err("must fail");
    assert_eq!(err.problems.len(), 1, "{err}");
    let problem = &err.problems[0];
    assert!(
        problem.starts_with("kiosk.site: invalid type: integer `5`"),
        "{problem}"
    );
    assert!(!problem.contains('\n'), "{problem:?}");
}
