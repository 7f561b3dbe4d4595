//! One daemon per state directory: two processes sharing an outbox and an MQTT client id
//! would take each other's broker session and re-send each other's alerts.

use super::AlertError;
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// Name of the lock file inside the state directory.
pub const LOCK_FILE: &str = "attune.lock";

/// An exclusive hold on a state directory, released when dropped (or when the process dies).
#[derive(Debug)]
pub struct StateLock {
    _file: File,
    path: PathBuf,
}

impl StateLock {
    /// Takes the lock on `state_dir`, or says which process holds it. A directory where no
    /// lock file can be made (read-only, disk full) gives `None`: the outbox reports that
    /// problem itself, and a kiosk that cannot call staff is worse than an unlocked one.
    pub fn acquire(state_dir: &Path) -> Result<Option<StateLock>, AlertError> {
        let path = state_dir.join(LOCK_FILE);
        let fail = |why: String| AlertError::Config {
            key: "kiosk.state_dir",
            why: format!("{}: {why}", path.display()),
        };
        let opened = std::fs::create_dir_all(state_dir).and_then(|()| {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&path)
        });
        let mut file = match opened {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(lock = %path.display(), "cannot create the state lock: {e}");
                return Ok(None);
            }
        };
        // SAFETY: flock on a descriptor this function owns; no memory is involved.
        let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
        if !locked {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let who = if holder.is_empty() {
                "another process".to_string()
            } else {
                format!("process {holder}")
            };
            return Err(fail(format!(
                "{who} is already running a kiosk with this state directory; each kiosk needs its own kiosk.state_dir"
            )));
        }
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = writeln!(file, "{}", std::process::id());
        Ok(Some(StateLock { _file: file, path }))
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = StateLock::acquire(dir.path()).unwrap().unwrap();
        let e = StateLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(e.contains(&std::process::id().to_string()), "{e}");
        assert!(e.contains("kiosk.state_dir"), "{e}");
        drop(first);
        assert!(StateLock::acquire(dir.path()).unwrap().is_some());
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"x").unwrap();
        assert!(
            StateLock::acquire(&blocker.join("state"))
                .unwrap()
                .is_none()
        );
    }
}
