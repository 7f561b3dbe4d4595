//! Text cues of stress and escalation in one customer utterance, plus
//! repetition across a conversation.
//!
//! Phrase lists come from configuration ([`CuePhrases`]) so an installer can
//! adapt them to local speech without a rebuild. Matching is word-based on
//! the same normalised, stemmed text the intent matcher uses, so "can't",
//! "cant", "cannot" and "can not" all meet, and long words tolerate one ASR
//! slip ("ambulence").

mod defaults;
mod dialogue;
mod matching;

pub use dialogue::{DialogueCues, REPEAT_THRESHOLD, request_similarity};

use defaults::*;
use matching::{Context, Phrase, Utterance, compile};
use serde::{Deserialize, Serialize};
use vader_sentiment::SentimentIntensityAnalyzer;

/// Configurable phrase lists for [`CueMatcher`].
///
/// Every entry is a word or phrase matched on whole (stemmed) words; a
/// phrase still matches with one extra word between its words ("can I
/// *please* speak to someone").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CuePhrases {
    /// Possible emergencies; any match makes the text stress score 1.
    pub safety: Vec<String>,
    /// Requests to talk to a human.
    pub ask_for_person: Vec<String>,
    /// Signs of annoyance with the kiosk or the situation.
    pub frustration: Vec<String>,
    /// Words that cancel a cue when they occur up to three words before it
    /// in the same clause ("it's *not* on fire").
    pub negators: Vec<String>,
    /// Phrases that cancel any cue lying inside them. They keep everyday
    /// requests at a help point from sounding like emergencies: "can you
    /// help me find the lift" contains "help me", "where is the fire exit"
    /// contains "fire".
    pub exceptions: Vec<String>,
}

impl Default for CuePhrases {
    fn default() -> Self {
        Self {
            safety: owned(DEFAULT_SAFETY),
            ask_for_person: owned(DEFAULT_ASK_FOR_PERSON),
            frustration: owned(DEFAULT_FRUSTRATION),
            negators: owned(DEFAULT_NEGATORS),
            exceptions: owned(DEFAULT_EXCEPTIONS),
        }
    }
}

fn owned(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_string()).collect()
}

/// Stress contribution of the first frustration phrase.
const FIRST_FRUSTRATION: f32 = 0.45;
/// Extra contribution once two or more frustration phrases are heard.
const MORE_FRUSTRATION: f32 = 0.15;
/// Asking for a human is an escalation signal, not by itself distress.
const PERSON_WEIGHT: f32 = 0.25;
/// Weight of negative VADER sentiment (−compound, clipped at 0).
const SENTIMENT_WEIGHT: f32 = 0.35;

/// Cues found in one utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct TextCues {
    /// First safety phrase heard (as configured), if any.
    pub safety: Option<String>,
    /// First request for a person (as configured), if any.
    pub asked_for_person: Option<String>,
    /// Every frustration phrase heard, in configuration order.
    pub frustration: Vec<String>,
    /// VADER compound sentiment, −1 (negative) … 1 (positive).
    pub sentiment: f32,
    /// True when at least one cue was heard but cancelled by a negator
    /// ("no emergency, just asking").
    pub negated: bool,
    /// Text-based stress contribution in 0..1: 1 on any safety cue,
    /// otherwise a weighted sum of frustration, person request and negative
    /// sentiment (see the constants in this module).
    pub score: f32,
}

/// The phrase lists compiled once, for analysing utterance after utterance.
pub struct CueMatcher {
    safety: Vec<Phrase>,
    ask_for_person: Vec<Phrase>,
    frustration: Vec<Phrase>,
    negators: Vec<Phrase>,
    exceptions: Vec<Phrase>,
    sentiment: SentimentIntensityAnalyzer<'static>,
}

impl CueMatcher {
    /// Compiles `phrases`.
    pub fn new(phrases: &CuePhrases) -> Self {
        Self {
            safety: compile(&phrases.safety),
            ask_for_person: compile(&phrases.ask_for_person),
            frustration: compile(&phrases.frustration),
            negators: compile(&phrases.negators),
            exceptions: compile(&phrases.exceptions),
            sentiment: SentimentIntensityAnalyzer::new(),
        }
    }

    /// Finds safety, person-request and frustration cues in `text` and scores them.
    pub fn analyse(&self, text: &str) -> TextCues {
        let utterance = Utterance::new(text);
        let ctx = Context {
            utterance: &utterance,
            exceptions: &self.exceptions,
            negators: &self.negators,
        };
        let safety = ctx.hits(&self.safety);
        let person = ctx.hits(&self.ask_for_person);
        let frustration = ctx.hits(&self.frustration);
        // VADER uses case and "!" itself, so it gets the raw text.
        let sentiment = self
            .sentiment
            .polarity_scores(text)
            .get("compound")
            .copied()
            .unwrap_or(0.0) as f32;
        let mut cues = TextCues {
            safety: safety.found.first().map(|s| (*s).to_string()),
            asked_for_person: person.found.first().map(|s| (*s).to_string()),
            frustration: frustration.found.iter().map(|s| (*s).to_string()).collect(),
            sentiment,
            negated: safety.negated || person.negated || frustration.negated,
            score: 0.0,
        };
        cues.score = stress_score(&cues);
        cues
    }
}

/// Finds the cues of `phrases` in `text`, compiling the lists for this one call (tools and
/// tests; the kiosk keeps a [`CueMatcher`]).
pub fn analyse(text: &str, phrases: &CuePhrases) -> TextCues {
    CueMatcher::new(phrases).analyse(text)
}

fn stress_score(cues: &TextCues) -> f32 {
    if cues.safety.is_some() {
        return 1.0;
    }
    let mut score = 0.0;
    if !cues.frustration.is_empty() {
        score += FIRST_FRUSTRATION;
    }
    if cues.frustration.len() > 1 {
        score += MORE_FRUSTRATION;
    }
    if cues.asked_for_person.is_some() {
        score += PERSON_WEIGHT;
    }
    score += SENTIMENT_WEIGHT * (-cues.sentiment).max(0.0);
    score.clamp(0.0, 1.0)
}
