//! Piper voices through piper-rs and ONNX Runtime: the only file that imports `piper_rs` and
//! `ort`.
//!
//! ONNX Runtime is loaded at run time from the library `attune models fetch` installed (ort's
//! `load-dynamic`), so nothing is downloaded at build time. piper-rs phonemises with the
//! espeak-ng it links (GPL-3.0; see the README's licence section), reading espeak-ng-data
//! from the directory in `PIPER_ESPEAKNG_DATA_DIRECTORY`.

use super::{TextToSpeech, TtsConfig, TtsError};
use crate::audio::Pcm;
use crate::conversation::Pace;
use piper_rs::{ModelConfig, Piper};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A Piper voice, loaded once.
pub struct PiperTts {
    piper: Piper,
    normal: f32,
    slow: f32,
    /// `Some(0.0)` for both noise scales when deterministic, else the voice's own.
    noise: Option<f32>,
}

/// Where ONNX Runtime was loaded from, or why it could not be: it can be loaded once only.
static ORT: OnceLock<Result<PathBuf, String>> = OnceLock::new();

fn load_onnxruntime(lib: &Path) -> Result<(), String> {
    let loaded = ORT.get_or_init(|| {
        if !lib.is_file() {
            return Err(format!(
                "ONNX Runtime library {} does not exist (fix: attune models fetch)",
                lib.display()
            ));
        }
        let builder = ort::init_from(lib)
            .map_err(|e| format!("cannot load ONNX Runtime {}: {e}", lib.display()))?;
        builder.with_name("attune").commit();
        Ok(lib.to_path_buf())
    });
    loaded.as_ref().map(|_| ()).map_err(Clone::clone)
}

/// The directory holding `espeak-ng-data` for this machine: the configured one, else the
/// Debian multiarch location, else /usr/share.
pub fn espeak_data_dir(configured: &str) -> Option<PathBuf> {
    if !configured.is_empty() {
        return Some(PathBuf::from(configured));
    }
    let triple = format!("/usr/lib/{}-linux-gnu", std::env::consts::ARCH);
    [triple.as_str(), "/usr/share", "/usr/lib"]
        .iter()
        .map(PathBuf::from)
        .find(|d| d.join("espeak-ng-data").join("phontab").is_file())
}

impl PiperTts {
    /// Loads the voice (`voice` and `voice.json` beside it) with ONNX Runtime from `onnxruntime`.
    pub fn load(voice: &Path, onnxruntime: &Path, cfg: &TtsConfig) -> Result<Self, TtsError> {
        let fail = |why: String| TtsError::Load {
            path: voice.to_path_buf(),
            why,
        };
        let json = PathBuf::from(format!("{}.json", voice.display()));
        if !voice.is_file() {
            return Err(fail("the voice file does not exist".into()));
        }
        let config: ModelConfig = std::fs::read(&json)
            .map_err(|e| format!("cannot read {}: {e}", json.display()))
            .and_then(|b| {
                serde_json::from_slice(&b)
                    .map_err(|e| format!("{} is not a Piper voice config: {e}", json.display()))
            })
            .map_err(fail)?;
        let data = espeak_data_dir(&cfg.espeak_data)
            .ok_or_else(|| fail("espeak-ng-data not found (install the espeak-ng-data package or set tts.espeak_data)".into()))?;
        // SAFETY: espeak-rs reads this variable when it first phonemises. Voices are loaded
        // while the components are built, before the pipeline threads that read the
        // environment exist.
        unsafe { std::env::set_var("PIPER_ESPEAKNG_DATA_DIRECTORY", &data) };
        load_onnxruntime(onnxruntime).map_err(fail)?;
        let session = open_session(voice, cfg.low_memory).map_err(|e| {
            fail(format!(
                "ONNX Runtime cannot load it ({e}); the file may be corrupt"
            ))
        })?;
        let mut me = Self {
            piper: Piper::from_session(session, config),
            normal: cfg.length_scale,
            slow: cfg.slow_length_scale,
            noise: cfg.deterministic.then_some(0.0),
        };
        // Synthesising one word proves espeak-ng and the voice work before the kiosk needs them.
        me.synthesize("Ready.", Pace::Normal)
            .map_err(|e| fail(e.to_string()))?;
        Ok(me)
    }
}

/// Two intra-op threads: the Pi's other cores belong to the microphone and whisper.
fn open_session(voice: &Path, low_memory: bool) -> Result<ort::session::Session, String> {
    let builder = ort::session::Session::builder().map_err(|e| e.to_string())?;
    let mut builder = builder.with_intra_threads(2).map_err(|e| e.to_string())?;
    if low_memory {
        // ONNX Runtime's arena keeps the largest run's tensors for good (about 106 MB after a
        // 90-character sentence). Without the arena, glibc's adaptive mmap threshold would
        // keep the freed tensors in per-thread heaps instead (480 MB measured), so the
        // threshold is fixed and large blocks go back to the system when freed.
        return_large_blocks_to_the_system();
        let cpu = ort::ep::CPU::default().with_arena_allocator(false).build();
        builder = builder
            .with_execution_providers([cpu])
            .map_err(|e| e.to_string())?;
    }
    builder.commit_from_file(voice).map_err(|e| e.to_string())
}

/// Blocks of 256 KiB and more are mapped and unmapped directly (process-wide).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_large_blocks_to_the_system() {
    // SAFETY: mallopt only changes an allocator tunable; it is safe to call at any time.
    let _ = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_blocks_to_the_system() {}

impl TextToSpeech for PiperTts {
    fn synthesize(&mut self, text: &str, pace: Pace) -> Result<Pcm, TtsError> {
        let scale = match pace {
            Pace::Normal => self.normal,
            Pace::Slow => self.slow,
        };
        let (samples, sample_rate) = self
            .piper
            .create(text, false, None, Some(scale), self.noise, self.noise)
            .map_err(|e| TtsError::Synthesis(e.to_string()))?;
        Ok(Pcm {
            samples,
            sample_rate,
        })
    }
}
