//! Loading and validating the help-point knowledge base (`knowledge.toml`).
//!
//! The file is walked by hand rather than deserialised with serde so that
//! every problem (unknown key, wrong type, empty list, duplicate id …) is
//! collected with its line number and reported in one go: an installer
//! editing the file on a kiosk should not have to fix errors one restart at
//! a time.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use super::matcher::Index;
use super::text;

/// Confidence below which [`KnowledgeBase::match_intent`] reports no match
/// when the file does not set `[matching] threshold`.
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

/// Why a knowledge base could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    /// The file could not be read at all.
    #[error("cannot read knowledge base {}: {source}", .path.display())]
    Read {
        /// File that was being read.
        path: PathBuf,
        /// Underlying I/O error.
        source: std::io::Error,
    },
    /// The file was read but is not valid TOML or breaks the schema.
    #[error(
        "knowledge base {file} has {} problem(s):\n{}",
        .problems.len(),
        render_problems(.problems)
    )]
    Invalid {
        /// File (or source name) the problems were found in.
        file: String,
        /// Every problem found, ordered by line.
        problems: Vec<Problem>,
    },
}

fn render_problems(problems: &[Problem]) -> String {
    let lines: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
    lines.join("\n")
}

/// A customer need the kiosk can answer, with the ways people ask for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Intent {
    id: String,
    phrasings: Vec<String>,
    keywords: Vec<String>,
    answer: String,
    follow_up: Option<String>,
    staff_only: bool,
    safety: bool,
    line: usize,
}

impl Intent {
    /// Stable identifier, e.g. `toilets`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Example customer utterances for this intent.
    pub fn phrasings(&self) -> &[String] {
        &self.phrasings
    }

    /// Extra single words that point at this intent (optional in the file).
    pub fn keywords(&self) -> &[String] {
        &self.keywords
    }

    /// What the kiosk says.
    pub fn answer(&self) -> &str {
        &self.answer
    }

    /// Optional question the kiosk asks after answering.
    pub fn follow_up(&self) -> Option<&str> {
        self.follow_up.as_deref()
    }

    /// Only staff can resolve this; the daemon should hand over.
    pub fn staff_only(&self) -> bool {
        self.staff_only
    }

    /// A possible emergency; the daemon should alert staff at once.
    pub fn safety(&self) -> bool {
        self.safety
    }

    /// Line of the `[[intent]]` header, for diagnostics.
    pub fn line(&self) -> usize {
        self.line
    }
}

/// The validated contents of `knowledge.toml`, ready for matching.
#[derive(Debug, Clone)]
pub struct KnowledgeBase {
    source: String,
    intents: Vec<Intent>,
    vocabulary: Vec<String>,
    places: Vec<String>,
    synonyms: BTreeMap<String, Vec<String>>,
    threshold: f32,
    pub(crate) index: Index,
}

impl KnowledgeBase {
    /// Reads and validates a knowledge base file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, KnowledgeError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| KnowledgeError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_str(&text, &path.display().to_string())
    }

    /// Parses knowledge-base TOML; `source` names it in error messages.
    pub fn from_toml_str(text: &str, source: &str) -> Result<Self, KnowledgeError> {
        parse(text, source).map_err(|mut problems| {
            problems.sort_by_key(|p| p.line);
            KnowledgeError::Invalid {
                file: source.to_string(),
                problems,
            }
        })
    }

    /// Name of the file (or string) this was loaded from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// All intents in file order.
    pub fn intents(&self) -> &[Intent] {
        &self.intents
    }

    /// Looks an intent up by id.
    pub fn intent(&self, id: &str) -> Option<&Intent> {
        self.intents.iter().find(|i| i.id == id)
    }

    /// Service names and place names (the `vocabulary` list followed by
    /// `places`), used to prime speech recognition.
    pub fn vocabulary(&self) -> &[String] {
        &self.vocabulary
    }

    /// Place names from `places`; the matcher ignores them because any
    /// intent may mention a destination.
    pub fn places(&self) -> &[String] {
        &self.places
    }

    /// Synonym groups: canonical word → words and phrases that mean it.
    pub fn synonyms(&self) -> &BTreeMap<String, Vec<String>> {
        &self.synonyms
    }

    /// Minimum confidence for [`KnowledgeBase::match_intent`] to answer.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }
}

impl FromStr for KnowledgeBase {
    type Err = KnowledgeError;

