//! Text normalisation shared by the intent matcher and the cue detector.
//!
//! Whisper output varies a lot for the same spoken sentence: casing,
//! punctuation, curly or missing apostrophes ("cant"), digits versus number
//! words. Everything that compares customer speech with configured phrases
//! goes through this module so both sides are normalised identically.

mod fuzzy;
mod stem;

pub(crate) use fuzzy::fuzzy_similarity;
pub(crate) use stem::{is_stop_word, stem};

/// One normalised word of an utterance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word {
    /// Lower-case word with contractions already expanded.
    pub text: String,
    /// True when punctuation that ends a clause (`,` `.` `?` `!` …) came
    /// right before this word; negation does not reach across it.
    pub clause_start: bool,
}

/// Splits text into lower-case words, expanding contractions and recording
/// clause boundaries.
pub(crate) fn words(text: &str) -> Vec<Word> {
    let mut out = Vec::new();
    for (raw, clause_start) in raw_tokens(text) {
        push_expanded(&raw, clause_start, &mut out);
    }
    out
}

/// Convenience: just the word texts of [`words`].
pub(crate) fn word_texts(text: &str) -> Vec<String> {
    words(text).into_iter().map(|w| w.text).collect()
}

fn is_clause_punct(c: char) -> bool {
    matches!(
        c,
        ',' | '.' | ';' | ':' | '!' | '?' | '(' | ')' | '—' | '–' | '…' | '"' | '“' | '”'
    )
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | '‘' | '`' | 'ʼ')
}

/// Raw lower-case tokens (letters, digits and inner apostrophes) paired with
/// a flag telling whether a clause boundary precedes them.
fn raw_tokens(text: &str) -> Vec<(String, bool)> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut boundary = true;
    let mut prev_kind = CharKind::Other;
    for c in text.chars() {
        let kind = CharKind::of(c);
        // "9am", "platform9": ASR glues digits to words; split them.
        let glued = matches!(
            (prev_kind, kind),
            (CharKind::Digit, CharKind::Letter) | (CharKind::Letter, CharKind::Digit)
        );
        if glued || kind == CharKind::Other {
            flush(&mut current, &mut boundary, &mut tokens);
        }
        match kind {
            CharKind::Letter | CharKind::Digit => current.extend(c.to_lowercase()),
            CharKind::Apostrophe if !current.is_empty() => current.push('\''),
            _ => {}
        }
        if is_clause_punct(c) {
            boundary = true;
        }
        prev_kind = kind;
    }
    flush(&mut current, &mut boundary, &mut tokens);
    tokens
}

