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
//! separate it. The constants below were tuned on `tests/intents.rs` and
//! checked on the untouched `tests/holdout.rs`.

use std::collections::BTreeMap;

use super::kb::{Intent, KnowledgeBase};
use super::text;

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

    fn index_phrasings(&mut self, intents: &[Intent]) {
        for (i, intent) in intents.iter().enumerate() {
            for phrasing in intent.phrasings() {
                let mut terms = self.content_terms(phrasing);
                terms.sort();
                terms.dedup();
                self.phrasings.push((i, terms));
            }
        }
        let mut df: BTreeMap<&str, f32> = BTreeMap::new();
        for (_, terms) in &self.phrasings {
            for t in terms {
                *df.entry(t).or_insert(0.0) += 1.0;
            }
        }
        let n = self.phrasings.len() as f32;
        let idf = |d: f32| ((n + 1.0) / (d + 0.5)).ln();
        self.unknown_phrasing_weight = idf(1.0);
        self.phrasing_idf = df
            .into_iter()
            .map(|(t, d)| (t.to_string(), idf(d)))
            .collect();
    }

    fn phrasing_weight(&self, term: &str) -> f32 {
        self.phrasing_idf
            .get(term)
            .copied()
            .unwrap_or(self.unknown_phrasing_weight)
    }

    /// Weighted Dice similarity between the utterance and the closest
    /// phrasing of `intent`; fuzzy matches count with their credit.
    fn phrasing_similarity(&self, intent: usize, terms: &[Resolved]) -> f32 {
        let heard: f32 = terms.iter().map(|r| self.phrasing_weight(r.key())).sum();
        self.phrasings
            .iter()
            .filter(|(i, _)| *i == intent)
            .map(|(_, phrasing)| {
                let own: f32 = phrasing.iter().map(|t| self.phrasing_weight(t)).sum();
                let shared: f32 = terms
                    .iter()
                    .filter(|r| r.term.as_ref().is_some_and(|t| phrasing.contains(t)))
                    .map(|r| r.credit * self.phrasing_weight(r.key()))
                    .sum();
                2.0 * shared / (heard + own).max(f32::EPSILON)
            })
            .fold(0.0, f32::max)
    }

    fn compile_places(&self, places: &[String]) -> Vec<Vec<String>> {
        let mut out: Vec<Vec<String>> = places
            .iter()
            .map(|p| self.unfiltered_terms(p))
            .filter(|p| !p.is_empty())
            .collect();
        out.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        out.dedup();
        out
    }

    fn document(&self, intent: &Intent) -> BTreeMap<String, f32> {
        let mut doc = BTreeMap::new();
        for phrase in intent.phrasings() {
            add_terms(&mut doc, self.content_terms(phrase), 1.0);
        }
        for keyword in intent.keywords() {
            add_terms(&mut doc, self.content_terms(keyword), KEYWORD_WEIGHT);
        }
        add_terms(
            &mut doc,
            self.content_terms(&intent.id().replace(['_', '-'], " ")),
            1.0,
        );
        add_terms(&mut doc, self.content_terms(intent.answer()), ANSWER_WEIGHT);
        doc
    }

    fn compute_term_stats(&mut self) {
        let n = self.docs.len() as f32;
        let mut df: BTreeMap<String, f32> = BTreeMap::new();
        for doc in &self.docs {
            for (term, tf) in doc {
                // An answer-only mention counts as a fraction of a document.
                *df.entry(term.clone()).or_insert(0.0) += tf.min(1.0);
                *self.total_tf.entry(term.clone()).or_insert(0.0) += tf;
            }
        }
        // BM25's "+1" idf variant stays positive even for a word in every
        // intent.
        self.idf = df
            .into_iter()
            .map(|(t, d)| (t, (1.0 + (n - d + 0.5) / (d + 0.5)).ln()))
            .collect();
    }

    fn fuzzy_targets(&self) -> Vec<(String, String)> {
        let mut targets: Vec<(String, String)> = self
            .idf
            .keys()
            .filter(|t| t.as_str() != NUMBER_TERM)
            .map(|t| (t.clone(), t.clone()))
            .collect();
        for syn in &self.synonyms {
            if let ([variant], [canonical]) = (syn.variant.as_slice(), syn.canonical.as_slice())
                && self.idf.contains_key(canonical)
            {
                targets.push((variant.clone(), canonical.clone()));
            }
        }
        targets.sort();
        targets.dedup();
        targets
    }

    /// Content terms of a text after the full pipeline; empty when the text
    /// is only filler or place names.
    pub(crate) fn content_terms(&self, text: &str) -> Vec<String> {
        let terms = self.unfiltered_terms(text);
        remove_places(terms, &self.places)
    }

    /// Content terms before place names are removed.
    fn unfiltered_terms(&self, text: &str) -> Vec<String> {
        self.apply_synonyms(tokens(text))
            .into_iter()
            .filter(|t| !t.stop)
            .map(|t| {
                if text::is_number(&t.stem) {
                    NUMBER_TERM.to_string()
                } else {
                    t.stem
                }
            })
            .collect()
    }

    /// Replaces the longest synonym variant starting at each position.
    fn apply_synonyms(&self, tokens: Vec<Token>) -> Vec<Token> {
        let mut out = Vec::with_capacity(tokens.len());
        let mut i = 0;
        while i < tokens.len() {
            match self.synonym_at(&tokens[i..]) {
                Some(syn) => {
                    out.extend(syn.canonical.iter().map(|c| Token {
                        stem: c.clone(),
                        stop: false,
                    }));
                    i += syn.variant.len();
                }
                None => {
                    out.push(tokens[i].clone());
                    i += 1;
                }
            }
        }
        out
    }

    fn synonym_at(&self, tokens: &[Token]) -> Option<&Synonym> {
        // Sorted longest first, so the first hit is the longest match.
        self.synonyms.iter().find(|syn| {
            syn.variant.len() <= tokens.len()
                && syn.variant.iter().zip(tokens).all(|(v, t)| *v == t.stem)
        })
    }

    /// How characteristic `term` is of intent `doc`, in 0..1: the share of
    /// the term's uses that belong to this intent, times a saturating
    /// function of how often this intent uses it.
    fn association(&self, term: &str, doc: usize) -> f32 {
        let tf = self.docs[doc].get(term).copied().unwrap_or(0.0);
        let total = self.total_tf.get(term).copied().unwrap_or(0.0);
        if tf <= 0.0 || total <= 0.0 {
            return 0.0;
        }
        (tf / total) * tf / (tf + CHARACTERISTIC_TF)
    }

    fn resolve(&self, heard: &str) -> Resolved {
        let number_factor = if heard == NUMBER_TERM {
            NUMBER_WEIGHT
        } else {
            1.0
        };
        let (term, credit) = if self.idf.contains_key(heard) {
            (Some(heard.to_string()), 1.0)
        } else {
            match self.fuzzy_lookup(heard) {
                Some((target, similarity)) => (Some(target), similarity),
                None => (None, 0.0),
            }
        };
        let unknown = if term.is_some() {
            0.0
        } else {
            UNKNOWN_WEIGHT * number_factor
        };
        Resolved {
            heard: heard.to_string(),
            term,
            credit,
            unknown,
        }
    }

    /// Most similar known spelling; ties go to the alphabetically first so
    /// results never depend on map iteration order.
    fn fuzzy_lookup(&self, term: &str) -> Option<(String, f32)> {
        let mut best: Option<(&str, f32)> = None;
        for (spelling, target) in &self.fuzzy {
            let sim = text::fuzzy_similarity(term, spelling);
            if sim >= FUZZY_MIN && best.is_none_or(|(_, s)| sim > s) {
                best = Some((target, sim));
            }
        }
        best.map(|(t, s)| (t.to_string(), s))
    }

    /// Resolves utterance terms, keeping each term once with its best
    /// credit so repeating a word does not inflate confidence.
    fn resolve_all(&self, utterance: &str) -> Vec<Resolved> {
        let mut out: Vec<Resolved> = Vec::new();
        for heard in self.content_terms(utterance) {
            let resolved = self.resolve(&heard);
            let key = resolved.term.clone().unwrap_or_else(|| heard.clone());
            let existing = out
                .iter_mut()
                .find(|r| r.term.as_ref().unwrap_or(&r.heard) == &key);
            match existing {
                Some(e) => e.credit = e.credit.max(resolved.credit),
                None => out.push(resolved),
            }
        }
        out
    }

    fn score(&self, intent: usize, terms: &[Resolved], unknown: f32) -> Scored {
        let doc = &self.docs[intent];
        let len_norm = 1.0 - LENGTH_NORM + LENGTH_NORM * self.doc_len[intent] / self.avg_len;
        let (mut bm25, mut evidence) = (0.0, 0.0);
        for r in terms {
            let Some(term) = &r.term else { continue };
            let Some(&tf) = doc.get(term) else { continue };
            let factor = r.credit
                * if term == NUMBER_TERM {
                    NUMBER_WEIGHT
                } else {
                    1.0
                };
            let idf = self.idf.get(term).copied().unwrap_or(0.0);
            bm25 += factor * idf * tf * (K1 + 1.0) / (tf + K1 * len_norm);
            evidence += factor * self.association(term, intent);
        }
        let coverage = if evidence > 0.0 {
            evidence / (evidence + unknown)
        } else {
            0.0
        };
        Scored {
            intent,
            bm25,
            evidence,
            coverage,
            phrasing: self.phrasing_similarity(intent, terms),
        }
    }

    /// Raw scores of every intent sharing at least one term with the
    /// utterance, plus the resolved terms (for [`KnowledgeBase::explain`]).
    fn scores(&self, utterance: &str) -> (Vec<Resolved>, Vec<Scored>) {
        let terms = self.resolve_all(utterance);
        let unknown: f32 = terms.iter().map(|r| r.unknown).sum();
        let scored = (0..self.docs.len())
            .map(|i| self.score(i, &terms, unknown))
            .filter(|s| s.bm25 > 0.0)
            .collect();
        (terms, scored)
    }

    /// Intents with a non-zero score in BM25 order (ties by file order),
    /// with calibrated confidence.
    fn ranked(&self, utterance: &str) -> Vec<(usize, f32)> {
        let (_, mut scored) = self.scores(utterance);
        scored.sort_by(|a, b| b.bm25.total_cmp(&a.bm25).then(a.intent.cmp(&b.intent)));
        scored
            .iter()
            .map(|s| (s.intent, calibrate(s, &scored)))
            .collect()
    }
}

