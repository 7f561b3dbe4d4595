//! Endpointing: speech onset with pre-roll, end after a hangover of silence, minimum and
//! maximum utterance length. Pure logic over per-frame probabilities.

use crate::audio::{FRAME_SAMPLES, SAMPLE_RATE};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// The `[vad]` section: the detector and the endpointing settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VadConfig {
    /// Silero VAD model file, relative to the model directory.
    pub model: String,
    /// Frames quieter than this (dBFS) are silence without running the model.
    pub energy_gate_db: f32,
    /// Probability at which speech starts.
    pub threshold: f32,
    /// Probability needed to start speech while the kiosk itself is speaking (mic gating
    /// without echo cancellation: only a customer talking over it gets through).
    pub barge_in_threshold: f32,
    /// How long the barge-in threshold stays after the kiosk stops playing: its last words
    /// still reach the microphone through the output device's buffer and the room's echo.
    pub echo_tail_ms: u32,
    /// Consecutive speech frames (32 ms each) needed for an onset, against clicks.
    pub onset_frames: u32,
    /// Audio kept from before the onset, so first syllables are not clipped.
    pub pre_roll_ms: u32,
    /// Silence that ends an utterance.
    pub hangover_ms: u32,
    /// Shorter utterances are dropped as noise.
    pub min_utterance_ms: u32,
    /// Longer speech is cut into several turns rather than lost.
    pub max_utterance_ms: u32,
    /// Start transcribing 96 ms into a pause; when the pause turns out to be the end of the
    /// turn the transcript is ready sooner (the audio is the same either way).
    pub early_transcription: bool,
}

impl Default for VadConfig {
    fn default() -> Self {
        Self {
            model: "vad/silero_vad_openvino_16k.onnx".into(),
            energy_gate_db: -55.0,
            threshold: 0.5,
            barge_in_threshold: 0.85,
            echo_tail_ms: 300,
            onset_frames: 2,
            pre_roll_ms: 300,
            hangover_ms: 400,
            min_utterance_ms: 300,
            max_utterance_ms: 15_000,
            early_transcription: true,
        }
    }
}

impl VadConfig {
    /// The silence actually waited for before a turn ends (whole frames).
    pub fn hangover_waited(&self) -> std::time::Duration {
        let frames = frames_for(self.hangover_ms) as u64;
        std::time::Duration::from_micros(
            frames * FRAME_SAMPLES as u64 * 1_000_000 / u64::from(SAMPLE_RATE),
        )
    }

    /// Lists every out-of-range value, each with its key.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(-90.0..=-10.0).contains(&self.energy_gate_db) {
            out.push(format!(
                "vad.energy_gate_db = {} is out of range -90..=-10",
                self.energy_gate_db
            ));
        }
        for (key, v) in [
            ("threshold", self.threshold),
            ("barge_in_threshold", self.barge_in_threshold),
        ] {
            if !(0.05..=0.99).contains(&v) {
                out.push(format!("vad.{key} = {v} is out of range 0.05..=0.99"));
            }
        }
        let ranges = [
            ("echo_tail_ms", self.echo_tail_ms, 0, 2_000),
            ("onset_frames", self.onset_frames, 1, 20),
            ("pre_roll_ms", self.pre_roll_ms, 0, 2_000),
            ("hangover_ms", self.hangover_ms, 100, 3_000),
            ("min_utterance_ms", self.min_utterance_ms, 0, 5_000),
            ("max_utterance_ms", self.max_utterance_ms, 2_000, 30_000),
        ];
        for (key, v, lo, hi) in ranges {
            if !(lo..=hi).contains(&v) {
                out.push(format!("vad.{key} = {v} is out of range {lo}..={hi}"));
            }
        }
        if self.min_utterance_ms >= self.max_utterance_ms {
            out.push("vad.min_utterance_ms must be below vad.max_utterance_ms".into());
        }
        out
    }
}

/// What the segmenter saw in a frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// Speech began (barge-in point).
    Started,
    /// Speech ended: the utterance, pre-roll included.
    Ended(Vec<f32>),
    /// Speech ended but was too short to be a turn.
    Discarded,
    /// A pause began: the utterance as it would end if the pause lasts the hangover. A later
    /// `Ended` with the same audio means nobody spoke in between.
    Paused(Vec<f32>),
    /// Speech came back after a `Paused`: that offer will not be the turn.
    Resumed,
}

