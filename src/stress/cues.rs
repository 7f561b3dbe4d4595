//! Text cues of stress and escalation in one customer utterance, plus
//! repetition across a conversation.
//!
//! Phrase lists come from configuration ([`CuePhrases`]) so an installer can
//! adapt them to local speech without a rebuild. Matching is word-based on
//! the same normalised, stemmed text the intent matcher uses, so "can't",
//! "cant", "cannot" and "can not" all meet, and long words tolerate one ASR
//! slip ("ambulence").

use serde::{Deserialize, Serialize};
use vader_sentiment::SentimentIntensityAnalyzer;

use crate::knowledge::text::{self, Word};

/// Configurable phrase lists for [`analyse`].
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

const DEFAULT_SAFETY: &[&str] = &[
    "help me",
    "help help",
    "somebody help",
    "someone help",
    "emergency",
    "ambulance",
    "paramedic",
    "call 999",
    "fire",
    "smell smoke",
    "smell burning",
    "there is smoke",
    "full of smoke",
    "smoke coming",
    "police",
    "can't breathe",
    "not breathing",
    "chest pain",
    "chest hurts",
    "heart attack",
    "stroke",
    "seizure",
    "having a fit",
    "collapsed",
    "passed out",
    "unconscious",
    "fainted",
    "bleeding",
    "blood",
    "badly hurt",
    "injured",
    "fallen on the track",
    "on the tracks",
    "lost my child",
    "lost my son",
    "lost my daughter",
    "lost my kid",
    "can't find my child",
    "can't find my son",
    "can't find my daughter",
    "can't find my kid",
    "child is missing",
    "child is lost",
    "son is missing",
    "daughter is missing",
    "son is lost",
    "daughter is lost",
    "following me",
    "attacked",
    "assaulted",
    "knife",
    "weapon",
    "threatening me",
    "suicidal",
    "kill myself",
    "end my life",
    "want to die",
    "suspicious package",
    "bomb",
];

const DEFAULT_ASK_FOR_PERSON: &[&str] = &[
    "speak to someone",
    "talk to someone",
    "speak to somebody",
    "talk to somebody",
    "speak to a person",
    "talk to a person",
    "speak to a human",
    "talk to a human",
    "a real person",
    "an actual person",
    "a human",
    "get me a human",
    "a manager",
    "the manager",
    "supervisor",
    "member of staff",
    "staff member",
    "someone who works here",
    "somebody who works here",
    "anyone who works here",
    "a real human",
    "speak to staff",
    "talk to staff",
    "get someone",
    "send someone",
];

const DEFAULT_FRUSTRATION: &[&str] = &[
    "ridiculous",
    "useless",
    "rubbish",
    "pathetic",
    "hopeless",
    "stupid",
    "waste of time",
    "fed up",
    "sick of",
    "sick and tired",
    "had enough",
    "annoyed",
    "annoying",
    "angry",
    "furious",
    "upset",
    "frustrated",
    "frustrating",
    "unacceptable",
    "disgrace",
    "joke",
    "i already said",
    "i already told you",
    "i just said",
    "i just told you",
    "how many times",
    "not listening",
    "don't understand",
    "doesn't understand",
    "not what i asked",
    "what is the point",
    "for god's sake",
    "for goodness sake",
    "bloody",
    "damn",
    "useless machine",
    "stupid machine",
    "nobody is helping",
    "no one is helping",
];

const DEFAULT_NEGATORS: &[&str] = &[
    "not", "no", "never", "without", "nothing", "none", "neither", "nor",
];

const DEFAULT_EXCEPTIONS: &[&str] = &[
    // "can you help me", "could you please help me", "I need you to help me":
    // addressed to the kiosk, i.e. an ordinary request.
    "you help me",
    "can someone help me",
    "could someone help me",
    "can somebody help me",
    "could somebody help me",
    // "nobody is helping me" is frustration, not a cry for help.
    "is helping me",
    "are helping me",
    "help me find",
    "help me with",
    "help me get",
    "help me buy",
    "help me book",
    "help me understand",
    "help me out",
    "fire exit",
    "fire door",
    "fire alarm test",
    "police station",
    "smoke free",
    "no smoking",
    "blood donation",
    "not a joke",
    "no joke",
];

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
const FUZZY_MIN: f32 = 0.88;
/// Hesitations Whisper transcribes; dropped so they do not break phrases.
const FILLERS: &[&str] = &["um", "umm", "uh", "er", "erm", "ah", "hmm", "mm"];

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

/// A configured phrase compiled to stems.
struct Phrase<'a> {
    source: &'a str,
    words: Vec<PhraseWord>,
}

/// One phrase word: its stem, plus the raw form for fuzzy comparison.
struct PhraseWord {
    stem: String,
    raw: String,
}

/// The utterance as matched: non-filler words with stems.
struct Utterance {
    words: Vec<Word>,
    stems: Vec<String>,
}

/// Outcome of looking for one phrase list in an utterance.
#[derive(Default)]
struct Hits<'a> {
    found: Vec<&'a str>,
    negated: bool,
}

/// Finds safety, person-request and frustration cues and scores them.
pub fn analyse(text: &str, phrases: &CuePhrases) -> TextCues {
    let utterance = Utterance::new(text);
    let exceptions = compile(&phrases.exceptions);
    let negators = compile(&phrases.negators);
    let ctx = Context {
        utterance: &utterance,
        exceptions: &exceptions,
        negators: &negators,
    };
    let safety = ctx.hits(&phrases.safety);
    let person = ctx.hits(&phrases.ask_for_person);
    let frustration = ctx.hits(&phrases.frustration);
    let sentiment = sentiment(text);
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

/// VADER compound score of the raw text (VADER uses case and "!" itself).
fn sentiment(text: &str) -> f32 {
    let analyzer = SentimentIntensityAnalyzer::new();
    let scores = analyzer.polarity_scores(text);
    scores.get("compound").copied().unwrap_or(0.0) as f32
}

impl Utterance {
    fn new(text: &str) -> Self {
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

fn compile(list: &[String]) -> Vec<Phrase<'_>> {
    list.iter()
        .map(|source| Phrase {
            source,
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

/// Shared state for matching the phrase lists against one utterance.
struct Context<'u, 'p> {
    utterance: &'u Utterance,
    exceptions: &'u [Phrase<'p>],
    negators: &'u [Phrase<'p>],
}

impl Context<'_, '_> {
    fn hits<'a>(&self, list: &'a [String]) -> Hits<'a> {
        let mut hits = Hits::default();
        for phrase in compile(list) {
            let mut heard = false;
            for span in occurrences(self.utterance, &phrase) {
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
                hits.found.push(phrase.source);
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
fn occurrences(utterance: &Utterance, phrase: &Phrase<'_>) -> Vec<(usize, usize)> {
    (0..utterance.len())
        .filter_map(|start| match_from(utterance, phrase, start).map(|end| (start, end)))
        .collect()
}

/// End index when the phrase matches starting exactly at `start`.
fn match_from(utterance: &Utterance, phrase: &Phrase<'_>, start: usize) -> Option<usize> {
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
