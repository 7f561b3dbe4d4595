//! verify: each kind of damage is detected and named with its fix.

use super::*;
use crate::convert_ct2::{convert, tests as ct2};
use crate::manifest::Quant;
use sha2::Digest;
use std::cell::RefCell;

struct Site {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    manifest: Manifest,
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

fn entry(name: &str, kind: &str, file: &str, bytes: &[u8], extra: &str) -> String {
    format!(
        "[[asset]]\nname = \"{name}\"\nkind = \"{kind}\"\nfile = \"{file}\"\nsize = {}\nsha256 = \"{}\"\nlicence = \"MIT\"\nurl = \"http://127.0.0.1:9/{name}\"\n{extra}\n",
        bytes.len(),
        sha(bytes)
    )
}

fn elf(machine: u16) -> Vec<u8> {
    let mut b = b"\x7fELF\x02\x01\x01\x00".to_vec();
    b.resize(18, 0);
    b.extend(machine.to_le_bytes());
    b.extend([0u8; 40]);
    b
}

/// A complete, valid models directory for tiny.en on x86_64, with a real (synthetic) ggml file.
fn site() -> Site {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("models");
    let src = tmp.path().join("ct2");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("model.bin"), ct2::synthetic_model()).unwrap();
    let ggml_path = dir.join("ggml-tiny.en-q8_0.bin");
    convert(&src, &ct2::assets(), &ggml_path, Quant::Q8_0).unwrap();
    let ggml = std::fs::read(&ggml_path).unwrap();
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("sources/ct2/model.bin", ct2::synthetic_model()),
        (
            "piper/v.onnx",
            b"\x08\x08\x12\x07pytorch-and-more-bytes".to_vec(),
        ),
        (
            "piper/v.onnx.json",
            br#"{"audio": {"sample_rate": 22050}}"#.to_vec(),
        ),
        (
            "vad/vad.onnx",
            b"\x08\x08\x12\x04spox-and-more-bytes".to_vec(),
        ),
        ("onnxruntime/x86_64/libonnxruntime.so", elf(62)),
    ];
    for (f, b) in &files {
        let p = dir.join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b).unwrap();
    }
    let mut text = String::from("schema = 1\n");
    text += &entry(
        "ct2",
        "whisper_ct2_source",
        files[0].0,
        &files[0].1,
        "whisper = \"tiny.en\"",
    );
    text += &entry(
        "ggml",
        "whisper_ggml",
        "ggml-tiny.en-q8_0.bin",
        &ggml,
        "whisper = \"tiny.en\"\n[asset.convert]\nfrom = \"ct2\"\nquant = \"q8_0\"",
    );
    text += &entry("voice", "piper_voice", files[1].0, &files[1].1, "");
    text += &entry(
        "voice-config",
        "piper_voice_config",
        files[2].0,
        &files[2].1,
        "",
    );
    text += &entry("vad", "vad", files[3].0, &files[3].1, "");
    text += &entry(
        "ort-x86_64",
        "onnxruntime",
        files[4].0,
        &files[4].1,
        "arch = \"x86_64\"",
    );
    text += &entry(
        "ort-aarch64",
        "onnxruntime",
        "onnxruntime/aarch64/libonnxruntime.so",
        &elf(183),
        "arch = \"aarch64\"",
    );
    let manifest = Manifest::parse(&text, "test").unwrap();
    Site {
        _tmp: tmp,
        dir,
        manifest,
    }
}

const SEL: Selection = Selection {
    whisper: WhisperModel::TinyEn,
    arch: Arch::X86_64,
};

fn problems(site: &Site) -> Vec<Problem> {
    verify_manifest(&site.manifest, &site.dir, &SEL, &|_, _| Ok(()))
}

fn only_problem(site: &Site) -> Problem {
    let p = problems(site);
    assert_eq!(p.len(), 1, "{p:#?}");
    p.into_iter().next().unwrap()
}

#[test]
fn a_complete_site_has_no_problems_and_other_arch_is_optional() {
    let s = site();
    assert_eq!(problems(&s), vec![]);
}

