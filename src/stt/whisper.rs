//! whisper.cpp through whisper-rs: the only file that imports `whisper_rs`.
//!
//! Speed on a Pi comes from shrinking the encoder's audio context to the utterance (whisper
//! pads everything to 30 s otherwise). Shrinking alone makes small models loop on short clips
//! ("trees trees trees …"), so every decode is guarded: tokens are capped by duration, the
//! text is checked for repetition and implausible length, and a failed check falls back to
//! the full window.

use super::{SpeechToText, Stale, SttConfig, SttError, Transcript};
use crate::audio::SAMPLE_RATE;
use std::path::{Path, PathBuf};
use std::time::Instant;
use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
};

/// Encoder frames per second of audio (1500 frames cover whisper's 30 s window).
const CTX_PER_SECOND: f32 = 50.0;
/// Frames added to the scaled context: the encoder needs a little room past the speech.
const CTX_MARGIN: i32 = 64;
/// Below this the scaled context is too short for reliable decoding. Measured on 60
/// speechocean762 clips (3.5 s mean), q8_0 without temperature fallback: 256 frames 41.3% WER,
/// 384 36.7%, 512 34.7% (0.22 s per utterance), 768 34.7% (0.32 s); the f16 full window 35.3%.
const CTX_MIN: i32 = 512;
/// Plausible speech rate ceiling, in words per second, for the runaway check.
const MAX_WORDS_PER_SECOND: f32 = 5.0;
/// A run of this many words said twice is taken for a loop over a whole passage: with the
/// context scaled, tiny.en sometimes transcribes a 12 s reply and then starts it again. A
/// customer rarely repeats six words verbatim, and a false alarm only costs a full-window decode.
const REPEATED_PASSAGE_WORDS: usize = 6;
/// Phrases whisper is known to invent on non-speech that carry nothing a customer would need:
/// dropped whenever they are the whole transcript.
const ALWAYS_INVENTED: [&str; 5] = [
    "you",
    "bye",
    "thanks for watching",
    "thank you for watching",
    "subtitles by",
];
/// Invented on non-speech too, but a customer may really say them: dropped unless confident.
const OFTEN_INVENTED: [&str; 2] = ["thank you", "thanks"];

/// A whisper model loaded once and kept warm.
pub struct WhisperStt {
    state: WhisperState,
    cfg: SttConfig,
    prompt: String,
    path: PathBuf,
    /// Use the whole 30 s window always (the baseline configuration).
    full_window: bool,
}

/// How one decode went.
#[derive(Debug, Clone, Default)]
struct Decode {
    text: String,
    no_speech: f32,
    mean_token_p: f32,
}

impl WhisperStt {
    /// Loads the ggml model at `path`. `prompt` primes recognition (place names, services).
    pub fn load(path: &Path, cfg: &SttConfig, prompt: String) -> Result<Self, SttError> {
        let fail = |why: String| SttError::Load {
            path: path.to_path_buf(),
            why,
        };
        crate::stt::check_ggml_file(path).map_err(fail)?;
        whisper_rs::install_logging_hooks();
        install_whisper_log();
        let ctx = WhisperContext::new_with_params(path, WhisperContextParameters::default())
            .map_err(|e| {
                fail(format!(
                    "whisper.cpp could not load it ({e}); the file may be corrupt"
                ))
            })?;
        let state = ctx
            .create_state()
            .map_err(|e| fail(format!("cannot create a decoder state: {e}")))?;
        Ok(Self {
            state,
            cfg: cfg.clone(),
            prompt,
            path: path.to_path_buf(),
            full_window: false,
        })
    }

    /// Always decode with the full 30 s window (for measuring the baseline).
    pub fn with_full_window(mut self, full: bool) -> Self {
        self.full_window = full;
        self
    }

    fn decode(
        &mut self,
        audio: &[f32],
        audio_ctx: i32,
        max_tokens: i32,
        stale: Option<&Stale>,
    ) -> Result<Decode, SttError> {
        let params = params(&self.cfg, &self.prompt, audio_ctx, max_tokens);
        decode(&mut self.state, params, audio, &self.path, stale)
    }

    /// Both [`SpeechToText`] entry points: the guarded decode, stoppable when `stale` is given.
    fn transcribe_guarded(
        &mut self,
        audio: &[f32],
        stale: Option<&Stale>,
    ) -> Result<Transcript, SttError> {
        let t0 = Instant::now();
        let seconds = audio.len() as f32 / SAMPLE_RATE as f32;
        // whisper.cpp rejects clips under a second; silence-pad short ones.
        let padded;
        let audio = if audio.len() < SAMPLE_RATE as usize + SAMPLE_RATE as usize / 10 {
            let mut v = audio.to_vec();
            v.resize(SAMPLE_RATE as usize * 11 / 10, 0.0);
            padded = v;
            &padded[..]
        } else {
            audio
        };
        let use_scaled = self.cfg.scale_audio_ctx && !self.full_window;
        let ctx = if use_scaled { scaled_ctx(seconds) } else { 0 };
        let mut d = self.decode(audio, ctx, token_cap(seconds), stale)?;
        if ctx != 0 && looks_runaway(&d.text, seconds) {
            tracing::debug!(
                ctx,
                "scaled context looped; decoding again with the full window"
            );
            d = self.decode(audio, 0, token_cap(seconds), stale)?;
        }
        if is_hallucination(&d, self.cfg.no_speech_threshold) {
            tracing::debug!(
                no_speech = d.no_speech,
                p = d.mean_token_p,
                "dropped text heard on non-speech"
            );
            d.text.clear();
        }
        Ok(Transcript {
            text: d.text,
            no_speech_prob: d.no_speech,
            elapsed: t0.elapsed(),
        })
    }
}

