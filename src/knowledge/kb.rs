//! The knowledge base as the kiosk uses it: loaded and checked once (see `parse`), then
//! asked for the intent of each utterance (see `matcher`).

use super::intent::Intent;
use super::matcher::{Index, IntentMatch};
use super::parse::{Problem, parse};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Why a knowledge base could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    /// The file could not be read at all.
    #[error("cannot read knowledge base {}: {why}", .path.display())]
    Read {
        /// File that was being read.
        path: PathBuf,
        /// What the operating system said.
        why: String,
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

/// The validated contents of `knowledge.toml`, ready for matching.
#[derive(Debug, Clone)]
pub struct KnowledgeBase {
    intents: Vec<Intent>,
    vocabulary: Vec<String>,
    synonyms: BTreeMap<String, Vec<String>>,
    threshold: f32,
    index: Index,
}

impl KnowledgeBase {
    /// Reads and validates a knowledge base file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, KnowledgeError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| KnowledgeError::Read {
            path: path.to_path_buf(),
            why: e.to_string(),
        })?;
        Self::from_toml_str(&text, &path.display().to_string())
    }

    /// Parses knowledge-base TOML; `source` names it in error messages.
    pub fn from_toml_str(text: &str, source: &str) -> Result<Self, KnowledgeError> {
        let p = parse(text).map_err(|mut problems| {
            problems.sort_by_key(|p| p.line);
            KnowledgeError::Invalid {
                file: source.to_string(),
                problems,
            }
        })?;
        Ok(KnowledgeBase {
            intents: p.intents,
            vocabulary: p.vocabulary,
            synonyms: p.synonyms,
            threshold: p.threshold,
            index: p.index,
        })
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

    /// Synonym groups: canonical word → words and phrases that mean it.
    pub fn synonyms(&self) -> &BTreeMap<String, Vec<String>> {
        &self.synonyms
    }

    /// Minimum confidence for [`KnowledgeBase::match_intent`] to answer.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }
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

    /// Up to `n` candidate intents, best first, regardless of threshold; meant for logs and
    /// tuning.
    pub fn top_n(&self, utterance: &str, n: usize) -> Vec<IntentMatch> {
        self.index.best(utterance, &self.intents, n)
    }

    /// Human-readable account of how an utterance was matched: each heard term and what it
    /// resolved to, then the top intents with their raw scores. Meant for logs and for tuning
    /// `knowledge.toml`.
    pub fn explain(&self, utterance: &str) -> String {
        self.index.explain(utterance, &self.intents)
    }

    /// Content terms of `text` after normalisation, stemming and this knowledge base's
    /// synonyms; useful for comparing two utterances (see
    /// [`crate::stress::cues::DialogueCues::assess_with`]).
    pub fn content_terms(&self, text: &str) -> Vec<String> {
        self.index.content_terms(text)
    }
}

impl FromStr for KnowledgeBase {
    type Err = KnowledgeError;

    /// Parses knowledge-base TOML held in memory (source name `<string>`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::from_toml_str(text, "<string>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::DEFAULT_THRESHOLD;

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
