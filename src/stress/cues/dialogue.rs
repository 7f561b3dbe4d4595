//! Repetition across one conversation: the customer asking the same thing again.

use super::matching::FUZZY_MIN;
use crate::knowledge::text;

/// Similarity at or above which a new utterance counts as a repeat of an
/// earlier one. At 0.6 "where is the toilet" / "I said I need the toilet"
/// repeat (both reduce to {toilet} plus at most one other word), while
/// "where is the lift" / "where is the toilet" do not (question words are
/// ignored, leaving {lift} versus {toilet}).
pub const REPEAT_THRESHOLD: f32 = 0.6;

/// Question words ignored when comparing requests: they are shared by
/// unrelated questions ("where is the lift" / "where is the toilet").
const QUESTION_WORDS: &[&str] = &["where", "when", "how", "which", "what"];

/// Repetition signals across one conversation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DialogueCues {
    /// The new utterance repeats or rephrases an earlier request
    /// (similarity ≥ [`REPEAT_THRESHOLD`] with at least one of them).
    pub repeated_request: bool,
    /// How many earlier utterances it is similar to; a customer asking a
    /// third time is more frustrated than one asking twice.
    pub repeats: usize,
    /// Highest similarity with any earlier utterance, 0..1.
    pub best_similarity: f32,
}

impl DialogueCues {
    /// Compares `new` with every earlier customer utterance using plain
    /// normalisation (no synonyms).
    pub fn assess<S: AsRef<str>>(previous: &[S], new: &str) -> Self {
        Self::assess_with(previous, new, plain_terms)
    }

    /// Like [`DialogueCues::assess`] but with a caller-supplied term
    /// extractor, e.g. `|s| kb.content_terms(s)` so that "loo" and "toilet"
    /// count as the same request.
    pub fn assess_with<S, F>(previous: &[S], new: &str, terms: F) -> Self
    where
        S: AsRef<str>,
        F: Fn(&str) -> Vec<String>,
    {
        let new_terms = request_terms(terms(new));
        let similarities: Vec<f32> = previous
            .iter()
            .map(|p| request_similarity(&request_terms(terms(p.as_ref())), &new_terms))
            .collect();
        let repeats = similarities
            .iter()
            .filter(|s| **s >= REPEAT_THRESHOLD)
            .count();
        Self {
            repeated_request: repeats > 0,
            repeats,
            best_similarity: similarities.iter().copied().fold(0.0, f32::max),
        }
    }
}

fn plain_terms(text: &str) -> Vec<String> {
    text::word_texts(text)
        .iter()
        .filter(|w| !text::is_stop_word(w))
        .map(|w| text::stem(w))
        .collect()
}

fn request_terms(mut terms: Vec<String>) -> Vec<String> {
    // Term lists may come stemmed ("wher") or not, so compare both forms.
    let question = |t: &str| QUESTION_WORDS.iter().any(|q| *q == t || text::stem(q) == t);
    terms.retain(|t| !question(t));
    terms.sort();
    terms.dedup();
    terms
}

/// Dice coefficient over term sets, where a term also matches an ASR
/// variant of itself; 0 when either side is empty.
pub fn request_similarity(a: &[String], b: &[String]) -> f32 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let matched = |xs: &[String], ys: &[String]| {
        xs.iter()
            .filter(|x| {
                ys.iter()
                    .any(|y| x == &y || text::fuzzy_similarity(x, y) >= FUZZY_MIN)
            })
            .count()
    };
    let shared = matched(a, b) + matched(b, a);
    shared as f32 / (a.len() + b.len()) as f32
}
