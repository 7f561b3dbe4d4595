//! Reading and checking `knowledge.toml`. The file is walked by hand rather than deserialised
//! with serde so that every problem (unknown key, wrong type, empty list, duplicate id …) is
//! collected with its line number and reported in one go: an installer editing the file on a
//! kiosk should not have to fix errors one restart at a time.

mod walker;

use super::intent::Intent;
use super::matcher::Index;
use super::text;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

/// Confidence below which [`super::KnowledgeBase::match_intent`] reports no match when the
/// file does not set `[matching] threshold`.
pub const DEFAULT_THRESHOLD: f32 = 0.4;

/// One thing wrong with a knowledge-base file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line in the file.
    pub line: usize,
    /// Dotted path of the offending field, e.g. `intent[2].phrasings[0]`.
    pub field: String,
    /// What is wrong, phrased for the person editing the file.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}: {}", self.line, self.field, self.message)
    }
}

/// A checked file, ready to become a knowledge base.
pub(super) struct Parsed {
    /// Intents in file order.
    pub intents: Vec<Intent>,
    /// Vocabulary followed by the place names, for the recogniser's prompt.
    pub vocabulary: Vec<String>,
    /// Synonym groups.
    pub synonyms: BTreeMap<String, Vec<String>>,
    /// `[matching] threshold`.
    pub threshold: f32,
    /// The matching index.
    pub index: Index,
}

/// Maps byte offsets to 1-based line numbers.
pub(super) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let newlines = text.match_indices('\n').map(|(i, _)| i + 1);
        Self {
            starts: std::iter::once(0).chain(newlines).collect(),
        }
    }

    fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset).max(1)
    }
}

type Value<'i> = Spanned<DeValue<'i>>;
type Key<'i> = Spanned<DeString<'i>>;

const TOP_KEYS: &[&str] = &["vocabulary", "places", "synonyms", "matching", "intent"];
const MATCHING_KEYS: &[&str] = &["threshold"];
const INTENT_KEYS: &[&str] = &[
    "id",
    "phrasings",
    "keywords",
    "answer",
    "follow_up",
    "staff_only",
    "safety",
];

/// Collects problems while walking the parsed document.
struct Walker {
    lines: LineIndex,
    problems: Vec<Problem>,
}

/// An intent as read from the file, before cross-intent checks.
struct RawIntent {
    intent: Intent,
    phrasing_lines: Vec<usize>,
}

/// Everything read from the file before the index is built.
#[derive(Default)]
struct Document {
    vocabulary: Vec<String>,
    places: Vec<String>,
    /// Every id seen with its line, including intents that failed to parse,
    /// so duplicates are reported even next to other problems.
    ids: Vec<(String, usize)>,
    synonyms: BTreeMap<String, Vec<String>>,
    synonym_lines: BTreeMap<String, usize>,
    threshold: Option<f32>,
    intents: Vec<RawIntent>,
}

/// Reads and checks `text`; every problem is collected, ordered by line by the caller.
pub(super) fn parse(text: &str) -> Result<Parsed, Vec<Problem>> {
    let mut walker = Walker {
        lines: LineIndex::new(text),
        problems: Vec::new(),
    };
    let (root, syntax_errors) = DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        // Schema checks on a half-parsed document only add noise.
        for err in syntax_errors {
            let span = err.span().unwrap_or(0..0);
            walker.problem(span, "syntax", err.message().trim());
        }
        return Err(walker.problems);
    }
    let doc = walker.document(root.get_ref(), root.span());
    walker.cross_checks(&doc);
    if !walker.problems.is_empty() {
        return Err(walker.problems);
    }
    build(doc, &mut walker)
}

fn build(doc: Document, walker: &mut Walker) -> Result<Parsed, Vec<Problem>> {
    let intents: Vec<Intent> = doc.intents.iter().map(|r| r.intent.clone()).collect();
    let index = Index::build(&intents, &doc.synonyms, &doc.places);
    walker.check_phrasing_content(&doc, &index);
    if !walker.problems.is_empty() {
        return Err(std::mem::take(&mut walker.problems));
    }
    let mut vocabulary = doc.vocabulary;
    for place in &doc.places {
        if !vocabulary.contains(place) {
            vocabulary.push(place.clone());
        }
    }
    Ok(Parsed {
        intents,
        vocabulary,
        synonyms: doc.synonyms,
        threshold: doc.threshold.unwrap_or(DEFAULT_THRESHOLD),
        index,
    })
}
