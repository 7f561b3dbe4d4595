//! An utterance through the matching pipeline: tokens, synonyms, stop words and place names.

use super::*;

impl Index {
    /// Content terms before place names are removed.
    pub(super) fn unfiltered_terms(&self, text: &str) -> Vec<String> {
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
    pub(super) fn apply_synonyms(&self, tokens: Vec<Token>) -> Vec<Token> {
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

    pub(super) fn synonym_at(&self, tokens: &[Token]) -> Option<&Synonym> {
        // Sorted longest first, so the first hit is the longest match.
        self.synonyms.iter().find(|syn| {
            syn.variant.len() <= tokens.len()
                && syn.variant.iter().zip(tokens).all(|(v, t)| *v == t.stem)
        })
    }
}

/// Removes every occurrence of a place name (longest first).
pub(super) fn remove_places(terms: Vec<String>, places: &[Vec<String>]) -> Vec<String> {
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

pub(super) fn tokens(text: &str) -> Vec<Token> {
    text::numbers_to_digits(&text::word_texts(text))
        .iter()
        .map(|w| Token {
            stem: text::stem(w),
            stop: text::is_stop_word(w),
        })
        .collect()
}
