//! The command-line tools: one file per verb family, dispatched from [`execute`]. They share
//! [`setup`] (configuration, runtime, recordings) and call the daemon's own code (its
//! component builder, its turn assessment), never a copy of it. Only these tools use the model
//! tooling crate (`attune-models`); the daemon library does not.

mod bench;
mod bench_live;
mod config;
mod demo;
mod devices;
mod eval;
mod models;
mod room;
mod run;
mod setup;
mod speech;

use attune::cli::Command;
use attune::config::ConfigError;
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
        } => run::run_kiosk(&config, input, output, fast),
        Command::Demo { out, real_time } => demo::demo(&out, real_time),
        Command::CheckConfig { file } => Ok(config::check(&file)),
        Command::PrintDefaultConfig { knowledge } => Ok(config::print_default(knowledge)),
        Command::ListDevices => devices::list(),
        Command::Models { command } => models::models(command),
        Command::Assess { config, wavs } => eval::assess(config.as_deref(), &wavs),
        Command::Eval { command } => eval::eval(command),
        Command::Bench {
            config,
            clips,
            live_turns,
            json,
        } => bench::bench(config.as_deref(), clips, live_turns, json),
        Command::Say {
            config,
            slow,
            output,
            text,
        } => speech::say(config.as_deref(), &text, slow, &output),
        Command::Reply {
            config,
            stress,
            words,
        } => speech::reply(config.as_deref(), &words, &stress),
        Command::Redact { config, turns } => config::redact(config.as_deref(), &turns),
        Command::Transcribe {
            config,
            model,
            full_window,
            wavs,
        } => models::transcribe(config.as_deref(), model.as_deref(), full_window, &wavs),
    }
}

/// The error and its causes on one line, each cause once: most of attune's errors already
/// name their cause in their own message, and anyhow's `{:#}` would repeat it.
pub fn describe(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        // A cause a message names is at its end ("cannot read X: {source}").
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
    }
    out
}

/// Maps an error to the process exit status: configuration problems get [`EXIT_CONFIG`].
pub fn exit_code_for(e: &anyhow::Error) -> ExitCode {
    let model_missing = e.chain().any(|c| {
        matches!(
            c.downcast_ref::<attune::stt::SttError>(),
            Some(attune::stt::SttError::Load { .. })
        ) || matches!(
            c.downcast_ref::<attune::vad::VadError>(),
            Some(attune::vad::VadError::Load { .. })
        ) || matches!(
            c.downcast_ref::<attune::stress::StressError>(),
            Some(attune::stress::StressError::Load { .. })
        ) || matches!(
            c.downcast_ref::<attune::tts::TtsError>(),
            Some(attune::tts::TtsError::Load { .. } | attune::tts::TtsError::Runtime { .. })
        )
    });
    let config_error = e.chain().any(|c| {
        matches!(
            c.downcast_ref::<attune::alerts::AlertError>(),
            Some(attune::alerts::AlertError::Config { .. })
        )
    });
    if model_missing || config_error || e.downcast_ref::<ConfigInvalid>().is_some() {
        ExitCode::from(EXIT_CONFIG)
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let Err(read) = attune::audio::read_wav_mono(std::path::Path::new("/nonexistent.wav"))
        else {
            panic!("a file that does not exist was read");
        };
        let text = describe(&anyhow::Error::new(read).context("reading the input"));
        assert_eq!(text.matches("os error 2").count(), 1, "{text}");
        assert!(text.starts_with("reading the input: cannot read WAV file /nonexistent.wav"));
    }

    #[test]
    fn a_cause_the_message_leaves_out_is_kept() {
        let e = anyhow::anyhow!("disk full").context("saving the alert");
        assert_eq!(describe(&e), "saving the alert: disk full");
    }
}