#[test]
fn missing_file_is_named_with_the_fetch_command() {
    let s = site();
    std::fs::remove_file(s.dir.join("vad/vad.onnx")).unwrap();
    let p = only_problem(&s);
    assert_eq!(p.kind, ProblemKind::Missing);
    assert_eq!(p.asset, "vad");
    let text = p.to_string();
    assert!(text.contains("vad/vad.onnx"), "{text}");
    assert!(
        text.contains(&format!("attune models fetch --dir {}", s.dir.display())),
        "{text}"
    );
}

#[test]
fn size_and_hash_mismatches_are_named() {
    let s = site();
    let voice = s.dir.join("piper/v.onnx");
    let mut bytes = std::fs::read(&voice).unwrap();
    bytes.push(0);
    std::fs::write(&voice, &bytes).unwrap();
    let p = only_problem(&s);
    assert!(
        matches!(p.kind, ProblemKind::SizeMismatch { found, expected } if found == expected + 1),
        "{p}"
    );
    assert!(p.to_string().contains("piper/v.onnx"));

    bytes.pop();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&voice, &bytes).unwrap();
    let p = only_problem(&s);
    assert!(matches!(p.kind, ProblemKind::HashMismatch { .. }), "{p}");
    assert!(p.to_string().contains("sha256"), "{p}");
}

#[test]
fn truncated_ggml_is_reported_as_truncated() {
    let s = site();
    let ggml = s.dir.join("ggml-tiny.en-q8_0.bin");
    let bytes = std::fs::read(&ggml).unwrap();
    std::fs::write(&ggml, &bytes[..bytes.len() / 2]).unwrap();
    let p = only_problem(&s);
    match p.kind {
        ProblemKind::Truncated { expected, found } => {
            assert_eq!(expected, bytes.len() as u64);
            assert_eq!(found, (bytes.len() / 2) as u64);
        }
        ref other => panic!("{other:?}"),
    }
    assert!(p.to_string().contains("ggml-tiny.en-q8_0.bin"));
    assert!(p.to_string().contains("truncated"));
}

#[test]
fn structural_checks_catch_wrong_content() {
    let s = site();
    std::fs::write(s.dir.join("piper/v.onnx.json"), b"{not json").unwrap();
    assert!(matches!(only_problem(&s).kind, ProblemKind::Malformed(ref d) if d.contains("JSON")));

    let s = site();
    std::fs::write(s.dir.join("onnxruntime/x86_64/libonnxruntime.so"), elf(183)).unwrap();
    assert!(matches!(only_problem(&s).kind, ProblemKind::Malformed(ref d) if d.contains("183")));

    let s = site();
    std::fs::write(s.dir.join("vad/vad.onnx"), b"").unwrap();
    assert!(matches!(only_problem(&s).kind, ProblemKind::Malformed(_)));

    let s = site();
    std::fs::write(
        s.dir.join("sources/ct2/model.bin"),
        b"garbage garbage garbage",
    )
    .unwrap();
    let p = only_problem(&s);
    assert_eq!(p.asset, "ct2", "present sources are checked too");
}

#[test]
fn loader_runs_on_needed_files_that_pass_and_its_failure_is_reported() {
    let s = site();
    let seen = RefCell::new(Vec::new());
    let loader = |kind: AssetKind, path: &Path| {
        seen.borrow_mut().push(kind);
        if kind == AssetKind::WhisperGgml {
            Err(format!(
                "whisper_init_from_file failed for {}",
                path.display()
            ))
        } else {
            Ok(())
        }
    };
    let p = verify_manifest(&s.manifest, &s.dir, &SEL, &loader);
    assert_eq!(p.len(), 1, "{p:#?}");
    assert!(matches!(p[0].kind, ProblemKind::LoadFailed(ref d) if d.contains("whisper_init")));
    let seen = seen.into_inner();
    assert!(
        !seen.contains(&AssetKind::WhisperCt2Source),
        "sources are not loaded"
    );
    assert_eq!(seen.len(), 5);
}

#[test]
fn fix_command_names_non_default_selection() {
    let sel = Selection {
        whisper: WhisperModel::Base,
        arch: Arch::Aarch64,
    };
    let cmd = fix_command(Path::new("/var/lib/attune/models"), &sel);
    assert!(
        cmd.starts_with("attune models fetch --dir /var/lib/attune/models --whisper base"),
        "{cmd}"
    );
}