    /// Parses knowledge-base TOML held in memory (source name `<string>`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::from_toml_str(text, "<string>")
    }
}

/// Maps byte offsets to 1-based line numbers.
struct LineIndex {
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

fn parse(text: &str, source: &str) -> Result<KnowledgeBase, Vec<Problem>> {
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
    build(doc, source, &mut walker)
}

fn build(doc: Document, source: &str, walker: &mut Walker) -> Result<KnowledgeBase, Vec<Problem>> {
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
    Ok(KnowledgeBase {
        source: source.to_string(),
        intents,
        vocabulary,
        places: doc.places,
        synonyms: doc.synonyms,
        threshold: doc.threshold.unwrap_or(DEFAULT_THRESHOLD),
        index,
    })
}

impl Walker {
    fn problem(&mut self, span: Range<usize>, field: &str, message: &str) {
        self.problems.push(Problem {
            line: self.lines.line(span.start),
            field: field.to_string(),
            message: message.to_string(),
        });
    }

    fn document(&mut self, root: &DeTable<'_>, span: Range<usize>) -> Document {
        let mut doc = Document::default();
        for (key, value) in root.iter() {
            match key.get_ref().as_ref() {
                "vocabulary" => {
                    doc.vocabulary = self.string_list(value, "vocabulary").unwrap_or_default();
                }
                "places" => doc.places = self.string_list(value, "places").unwrap_or_default(),
                "synonyms" => self.synonyms(value, &mut doc),
                "matching" => doc.threshold = self.matching(value),
                "intent" => self.intents(value, &mut doc),
                _ => self.unknown_key(key, "", TOP_KEYS),
            }
        }
        if !root.contains_key("intent") {
            self.problem(span, "intent", "no [[intent]] tables: add at least one");
        }
        doc
    }

    fn unknown_key(&mut self, key: &Key<'_>, parent: &str, allowed: &[&str]) {
        let name = key.get_ref().as_ref();
        let field = join_field(parent, name);
        let hint = nearest(name, allowed)
            .map(|n| format!(" (did you mean `{n}`?)"))
            .unwrap_or_default();
        let message = format!(
            "unknown key `{name}`{hint}; allowed keys: {}",
            allowed.join(", ")
        );
        self.problem(key.span(), &field, &message);
    }

    fn string(&mut self, value: &Value<'_>, field: &str) -> Option<String> {
        let Some(s) = value.get_ref().as_str() else {
            let message = format!("expected a string, found {}", value.get_ref().type_str());
            self.problem(value.span(), field, &message);
            return None;
        };
        let trimmed = s.trim();
        if trimmed.is_empty() {
            self.problem(value.span(), field, "must not be empty");
            return None;
        }
        Some(trimmed.to_string())
    }

    fn boolean(&mut self, value: &Value<'_>, field: &str) -> Option<bool> {
        let parsed = value.get_ref().as_bool();
        if parsed.is_none() {
            let message = format!(
                "expected true or false, found {}",
                value.get_ref().type_str()
            );
            self.problem(value.span(), field, &message);
        }
        parsed
    }

    /// A list of non-empty strings, with the line of each item.
    fn spanned_strings(&mut self, value: &Value<'_>, field: &str) -> Option<Vec<(String, usize)>> {
        let Some(items) = value.get_ref().as_array() else {
            let message = format!(
                "expected a list of strings, found {}",
                value.get_ref().type_str()
            );
            self.problem(value.span(), field, &message);
            return None;
        };
        if items.is_empty() {
            self.problem(value.span(), field, "must not be empty");
            return None;
        }
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item_field = format!("{field}[{i}]");
            if let Some(s) = self.string(item, &item_field) {
                out.push((s, self.lines.line(item.span().start)));
            }
        }
        Some(out)
    }

    fn string_list(&mut self, value: &Value<'_>, field: &str) -> Option<Vec<String>> {
        let items = self.spanned_strings(value, field)?;
        Some(items.into_iter().map(|(s, _)| s).collect())
    }

    fn table<'a, 'i>(&mut self, value: &'a Value<'i>, field: &str) -> Option<&'a DeTable<'i>> {
        let table = value.get_ref().as_table();
        if table.is_none() {
            let message = format!("expected a table, found {}", value.get_ref().type_str());
            self.problem(value.span(), field, &message);
        }
        table
    }

