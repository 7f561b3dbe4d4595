//! whisper.cpp on real speech: the converted tiny.en models transcribe jfk.wav exactly, the
//! scaled audio context keeps the word error rate of the full window, and so does the q8_0 model.
//! (Non-speech never reaches the recogniser: the VAD keeps it out, see voice_detection.rs;
//! tiny.en alone invents whole sentences on white noise.)

mod support;

use attune::audio::{SAMPLE_RATE, read_wav_mono, resample};
use attune::stt::wer::{normalise, wer_percent};
use attune::stt::{Offers, SpeechToText, SttConfig, SttError, WhisperStt};
use std::path::Path;
use support::{model, test_data};

/// Clips of speechocean762 used here (the bench uses all 300).
const CLIPS: usize = 60;

fn audio(path: &Path) -> Vec<f32> {
    let pcm = read_wav_mono(path).expect("read wav");
    resample(&pcm.samples, pcm.sample_rate, SAMPLE_RATE).expect("resample")
}

fn stt(ggml: &str, full_window: bool) -> WhisperStt {
    WhisperStt::load(&model(ggml), &SttConfig::default(), String::new())
        .expect("load whisper")
        .with_full_window(full_window)
}

fn speechocean(data: &Path) -> Vec<(String, Vec<f32>)> {
    let dir = data.join("speech/speechocean762");
    let refs = std::fs::read_to_string(dir.join("refs.tsv")).expect("refs.tsv");
    refs.lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((f.next()?.to_string(), f.nth(1)?.to_string()))
        })
        .take(CLIPS)
        .map(|(file, text)| (text, audio(&dir.join(file))))
        .collect()
}

fn wer(stt: &mut WhisperStt, clips: &[(String, Vec<f32>)]) -> f64 {
    let hyps: Vec<String> = clips
        .iter()
        .map(|(_, a)| stt.transcribe(a).expect("transcribe").text)
        .collect();
    wer_percent(
        clips
            .iter()
            .zip(&hyps)
            .map(|((r, _), h)| (r.as_str(), h.as_str())),
    )
}

/// The customer went on talking: an early transcription stops part-way (whisper.cpp is told
/// after its encoder), and the same recogniser then transcribes normally.
#[test]
fn a_stale_transcription_stops_and_the_recogniser_carries_on() {
    let clip = audio(&support::repo_file("tests/fixtures/demo/04-distressed.wav"));
    let mut stt = stt("ggml-tiny.en-q8_0.bin", false);
    let expected = stt.transcribe(&clip).expect("transcribe").text;
    assert!(expected.contains("waiting for an hour"), "{expected}");

    let offers = Offers::default();
    let offer = offers.supersede();
    let stale = offers.stale_check(offer);
    let listener = offers.clone();
    let speaks_again = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(20));
        listener.supersede();
    });
    let stopped = stt.transcribe_unless_stale(&clip, stale.clone());
    speaks_again.join().expect("listener");
    assert!(matches!(stopped, Err(SttError::Cancelled)), "{stopped:?}");
    let already = stt.transcribe_unless_stale(&clip, stale);
    assert!(matches!(already, Err(SttError::Cancelled)), "{already:?}");

    let current = offers.stale_check(offers.latest());
    let again = stt
        .transcribe_unless_stale(&clip, current)
        .expect("transcribe");
    assert_eq!(again.text, expected);
}

#[test]
fn jfk_is_transcribed_exactly_by_f16_and_q8_0() {
    let Some(data) = test_data("jfk") else { return };
    let tsv = std::fs::read_to_string(data.join("speech/jfk.tsv")).expect("jfk.tsv");
    let reference = tsv
        .lines()
        .last()
        .and_then(|l| l.split('\t').next_back())
        .expect("reference text");
    let clip = audio(&data.join("speech/jfk.wav"));
    for ggml in ["ggml-tiny.en-f16.bin", "ggml-tiny.en-q8_0.bin"] {
        let text = stt(ggml, false).transcribe(&clip).expect("transcribe").text;
        assert_eq!(normalise(&text), normalise(reference), "{ggml}: {text}");
    }
}

#[test]
fn scaled_context_and_q8_0_keep_the_word_error_rate() {
    let Some(data) = test_data("speechocean762 WER") else {
        return;
    };
    let clips = speechocean(&data);
    let full_f16 = wer(&mut stt("ggml-tiny.en-f16.bin", true), &clips);
    let tuned_f16 = wer(&mut stt("ggml-tiny.en-f16.bin", false), &clips);
    let tuned_q8 = wer(&mut stt("ggml-tiny.en-q8_0.bin", false), &clips);
    eprintln!(
        "speechocean762 ({CLIPS} clips) WER: f16 full window {full_f16:.1}%, f16 scaled {tuned_f16:.1}%, q8_0 scaled {tuned_q8:.1}%"
    );
    assert!(
        tuned_f16 <= full_f16 + 1.0,
        "scaled context {tuned_f16:.1}% vs full window {full_f16:.1}%"
    );
    // The shipped model, quantised and scaled, against the same bar (one word is ~0.6 point
    // here, so q8_0 against scaled f16 is noise; both are held to the full window).
    assert!(
        tuned_q8 <= full_f16 + 1.0,
        "q8_0 scaled {tuned_q8:.1}% vs f16 full window {full_f16:.1}%"
    );
    assert!(full_f16 < 60.0, "implausible baseline WER {full_f16:.1}%");
}
