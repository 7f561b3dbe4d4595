//! The ONNX Runtime library Piper runs on. It lives in the models directory, which the service
//! may write, and is native code run with the daemon's rights, so it is checked against its pin
//! in `models/manifest.toml` (the manifest `attune models fetch` installs it from) before it is
//! loaded. Only the few fields needed here are read; the model tooling owns the full format.

use super::TtsError;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

const MANIFEST: &str = include_str!("../../models/manifest.toml");

#[derive(Deserialize)]
struct Manifest {
    asset: Vec<Pin>,
}

#[derive(Deserialize)]
struct Pin {
    kind: String,
    #[serde(default)]
    arch: Option<String>,
    file: String,
    size: u64,
    sha256: String,
}

/// The pinned library for this machine's architecture: its path inside `models_dir`, size and
/// sha256.
fn pin(models_dir: &Path) -> Option<(PathBuf, u64, String)> {
    let manifest: Manifest = toml::from_str(MANIFEST).ok()?;
    manifest
        .asset
        .into_iter()
        .find(|p| p.kind == "onnxruntime" && p.arch.as_deref() == Some(std::env::consts::ARCH))
        .map(|p| (models_dir.join(p.file), p.size, p.sha256))
}

/// The library in `models_dir`, checked against its pinned size and sha256. The error names
/// the file and the fix.
pub fn verified_onnxruntime(models_dir: &Path) -> Result<PathBuf, TtsError> {
    let fail = |path: &Path, why: String| TtsError::Runtime {
        path: path.to_path_buf(),
        why: format!(
            "{why}; fix: attune models fetch --dir {}",
            models_dir.display()
        ),
    };
    let Some((path, size, sha256)) = pin(models_dir) else {
        return Err(fail(
            models_dir,
            format!("no ONNX Runtime is pinned for {}", std::env::consts::ARCH),
        ));
    };
    let found = std::fs::metadata(&path).map(|m| m.len());
    match found {
        Err(_) => return Err(fail(&path, "the ONNX Runtime library is missing".into())),
        Ok(n) if n != size => {
            return Err(fail(
                &path,
                format!("{n} bytes, the pin says {size}: not loading it"),
            ));
        }
        Ok(_) => {}
    }
    let digest = sha256_of(&path).map_err(|e| fail(&path, e.to_string()))?;
    if digest != sha256 {
        return Err(fail(
            &path,
            "does not match its pinned sha256 (damaged or replaced): not loading it".into(),
        ));
    }
    Ok(path)
}

fn sha256_of(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_replaced_library_is_not_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let Some((path, _, _)) = pin(dir.path()) else {
            return; // nothing is pinned (so nothing is loaded) on this architecture
        };
        let e = verified_onnxruntime(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("missing") && e.contains("attune models fetch"),
            "{e}"
        );
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"\x7fELF not the pinned library").unwrap();
        let e = verified_onnxruntime(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("not loading it") && e.contains(&path.display().to_string()),
            "{e}"
        );
    }
}
