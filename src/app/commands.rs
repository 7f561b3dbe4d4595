//! The subcommands: each builds what it needs and reports in plain words.

use crate::cli::Command;
use crate::config::{Config, ConfigError, EXAMPLE};
use std::path::Path;
use std::process::ExitCode;

/// Exit status for a configuration problem or a missing or corrupt model: `EX_CONFIG`. The
/// systemd unit lists it in `RestartPreventExitStatus=` so a bad file does not cause a restart
/// storm.
pub const EXIT_CONFIG: u8 = 78;

/// The configuration is unusable; carries every problem.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigInvalid(pub ConfigError);

/// Runs one subcommand.
pub fn execute(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run {
            config,
            input,
            output,
            fast,
        } => super::run_command(&config, input, output, fast),
        Command::Demo { out, real_time } => super::demo::demo(&out, real_time),
        Command::CheckConfig { file } => Ok(check_config(&file)),
        Command::PrintDefaultConfig => {
            print!("{EXAMPLE}");
            Ok(ExitCode::SUCCESS)
        }
        Command::ListDevices => list_devices(),
        Command::Models { command } => super::model_commands::models(command),
        Command::Assess { config, wavs } => super::eval_commands::assess(config.as_deref(), &wavs),
        Command::Eval { command } => super::eval_commands::eval(command),
        Command::Bench {
            config,
            clips,
            live_turns,
            json,
        } => super::bench::bench(config.as_deref(), clips, live_turns, json),
        Command::Say {
            config,
            slow,
            output,
            text,
        } => super::speech_commands::say(config.as_deref(), &text, slow, &output),
        Command::Reply {
            config,
            stress,
            words,
        } => super::speech_commands::reply(config.as_deref(), &words, &stress),
        Command::Redact { config, turns } => redact(config.as_deref(), &turns),
        Command::Transcribe {
            config,
            model,
            full_window,
            wavs,
        } => super::model_commands::transcribe(
            config.as_deref(),
            model.as_deref(),
            full_window,
            &wavs,
        ),
    }
}

/// Maps an error to the process exit status: configuration problems get [`EXIT_CONFIG`].
pub fn exit_code_for(e: &anyhow::Error) -> ExitCode {
    let model_missing = e.chain().any(|c| {
        matches!(
            c.downcast_ref::<crate::stt::SttError>(),
            Some(crate::stt::SttError::Load { .. })
        ) || matches!(
            c.downcast_ref::<crate::vad::VadError>(),
            Some(crate::vad::VadError::Load { .. })
        ) || matches!(
            c.downcast_ref::<crate::stress::StressError>(),
            Some(crate::stress::StressError::Load { .. })
        ) || matches!(
            c.downcast_ref::<crate::tts::TtsError>(),
            Some(crate::tts::TtsError::Load { .. })
        )
    });
    let config_error = e.chain().any(|c| {
        matches!(
            c.downcast_ref::<crate::alerts::AlertError>(),
            Some(crate::alerts::AlertError::Config { .. })
        )
    });
    if model_missing || config_error || e.downcast_ref::<ConfigInvalid>().is_some() {
        ExitCode::from(EXIT_CONFIG)
    } else {
        ExitCode::FAILURE
    }
}

/// Loads a configuration, or an error listing every problem.
pub(super) fn load_config(path: &Path) -> anyhow::Result<Config> {
    Config::load(path).map_err(|e| ConfigInvalid(e).into())
}

fn check_config(path: &Path) -> ExitCode {
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

fn list_devices() -> anyhow::Result<ExitCode> {
    let devices = crate::audio::list_devices()?;
    if devices.is_empty() {
        println!("no audio devices found (is the user in the `audio` group? is ALSA configured?)");
    }
    for d in devices {
        let default = if d.is_default { " (default)" } else { "" };
        println!("{:<6} {}{}", d.direction, d.name, default);
        for f in d.formats {
            println!("         {f}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `attune redact`: each turn as an alert would carry it.
fn redact(config: Option<&Path>, turns: &[String]) -> anyhow::Result<ExitCode> {
    let policy = match config {
        Some(p) => load_config(p)?.privacy.alert_transcript,
        None => crate::alerts::TranscriptPolicy::default(),
    };
    match policy {
        crate::alerts::TranscriptPolicy::None => {
            println!("(nothing: [privacy] alert_transcript = \"none\" leaves the words out)");
        }
        crate::alerts::TranscriptPolicy::Full => {
            eprintln!("note: [privacy] alert_transcript = \"full\" sends the words unmasked");
            turns.iter().for_each(|t| println!("{t}"));
        }
        crate::alerts::TranscriptPolicy::Redacted => {
            crate::alerts::redact_turns(turns)
                .iter()
                .for_each(|t| println!("{t}"));
        }
    }
    Ok(ExitCode::SUCCESS)
}