    fn synonyms(&mut self, value: &Value<'_>, doc: &mut Document) {
        let Some(table) = self.table(value, "synonyms") else {
            return;
        };
        for (key, variants) in table.iter() {
            let canonical = key.get_ref().trim().to_lowercase();
            let field = format!("synonyms.{canonical}");
            if text::word_texts(&canonical).is_empty() {
                self.problem(
                    key.span(),
                    &field,
                    "canonical word must contain letters or digits",
                );
                continue;
            }
            if let Some(list) = self.string_list(variants, &field) {
                doc.synonym_lines
                    .insert(canonical.clone(), self.lines.line(key.span().start));
                doc.synonyms.insert(canonical, list);
            }
        }
    }

    fn matching(&mut self, value: &Value<'_>) -> Option<f32> {
        let table = self.table(value, "matching")?;
        let mut threshold = None;
        for (key, item) in table.iter() {
            match key.get_ref().as_ref() {
                "threshold" => threshold = self.unit_interval(item, "matching.threshold"),
                _ => self.unknown_key(key, "matching", MATCHING_KEYS),
            }
        }
        threshold
    }

    fn unit_interval(&mut self, value: &Value<'_>, field: &str) -> Option<f32> {
        let number = match value.get_ref() {
            DeValue::Float(f) => f.as_str().replace('_', "").parse::<f32>().ok(),
            DeValue::Integer(i) if i.radix() == 10 => i.as_str().replace('_', "").parse().ok(),
            _ => None,
        };
        match number {
            Some(n) if (0.0..=1.0).contains(&n) => Some(n),
            _ => {
                self.problem(value.span(), field, "expected a number between 0 and 1");
                None
            }
        }
    }

    fn intents(&mut self, value: &Value<'_>, doc: &mut Document) {
        let Some(items) = value.get_ref().as_array() else {
            let message = "expected [[intent]] tables (an array of tables)";
            self.problem(value.span(), "intent", message);
            return;
        };
        if items.is_empty() {
            self.problem(value.span(), "intent", "must not be empty");
        }
        for (i, item) in items.iter().enumerate() {
            let field = format!("intent[{i}]");
            let Some(table) = self.table(item, &field) else {
                continue;
            };
            if let Some(id) = table.get("id").and_then(|v| v.get_ref().as_str()) {
                doc.ids
                    .push((id.to_string(), self.lines.line(item.span().start)));
            }
            doc.intents.extend(self.intent(table, item.span(), &field));
        }
    }

    fn intent(
        &mut self,
        table: &DeTable<'_>,
        span: Range<usize>,
        field: &str,
    ) -> Option<RawIntent> {
        let field = match table.get("id").and_then(|v| v.get_ref().as_str()) {
            Some(id) => format!("{field}({id})"),
            None => field.to_string(),
        };
        let mut fields = IntentFields::default();
        for (key, value) in table.iter() {
            self.intent_field(key, value, &field, &mut fields);
        }
        let line = self.lines.line(span.start);
        for (name, present) in [
            ("id", fields.id.is_some() || table.contains_key("id")),
            ("phrasings", table.contains_key("phrasings")),
            ("answer", table.contains_key("answer")),
        ] {
            if !present {
                let message = format!("missing required key `{name}`");
                self.problem(span.clone(), &field, &message);
            }
        }
        fields.finish(line)
    }

    fn intent_field(
        &mut self,
        key: &Key<'_>,
        value: &Value<'_>,
        parent: &str,
        f: &mut IntentFields,
    ) {
        let name = key.get_ref().as_ref();
        let field = join_field(parent, name);
        match name {
            "id" => f.id = self.intent_id(value, &field),
            "phrasings" => f.phrasings = self.spanned_strings(value, &field),
            "keywords" => f.keywords = self.string_list(value, &field),
            "answer" => f.answer = self.string(value, &field),
            "follow_up" => f.follow_up = self.string(value, &field),
            "staff_only" => f.staff_only = self.boolean(value, &field),
            "safety" => f.safety = self.boolean(value, &field),
            _ => self.unknown_key(key, parent, INTENT_KEYS),
        }
    }

    fn intent_id(&mut self, value: &Value<'_>, field: &str) -> Option<String> {
        let id = self.string(value, field)?;
        let valid = id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !valid {
            let message = "use lower-case letters, digits, `_` or `-` only (ids appear in logs and staff alerts)";
            self.problem(value.span(), field, message);
            return None;
        }
        Some(id)
    }

