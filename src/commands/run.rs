//! `attune run`: the help point itself.

use attune::app::{build, run};
use attune::audio::AudioSpec;
use attune::shutdown::Shutdown;
use std::path::Path;
use std::process::ExitCode;

/// Builds the real components from the configuration and runs until the input ends or a
/// signal arrives.
pub(super) fn run_kiosk(
    config_path: &Path,
    input: Option<AudioSpec>,
    output: Option<AudioSpec>,
    fast: bool,
) -> anyhow::Result<ExitCode> {
    let config = super::setup::load_config(config_path)?;
    let runtime = super::setup::runtime()?;
    let _rt = runtime.enter();
    let shutdown = Shutdown::new();
    shutdown.on_signals();
    let input = match input {
        Some(s) => s,
        None => config.audio.input.parse()?,
    };
    let output = match output {
        Some(s) => s,
        None => config.audio.output.parse()?,
    };
    let io = build::io(&config, &input, &output, fast)?;
    let components = build::components(&config, io, runtime.handle())?;
    let report = run(&config, components, &shutdown)?;
    if report.undelivered > 0 {
        tracing::warn!(
            undelivered = report.undelivered,
            "alerts not yet acknowledged stay in the outbox for the next start"
        );
    }
    Ok(ExitCode::SUCCESS)
}