/// Trailing silence kept at the end of an utterance (the recogniser needs a little; whisper
/// pads with silence anyway). It is also when the early transcription starts: the shorter,
/// the more of the recogniser's time hides inside the hangover.
const TRAILING_KEEP_MS: u32 = 96;

/// Whole 32 ms frames covering `ms`.
pub(super) fn frames_for(ms: u32) -> usize {
    (ms as usize * SAMPLE_RATE as usize / 1000).div_ceil(FRAME_SAMPLES)
}

/// Turns per-frame speech probabilities into utterances.
#[derive(Debug)]
pub struct Segmenter {
    cfg: VadConfig,
    barge_in: bool,
    pre_roll: VecDeque<Vec<f32>>,
    onset_run: u32,
    speech: Option<Speech>,
}

#[derive(Debug)]
struct Speech {
    audio: Vec<f32>,
    frames: usize,
    silent_run: usize,
    /// A `Paused` went out for this pause.
    offered: bool,
}

impl Segmenter {
    /// A segmenter in silence.
    pub fn new(cfg: VadConfig) -> Self {
        Self {
            cfg,
            barge_in: false,
            pre_roll: VecDeque::new(),
            onset_run: 0,
            speech: None,
        }
    }

    /// While the kiosk speaks, onsets need the higher barge-in threshold.
    pub fn set_barge_in(&mut self, kiosk_speaking: bool) {
        self.barge_in = kiosk_speaking;
    }

    /// Whether an utterance is under way.
    pub fn in_speech(&self) -> bool {
        self.speech.is_some()
    }

    /// Feeds one frame and its speech probability.
    pub fn push(&mut self, frame: &[f32], prob: f32) -> Vec<Segment> {
        match self.speech.take() {
            None => self.push_silence(frame, prob),
            Some(speech) => self.push_speech(speech, frame, prob),
        }
    }

    /// Ends any utterance under way (end of input).
    pub fn flush(&mut self) -> Option<Segment> {
        let speech = self.speech.take()?;
        Some(self.finish(speech))
    }

    fn push_silence(&mut self, frame: &[f32], prob: f32) -> Vec<Segment> {
        let threshold = if self.barge_in {
            self.cfg.barge_in_threshold
        } else {
            self.cfg.threshold
        };
        self.pre_roll.push_back(frame.to_vec());
        // The onset frames themselves are in the buffer too, on top of the pre-roll.
        let keep = frames_for(self.cfg.pre_roll_ms) + self.cfg.onset_frames as usize;
        while self.pre_roll.len() > keep {
            self.pre_roll.pop_front();
        }
        self.onset_run = if prob >= threshold {
            self.onset_run + 1
        } else {
            0
        };
        if self.onset_run < self.cfg.onset_frames {
            return Vec::new();
        }
        self.onset_run = 0;
        let audio: Vec<f32> = self.pre_roll.drain(..).flatten().collect();
        let frames = self.cfg.onset_frames as usize;
        self.speech = Some(Speech {
            audio,
            frames,
            silent_run: 0,
            offered: false,
        });
        vec![Segment::Started]
    }

    fn push_speech(&mut self, mut speech: Speech, frame: &[f32], prob: f32) -> Vec<Segment> {
        speech.audio.extend_from_slice(frame);
        speech.frames += 1;
        // Hysteresis: once speaking, only a clearly lower probability counts as silence.
        let release = (self.cfg.threshold - 0.15).max(0.05);
        let mut out = Vec::new();
        speech.silent_run = if prob < release {
            speech.silent_run + 1
        } else {
            if std::mem::take(&mut speech.offered) {
                out.push(Segment::Resumed);
            }
            0
        };
        if speech.silent_run >= frames_for(self.cfg.hangover_ms) {
            return vec![self.finish(speech)];
        }
        let early = self.cfg.early_transcription
            && speech.silent_run == frames_for(TRAILING_KEEP_MS)
            && frames_for(self.cfg.hangover_ms) > speech.silent_run
            && Self::long_enough(&self.cfg, &speech);
        if speech.frames >= frames_for(self.cfg.max_utterance_ms) {
            // Still talking: hand over this part and carry straight on with the next.
            let done = self.finish(speech);
            self.speech = Some(Speech {
                audio: Vec::new(),
                frames: 0,
                silent_run: 0,
                offered: false,
            });
            out.extend([done, Segment::Started]);
            return out;
        }
        if early {
            speech.offered = true;
            out.push(Segment::Paused(speech.audio.clone()));
        }
        self.speech = Some(speech);
        out
    }

