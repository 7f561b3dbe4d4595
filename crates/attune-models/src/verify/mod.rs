//! `attune models verify`: is a models directory complete and intact for one selection?
//!
//! Each file the selection needs must exist, pass a structural check that needs no inference
//! engine (ggml header and exact length, ONNX protobuf start, JSON config, ELF machine type),
//! have the pinned size and sha256, and finally pass an optional load check supplied by the
//! caller (the main crate plugs in "the whisper context loads" and "the ONNX session loads").
//! Files the selection does not need (conversion sources, other architectures) are checked
//! only if present. Every problem names the file and the command that fixes it.

use crate::convert_ct2::ggml::{self, GgmlCheckError};
use crate::fsutil::sha256_file;
use crate::manifest::{Arch, Asset, AssetKind, Manifest, Selection, WhisperModel};
use crate::registry::read_prefix;
use std::fmt;
use std::path::{Path, PathBuf};

/// A load check: given an asset's kind and installed path, try to load it with the real engine.
pub type Loader<'a> = &'a dyn Fn(AssetKind, &Path) -> Result<(), String>;

/// What is wrong with one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// The file is absent.
    Missing,
    /// The file has another size than pinned.
    SizeMismatch {
        /// Pinned size.
        expected: u64,
        /// Size on disk.
        found: u64,
    },
    /// The file has other content than pinned.
    HashMismatch {
        /// Pinned sha256.
        expected: String,
        /// sha256 on disk.
        found: String,
    },
    /// The file is shorter than its own header implies (an interrupted copy).
    Truncated {
        /// Minimum length implied by the header.
        expected: u64,
        /// Length on disk.
        found: u64,
    },
    /// The file is not what its kind requires.
    Malformed(String),
    /// The caller's load check failed.
    LoadFailed(String),
    /// The file could not be read.
    Unreadable(String),
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProblemKind::Missing => write!(f, "missing"),
            ProblemKind::SizeMismatch { expected, found } => {
                write!(f, "size is {found} bytes, expected {expected}")
            }
            ProblemKind::HashMismatch { expected, found } => {
                write!(f, "sha256 is {found}, expected {expected}")
            }
            ProblemKind::Truncated { expected, found } => write!(
                f,
                "truncated: {found} bytes but its header implies at least {expected}"
            ),
            ProblemKind::Malformed(d) => write!(f, "malformed: {d}"),
            ProblemKind::LoadFailed(d) => write!(f, "does not load: {d}"),
            ProblemKind::Unreadable(d) => write!(f, "unreadable: {d}"),
        }
    }
}

/// One problem with one file, with the command that fixes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Manifest asset name.
    pub asset: String,
    /// The file's path.
    pub path: PathBuf,
    /// What is wrong.
    pub kind: ProblemKind,
    /// The command (or action) that fixes it.
    pub fix: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}; fix: {}",
            self.path.display(),
            self.asset,
            self.kind,
            self.fix
        )
    }
}

/// Verifies `dir` for `sel` against the built-in manifest, without load checks.
pub fn verify(dir: &Path, sel: &Selection) -> Vec<Problem> {
    verify_with(dir, sel, &|_, _| Ok(()))
}

/// Verifies `dir` for `sel` against the built-in manifest, then runs `loader` on each needed
/// file that passed every other check.
pub fn verify_with(dir: &Path, sel: &Selection, loader: Loader<'_>) -> Vec<Problem> {
    match Manifest::builtin() {
        Ok(manifest) => verify_manifest(&manifest, dir, sel, loader),
        Err(e) => vec![Problem {
            asset: "manifest".into(),
            path: PathBuf::from("models/manifest.toml"),
            kind: ProblemKind::Malformed(e.to_string()),
            fix: "rebuild attune from a release whose manifest parses".into(),
        }],
    }
}

/// [`verify_with`] against an explicit manifest.
pub fn verify_manifest(
    manifest: &Manifest,
    dir: &Path,
    sel: &Selection,
    loader: Loader<'_>,
) -> Vec<Problem> {
    let fix = fix_command(dir, sel);
    manifest
        .assets
        .iter()
        .filter_map(|asset| {
            let needed = asset.wanted_by(sel);
            let path = asset.path_in(dir);
            check_asset(asset, &path, needed, loader).map(|kind| Problem {
                asset: asset.name.clone(),
                path,
                kind,
                fix: fix.clone(),
            })
        })
        .collect()
}

/// The fetch command line that repairs `dir` for `sel`.
pub fn fix_command(dir: &Path, sel: &Selection) -> String {
    let mut cmd = format!("attune models fetch --dir {}", dir.display());
    if sel.whisper != WhisperModel::TinyEn {
        cmd.push_str(&format!(" --whisper {}", sel.whisper));
    }
    if Some(sel.arch) != Arch::host() {
        cmd.push_str(&format!(" --arch {}", sel.arch));
    }
    cmd
}