fn params<'a>(
    cfg: &'a SttConfig,
    prompt: &str,
    audio_ctx: i32,
    max_tokens: i32,
) -> FullParams<'a, 'a> {
    let mut p = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
    p.set_n_threads(cfg.threads as i32);
    p.set_language(Some(&cfg.language));
    p.set_no_context(true);
    p.set_no_timestamps(true);
    p.set_single_segment(true);
    p.set_suppress_nst(true);
    p.set_print_progress(false);
    p.set_print_realtime(false);
    p.set_print_special(false);
    p.set_print_timestamps(false);
    p.set_audio_ctx(audio_ctx);
    p.set_max_tokens(max_tokens);
    // No temperature fallback: re-decoding at a higher temperature costs a second pass, makes
    // the text random, and the runaway check with the full window already guards the loops
    // it is meant to catch (measured: same WER, 0.25 -> 0.22 s per utterance).
    p.set_temperature_inc(0.0);
    if !prompt.is_empty() {
        p.set_initial_prompt(prompt);
    }
    p
}

/// Routes whisper.cpp's own log to tracing, like whisper-rs's hook (still used for ggml's),
/// except that a decode stopped on purpose is not reported as an error.
fn install_whisper_log() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    // SAFETY: the callback is a plain function that lives for the whole program.
    INSTALL.call_once(|| unsafe {
        whisper_rs::whisper_rs_sys::whisper_log_set(Some(whisper_log), std::ptr::null_mut());
    });
}

unsafe extern "C" fn whisper_log(
    level: whisper_rs::whisper_rs_sys::ggml_log_level,
    text: *const std::ffi::c_char,
    _: *mut std::ffi::c_void,
) {
    if text.is_null() {
        return;
    }
    // SAFETY: whisper.cpp passes a NUL-terminated string that lives for the call.
    let text = unsafe { std::ffi::CStr::from_ptr(text) }.to_string_lossy();
    let text = text.trim();
    // whisper.cpp says this when the abort hook stops it; a real failure comes back as an
    // error that the caller reports with the model's name.
    let stopped = text.ends_with("failed to encode") || text.ends_with("failed to decode");
    match whisper_rs::GGMLLogLevel::from(level) {
        whisper_rs::GGMLLogLevel::Error if !stopped => {
            tracing::error!(target: "whisper_rs", "{text}")
        }
        whisper_rs::GGMLLogLevel::Warn => tracing::warn!(target: "whisper_rs", "{text}"),
        whisper_rs::GGMLLogLevel::Info => tracing::info!(target: "whisper_rs", "{text}"),
        _ => tracing::debug!(target: "whisper_rs", "{text}"),
    }
}

/// whisper.cpp's abort hook: true stops the decode after the encoder or the next token.
unsafe extern "C" fn abort_when_stale(data: *mut std::ffi::c_void) -> bool {
    // SAFETY: `decode` points `data` at a `Stale` it borrows for the whole `full` call, and
    // `Stale` only reads an atomic, so calls from whisper's worker threads are fine too.
    let stale = unsafe { &*(data as *const Stale) };
    stale.is_stale()
}

fn decode(
    state: &mut WhisperState,
    mut params: FullParams<'_, '_>,
    audio: &[f32],
    path: &Path,
    stale: Option<&Stale>,
) -> Result<Decode, SttError> {
    if let Some(stale) = stale {
        if stale.is_stale() {
            return Err(SttError::Cancelled);
        }
        // SAFETY: the callback only reads through the pointer, and `stale` outlives `full`
        // below, the only call that can invoke it. (whisper-rs's safe variant is not used:
        // its trampoline casts the boxed closure to the wrong type.)
        unsafe {
            params.set_abort_callback(Some(abort_when_stale));
            params.set_abort_callback_user_data(stale as *const Stale as *mut std::ffi::c_void);
        }
    }
    // whisper.cpp asks after the encoder and after each token, and fails the call when told
    // to stop; a decode that finished anyway is kept.
    if let Err(e) = state.full(params, audio) {
        if stale.is_some_and(Stale::is_stale) {
            return Err(SttError::Cancelled);
        }
        return Err(SttError::Decode(format!("{}: {e}", path.display())));
    }
    let mut out = Decode {
        no_speech: 0.0,
        mean_token_p: 1.0,
        ..Default::default()
    };
    let mut probs = Vec::new();
    for seg in state.as_iter() {
        out.text.push_str(
            &seg.to_str_lossy()
                .map_err(|e| SttError::Decode(e.to_string()))?,
        );
        out.no_speech = out.no_speech.max(seg.no_speech_probability());
        for i in 0..seg.n_tokens() {
            if let Some(tok) = seg.get_token(i) {
                let is_text = tok
                    .to_str_lossy()
                    .map(|s| !s.starts_with("[_"))
                    .unwrap_or(false);
                if is_text {
                    probs.push(tok.token_probability());
                }
            }
        }
    }
    if !probs.is_empty() {
        out.mean_token_p = probs.iter().sum::<f32>() / probs.len() as f32;
    }
    out.text = out.text.trim().to_string();
    Ok(out)
}

