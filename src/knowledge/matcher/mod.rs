//! Speech-error-tolerant intent matching.
//!
//! Each intent becomes one BM25 "document" built from its phrasings,
//! keywords, id and (down-weighted) answer. An utterance goes through the
//! same pipeline (normalise → numbers → stem → synonyms → stop words →
//! place names removed) and words the knowledge base has never seen are
//! fuzzy-matched to known words, because Whisper turns "property" into
//! "propity" far more often than a customer asks about something new.
//!
//! BM25 ranks the intents. Its raw scores are unbounded and depend on the
//! file, so the confidence reported to the daemon is computed from bounded
//! quantities instead:
//!
//! * **evidence** – for each heard word, how characteristic it is of the
//!   intent: the share of the word's uses that belong to the intent times a
//!   saturating function of how often the intent uses it. "toilet" scores
//!   ≈ 0.8 for `toilets`; "name", used once in one wifi phrasing, ≈ 0.33;
//!   "train", spread over many intents, little anywhere.
//! * **coverage** – evidence against the words no intent knows, so one
//!   known word among several unknown ones counts for less.
//! * a steep curve (`EVIDENCE_SCALE`, `EVIDENCE_STEEPNESS`) turns diluted
//!   evidence into 0..1;
//! * **phrasing** – alternatively, closeness to one single phrasing (a near
//!   verbatim match is enough on its own);
//! * **distinctness** – how far ahead of the BM25 runner-up the intent is.
//!
//! Out-of-domain speech ("what's the capital of France") shares almost no
//! characteristic vocabulary with any intent, so its evidence stays low
//! however it is phrased; that is what lets one threshold (default 0.4)
//! separate it. The constants below were tuned on `tests/knowledge_intents.rs` and
//! checked on the untouched `tests/knowledge_holdout.rs`.

use std::collections::BTreeMap;

use super::intent::Intent;
use super::text;

mod build;
mod score;
mod terms;

use build::compile_synonyms;
use terms::remove_places;

/// Best-matching intent for an utterance, with everything the daemon needs
/// to answer.
#[derive(Debug, Clone, PartialEq)]
pub struct IntentMatch {
    /// Intent id from the knowledge base.
    pub id: String,
    /// Calibrated confidence in 0..1; compare with
    /// [`KnowledgeBase::threshold`].
    pub confidence: f32,
    /// Text the kiosk should say.
    pub answer: String,
    /// Optional question to ask afterwards.
    pub follow_up: Option<String>,
    /// Hand over to staff rather than resolving at the kiosk.
    pub staff_only: bool,
    /// Possible emergency: alert staff immediately.
    pub safety: bool,
}

/// BM25 term-frequency saturation; the textbook value suits short documents.
const K1: f32 = 1.2;
/// BM25 length normalisation; intents with many phrasings must not win
/// merely by containing more words.
const LENGTH_NORM: f32 = 0.75;
/// Answers describe the solution ("step-free route via the lift") rather
/// than the request, so their words count for less than phrasings.
const ANSWER_WEIGHT: f32 = 0.3;
/// Keywords are declared characteristic by the author: each counts like
/// this many phrasings using the word.
const KEYWORD_WEIGHT: f32 = 2.0;
/// Term frequency at which a word counts half as characteristic of an
/// intent. A word used in one phrasing ("name" in "what's the name of the
/// wifi network") is incidental; one used in five defines the intent.
const CHARACTERISTIC_TF: f32 = 2.0;
/// Minimum [`text::fuzzy_similarity`] for an unknown word to stand in for a
/// known one. ASR slips score ≥ 0.83 ("propity"/"property"); unrelated
/// words sharing a first letter mostly score < 0.82 (see the tuning table
/// in `text.rs`).
const FUZZY_MIN: f32 = 0.82;
/// Digits say "a platform or a time" but not which intent; they must not
/// carry "what is two plus two" over the threshold.
const NUMBER_WEIGHT: f32 = 0.3;
/// Weight of a word no intent knows, against the evidence of the intent:
/// "who won the football last night" has evidence for `timetable` from
/// "last" and "night", but two unknown words dilute it. Below 1 because
/// long in-domain requests carry filler the stop list misses.
const UNKNOWN_WEIGHT: f32 = 0.5;
/// Diluted evidence giving confidence 0.5 before distinctness. Confidence
/// rises as eⁿ / (eⁿ + scaleⁿ): one incidental word (≈ 0.33) stays low,
/// one defining word (≈ 0.8) is enough.
const EVIDENCE_SCALE: f32 = 0.45;
/// Exponent n of the evidence curve. Out-of-domain evidence tops out near
/// 0.35 and in-domain evidence rarely falls below 0.55, so a steep curve
/// centred between them puts the two on either side of the threshold.
const EVIDENCE_STEEPNESS: i32 = 4;
/// How much a BM25 tie with the runner-up costs; a true tie halves
/// confidence.
const AMBIGUITY_PENALTY: f32 = 0.5;
/// Similarity to the closest single phrasing below which that phrasing
/// adds nothing; from here to 1 (the same words) its confidence ramps from
/// 0 to 1. Sharing one rare word with a three-word phrasing scores about
/// 0.55, so a lone incidental word ("name") stays at the bottom of the ramp.
const PHRASING_FLOOR: f32 = 0.55;
/// Term standing for any number after [`text::numbers_to_digits`].
const NUMBER_TERM: &str = "#";