    fn long_enough(cfg: &VadConfig, speech: &Speech) -> bool {
        speech.frames.saturating_sub(speech.silent_run) >= frames_for(cfg.min_utterance_ms)
    }

    fn finish(&mut self, mut speech: Speech) -> Segment {
        // Keep a little of the trailing silence; the rest is only cost for the recogniser.
        let trailing = speech
            .silent_run
            .saturating_sub(frames_for(TRAILING_KEEP_MS))
            * FRAME_SAMPLES;
        let len = speech.audio.len().saturating_sub(trailing);
        speech.audio.truncate(len);
        if Self::long_enough(&self.cfg, &speech) {
            Segment::Ended(speech.audio)
        } else {
            Segment::Discarded
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seg: &mut Segmenter, probs: &[f32]) -> Vec<Segment> {
        let frame = vec![0.1f32; FRAME_SAMPLES];
        probs.iter().flat_map(|&p| seg.push(&frame, p)).collect()
    }

    fn ms_to_frames(ms: u32) -> usize {
        frames_for(ms)
    }

    fn without_pauses(out: Vec<Segment>) -> Vec<Segment> {
        out.into_iter()
            .filter(|s| !matches!(s, Segment::Paused(_) | Segment::Resumed))
            .collect()
    }

    /// Frames whose samples say where they came from, so audio can be compared.
    fn run_numbered(seg: &mut Segmenter, probs: &[f32]) -> Vec<Segment> {
        probs
            .iter()
            .enumerate()
            .flat_map(|(i, &p)| seg.push(&vec![i as f32; FRAME_SAMPLES], p))
            .collect()
    }

    #[test]
    fn a_pause_that_ends_the_turn_offers_the_same_audio_early() {
        let mut seg = Segmenter::new(VadConfig::default());
        let mut probs = vec![0.9; 40];
        probs.extend(vec![0.0; 20]);
        let out = run_numbered(&mut seg, &probs);
        let [
            Segment::Started,
            Segment::Paused(early),
            Segment::Ended(last),
        ] = &out[..]
        else {
            panic!("{out:?}")
        };
        assert_eq!(early, last);
    }

    #[test]
    fn speech_after_a_pause_makes_the_early_audio_stale() {
        let mut seg = Segmenter::new(VadConfig::default());
        let mut probs = vec![0.9; 40];
        probs.extend(vec![0.0; 8]);
        probs.extend(vec![0.9; 20]);
        probs.extend(vec![0.0; 20]);
        let out = run_numbered(&mut seg, &probs);
        let early: Vec<&Vec<f32>> = out
            .iter()
            .filter_map(|s| match s {
                Segment::Paused(a) => Some(a),
                _ => None,
            })
            .collect();
        let Some(Segment::Ended(last)) = out.last() else {
            panic!("{out:?}")
        };
        assert_eq!(early.len(), 2, "one offer per pause");
        assert_ne!(early[0], last);
        assert_eq!(early[1], last);
        let kinds: Vec<&str> = out
            .iter()
            .map(|s| match s {
                Segment::Started => "started",
                Segment::Paused(_) => "paused",
                Segment::Resumed => "resumed",
                Segment::Ended(_) => "ended",
                Segment::Discarded => "discarded",
            })
            .collect();
        assert_eq!(kinds, ["started", "paused", "resumed", "paused", "ended"]);
    }

    #[test]
    fn a_breath_too_short_for_an_offer_is_not_a_resumption() {
        let mut seg = Segmenter::new(VadConfig::default());
        let mut probs = vec![0.9; 40];
        probs.extend(vec![0.0; ms_to_frames(TRAILING_KEEP_MS) - 1]);
        probs.extend(vec![0.9; 20]);
        let out = run(&mut seg, &probs);
        assert_eq!(out, vec![Segment::Started], "{out:?}");
    }

    #[test]
    fn no_early_offer_when_disabled_or_too_short() {
        let cfg = VadConfig {
            early_transcription: false,
            ..Default::default()
        };
        let mut probs = vec![0.9; 40];
        probs.extend(vec![0.0; 20]);
        let out = run(&mut Segmenter::new(cfg), &probs);
        assert_eq!(out.len(), 2, "{out:?}");
        let mut short = vec![0.9; 4];
        short.extend(vec![0.0; 20]);
        let out = run(&mut Segmenter::new(VadConfig::default()), &short);
        assert_eq!(out, vec![Segment::Started, Segment::Discarded]);
    }

    #[test]
    fn speech_then_silence_gives_one_utterance_with_pre_roll() {
        let mut seg = Segmenter::new(VadConfig::default());
        let mut probs = vec![0.0; 20];
        probs.extend(vec![0.9; 40]);
        probs.extend(vec![0.0; 20]);
        let out = without_pauses(run(&mut seg, &probs));
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(out[0], Segment::Started);
        let Segment::Ended(audio) = &out[1] else {
            panic!("expected an utterance")
        };
        let frames = audio.len() / FRAME_SAMPLES;
        let pre = ms_to_frames(300);
        // pre-roll + 40 speech frames + at most ~96 ms of trailing silence
        assert!(
            frames >= 40 + pre && frames <= 40 + pre + ms_to_frames(TRAILING_KEEP_MS) + 1,
            "{frames}"
        );
    }

    #[test]
    fn a_single_click_is_not_an_onset() {
        let mut seg = Segmenter::new(VadConfig::default());
        let out = run(&mut seg, &[0.0, 0.95, 0.0, 0.0, 0.95, 0.0]);
        assert!(out.is_empty());
    }

    #[test]
    fn short_bursts_are_discarded() {
        let mut seg = Segmenter::new(VadConfig::default());
        let mut probs = vec![0.9; 4];
        probs.extend(vec![0.0; 20]);
        let out = run(&mut seg, &probs);
        assert_eq!(out, vec![Segment::Started, Segment::Discarded]);
    }

    #[test]
    fn hangover_bridges_short_pauses() {
        let mut seg = Segmenter::new(VadConfig::default());
        let mut probs = vec![0.9; 20];
        probs.extend(vec![0.0; ms_to_frames(400) - 2]);
        probs.extend(vec![0.9; 20]);
        probs.extend(vec![0.0; 20]);
        let out = without_pauses(run(&mut seg, &probs));
        assert_eq!(out.len(), 2, "one utterance across the pause: {out:?}");
    }

    #[test]
    fn long_speech_is_cut_into_turns_not_lost() {
        let cfg = VadConfig {
            max_utterance_ms: 5_000,
            ..Default::default()
        };
        let mut seg = Segmenter::new(cfg);
        let mut probs = vec![0.9; ms_to_frames(12_000)];
        probs.extend(vec![0.0; 20]);
        let out = run(&mut seg, &probs);
        let ended: Vec<usize> = out
            .iter()
            .filter_map(|s| match s {
                Segment::Ended(a) => Some(a.len()),
                _ => None,
            })
            .collect();
        assert_eq!(ended.len(), 3, "{:?}", ended);
        let total: usize = ended.iter().sum();
        assert!(
            total >= ms_to_frames(12_000) * FRAME_SAMPLES,
            "no audio lost"
        );
    }

    #[test]
    fn barge_in_needs_the_higher_threshold() {
        let mut seg = Segmenter::new(VadConfig::default());
        seg.set_barge_in(true);
        assert!(run(&mut seg, &[0.7; 10]).is_empty());
        assert_eq!(run(&mut seg, &[0.9, 0.9]), vec![Segment::Started]);
    }

    #[test]
    fn flush_ends_speech_at_end_of_input() {
        let mut seg = Segmenter::new(VadConfig::default());
        run(&mut seg, &[0.9; 30]);
        assert!(seg.in_speech());
        assert!(matches!(seg.flush(), Some(Segment::Ended(_))));
        assert!(seg.flush().is_none());
    }

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        assert!(VadConfig::default().problems().is_empty());
        let bad = VadConfig {
            threshold: 1.5,
            hangover_ms: 10,
            ..Default::default()
        };
        let p = bad.problems();
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("vad.threshold"));
    }
}
