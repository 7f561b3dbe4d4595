//! Builds the real components from the configuration: the only place engines and devices are
//! constructed.

use super::Components;
use crate::audio::{
    AudioInput, AudioOutput, AudioSpec, Clock, NullOutput, SAMPLE_RATE, WavInput, WavOutput,
};
use crate::config::Config;
use crate::knowledge::KnowledgeBase;
use anyhow::{Context, bail};

/// Builds every component `attune run` needs.
pub(super) fn components(
    config: &Config,
    input: &AudioSpec,
    output: &AudioSpec,
    fast: bool,
) -> anyhow::Result<Components> {
    let clock = match input {
        AudioSpec::Wav(_) => Clock::samples(SAMPLE_RATE),
        _ => Clock::wall(),
    };
    let _input = audio_input(input, fast, &clock)?;
    let _output = audio_output(output, &clock)?;
    let kb_path = config.resolve(&config.knowledge.file);
    let _knowledge = KnowledgeBase::load(&kb_path)?;
    bail!("the speech engines are not wired into `attune run` yet")
}

fn audio_input(spec: &AudioSpec, fast: bool, clock: &Clock) -> anyhow::Result<Box<dyn AudioInput>> {
    match spec {
        AudioSpec::Wav(path) => Ok(Box::new(
            WavInput::open(path, !fast, clock.clone())
                .with_context(|| format!("opening input {spec}"))?,
        )),
        other => bail!("input {other} is not supported yet"),
    }
}

fn audio_output(spec: &AudioSpec, clock: &Clock) -> anyhow::Result<Box<dyn AudioOutput>> {
    match spec {
        AudioSpec::Wav(path) => Ok(Box::new(WavOutput::create(path, clock.clone())?)),
        AudioSpec::Null => Ok(Box::new(NullOutput::new(clock.clone()))),
        other => bail!("output {other} is not supported yet"),
    }
}