/// Maps raw scores of one intent into a confidence in 0..1 (see module docs).
fn calibrate(s: &Scored, all: &[Scored]) -> f32 {
    // Unexplained words dilute the evidence before the curve, so one known
    // word among several unknown ones ("recommend a good restaurant in
    // town") cannot reach the steep part of it.
    let e = (s.evidence * s.coverage.sqrt()).powi(EVIDENCE_STEEPNESS);
    let strength = e / (e + EVIDENCE_SCALE.powi(EVIDENCE_STEEPNESS));
    let rival = all
        .iter()
        .filter(|o| o.intent != s.intent)
        .map(|o| o.bm25)
        .fold(0.0_f32, f32::max);
    // BM25 rather than evidence decides who the rival is: its idf discounts
    // words every intent uses, so "a man bleeding on platform 2" is not
    // ambiguous with `platforms` merely because of "platform".
    let ratio = if s.bm25 > 0.0 {
        (rival / s.bm25).min(1.0)
    } else {
        1.0
    };
    let distinctness = 1.0 - AMBIGUITY_PENALTY * ratio * ratio;
    let phrasing = ((s.phrasing - PHRASING_FLOOR) / (1.0 - PHRASING_FLOOR)).clamp(0.0, 1.0);
    // Either view may carry the match: the intent as a whole (words spread
    // over many phrasings) or one phrasing said almost verbatim, which is
    // what an installer expects after adding a phrasing that failed.
    strength.max(phrasing) * distinctness
}