fn flush(current: &mut String, boundary: &mut bool, tokens: &mut Vec<(String, bool)>) {
    let trimmed = current.trim_matches('\'');
    if !trimmed.is_empty() {
        tokens.push((trimmed.to_string(), *boundary));
        *boundary = false;
    }
    current.clear();
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CharKind {
    Letter,
    Digit,
    Apostrophe,
    Other,
}

impl CharKind {
    fn of(c: char) -> Self {
        if c.is_ascii_digit() {
            CharKind::Digit
        } else if c.is_alphabetic() {
            CharKind::Letter
        } else if is_apostrophe(c) {
            CharKind::Apostrophe
        } else {
            CharKind::Other
        }
    }
}

/// Whole-word contractions, with and without the apostrophe because Whisper
/// emits both ("can't", "cant"). Only forms that are not also ordinary
/// words are listed apostrophe-less ("well", "were" and "its" are left alone).
const CONTRACTIONS: &[(&str, &str)] = &[
    ("can't", "can not"),
    ("cant", "can not"),
    ("cannot", "can not"),
    ("won't", "will not"),
    ("wont", "will not"),
    ("shan't", "shall not"),
    ("ain't", "is not"),
    ("dont", "do not"),
    ("doesnt", "does not"),
    ("didnt", "did not"),
    ("isnt", "is not"),
    ("arent", "are not"),
    ("wasnt", "was not"),
    ("werent", "were not"),
    ("havent", "have not"),
    ("hasnt", "has not"),
    ("couldnt", "could not"),
    ("wouldnt", "would not"),
    ("shouldnt", "should not"),
    ("im", "i am"),
    ("ive", "i have"),
    ("youre", "you are"),
    ("theyre", "they are"),
    ("thats", "that is"),
    ("whats", "what is"),
    ("wheres", "where is"),
    ("theres", "there is"),
    ("hows", "how is"),
    ("whens", "when is"),
    ("gonna", "going to"),
    ("wanna", "want to"),
    ("gotta", "got to"),
    ("innit", "is it not"),
];

/// Suffix contractions applied when no whole-word entry matched.
const SUFFIXES: &[(&str, &str)] = &[
    ("n't", " not"),
    ("'m", " am"),
    ("'re", " are"),
    ("'ll", " will"),
    ("'ve", " have"),
    ("'d", " would"),
    // "'s" is "is", "has" or a possessive; all three carry no meaning for
    // matching, so "is" is used and stop-word removal drops it.
    ("'s", " is"),
];

fn push_expanded(raw: &str, clause_start: bool, out: &mut Vec<Word>) {
    let expanded = expand_contraction(raw);
    for (i, part) in expanded.split_whitespace().enumerate() {
        let text: String = part.chars().filter(|c| *c != '\'').collect();
        if !text.is_empty() {
            out.push(Word {
                text,
                clause_start: clause_start && i == 0,
            });
        }
    }
}

fn expand_contraction(raw: &str) -> String {
    if let Some((_, full)) = CONTRACTIONS.iter().find(|(short, _)| *short == raw) {
        return (*full).to_string();
    }
    for (suffix, full) in SUFFIXES {
        if let Some(stem) = raw.strip_suffix(suffix)
            && !stem.is_empty()
        {
            return format!("{stem}{full}");
        }
    }
    raw.to_string()
}

const UNITS: &[&str] = &[
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];

const TENS: &[&str] = &[
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

/// Rewrites spelled-out numbers as digits ("platform nine" → "platform 9",
/// "twenty one" → "21") so the two ASR spellings compare equal.
pub(crate) fn numbers_to_digits(words: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let word = words[i].as_str();
        if let Some(tens) = TENS.iter().position(|t| *t == word) {
            let mut value = (tens + 2) * 10;
            let unit = words
                .get(i + 1)
                .and_then(|next| UNITS[1..10].iter().position(|u| u == next));
            if let Some(unit) = unit {
                value += unit + 1;
                i += 1;
            }
            out.push(value.to_string());
        } else if let Some(unit) = UNITS.iter().position(|u| *u == word) {
            out.push(unit.to_string());
        } else {
            out.push(word.to_string());
        }
        i += 1;
    }
    out
}

/// True when the token is made of digits only.
pub(crate) fn is_number(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::stem::STOP_WORDS;
    use super::*;

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        let mut sorted = STOP_WORDS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, STOP_WORDS);
    }

    #[test]
    fn contractions_expand_with_and_without_apostrophes() {
        assert_eq!(
            word_texts("I can't breathe"),
            ["i", "can", "not", "breathe"]
        );
        assert_eq!(word_texts("i cant breathe"), ["i", "can", "not", "breathe"]);
        assert_eq!(
            word_texts("I cannot breathe"),
            ["i", "can", "not", "breathe"]
        );
        assert_eq!(
            word_texts("Where’s the loo?"),
            ["where", "is", "the", "loo"]
        );
        assert_eq!(word_texts("I don't"), ["i", "do", "not"]);
    }

    #[test]
    fn clause_boundaries_are_recorded() {
        let w = words("No emergency, just asking");
        assert!(w[0].clause_start);
        assert!(!w[1].clause_start);
        assert!(w[2].clause_start);
    }

    #[test]
    fn digits_split_from_words_and_numbers_normalised() {
        assert_eq!(
            word_texts("platform9 at 9am"),
            ["platform", "9", "at", "9", "am"]
        );
        let spelled: Vec<String> = word_texts("platform twenty one and nine");
        assert_eq!(numbers_to_digits(&spelled), ["platform", "21", "and", "9"]);
    }

    #[test]
    fn stems_meet() {
        assert_eq!(stem("toilets"), stem("toilet"));
        assert_eq!(stem("toilettes"), stem("toilet"));
        assert_eq!(stem("lifts"), "lift");
        assert_eq!(stem("booking"), stem("booked"));
        assert_eq!(stem("cancelled"), stem("cancel"));
        assert_eq!(stem("getting"), "get");
        assert_eq!(stem("closed"), stem("close"));
        assert_eq!(stem("buses"), stem("bus"));
    }

    #[test]
    fn fuzzy_similarity_separates_slips_from_other_words() {
        // 0.82 is the matcher's FUZZY_MIN.
        let slips = [
            ("propity", "property"),
            ("ambulence", "ambulance"),
            ("platfrom", "platform"),
            ("wifey", "wifi"),
            ("tiket", "ticket"),
        ];
        for (a, b) in slips {
            let s = fuzzy_similarity(&stem(a), &stem(b));
            assert!(s >= 0.82, "{a}/{b}: {s}");
        }
        let others = [
            ("cat", "car"),
            ("fish", "first"),
            ("paris", "parking"),
            ("wife", "wifi"),
            ("much", "machine"),
            ("football", "food"),
        ];
        for (a, b) in others {
            let s = fuzzy_similarity(&stem(a), &stem(b));
            assert!(s < 0.82, "{a}/{b}: {s}");
        }
    }
}