/// One token in the pipeline; stop words are kept until synonyms have been
/// applied because variants such as "lost and found" contain them.
#[derive(Debug, Clone)]
struct Token {
    stem: String,
    stop: bool,
}

/// A synonym variant (as stems) and the canonical stems replacing it.
#[derive(Debug, Clone)]
struct Synonym {
    variant: Vec<String>,
    canonical: Vec<String>,
}

/// Precomputed matching data, built once when the knowledge base loads.
#[derive(Debug, Clone)]
pub(crate) struct Index {
    synonyms: Vec<Synonym>,
    /// Place names as content stems, longest first; removed before matching.
    places: Vec<Vec<String>>,
    /// Weighted term frequencies per intent, in knowledge-base order.
    docs: Vec<BTreeMap<String, f32>>,
    /// Sum of a term's frequencies over all intents.
    total_tf: BTreeMap<String, f32>,
    doc_len: Vec<f32>,
    avg_len: f32,
    idf: BTreeMap<String, f32>,
    /// (spelling, term) pairs unknown words are fuzzy-compared against.
    fuzzy: Vec<(String, String)>,
    /// Every phrasing as a deduplicated term set, with its intent.
    phrasings: Vec<(usize, Vec<String>)>,
    /// Phrasing-level inverse document frequency, for phrasing similarity.
    phrasing_idf: BTreeMap<String, f32>,
    /// Weight of an unknown word in phrasing similarity: that of the rarest
    /// known word, since a word no phrasing uses is as rare as it gets.
    unknown_phrasing_weight: f32,
}

/// An utterance term resolved against the vocabulary.
#[derive(Debug, Clone)]
struct Resolved {
    heard: String,
    term: Option<String>,
    /// 1 for an exact match, the fuzzy similarity otherwise.
    credit: f32,
    /// Mass counted against coverage: zero for known words.
    unknown: f32,
}

impl Resolved {
    /// The known term, or what was heard when nothing matched.
    fn key(&self) -> &str {
        self.term.as_deref().unwrap_or(&self.heard)
    }
}

/// Per-intent raw scores before calibration.
#[derive(Debug, Clone, Copy)]
struct Scored {
    intent: usize,
    bm25: f32,
    evidence: f32,
    coverage: f32,
    /// Weighted Dice similarity with the closest phrasing of the intent.
    phrasing: f32,
}

impl Index {
    /// Builds the index from validated intents, synonym groups and places.
    pub(crate) fn build(
        intents: &[Intent],
        synonyms: &BTreeMap<String, Vec<String>>,
        places: &[String],
    ) -> Self {
        let mut index = Index {
            synonyms: compile_synonyms(synonyms),
            places: Vec::new(),
            docs: Vec::new(),
            total_tf: BTreeMap::new(),
            doc_len: Vec::new(),
            avg_len: 1.0,
            idf: BTreeMap::new(),
            fuzzy: Vec::new(),
            phrasings: Vec::new(),
            phrasing_idf: BTreeMap::new(),
            unknown_phrasing_weight: 1.0,
        };
        index.places = index.compile_places(places);
        index.docs = intents.iter().map(|i| index.document(i)).collect();
        index.doc_len = index.docs.iter().map(|d| d.values().sum()).collect();
        let total: f32 = index.doc_len.iter().sum();
        index.avg_len = (total / index.docs.len().max(1) as f32).max(1.0);
        index.compute_term_stats();
        index.fuzzy = index.fuzzy_targets();
        index.index_phrasings(intents);
        index
    }

    /// Content terms of a text after the full pipeline; empty when the text
    /// is only filler or place names.
    pub(crate) fn content_terms(&self, text: &str) -> Vec<String> {
        let terms = self.unfiltered_terms(text);
        remove_places(terms, &self.places)
    }

    /// Up to `n` intents of `intents` for `utterance`, best first, whatever their confidence.
    pub(crate) fn best(&self, utterance: &str, intents: &[Intent], n: usize) -> Vec<IntentMatch> {
        self.ranked(utterance)
            .into_iter()
            .take(n)
            .filter_map(|(i, confidence)| intents.get(i).map(|it| to_match(it, confidence)))
            .collect()
    }

    /// How `utterance` was matched: each heard term and what it resolved to, then the top
    /// intents with their raw scores.
    pub(crate) fn explain(&self, utterance: &str, intents: &[Intent]) -> String {
        let (terms, mut scored) = self.scores(utterance);
        let mut out = String::from("terms:");
        for r in &terms {
            let target = r.term.as_deref().unwrap_or("?");
            out += &format!(" {}→{} ({:.2});", r.heard, target, r.credit);
        }
        scored.sort_by(|a, b| b.bm25.total_cmp(&a.bm25).then(a.intent.cmp(&b.intent)));
        for s in scored.iter().take(3) {
            let id = intents.get(s.intent).map_or("?", |i| i.id());
            out += &format!(
                "\n  {id}: confidence {:.3} evidence {:.3} coverage {:.2} phrasing {:.2} bm25 {:.2}",
                score::calibrate(s, &scored),
                s.evidence,
                s.coverage,
                s.phrasing,
                s.bm25
            );
        }
        out
    }
}

fn to_match(intent: &Intent, confidence: f32) -> IntentMatch {
    IntentMatch {
        id: intent.id().to_string(),
        confidence,
        answer: intent.answer().to_string(),
        follow_up: intent.follow_up().map(str::to_string),
        staff_only: intent.staff_only(),
        safety: intent.safety(),
    }
}