/// Removes every occurrence of a place name (longest first).
fn remove_places(terms: Vec<String>, places: &[Vec<String>]) -> Vec<String> {
    let mut out = Vec::with_capacity(terms.len());
    let mut i = 0;
    while i < terms.len() {
        let rest = &terms[i..];
        match places.iter().find(|p| rest.starts_with(p)) {
            Some(place) => i += place.len(),
            None => {
                out.push(terms[i].clone());
                i += 1;
            }
        }
    }
    out
}

fn add_terms(doc: &mut BTreeMap<String, f32>, terms: Vec<String>, weight: f32) {
    for term in terms {
        *doc.entry(term).or_insert(0.0) += weight;
    }
}

fn tokens(text: &str) -> Vec<Token> {
    text::numbers_to_digits(&text::word_texts(text))
        .iter()
        .map(|w| Token {
            stem: text::stem(w),
            stop: text::is_stop_word(w),
        })
        .collect()
}

fn compile_synonyms(groups: &BTreeMap<String, Vec<String>>) -> Vec<Synonym> {
    let stems = |s: &str| -> Vec<String> { tokens(s).into_iter().map(|t| t.stem).collect() };
    let mut out: Vec<Synonym> = groups
        .iter()
        .flat_map(|(canonical, variants)| {
            let canonical = stems(canonical);
            variants.iter().map(move |v| (v, canonical.clone()))
        })
        .map(|(variant, canonical)| Synonym {
            variant: stems(variant),
            canonical,
        })
        .filter(|s| !s.variant.is_empty() && !s.canonical.is_empty())
        .collect();
    out.sort_by(|a, b| {
        b.variant
            .len()
            .cmp(&a.variant.len())
            .then(a.variant.cmp(&b.variant))
    });
    out
}

