//! Small file helpers shared by fetch, import, verify and the converter: streaming sha256,
//! a hashing writer, and atomic replacement of installed files.

use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// Size of the read buffer used when hashing; large enough that hashing a 500 MB model is
/// bound by the disk, small enough for a Raspberry Pi.
const HASH_BUF: usize = 1 << 20;

/// Byte count and lowercase hex sha256 of a file, read in one streaming pass.
pub fn sha256_file(path: &Path) -> io::Result<(u64, String)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; HASH_BUF];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((total, hex::encode(hasher.finalize())))
}

/// What a file on disk looks like compared with its pinned size and sha256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    /// Present with the pinned size and hash.
    Ok,
    /// No file at the path.
    Missing,
    /// Present, but with another length (the hash was not computed).
    SizeMismatch {
        /// The length found on disk.
        found: u64,
    },
    /// Present with the right length but other content.
    HashMismatch {
        /// The sha256 found on disk.
        found: String,
    },
}

/// Compares a file with its pin. Checks the size first so that a truncated file is reported
/// without hashing it.
pub fn check_file(path: &Path, size: u64, sha256: &str) -> io::Result<FileState> {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(FileState::Missing),
        Err(e) => return Err(e),
    };
    if !meta.is_file() {
        return Ok(FileState::Missing);
    }
    if meta.len() != size {
        return Ok(FileState::SizeMismatch { found: meta.len() });
    }
    let (_, found) = sha256_file(path)?;
    if found != sha256 {
        return Ok(FileState::HashMismatch { found });
    }
    Ok(FileState::Ok)
}

/// A writer that hashes and counts everything written through it.
pub struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            written: 0,
        }
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Returns the inner writer, the byte count and the lowercase hex sha256.
    pub fn finish(self) -> (W, u64, String) {
        (
            self.inner,
            self.written,
            hex::encode(self.hasher.finalize()),
        )
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A file written under a temporary name next to its destination and renamed into place only
/// by [`AtomicFile::commit`], so a reader never sees a half-written model and a crash leaves the
/// previous file intact. Dropping it uncommitted removes the temporary file.
pub struct AtomicFile {
    tmp: PathBuf,
    dest: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Creates the destination's directory if needed and opens a fresh temporary file beside it.
    pub fn create(dest: &Path) -> io::Result<AtomicFile> {
        let parent = parent_dir(dest);
        fs::create_dir_all(&parent)?;
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".to_string());
        let tmp = parent.join(format!(".{name}.partial-{}", std::process::id()));
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        Ok(AtomicFile {
            tmp,
            dest: dest.to_path_buf(),
            writer: Some(BufWriter::with_capacity(HASH_BUF, file)),
        })
    }

    /// The temporary path being written (for error messages and tools such as curl).
    pub fn temp_path(&self) -> &Path {
        &self.tmp
    }

    /// The buffered writer; `None` only after an internal failure.
    pub fn writer(&mut self) -> io::Result<&mut BufWriter<File>> {
        self.writer
            .as_mut()
            .ok_or_else(|| io::Error::other("atomic file already closed"))
    }

    /// Flushes, fsyncs, renames over the destination and fsyncs the directory so the rename
    /// survives a power cut (kiosks lose power without warning).
    pub fn commit(mut self) -> io::Result<()> {
        if let Some(writer) = self.writer.take() {
            let file = writer.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
        }
        fs::rename(&self.tmp, &self.dest)?;
        sync_dir(&parent_dir(&self.dest));
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.tmp.exists() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Writes `bytes` to `dest` atomically.
pub fn write_atomic(dest: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = AtomicFile::create(dest)?;
    file.writer()?.write_all(bytes)?;
    file.commit()
}

/// Copies `src` to `dest` atomically, returning the byte count and sha256 of what was written.
pub fn copy_atomic(src: &Path, dest: &Path) -> io::Result<(u64, String)> {
    let mut input = File::open(src)?;
    let mut file = AtomicFile::create(dest)?;
    let mut hashing = HashingWriter::new(file.writer()?);
    io::copy(&mut input, &mut hashing)?;
    let (_, n, sha) = hashing.finish();
    file.commit()?;
    Ok((n, sha))
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn sync_dir(dir: &Path) {
    // Best effort: some filesystems refuse fsync on directories, and the data itself is
    // already durable by then.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Decimal megabytes with one decimal, as printed in progress lines ("31.2 MB").
pub fn human_size(bytes: u64) -> String {
    if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1e6)
    } else if bytes >= 1_000 {
        format!("{:.1} kB", bytes as f64 / 1e3)
    } else {
        format!("{bytes} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_file_replaces_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("sub/a.bin");
        write_atomic(&dest, b"old").unwrap();
        {
            let mut f = AtomicFile::create(&dest).unwrap();
            f.writer().unwrap().write_all(b"new").unwrap();
            // dropped without commit
        }
        assert_eq!(fs::read(&dest).unwrap(), b"old");
        assert_eq!(fs::read_dir(dest.parent().unwrap()).unwrap().count(), 1);
        write_atomic(&dest, b"new").unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"new");
    }

    #[test]
    fn check_file_reports_each_state() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(check_file(&p, 3, abc).unwrap(), FileState::Missing);
        fs::write(&p, b"abc").unwrap();
        assert_eq!(check_file(&p, 3, abc).unwrap(), FileState::Ok);
        assert_eq!(
            check_file(&p, 4, abc).unwrap(),
            FileState::SizeMismatch { found: 3 }
        );
        fs::write(&p, b"abd").unwrap();
        assert!(matches!(
            check_file(&p, 3, abc).unwrap(),
            FileState::HashMismatch { .. }
        ));
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_size(31_200_000), "31.2 MB");
        assert_eq!(human_size(4_271), "4.3 kB");
        assert_eq!(human_size(12), "12 B");
    }
}
