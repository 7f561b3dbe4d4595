//! Matching compiled phrase lists against one utterance: stemmed whole words, one extra word
//! tolerated inside a phrase, one ASR slip tolerated in long words, negators before a cue
//! and exception phrases around it.

use crate::knowledge::text::{self, Word};

/// Words after which "no" does not negate ("no one is helping me").
const NOT_NEGATING_NEXT: &[&str] = &["one", "body"];

/// How many words before a cue a negator may stand.
const NEGATION_WINDOW: usize = 3;
/// Extra words tolerated between consecutive words of a phrase.
const MAX_GAP: usize = 1;
/// Words shorter than this must match exactly (after stemming); shorter
/// words have too many one-letter neighbours ("police"/"polite").
const FUZZY_MIN_LEN: usize = 7;
/// Similarity for a long word to count as an ASR slip of a phrase word.
pub(super) const FUZZY_MIN: f32 = 0.88;
/// Hesitations Whisper transcribes; dropped so they do not break phrases.
const FILLERS: &[&str] = &["um", "umm", "uh", "er", "erm", "ah", "hmm", "mm"];

/// A configured phrase compiled to stems.
pub(super) struct Phrase {
    /// The phrase as configured (reported when heard).
    pub source: String,
    words: Vec<PhraseWord>,
}

/// One phrase word: its stem, plus the raw form for fuzzy comparison.
struct PhraseWord {
    stem: String,
    raw: String,
}

/// The utterance as matched: non-filler words with stems.
pub(super) struct Utterance {
    words: Vec<Word>,
    stems: Vec<String>,
}

/// Outcome of looking for one phrase list in an utterance.
#[derive(Default)]
pub(super) struct Hits<'a> {
    /// The phrases heard, as configured, in list order.
    pub found: Vec<&'a str>,
    /// A phrase was heard but cancelled by a negator.
    pub negated: bool,
}

/// Compiles a phrase list once; empty phrases are dropped.
pub(super) fn compile(list: &[String]) -> Vec<Phrase> {
    list.iter()
        .map(|source| Phrase {
            source: source.clone(),
            words: text::word_texts(source)
                .into_iter()
                .map(|raw| PhraseWord {
                    stem: text::stem(&raw),
                    raw,
                })
                .collect(),
        })
        .filter(|p| !p.words.is_empty())
        .collect()
}

impl Utterance {
    /// Splits and stems `text`, dropping hesitations.
    pub(super) fn new(text: &str) -> Self {
        let mut words: Vec<Word> = Vec::new();
        let mut pending_boundary = false;
        for word in text::words(text) {
            if FILLERS.contains(&word.text.as_str()) {
                pending_boundary |= word.clause_start;
                continue;
            }
            let clause_start = word.clause_start || pending_boundary;
            pending_boundary = false;
            words.push(Word {
                clause_start,
                ..word
            });
        }
        let stems = words.iter().map(|w| text::stem(&w.text)).collect();
        Self { words, stems }
    }

    fn len(&self) -> usize {
        self.words.len()
    }
}

/// Shared state for matching the phrase lists against one utterance.
pub(super) struct Context<'u> {
    /// The utterance.
    pub utterance: &'u Utterance,
    /// Compiled exception phrases.
    pub exceptions: &'u [Phrase],
    /// Compiled negators.
    pub negators: &'u [Phrase],
}

impl Context<'_> {
    /// Which phrases of `list` the utterance holds, and whether any was negated.
    pub(super) fn hits<'a>(&self, list: &'a [Phrase]) -> Hits<'a> {
        let mut hits = Hits::default();
        for phrase in list {
            let mut heard = false;
            for span in occurrences(self.utterance, phrase) {
                if self.is_exception(&span) {
                    continue;
                }
                if self.is_negated(span.0) {
                    hits.negated = true;
                } else {
                    heard = true;
                }
            }
            if heard {
                hits.found.push(&phrase.source);
            }
        }
        hits
    }

    /// True when an exception phrase contains the whole cue: "help me find"
    /// cancels "help me", but "is helping me" does not cancel the longer
    /// frustration cue "no one is helping".
    fn is_exception(&self, span: &(usize, usize)) -> bool {
        self.exceptions.iter().any(|e| {
            occurrences(self.utterance, e)
                .iter()
                .any(|x| x.0 <= span.0 && span.1 <= x.1)
        })
    }

    /// A negator within [`NEGATION_WINDOW`] words before `start`, without
    /// crossing a clause boundary, cancels the cue.
    fn is_negated(&self, start: usize) -> bool {
        let words = &self.utterance.words;
        let mut from = start;
        while from > 0 && start - from < NEGATION_WINDOW && !words[from].clause_start {
            from -= 1;
        }
        if from == start {
            return false;
        }
        (from..start).any(|i| self.negator_at(i, start))
    }

    fn negator_at(&self, i: usize, limit: usize) -> bool {
        self.negators.iter().any(|n| {
            let end = i + n.words.len();
            end <= limit
                && n.words
                    .iter()
                    .enumerate()
                    .all(|(k, w)| word_matches(self.utterance, i + k, w))
                && !self
                    .utterance
                    .words
                    .get(end)
                    .is_some_and(|next| NOT_NEGATING_NEXT.contains(&next.text.as_str()))
        })
    }
}

/// Start and end (exclusive) word indexes of every place the phrase occurs.
fn occurrences(utterance: &Utterance, phrase: &Phrase) -> Vec<(usize, usize)> {
    (0..utterance.len())
        .filter_map(|start| match_from(utterance, phrase, start).map(|end| (start, end)))
        .collect()
}

/// End index when the phrase matches starting exactly at `start`.
fn match_from(utterance: &Utterance, phrase: &Phrase, start: usize) -> Option<usize> {
    let (first, rest) = phrase.words.split_first()?;
    if !word_matches(utterance, start, first) {
        return None;
    }
    let mut pos = start + 1;
    for word in rest {
        let window = pos..(pos + MAX_GAP + 1).min(utterance.len());
        pos = window
            .into_iter()
            .find(|&i| word_matches(utterance, i, word))?
            + 1;
    }
    Some(pos)
}

fn word_matches(utterance: &Utterance, i: usize, word: &PhraseWord) -> bool {
    let (Some(stem), Some(heard)) = (utterance.stems.get(i), utterance.words.get(i)) else {
        return false;
    };
    if *stem == word.stem {
        return true;
    }
    let long_enough =
        heard.text.chars().count() >= FUZZY_MIN_LEN && word.raw.chars().count() >= FUZZY_MIN_LEN;
    long_enough && text::fuzzy_similarity(&heard.text, &word.raw) >= FUZZY_MIN
}
