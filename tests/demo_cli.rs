//! Black-box: `attune demo`, the README's main job, as a new user sees it. Both customers'
//! alerts reach staff and are acknowledged, every staff pager line is printed after the alert
//! it reports, and nothing prints Rust's debug forms.

mod support;

use std::process::Command;
use support::model;

#[test]
fn the_demo_reads_in_order_and_gets_every_alert_acknowledged() {
    model("ggml-tiny.en-q8_0.bin");
    let out_dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_attune"))
        .args(["demo", "--out"])
        .arg(out_dir.path())
        .output()
        .expect("attune demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("2 alert(s) delivered over MQTT, 2 acknowledged by staff"),
        "{stdout}"
    );
    for debug_form in ["Some(", "None"] {
        assert!(!stdout.contains(debug_form), "{debug_form} in:\n{stdout}");
    }
    let lines: Vec<&str> = stdout.lines().collect();
    let mut pager_lines = 0;
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.trim_start().strip_prefix("[staff pager] ") else {
            continue;
        };
        pager_lines += 1;
        let id = rest.split_whitespace().next().unwrap_or_default();
        let alert_line = format!("ALERT     {id} ");
        assert!(
            lines[..i]
                .iter()
                .any(|l| l.trim_start().starts_with(&alert_line)),
            "pager line for {id} before its alert:\n{stdout}"
        );
    }
    assert_eq!(pager_lines, 2, "{stdout}");
    for n in [1, 2] {
        let wav = out_dir.path().join(format!("scenario-{n}-kiosk.wav"));
        assert!(wav.is_file(), "{} missing", wav.display());
    }
}
