//! Fusion of voice, words and dialogue into one stress score and level.
//!
//! The voice carries arousal; whether that arousal is distress or excitement is mostly in the
//! words. So an aroused voice with clearly positive words is discounted,
//! frustrated words on a calm voice still count, and voice and words that agree count extra:
//!
//! `score = text_weight·t + dialogue_weight·d + acoustic_weight·v + agreement_weight·min(v, t)`,
//! clamped to 0..=1. With the defaults, frustrated words alone make a customer tense, an
//! aroused voice alone makes them tense, and frustrated words that are repeated, or said with
//! an aroused voice, make them distressed.

use crate::conversation::{StressLevel, StressReading};
use serde::{Deserialize, Serialize};

/// The `[stress]` section: the acoustic model, fusion weights and level thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StressConfig {
    /// Acoustic arousal classifier (ONNX), relative to the model directory.
    pub model: String,
    /// The whisper.cpp model whose encoder gives the classifier its voice embedding: the one
    /// it was trained with (its card names it), whatever `[stt]` recognises with.
    pub encoder: String,
    /// Weight of the voice's arousal.
    pub acoustic_weight: f32,
    /// Weight of the words (sentiment, frustration lexicon).
    pub text_weight: f32,
    /// Weight of the dialogue (repeated or unresolved requests).
    pub dialogue_weight: f32,
    /// Extra weight when voice and words agree (the smaller of the two).
    pub agreement_weight: f32,
    /// Score from which the customer counts as tense.
    pub tense_threshold: f32,
    /// Score from which the customer counts as distressed.
    pub distressed_threshold: f32,
    /// Phrase lists for the text cues (`[stress.phrases]`).
    pub phrases: super::CuePhrases,
}

impl Default for StressConfig {
    fn default() -> Self {
        Self {
            model: "stress-arousal.onnx".into(),
            encoder: "ggml-tiny.en-q8_0.bin".into(),
            acoustic_weight: 0.4,
            text_weight: 0.45,
            dialogue_weight: 0.25,
            agreement_weight: 0.3,
            tense_threshold: 0.35,
            distressed_threshold: 0.6,
            phrases: super::CuePhrases::default(),
        }
    }
}

impl StressConfig {
    /// Lists every out-of-range value, each with its key.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let values = [
            ("acoustic_weight", self.acoustic_weight),
            ("text_weight", self.text_weight),
            ("dialogue_weight", self.dialogue_weight),
            ("agreement_weight", self.agreement_weight),
            ("tense_threshold", self.tense_threshold),
            ("distressed_threshold", self.distressed_threshold),
        ];
        for (key, v) in values {
            if !(0.0..=1.0).contains(&v) {
                out.push(format!("stress.{key} = {v} is out of range 0..=1"));
            }
        }
        if self.tense_threshold >= self.distressed_threshold {
            out.push("stress.tense_threshold must be below stress.distressed_threshold".into());
        }
        if self.acoustic_weight + self.text_weight + self.dialogue_weight <= 0.0 {
            out.push("stress weights must not all be zero".into());
        }
        out
    }
}

/// Everything known about one turn that bears on stress.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StressInputs {
    /// p(high arousal) from the voice, when the classifier ran.
    pub acoustic: Option<f32>,
    /// Stress from the words, 0..=1 (frustration lexicon, negative sentiment).
    pub text: f32,
    /// Sentiment of the words, -1..=1.
    pub sentiment: f32,
    /// Frustration words found.
    pub frustration: Vec<String>,
    /// The customer repeated an earlier request.
    pub repeated_request: bool,
    /// Consecutive turns the kiosk could not answer before this one.
    pub unresolved_before: u32,
}