    fn cross_checks(&mut self, doc: &Document) {
        self.check_duplicate_ids(doc);
        self.check_duplicate_phrasings(doc);
        self.check_synonym_conflicts(doc);
    }

    fn check_duplicate_ids(&mut self, doc: &Document) {
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (id, line) in &doc.ids {
            if let Some(&first) = seen.get(id.as_str()) {
                self.problems.push(Problem {
                    line: *line,
                    field: format!("intent({id}).id"),
                    message: format!("duplicate id; first used on line {first}"),
                });
            } else {
                seen.insert(id, *line);
            }
        }
    }

    /// The same sentence under two intents makes the matcher's choice
    /// arbitrary, so it is an error rather than a warning.
    fn check_duplicate_phrasings(&mut self, doc: &Document) {
        let mut seen: BTreeMap<String, (String, usize)> = BTreeMap::new();
        for raw in &doc.intents {
            let pairs = raw.intent.phrasings.iter().zip(&raw.phrasing_lines);
            for (i, (phrasing, &line)) in pairs.enumerate() {
                let key = text::word_texts(phrasing).join(" ");
                let here = (raw.intent.id.clone(), line);
                if let Some((other, first)) = seen.insert(key, here) {
                    self.problems.push(Problem {
                        line,
                        field: format!("intent({}).phrasings[{i}]", raw.intent.id),
                        message: format!(
                            "same phrasing as intent `{other}` on line {first}; remove one"
                        ),
                    });
                }
            }
        }
    }

    fn check_synonym_conflicts(&mut self, doc: &Document) {
        let mut owner: BTreeMap<String, &str> = BTreeMap::new();
        for (canonical, variants) in &doc.synonyms {
            let line = doc.synonym_lines.get(canonical).copied().unwrap_or(1);
            for variant in variants {
                let key = text::word_texts(variant).join(" ");
                if key.is_empty() {
                    self.problems.push(Problem {
                        line,
                        field: format!("synonyms.{canonical}"),
                        message: format!("variant `{variant}` has no letters or digits"),
                    });
                } else if let Some(previous) = owner.insert(key, canonical) {
                    let message = if previous == canonical {
                        format!("`{variant}` is listed twice (after normalisation)")
                    } else {
                        format!("`{variant}` is also listed under `{previous}`")
                    };
                    self.problems.push(Problem {
                        line,
                        field: format!("synonyms.{canonical}"),
                        message,
                    });
                }
            }
        }
    }

    /// A phrasing made only of stop words ("can you help me") teaches the
    /// matcher nothing and usually means a typo or a misplaced line.
    fn check_phrasing_content(&mut self, doc: &Document, index: &Index) {
        for raw in &doc.intents {
            let pairs = raw.intent.phrasings.iter().zip(&raw.phrasing_lines);
            for (i, (phrasing, &line)) in pairs.enumerate() {
                if index.content_terms(phrasing).is_empty() {
                    self.problems.push(Problem {
                        line,
                        field: format!("intent({}).phrasings[{i}]", raw.intent.id),
                        message: "only filler words; the matcher cannot use it".to_string(),
                    });
                }
            }
        }
    }
}

/// Intent keys as they are read; `None` means absent or invalid.
#[derive(Default)]
struct IntentFields {
    id: Option<String>,
    phrasings: Option<Vec<(String, usize)>>,
    keywords: Option<Vec<String>>,
    answer: Option<String>,
    follow_up: Option<String>,
    staff_only: Option<bool>,
    safety: Option<bool>,
}

impl IntentFields {
    fn finish(self, line: usize) -> Option<RawIntent> {
        let phrasings = self.phrasings?;
        Some(RawIntent {
            phrasing_lines: phrasings.iter().map(|(_, l)| *l).collect(),
            intent: Intent {
                id: self.id?,
                phrasings: phrasings.into_iter().map(|(s, _)| s).collect(),
                keywords: self.keywords.unwrap_or_default(),
                answer: self.answer?,
                follow_up: self.follow_up,
                staff_only: self.staff_only.unwrap_or(false),
                safety: self.safety.unwrap_or(false),
                line,
            },
        })
    }
}

fn join_field(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

/// Closest allowed key, offered as a hint for typos like `phrasing`.
fn nearest<'a>(name: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed
        .iter()
        .map(|a| (strsim::normalized_damerau_levenshtein(name, a), *a))
        .filter(|(score, _)| *score >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, a)| a)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
vocabulary = ["Paddington"]