/// The first problem with one file, cheapest checks first.
fn check_asset(
    asset: &Asset,
    path: &Path,
    needed: bool,
    loader: Loader<'_>,
) -> Option<ProblemKind> {
    let meta = match std::fs::metadata(path) {
        Ok(m) if m.is_file() => m,
        Ok(_) => return Some(ProblemKind::Malformed("not a regular file".into())),
        Err(_) if !needed => return None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(ProblemKind::Missing),
        Err(e) => return Some(ProblemKind::Unreadable(e.to_string())),
    };
    if let Err(kind) = check_structure(asset.kind, asset.arch, path) {
        return Some(kind);
    }
    if meta.len() != asset.size {
        return Some(ProblemKind::SizeMismatch {
            expected: asset.size,
            found: meta.len(),
        });
    }
    match sha256_file(path) {
        Err(e) => return Some(ProblemKind::Unreadable(e.to_string())),
        Ok((_, found)) if found != asset.sha256 => {
            return Some(ProblemKind::HashMismatch {
                expected: asset.sha256.clone(),
                found,
            });
        }
        Ok(_) => {}
    }
    if needed && let Err(detail) = loader(asset.kind, path) {
        return Some(ProblemKind::LoadFailed(detail));
    }
    None
}

/// Structural checks that need no engine and no pin, so they also apply to a user's own
/// converted model.
pub fn check_structure(
    kind: AssetKind,
    arch: Option<Arch>,
    path: &Path,
) -> Result<(), ProblemKind> {
    match kind {
        AssetKind::WhisperGgml => ggml::inspect(path).map(|_| ()).map_err(ggml_problem),
        AssetKind::PiperVoice | AssetKind::Vad => check_onnx(path),
        AssetKind::PiperVoiceConfig => check_piper_config(path),
        AssetKind::Onnxruntime => check_elf(path, arch),
        AssetKind::WhisperCt2Source => check_ct2(path),
        AssetKind::WhisperAssets | AssetKind::PiperVoiceCard => check_non_empty(path),
    }
}

fn ggml_problem(e: GgmlCheckError) -> ProblemKind {
    match e {
        GgmlCheckError::Truncated { expected, found } => ProblemKind::Truncated { expected, found },
        GgmlCheckError::Io(e) => ProblemKind::Unreadable(e.to_string()),
        other => ProblemKind::Malformed(other.to_string()),
    }
}

fn prefix(path: &Path, n: usize) -> Result<Vec<u8>, ProblemKind> {
    read_prefix(path, n).map_err(|e| ProblemKind::Unreadable(e.to_string()))
}

/// An ONNX model is a protobuf `ModelProto`; its first byte is a field tag (normally
/// `ir_version`, field 1, varint).
fn check_onnx(path: &Path) -> Result<(), ProblemKind> {
    let head = prefix(path, 16)?;
    let Some(&tag) = head.first() else {
        return Err(ProblemKind::Malformed("empty file".into()));
    };
    let (field, wire) = (tag >> 3, tag & 7);
    if !(1..=20).contains(&field) || !(wire == 0 || wire == 2) || head.len() < 16 {
        return Err(ProblemKind::Malformed(format!(
            "does not start like an ONNX protobuf (first byte {tag:#04x})"
        )));
    }
    Ok(())
}

fn check_piper_config(path: &Path) -> Result<(), ProblemKind> {
    let text = std::fs::read(path).map_err(|e| ProblemKind::Unreadable(e.to_string()))?;
    let json: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| ProblemKind::Malformed(format!("not JSON: {e}")))?;
    if json
        .pointer("/audio/sample_rate")
        .and_then(|v| v.as_u64())
        .is_none()
    {
        return Err(ProblemKind::Malformed(
            "no audio.sample_rate (not a Piper voice config)".into(),
        ));
    }
    Ok(())
}

fn check_elf(path: &Path, arch: Option<Arch>) -> Result<(), ProblemKind> {
    let head = prefix(path, 20)?;
    if head.len() < 20 || &head[..4] != b"\x7fELF" {
        return Err(ProblemKind::Malformed("not an ELF shared library".into()));
    }
    let machine = u16::from_le_bytes([head[18], head[19]]);
    let expected = match arch {
        Some(Arch::X86_64) => 62,
        Some(Arch::Aarch64) => 183,
        None => return Ok(()),
    };
    if machine != expected {
        return Err(ProblemKind::Malformed(format!(
            "built for ELF machine {machine}, not {}",
            arch.map(|a| a.as_str()).unwrap_or("?")
        )));
    }
    Ok(())
}

fn check_ct2(path: &Path) -> Result<(), ProblemKind> {
    let head = prefix(path, 32)?;
    let version = head
        .get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let spec_ok = head.get(6..17) == Some(b"WhisperSpec".as_slice());
    if !matches!(version, Some(5..=6)) || !spec_ok {
        return Err(ProblemKind::Malformed(
            "not a CTranslate2 WhisperSpec model.bin".into(),
        ));
    }
    Ok(())
}

fn check_non_empty(path: &Path) -> Result<(), ProblemKind> {
    if prefix(path, 1)?.is_empty() {
        return Err(ProblemKind::Malformed("empty file".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
