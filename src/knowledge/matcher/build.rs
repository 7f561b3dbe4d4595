//! Building the index once, when the knowledge base loads: one BM25 document per intent,
//! term statistics, fuzzy-match targets, phrasings and synonym groups.

use super::terms::tokens;
use super::*;

impl Index {
    pub(super) fn index_phrasings(&mut self, intents: &[Intent]) {
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

    pub(super) fn compile_places(&self, places: &[String]) -> Vec<Vec<String>> {
        let mut out: Vec<Vec<String>> = places
            .iter()
            .map(|p| self.unfiltered_terms(p))
            .filter(|p| !p.is_empty())
            .collect();
        out.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        out.dedup();
        out
    }

    pub(super) fn document(&self, intent: &Intent) -> BTreeMap<String, f32> {
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

    pub(super) fn compute_term_stats(&mut self) {
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

    pub(super) fn fuzzy_targets(&self) -> Vec<(String, String)> {
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
}

pub(super) fn add_terms(doc: &mut BTreeMap<String, f32>, terms: Vec<String>, weight: f32) {
    for term in terms {
        *doc.entry(term).or_insert(0.0) += weight;
    }
}

pub(super) fn compile_synonyms(groups: &BTreeMap<String, Vec<String>>) -> Vec<Synonym> {
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