[synonyms]
toilet = ["loo", "restroom"]

[[intent]]
id = "toilets"
phrasings = ["where are the toilets", "I need the loo"]
answer = "The toilets are on platform 1."
"#;

    fn problems(text: &str) -> Vec<Problem> {
        match KnowledgeBase::from_toml_str(text, "test.toml") {
            Err(KnowledgeError::Invalid { problems, .. }) => problems,
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("expected problems"),
        }
    }

    #[test]
    fn minimal_file_loads() {
        let kb: KnowledgeBase = MINIMAL.parse().unwrap();
        assert_eq!(kb.intents().len(), 1);
        assert_eq!(kb.vocabulary(), ["Paddington"]);
        assert_eq!(kb.threshold(), DEFAULT_THRESHOLD);
        let toilets = kb.intent("toilets").unwrap();
        assert!(!toilets.staff_only());
        assert_eq!(toilets.line(), 7);
    }

    #[test]
    fn all_problems_are_reported_at_once_with_lines() {
        let text = r#"
vocabulary = []
colour = "blue"

[matching]
threshold = 1.5

[[intent]]
id = "toilets"
phrasing = ["where are the toilets"]
answer = ""

[[intent]]
id = "toilets"
phrasings = ["where are the toilets", ""]
answer = "On platform 1."
staff_only = "yes"
"#;
        let found = problems(text);
        let rendered: Vec<String> = found.iter().map(|p| p.to_string()).collect();
        let expect = [
            "line 2: vocabulary: must not be empty",
            "line 3: colour: unknown key `colour`",
            "line 6: matching.threshold: expected a number between 0 and 1",
            "line 8: intent[0](toilets): missing required key `phrasings`",
            "line 10: intent[0](toilets).phrasing: unknown key `phrasing` (did you mean `phrasings`?)",
            "line 11: intent[0](toilets).answer: must not be empty",
            "line 13: intent(toilets).id: duplicate id; first used on line 8",
            "line 15: intent[1](toilets).phrasings[1]: must not be empty",
            "line 17: intent[1](toilets).staff_only: expected true or false",
        ];
        for e in expect {
            assert!(
                rendered.iter().any(|r| r.starts_with(e)),
                "missing `{e}` in:\n{}",
                rendered.join("\n")
            );
        }
        assert_eq!(found.len(), expect.len(), "{}", rendered.join("\n"));
    }

    #[test]
    fn error_message_names_file() {
        let err = KnowledgeBase::from_toml_str("[[intent]]\nid = 3\n", "kb.toml").unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("knowledge base kb.toml has"),
            "{message}"
        );
        assert!(
            message.contains("line 2: intent[0].id: expected a string"),
            "{message}"
        );
    }

    #[test]
    fn syntax_errors_have_lines() {
        let found = problems("[[intent]]\nid = \"x\"\nanswer = \n");
        assert_eq!(found[0].line, 3);
        assert_eq!(found[0].field, "syntax");
    }

    #[test]
    fn missing_file_names_path() {
        let err = KnowledgeBase::load("/nonexistent/knowledge.toml").unwrap_err();
        assert!(err.to_string().contains("/nonexistent/knowledge.toml"));
    }

    #[test]
    fn duplicate_phrasings_and_synonyms_rejected() {
        let text = r#"
[synonyms]
toilet = ["loo"]
lavatory = ["loo"]

[[intent]]
id = "a"
phrasings = ["Where is the loo?"]
answer = "x"

[[intent]]
id = "b"
phrasings = ["where is the loo"]
answer = "y"
"#;
        let rendered: Vec<String> = problems(text).iter().map(|p| p.to_string()).collect();
        assert!(
            rendered.iter().any(|r| r.contains("also listed under")),
            "{rendered:?}"
        );
        assert!(
            rendered
                .iter()
                .any(|r| r.contains("same phrasing as intent `a`")),
            "{rendered:?}"
        );
    }

    #[test]
    fn filler_only_phrasing_rejected() {
        let text =
            "[[intent]]\nid = \"a\"\nphrasings = [\"can you tell me please\"]\nanswer = \"x\"\n";
        let found = problems(text);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("filler"));
    }

    #[test]
    fn bad_id_rejected() {
        let text = "[[intent]]\nid = \"Toilets!\"\nphrasings = [\"toilets\"]\nanswer = \"x\"\n";
        assert!(problems(text)[0].message.contains("lower-case"));
    }
}
