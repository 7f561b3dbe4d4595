//! Masks personal data in what the customer said before it leaves the kiosk in an alert:
//! e-mail addresses (written, spoken or mixed) and phone, card or account numbers, however the
//! recogniser writes them: digits with any separators ("4111, 1111, 1111, 1111",
//! "07700/900/123"), digit words ("oh seven seven double oh"), the two mixed
//! ("oh seven seven oh oh 900123"), IBANs, and a number split across the last turns.
//!
//! A number is a run of number tokens (digit groups, digit and number words) with nothing but
//! separators between them; it is masked when it holds seven or more digits. Clock times
//! ("10:45", "11.15") are not number tokens, so a list of times survives.

use regex::Regex;
use std::sync::OnceLock;

/// What replaces a masked number.
const NUMBER: &str = "[number]";
/// What replaces a masked e-mail address.
const EMAIL: &str = "[email]";
/// Digits from which a run counts as a phone, card or account number.
const MIN_DIGITS: usize = 7;
/// Joins the turns of [`redact_turns`]: a separator, so a number may run across it.
const TURN_JOIN: char = '\u{1f}';

/// Top-level domains a spoken address may end in.
const TLDS: &str =
    "com|org|net|uk|co|io|edu|gov|ac|de|fr|ie|es|it|nl|eu|info|me|biz|us|ca|au|in|ch|at|be";

struct Patterns {
    email: Regex,
    spoken_email: Regex,
    iban: Regex,
    token: Regex,
}

fn patterns() -> Option<&'static Patterns> {
    static P: OnceLock<Option<Patterns>> = OnceLock::new();
    P.get_or_init(|| {
        let joiner = r"(?:\s*(?:\.|_|-|\bdot\b|\bunderscore\b|\bdash\b|\bhyphen\b)\s*)";
        let local = format!(r"(?:\b(?:[a-z]\s+){{1,}}[a-z]\b|\b[a-z0-9]+(?:{joiner}[a-z0-9]+)*)");
        // Spoken addresses end in a common top-level domain, so "at St. Pancras" stays.
        let domain = format!(
            r"[a-z0-9-]+(?:(?:\s*\.\s*|\s+dot\s+)[a-z0-9-]+)*(?:\s*\.\s*|\s+dot\s+)(?:{TLDS})\b"
        );
        Some(Patterns {
            email: Regex::new(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+").ok()?,
            spoken_email: Regex::new(&format!(
                r"(?i){local}\s*(?:\bat\s+sign\b|\bat\b|@)\s*{domain}"
            ))
            .ok()?,
            iban: Regex::new(
                r"(?i)\b[a-z]{2}\d{2}(?:[ \-]?[a-z0-9]{4}){2,7}(?:[ \-]?[a-z0-9]{1,3})?\b",
            )
            .ok()?,
            token: Regex::new(r"[\p{L}\p{N}]+").ok()?,
        })
    })
    .as_ref()
}

/// Returns `text` with e-mail addresses and long numbers replaced by `[email]` and `[number]`.
/// Should the patterns ever fail to build, everything is masked rather than leaked.
pub fn redact(text: &str) -> String {
    redact_turns(&[text.to_string()]).pop().unwrap_or_default()
}

/// Redacts consecutive turns together, so a number the customer spread over two turns is
/// masked in both.
pub fn redact_turns(turns: &[String]) -> Vec<String> {
    let Some(p) = patterns() else {
        return vec!["[redacted]".to_string(); turns.len()];
    };
    let joined: String = turns
        .iter()
        .map(|t| t.replace(TURN_JOIN, " "))
        .collect::<Vec<_>>()
        .join(&format!(" {TURN_JOIN} "));
    let mut spans = Vec::new();
    for m in p
        .email
        .find_iter(&joined)
        .chain(p.spoken_email.find_iter(&joined))
    {
        spans.push((m.start(), m.end(), EMAIL));
    }
    for m in p.iban.find_iter(&joined) {
        if m.as_str().chars().filter(char::is_ascii_digit).count() >= 10 {
            spans.push((m.start(), m.end(), NUMBER));
        }
    }
    let tokens: Vec<Token> = p
        .token
        .find_iter(&joined)
        .map(|m| Token::new(m.start(), m.end(), m.as_str()))
        .collect();
    spans.extend(
        number_spans(&joined, &tokens)
            .into_iter()
            .map(|(s, e)| (s, e, NUMBER)),
    );
    apply(&joined, merge(spans))
        .split(&format!(" {TURN_JOIN} "))
        .map(|t| t.replace(TURN_JOIN, "").trim().to_string())
        .collect()
}

/// What a token contributes to a number.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// Not part of a number.
    Word,
    /// Digits (or a word standing for that many digits).
    Digits(usize),
    /// "dash", "slash": may sit between number tokens.
    Joiner,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    start: usize,
    end: usize,
    kind: Kind,
    /// A single letter (spelled-out letters may precede an account number).
    letter: bool,
}

impl Token {
    fn new(start: usize, end: usize, text: &str) -> Self {
        let lower = text.to_lowercase();
        let digits = text.chars().filter(char::is_ascii_digit).count();
        let kind = if digits > 0 {
            Kind::Digits(digits)
        } else if let Some(n) = number_word(&lower) {
            Kind::Digits(n)
        } else if matches!(lower.as_str(), "dash" | "hyphen" | "slash") {
            Kind::Joiner
        } else {
            Kind::Word
        };
        let letter = text.chars().count() == 1 && text.chars().all(char::is_alphabetic);
        Self {
            start,
            end,
            kind,
            letter,
        }
    }
}

