//! Walking the parsed TOML: each section and intent is read, type-checked and range-checked,
//! and every problem recorded with its line.

use super::*;

impl Walker {
    pub(super) fn problem(&mut self, span: Range<usize>, field: &str, message: &str) {
        self.problems.push(Problem {
            line: self.lines.line(span.start),
            field: field.to_string(),
            message: message.to_string(),
        });
    }

    pub(super) fn document(&mut self, root: &DeTable<'_>, span: Range<usize>) -> Document {
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

    pub(super) fn cross_checks(&mut self, doc: &Document) {
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
    pub(super) fn check_phrasing_content(&mut self, doc: &Document, index: &Index) {
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
