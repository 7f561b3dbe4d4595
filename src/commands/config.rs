//! `attune check-config`, `attune print-default-config` and `attune redact`: the configuration
//! file and what it decides, checked and shown without running the kiosk.

use super::EXIT_CONFIG;
use super::setup::load_config;
use attune::config::{Config, printed_example};
use attune::knowledge::EXAMPLE_KNOWLEDGE;
use std::path::Path;
use std::process::ExitCode;

/// `attune print-default-config`.
pub(super) fn print_default(knowledge: bool) -> ExitCode {
    if knowledge {
        print!("{EXAMPLE_KNOWLEDGE}");
    } else {
        print!("{}", printed_example());
    }
    ExitCode::SUCCESS
}

/// `attune check-config`: every problem at once; 0 when valid, 78 otherwise.
pub(super) fn check(path: &Path) -> ExitCode {
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            eprint!("{e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let files = config.check_files();
    for w in &files.warnings {
        eprintln!("warning: {w}");
    }
    for n in &files.notes {
        eprintln!("note: {n}");
    }
    if files.errors.is_empty() {
        println!("{}: configuration is valid", path.display());
        ExitCode::SUCCESS
    } else {
        eprintln!("{}: {} problem(s):", path.display(), files.errors.len());
        for e in &files.errors {
            eprintln!("  - {e}");
        }
        ExitCode::from(EXIT_CONFIG)
    }
}

/// `attune redact`: each turn as an alert would carry it.
pub(super) fn redact(config: Option<&Path>, turns: &[String]) -> anyhow::Result<ExitCode> {
    let policy = match config {
        Some(p) => load_config(p)?.privacy.alert_transcript,
        None => attune::alerts::TranscriptPolicy::default(),
    };
    match policy {
        attune::alerts::TranscriptPolicy::None => {
            println!("(nothing: [privacy] alert_transcript = \"none\" leaves the words out)");
        }
        attune::alerts::TranscriptPolicy::Full => {
            eprintln!("note: [privacy] alert_transcript = \"full\" sends the words unmasked");
            turns.iter().for_each(|t| println!("{t}"));
        }
        attune::alerts::TranscriptPolicy::Redacted => {
            attune::alerts::redact_turns(turns)
                .iter()
                .for_each(|t| println!("{t}"));
        }
    }
    Ok(ExitCode::SUCCESS)
}