/// How many digits a number word stands for.
fn number_word(w: &str) -> Option<usize> {
    Some(match w {
        "zero" | "oh" | "o" | "nil" | "nought" | "one" | "two" | "three" | "four" | "five"
        | "six" | "seven" | "eight" | "nine" => 1,
        // "double seven" is two digits: the word adds one, the digit the other.
        "double" => 1,
        "triple" => 2,
        "ten" | "eleven" | "twelve" | "thirteen" | "fourteen" | "fifteen" | "sixteen"
        | "seventeen" | "eighteen" | "nineteen" | "twenty" | "thirty" | "forty" | "fifty"
        | "sixty" | "seventy" | "eighty" | "ninety" => 2,
        "hundred" => 2,
        "thousand" => 3,
        _ => return None,
    })
}

/// Between two number tokens only separators may stand.
fn separator_gap(gap: &str) -> bool {
    gap.chars()
        .all(|c| c.is_whitespace() || ",/:.-()+".contains(c) || c == TURN_JOIN)
}

/// "10:45" or "11.15" (hours up to 23, two-digit minutes): a clock time, not a number.
fn clock_time(text: &str, a: &Token, b: &Token) -> bool {
    let gap = &text[a.end..b.start];
    let (h, m) = (&text[a.start..a.end], &text[b.start..b.end]);
    (gap == ":" || gap == ".")
        && h.len() <= 2
        && m.len() == 2
        && h.parse::<u32>().is_ok_and(|h| h <= 23)
        && m.parse::<u32>().is_ok_and(|m| m <= 59)
}

/// Byte spans of runs of number tokens holding at least [`MIN_DIGITS`] digits.
fn number_spans(text: &str, tokens: &[Token]) -> Vec<(usize, usize)> {
    let mut kinds: Vec<Kind> = tokens.iter().map(|t| t.kind).collect();
    // A digit group glued to its neighbour by ":", ".", "-" or "/" belongs to one number.
    let glued = |i: usize| {
        i + 1 < tokens.len()
            && matches!(tokens[i].kind, Kind::Digits(_))
            && matches!(tokens[i + 1].kind, Kind::Digits(_))
            && matches!(
                &text[tokens[i].end..tokens[i + 1].start],
                ":" | "." | "-" | "/"
            )
    };
    for i in 0..tokens.len().saturating_sub(1) {
        let part_of_longer = (i > 0 && glued(i - 1)) || glued(i + 1);
        if !part_of_longer && clock_time(text, &tokens[i], &tokens[i + 1]) {
            kinds[i] = Kind::Word;
            kinds[i + 1] = Kind::Word;
        }
    }
    let mut spans = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if !matches!(kinds[i], Kind::Digits(_)) {
            i += 1;
            continue;
        }
        let (first, mut last, mut digits) = (i, i, 0);
        let mut j = i;
        while j < tokens.len() {
            match kinds[j] {
                Kind::Digits(n) => {
                    digits += n;
                    last = j;
                }
                Kind::Joiner => {}
                Kind::Word => break,
            }
            let next_ok =
                j + 1 < tokens.len() && separator_gap(&text[tokens[j].end..tokens[j + 1].start]);
            if !next_ok {
                break;
            }
            j += 1;
        }
        if digits >= MIN_DIGITS {
            let start = spelled_prefix(text, tokens, first);
            let mut from = tokens[start].start;
            // "+44 …", "(020) …": the sign or bracket goes with the number.
            while from > 0 && matches!(text.as_bytes()[from - 1], b'+' | b'(') {
                from -= 1;
            }
            spans.push((from, tokens[last].end));
        }
        i = last + 1;
    }
    spans
}

/// Extends a number back over spelled letters just before it ("G B 82 …").
fn spelled_prefix(text: &str, tokens: &[Token], first: usize) -> usize {
    let mut start = first;
    while start > 0
        && tokens[start - 1].letter
        && separator_gap(&text[tokens[start - 1].end..tokens[start].start])
    {
        start -= 1;
    }
    if first - start >= 2 { start } else { first }
}

/// Sorts and merges overlapping spans; an e-mail wins over a number inside it.
fn merge(mut spans: Vec<(usize, usize, &'static str)>) -> Vec<(usize, usize, &'static str)> {
    spans.sort_by_key(|s| (s.0, std::cmp::Reverse(s.1)));
    let mut out: Vec<(usize, usize, &'static str)> = Vec::new();
    for s in spans {
        match out.last_mut() {
            Some(last) if s.0 < last.1 => {
                last.1 = last.1.max(s.1);
                if s.2 == EMAIL {
                    last.2 = EMAIL;
                }
            }
            _ => out.push(s),
        }
    }
    out
}

/// Replaces each span, keeping turn boundaries inside a span so the turns can be split again.
fn apply(text: &str, spans: Vec<(usize, usize, &'static str)>) -> String {
    let join = format!(" {TURN_JOIN} ");
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end, label) in spans {
        out.push_str(&text[at..start]);
        let inner = &text[start..end];
        let parts = inner.split(&join).count();
        out.push_str(&vec![label; parts].join(&join));
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests;
