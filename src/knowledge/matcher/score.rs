//! Scoring an utterance against every intent: resolved terms, BM25, evidence, coverage,
//! phrasing similarity, and the calibration into a confidence.

use super::*;

impl Index {
    pub(super) fn phrasing_weight(&self, term: &str) -> f32 {
        self.phrasing_idf
            .get(term)
            .copied()
            .unwrap_or(self.unknown_phrasing_weight)
    }

    /// Weighted Dice similarity between the utterance and the closest
    /// phrasing of `intent`; fuzzy matches count with their credit.
    pub(super) fn phrasing_similarity(&self, intent: usize, terms: &[Resolved]) -> f32 {
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

    /// How characteristic `term` is of intent `doc`, in 0..1: the share of
    /// the term's uses that belong to this intent, times a saturating
    /// function of how often this intent uses it.
    pub(super) fn association(&self, term: &str, doc: usize) -> f32 {
        let tf = self.docs[doc].get(term).copied().unwrap_or(0.0);
        let total = self.total_tf.get(term).copied().unwrap_or(0.0);
        if tf <= 0.0 || total <= 0.0 {
            return 0.0;
        }
        (tf / total) * tf / (tf + CHARACTERISTIC_TF)
    }

    pub(super) fn resolve(&self, heard: &str) -> Resolved {
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
    pub(super) fn fuzzy_lookup(&self, term: &str) -> Option<(String, f32)> {
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
    pub(super) fn resolve_all(&self, utterance: &str) -> Vec<Resolved> {
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

    pub(super) fn score(&self, intent: usize, terms: &[Resolved], unknown: f32) -> Scored {
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
    pub(super) fn scores(&self, utterance: &str) -> (Vec<Resolved>, Vec<Scored>) {
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
    pub(super) fn ranked(&self, utterance: &str) -> Vec<(usize, f32)> {
        let (_, mut scored) = self.scores(utterance);
        scored.sort_by(|a, b| b.bm25.total_cmp(&a.bm25).then(a.intent.cmp(&b.intent)));
        scored
            .iter()
            .map(|s| (s.intent, calibrate(s, &scored)))
            .collect()
    }
}

/// Maps raw scores of one intent into a confidence in 0..1 (see module docs).
pub(super) fn calibrate(s: &Scored, all: &[Scored]) -> f32 {
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