/// Fuses one turn's inputs into a score, a level and the reasons behind it.
pub fn fuse(cfg: &StressConfig, input: &StressInputs) -> StressReading {
    let mut reasons = Vec::new();
    let acoustic = input.acoustic.map(|a| {
        if a >= 0.6 {
            reasons.push("raised, tense voice".to_string());
        }
        // Excited but happy: the words say it is not distress.
        if input.sentiment > 0.3 { a * 0.5 } else { a }
    });
    if !input.frustration.is_empty() {
        reasons.push(format!(
            "frustrated words ({})",
            input.frustration.join(", ")
        ));
    } else if input.sentiment < -0.4 {
        reasons.push("negative words".to_string());
    }
    let dialogue = dialogue_score(input, &mut reasons);
    let text = input.text.clamp(0.0, 1.0);
    // Without the voice (model failed), assume it half agrees with the words rather than
    // that it is calm: a failed model must not hide a frustrated customer.
    let voice = acoustic.unwrap_or(text / 2.0).clamp(0.0, 1.0);
    let score = (cfg.text_weight * text
        + cfg.dialogue_weight * dialogue
        + cfg.acoustic_weight * voice
        + cfg.agreement_weight * voice.min(text))
    .clamp(0.0, 1.0);
    let level = if score >= cfg.distressed_threshold {
        StressLevel::Distressed
    } else if score >= cfg.tense_threshold {
        StressLevel::Tense
    } else {
        StressLevel::Calm
    };
    StressReading {
        score,
        level,
        reasons,
    }
}

fn dialogue_score(input: &StressInputs, reasons: &mut Vec<String>) -> f32 {
    let mut d: f32 = 0.0;
    if input.repeated_request {
        reasons.push("repeated the request".into());
        d += 0.6;
    }
    if input.unresolved_before > 0 {
        reasons.push(format!("{} unanswered turn(s)", input.unresolved_before));
        d += 0.4 * input.unresolved_before as f32;
    }
    d.min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> StressConfig {
        StressConfig::default()
    }

    #[test]
    fn calm_voice_and_neutral_words_are_calm() {
        let r = fuse(
            &cfg(),
            &StressInputs {
                acoustic: Some(0.1),
                ..Default::default()
            },
        );
        assert_eq!(r.level, StressLevel::Calm);
        assert!(r.reasons.is_empty());
    }

    #[test]
    fn aroused_voice_with_frustrated_words_is_distressed() {
        let r = fuse(
            &cfg(),
            &StressInputs {
                acoustic: Some(0.95),
                text: 0.8,
                sentiment: -0.7,
                frustration: vec!["ridiculous".into()],
                repeated_request: true,
                unresolved_before: 1,
            },
        );
        assert_eq!(r.level, StressLevel::Distressed, "{r:?}");
        assert!(r.reasons.iter().any(|x| x.contains("ridiculous")));
        assert!(r.reasons.iter().any(|x| x.contains("repeated")));
    }

    #[test]
    fn happy_excitement_is_discounted() {
        let excited = StressInputs {
            acoustic: Some(0.95),
            sentiment: 0.8,
            ..Default::default()
        };
        let angry = StressInputs {
            acoustic: Some(0.95),
            sentiment: -0.8,
            text: 0.6,
            ..Default::default()
        };
        assert!(fuse(&cfg(), &excited).score < fuse(&cfg(), &angry).score);
        assert_eq!(fuse(&cfg(), &excited).level, StressLevel::Calm);
    }

    #[test]
    fn words_alone_count_when_the_voice_is_unavailable() {
        let r = fuse(
            &cfg(),
            &StressInputs {
                acoustic: None,
                text: 0.9,
                repeated_request: true,
                ..Default::default()
            },
        );
        assert!(r.score >= cfg().distressed_threshold, "{r:?}");
    }

    #[test]
    fn defaults_are_valid_and_bad_values_named() {
        assert!(cfg().problems().is_empty());
        let bad = StressConfig {
            tense_threshold: 0.9,
            distressed_threshold: 0.5,
            ..cfg()
        };
        assert_eq!(bad.problems().len(), 1);
    }
}
