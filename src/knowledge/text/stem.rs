//! Stop words and the light stemmer that lets both sides of a comparison meet.

use super::is_number;

/// Words that carry no intent on their own, including time deictics
/// ("today", "tonight") that every intent may use. Question words that do
/// discriminate ("where", "when", "how", "which") are deliberately absent.
pub(super) const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "actually",
    "ah",
    "all",
    "also",
    "am",
    "an",
    "and",
    "another",
    "any",
    "anyone",
    "anything",
    "anywhere",
    "are",
    "around",
    "as",
    "at",
    "be",
    "been",
    "being",
    "bit",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "eh",
    "er",
    "erm",
    "excuse",
    "for",
    "from",
    "go",
    "going",
    "got",
    "guess",
    "had",
    "has",
    "have",
    "he",
    "hello",
    "her",
    "here",
    "hey",
    "hi",
    "him",
    "his",
    "hm",
    "hmm",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "just",
    "know",
    "let",
    "like",
    "lot",
    "lots",
    "madam",
    "many",
    "mate",
    "may",
    "maybe",
    "me",
    "might",
    "mine",
    "much",
    "must",
    "my",
    "myself",
    "no",
    "not",
    "now",
    "of",
    "oh",
    "ok",
    "okay",
    "on",
    "onto",
    "or",
    "other",
    "our",
    "out",
    "over",
    "please",
    "possibly",
    "probably",
    "quick",
    "quickly",
    "really",
    "right",
    "round",
    "said",
    "say",
    "shall",
    "she",
    "should",
    "sir",
    "so",
    "some",
    "somebody",
    "someone",
    "something",
    "somewhere",
    "sorry",
    "tell",
    "than",
    "thank",
    "thanks",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "think",
    "this",
    "those",
    "to",
    "today",
    "tomorrow",
    "tonight",
    "too",
    "uh",
    "um",
    "umm",
    "up",
    "us",
    "very",
    "was",
    "we",
    "well",
    "were",
    "what",
    "whether",
    "who",
    "why",
    "will",
    "with",
    "wonder",
    "wondering",
    "would",
    "yeah",
    "yes",
    "yesterday",
    "you",
    "your",
];

/// True for filler and function words that should not influence matching.
pub(crate) fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.binary_search(&word).is_ok()
}

/// Light suffix stripping so "toilets", "toilette" and "toilet" or "booked"
/// and "booking" meet. It is not a linguistic stemmer: it only has to map
/// both sides of a comparison to the same string, so over-stemming is fine.
pub(crate) fn stem(word: &str) -> String {
    if is_number(word) || word.chars().count() <= 3 {
        return word.to_string();
    }
    let stripped = strip_plural(word);
    let stripped = strip_verb_suffix(&stripped);
    let stripped = strip_final_e(&stripped);
    undouble(&stripped)
}

fn strip_plural(word: &str) -> String {
    if let Some(base) = word.strip_suffix("ies")
        && base.chars().count() >= 2
    {
        return format!("{base}y");
    }
    if let Some(base) = word.strip_suffix("sses") {
        return format!("{base}ss");
    }
    for suffix in ["ches", "shes", "xes", "zes"] {
        if word.ends_with(suffix) {
            return word[..word.len() - 2].to_string();
        }
    }
    // "-is" is not protected: "taxis" must become "taxi"; "this" and "is"
    // never get here because they are stop words or too short.
    let keeps_s = ["ss", "us"].iter().any(|s| word.ends_with(s));
    match word.strip_suffix('s') {
        Some(base) if !keeps_s => base.to_string(),
        _ => word.to_string(),
    }
}

fn strip_verb_suffix(word: &str) -> String {
    for suffix in ["ing", "ed"] {
        if let Some(base) = word.strip_suffix(suffix) {
            // "bleed" and "need" end in "-ed" without being past tenses.
            let eed = suffix == "ed" && base.ends_with('e');
            if !eed && base.chars().count() >= 3 && base.chars().any(is_vowel) {
                return base.to_string();
            }
        }
    }
    word.to_string()
}

fn strip_final_e(word: &str) -> String {
    match word.strip_suffix('e') {
        Some(base) if base.chars().count() >= 3 => base.to_string(),
        _ => word.to_string(),
    }
}

/// "gett" → "get", "cancell" → "cancel", "toilett" → "toilet".
fn undouble(word: &str) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    let n = chars.len();
    if n >= 4 && chars[n - 1] == chars[n - 2] && !is_vowel(chars[n - 1]) {
        chars.pop();
    }
    chars.into_iter().collect()
}

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y')
}
