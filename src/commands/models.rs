//! `attune models ...` and `attune transcribe`: model files in, plain answers out.

use anyhow::{Context, anyhow};
use attune::cli::ModelsCommand;
use attune::config::default_models_dir;
use attune::stt::{SpeechToText, SttConfig, WhisperStt};
use attune::tts::{PiperTts, TtsConfig};
use attune::vad::SileroVad;
use attune_models::convert_ct2::{self, WhisperAssets};
use attune_models::fetch::{self, FetchOptions, StderrProgress};
use attune_models::manifest::{Arch, AssetKind, Quant, Selection, WhisperModel};
use attune_models::{import, onnxruntime_path, verify};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Runs one `attune models` subcommand.
pub(super) fn models(command: ModelsCommand) -> anyhow::Result<ExitCode> {
    match command {
        ModelsCommand::Fetch {
            dir,
            whisper,
            arch,
            no_urls,
        } => fetch_models(
            &dir.unwrap_or_else(default_models_dir),
            &selection(&whisper, arch.as_deref())?,
            no_urls,
        ),
        ModelsCommand::Verify { dir, whisper, arch } => {
            let dir = dir.unwrap_or_else(default_models_dir);
            Ok(verify_models(&dir, &selection(&whisper, arch.as_deref())?))
        }
        ModelsCommand::Import { src, dir } => {
            import_models(&src, &dir.unwrap_or_else(default_models_dir))
        }
        ModelsCommand::ConvertCt2 {
            src,
            out,
            quantize,
            assets,
        } => convert(&src, &out, &quantize, assets),
        ModelsCommand::Dir => {
            println!("{}", default_models_dir().display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn selection(whisper: &str, arch: Option<&str>) -> anyhow::Result<Selection> {
    let mut sel = Selection::host_default();
    sel.whisper = whisper.parse::<WhisperModel>().map_err(|e| anyhow!(e))?;
    if let Some(a) = arch {
        sel.arch = a.parse::<Arch>().map_err(|e| anyhow!(e))?;
    }
    Ok(sel)
}

fn fetch_models(dir: &Path, sel: &Selection, no_urls: bool) -> anyhow::Result<ExitCode> {
    let mut opts = FetchOptions::new(sel.whisper, sel.arch);
    opts.canonical_urls = !no_urls;
    let mut printer = StderrProgress::default();
    let summary = fetch::fetch(dir, &opts, &mut |e| printer.print(e))?;
    let total: u64 = summary.items.iter().map(|i| i.bytes).sum();
    let how = if summary.used_pip {
        ""
    } else {
        ", nothing downloaded"
    };
    println!(
        "{}: {} files verified ({:.1} MB){how}",
        dir.display(),
        summary.items.len(),
        total as f64 / 1e6
    );
    Ok(ExitCode::SUCCESS)
}

/// Checks every file, then that each one the daemon uses really loads in its engine.
fn verify_models(dir: &Path, sel: &Selection) -> ExitCode {
    let same_arch = Arch::host() == Some(sel.arch);
    let ort = onnxruntime_path(dir);
    let loader = |kind: AssetKind, path: &Path| -> Result<(), String> {
        match kind {
            AssetKind::WhisperGgml => WhisperStt::load(path, &SttConfig::default(), String::new())
                .map(drop)
                .map_err(|e| e.to_string()),
            AssetKind::Vad => SileroVad::load(path).map(drop).map_err(|e| e.to_string()),
            // A library for another architecture cannot be loaded here; its hash was checked.
            AssetKind::PiperVoice if same_arch => {
                let ort = ort
                    .as_deref()
                    .ok_or("no ONNX Runtime for this architecture")?;
                PiperTts::load(path, ort, &TtsConfig::default())
                    .map(drop)
                    .map_err(|e| e.to_string())
            }
            _ => Ok(()),
        }
    };
    let problems = verify::verify_with(dir, sel, &loader);
    if problems.is_empty() {
        println!("{}: all model files verified and loaded", dir.display());
        return ExitCode::SUCCESS;
    }
    for p in &problems {
        eprintln!("{p}");
    }
    ExitCode::FAILURE
}

fn import_models(src: &Path, dir: &Path) -> anyhow::Result<ExitCode> {
    let report = import::import(src, dir)?;
    for (asset, from) in &report.imported {
        println!("imported {asset} from {}", from.display());
    }
    for asset in &report.already_present {
        println!("already present: {asset}");
    }
    for r in &report.rejected {
        eprintln!(
            "rejected {} (named like {}): {}",
            r.path.display(),
            r.asset,
            r.reason
        );
    }
    Ok(if report.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn convert(
    src: &Path,
    out: &Path,
    quantize: &str,
    assets: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let quant: Quant = quantize
        .parse()
        .map_err(|e| anyhow!("--quantize {quantize}: {e}"))?;
    let assets_dir = assets.unwrap_or_else(|| default_models_dir().join("sources/whisper-assets"));
    let assets = WhisperAssets::from_dir(&assets_dir)
        .with_context(|| format!("reading the mel filters and vocabularies in {} (fix: attune models fetch, or --assets DIR)", assets_dir.display()))?;
    let r = convert_ct2::convert(src, &assets, out, quant)?;
    println!(
        "{}: {} bytes, sha256 {}, {} tensors, {:.2} s",
        r.out.display(),
        r.bytes,
        r.sha256,
        r.tensors,
        r.seconds
    );
    Ok(ExitCode::SUCCESS)
}

/// `attune transcribe`: one line `file<TAB>text` per WAV.
pub(super) fn transcribe(
    config: Option<&Path>,
    model: Option<&Path>,
    full_window: bool,
    wavs: &[PathBuf],
) -> anyhow::Result<ExitCode> {
    let (stt_cfg, model_path, prompt) = match config {
        Some(path) => {
            let c = super::setup::load_config(path)?;
            let kb = c.knowledge_base()?;
            let prompt = attune::app::build::recogniser_prompt(&c, &kb);
            (c.stt.clone(), c.model_path(&c.stt.model), prompt)
        }
        None => {
            let cfg = SttConfig::default();
            let path = default_models_dir().join(&cfg.model);
            (cfg, path, String::new())
        }
    };
    let model_path = model.map(Path::to_path_buf).unwrap_or(model_path);
    let mut stt = WhisperStt::load(&model_path, &stt_cfg, prompt)?.with_full_window(full_window);
    let mut failed = false;
    for wav in wavs {
        match super::setup::read_16k(wav) {
            Ok(audio) => {
                let t = stt.transcribe(&audio)?;
                println!("{}\t{}", wav.display(), t.text);
            }
            Err(e) => {
                eprintln!("{}: {e}", wav.display());
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
