//! MQTT credentials files: one line `username:password`. The site's files are written by the
//! installer (`[mqtt] credentials_file`); the embedded broker creates its own on first start,
//! readable by the service user only.

use std::fmt;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// A user name and password. The password is never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Credentials {{ user: {:?}, password: <hidden> }}",
            self.user
        )
    }
}

impl Credentials {
    /// Reads `user:password` from the first line of `path`; the error names the file.
    pub fn read(path: &Path) -> Result<Credentials, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("credentials file {}: {e}", path.display()))?;
        let line = text.lines().next().unwrap_or("");
        match line.split_once(':') {
            Some((user, password)) if !user.trim().is_empty() && !password.is_empty() => {
                Ok(Credentials {
                    user: user.trim().to_string(),
                    password: password.to_string(),
                })
            }
            _ => Err(format!(
                "credentials file {}: the first line must be user:password",
                path.display()
            )),
        }
    }

    /// Reads `path`, or creates it (mode 0600, its directory 0700) for `user` with a fresh
    /// random password.
    pub fn read_or_create(path: &Path, user: &str) -> Result<Credentials, String> {
        if path.exists() {
            return Self::read(path);
        }
        let named = |e: std::io::Error| format!("credentials file {}: {e}", path.display());
        if let Some(dir) = path.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(named)?;
        }
        let creds = Credentials {
            user: user.to_string(),
            password: random_password(),
        };
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(named)?;
        // The mode above is filtered by the umask; set it exactly.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(named)?;
        writeln!(file, "{}:{}", creds.user, creds.password).map_err(named)?;
        file.sync_all().map_err(named)?;
        Ok(creds)
    }
}

/// 128 random bits (two v4 UUIDs' worth of the OS generator), as 32 hex digits.
fn random_password() -> String {
    let a = uuid::Uuid::new_v4().simple().to_string();
    let b = uuid::Uuid::new_v4().simple().to_string();
    // A v4 UUID has 122 random bits; keep the random nibbles of each half.
    format!("{}{}", &a[..12], &b[..20])
}

/// Compares two secrets in time that does not depend on where they differ.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    use sha2::{Digest, Sha256};
    let (x, y) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    x.iter()
        .zip(y.iter())
        .fold(0u8, |acc, (p, q)| acc | (p ^ q))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mqtt").join("staff.credentials");
        let made = Credentials::read_or_create(&path, "staff").unwrap();
        assert_eq!(made.user, "staff");
        assert_eq!(made.password.len(), 32);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dir_mode, 0o700);
        assert_eq!(Credentials::read_or_create(&path, "staff").unwrap(), made);
        let other = Credentials::read_or_create(&dir.path().join("x"), "staff").unwrap();
        assert_ne!(other.password, made.password);
        assert!(!format!("{made:?}").contains(&made.password));
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.txt");
        let e = Credentials::read(&missing).unwrap_err();
        assert!(e.contains("nope.txt"), "{e}");
        let bad = dir.path().join("bad.txt");
        for text in ["no colon here\n", ":pw\n", "user:\n", ""] {
            std::fs::write(&bad, text).unwrap();
            let e = Credentials::read(&bad).unwrap_err();
            assert!(e.contains("bad.txt") && e.contains("user:password"), "{e}");
        }
        let good = dir.path().join("good.txt");
        std::fs::write(&good, "kiosk:pa:ss word\nignored\n").unwrap();
        let c = Credentials::read(&good).unwrap();
        assert_eq!(
            (c.user.as_str(), c.password.as_str()),
            ("kiosk", "pa:ss word")
        );
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
    }
}
