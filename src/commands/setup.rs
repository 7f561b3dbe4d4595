//! What the command-line tools share: the configuration (a file, or the built-in example),
//! the tokio runtime alert delivery runs on, and recordings read at the pipeline's rate.

use super::ConfigInvalid;
use attune::audio::{SAMPLE_RATE, read_wav_mono, resample};
use attune::config::Config;
use std::path::{Path, PathBuf};

/// Loads a configuration, or an error listing every problem (exit status 78).
pub(super) fn load_config(path: &Path) -> anyhow::Result<Config> {
    Config::load(path).map_err(|e| ConfigInvalid(e).into())
}

/// The configuration at `path`, or the built-in example when there is none.
pub(super) fn config_or_example(path: Option<&Path>) -> anyhow::Result<Config> {
    match path {
        Some(p) => load_config(p),
        None => Ok(Config::example(&default_example_dir())?),
    }
}

/// Where the example configuration's relative paths (the knowledge base) resolve when no
/// configuration is given: a checkout's `systemd/`, else `/etc/attune`.
pub(super) fn default_example_dir() -> PathBuf {
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd");
    if checkout.join("knowledge.toml").is_file() {
        checkout
    } else {
        PathBuf::from("/etc/attune")
    }
}

/// The runtime for alert delivery and the embedded broker: one worker is plenty, and the
/// engines keep the other core.
pub(super) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("attune-io")
        .enable_all()
        .build()?)
}

/// A recording as 16 kHz mono samples.
pub(super) fn read_16k(path: &Path) -> anyhow::Result<Vec<f32>> {
    let pcm = read_wav_mono(path)?;
    Ok(resample(&pcm.samples, pcm.sample_rate, SAMPLE_RATE)?)
}