/// The encoder context for an utterance of `seconds`, or 0 (the full window).
fn scaled_ctx(seconds: f32) -> i32 {
    let ctx = (seconds * CTX_PER_SECOND).ceil() as i32 + CTX_MARGIN;
    if ctx >= 1500 { 0 } else { ctx.max(CTX_MIN) }
}

/// Token cap for an utterance: generous for real speech, tight enough to stop a loop early.
fn token_cap(seconds: f32) -> i32 {
    (seconds * 6.0).ceil() as i32 + 12
}

/// True when the text looks like a decoding loop or is too long for the audio.
pub(crate) fn looks_runaway(text: &str, seconds: f32) -> bool {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect();
    if words.len() as f32 > MAX_WORDS_PER_SECOND * seconds.max(1.0) + 3.0 {
        return true;
    }
    // The same word three times running, or a repeated 2- or 3-word phrase three times.
    for n in 1..=3 {
        let needed = 3 * n;
        if words.len() < needed {
            continue;
        }
        for start in 0..=(words.len() - needed) {
            let a = &words[start..start + n];
            if (1..3).all(|k| &words[start + k * n..start + (k + 1) * n] == a) {
                return true;
            }
        }
    }
    repeats_a_passage(&words)
}

/// True when some run of [`REPEATED_PASSAGE_WORDS`] words occurs twice without overlapping.
fn repeats_a_passage(words: &[String]) -> bool {
    let n = REPEATED_PASSAGE_WORDS;
    let mut first_seen: std::collections::HashMap<&[String], usize> =
        std::collections::HashMap::new();
    for (start, run) in words.windows(n).enumerate() {
        match first_seen.get(run) {
            Some(&earlier) if start >= earlier + n => return true,
            Some(_) => {}
            None => {
                first_seen.insert(run, start);
            }
        }
    }
    false
}

/// True when the text is most likely invented on non-speech.
fn is_hallucination(d: &Decode, no_speech_threshold: f32) -> bool {
    let norm: String = d
        .text
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .collect();
    let norm = norm.trim();
    let doubtful = d.no_speech > 0.2 || d.mean_token_p < 0.7;
    ALWAYS_INVENTED.contains(&norm)
        || (OFTEN_INVENTED.contains(&norm) && doubtful)
        || (d.no_speech > no_speech_threshold && d.mean_token_p < 0.6)
}

impl SpeechToText for WhisperStt {
    fn transcribe(&mut self, audio: &[f32]) -> Result<Transcript, SttError> {
        self.transcribe_guarded(audio, None)
    }

    fn transcribe_unless_stale(
        &mut self,
        audio: &[f32],
        stale: Stale,
    ) -> Result<Transcript, SttError> {
        self.transcribe_guarded(audio, Some(&stale))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_scales_with_duration_and_stays_within_bounds() {
        assert_eq!(scaled_ctx(1.0), CTX_MIN);
        assert_eq!(scaled_ctx(10.0), 564);
        assert_eq!(scaled_ctx(20.0), 1064);
        assert_eq!(scaled_ctx(29.0), 0);
        assert!(token_cap(3.0) >= 25);
    }

    #[test]
    fn runaway_text_is_detected() {
        assert!(looks_runaway("trees trees trees trees", 3.0));
        assert!(looks_runaway("I want to I want to I want to go", 3.0));
        assert!(looks_runaway(&"word ".repeat(40), 3.0));
        assert!(!looks_runaway("where are the toilets please", 2.0));
        assert!(!looks_runaway("no no I said platform two", 2.0));
        let passage = "the ticket office is open six to eight on weekdays";
        assert!(looks_runaway(&format!("{passage}. {passage}"), 12.0));
        assert!(!looks_runaway(
            "my train to leeds is late and my train to york is late too",
            6.0
        ));
    }

    #[test]
    fn stock_phrases_on_non_speech_are_dropped() {
        let d = Decode {
            text: "Thank you.".into(),
            no_speech: 0.5,
            mean_token_p: 0.9,
        };
        assert!(is_hallucination(&d, 0.6));
        let real = Decode {
            text: "Thank you.".into(),
            no_speech: 0.05,
            mean_token_p: 0.9,
        };
        assert!(!is_hallucination(&real, 0.6));
        let unsure = Decode {
            text: "platform".into(),
            no_speech: 0.8,
            mean_token_p: 0.3,
        };
        assert!(is_hallucination(&unsure, 0.6));
    }
}