impl KnowledgeBase {
    /// Best intent for a customer utterance, or `None` when nothing reaches
    /// [`KnowledgeBase::threshold`].
    pub fn match_intent(&self, utterance: &str) -> Option<IntentMatch> {
        self.top_n(utterance, 1)
            .into_iter()
            .next()
            .filter(|m| m.confidence >= self.threshold())
    }

    /// Up to `n` candidate intents, best first, regardless of threshold;
    /// meant for logs and tuning.
    pub fn top_n(&self, utterance: &str, n: usize) -> Vec<IntentMatch> {
        self.index
            .ranked(utterance)
            .into_iter()
            .take(n)
            .filter_map(|(i, confidence)| self.intents().get(i).map(|it| to_match(it, confidence)))
            .collect()
    }

    /// Human-readable account of how an utterance was matched: each heard
    /// term and what it resolved to, then the top intents with their raw
    /// scores. Meant for logs and for tuning `knowledge.toml`.
    pub fn explain(&self, utterance: &str) -> String {
        let (terms, mut scored) = self.index.scores(utterance);
        let mut out = String::from("terms:");
        for r in &terms {
            let target = r.term.as_deref().unwrap_or("?");
            out += &format!(" {}→{} ({:.2});", r.heard, target, r.credit);
        }
        scored.sort_by(|a, b| b.bm25.total_cmp(&a.bm25).then(a.intent.cmp(&b.intent)));
        for s in scored.iter().take(3) {
            let id = self.intents().get(s.intent).map_or("?", |i| i.id());
            out += &format!(
                "\n  {id}: confidence {:.3} evidence {:.3} coverage {:.2} phrasing {:.2} bm25 {:.2}",
                calibrate(s, &scored),
                s.evidence,
                s.coverage,
                s.phrasing,
                s.bm25
            );
        }
        out
    }

    /// Content terms of `text` after normalisation, stemming and this
    /// knowledge base's synonyms; useful for comparing two utterances
    /// (see [`crate::stress::cues::DialogueCues::assess_with`]).
    pub fn content_terms(&self, text: &str) -> Vec<String> {
        self.index.content_terms(text)
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
