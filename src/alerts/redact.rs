//! Masks personal data in what the customer said before it leaves the kiosk in an alert:
//! e-mail addresses (written or spoken), and phone, card or account numbers (as digits or as
//! spoken digit words).

use regex::Regex;
use std::sync::OnceLock;

const DIGIT_WORDS: &str =
    r"(?:zero|oh|o|one|two|three|four|five|six|seven|eight|nine|double|triple)";

struct Patterns {
    email: Regex,
    spoken_email: Regex,
    digits: Regex,
    spoken_digits: Regex,
}

fn patterns() -> Option<&'static Patterns> {
    static P: OnceLock<Option<Patterns>> = OnceLock::new();
    P.get_or_init(|| {
        Some(Patterns {
            email: Regex::new(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+").ok()?,
            spoken_email: Regex::new(
                r"(?i)\b[\w.]+(?:\s+dot\s+\w+)*\s+at\s+\w+(?:\s+dot\s+\w+)+\b",
            )
            .ok()?,
            // Seven or more digits, allowing the spaces, dashes, dots and brackets people and
            // recognisers put between groups.
            digits: Regex::new(r"\+?\d(?:[\s\-.()]*\d){6,}").ok()?,
            spoken_digits: Regex::new(&format!(
                r"(?i)\b{DIGIT_WORDS}(?:[\s,\-]+{DIGIT_WORDS}){{5,}}\b"
            ))
            .ok()?,
        })
    })
    .as_ref()
}

/// Returns `text` with e-mail addresses and long numbers replaced by `[email]` and `[number]`.
/// Should the patterns ever fail to build, everything is masked rather than leaked.
pub fn redact(text: &str) -> String {
    let Some(p) = patterns() else {
        return "[redacted]".to_string();
    };
    let t = p.email.replace_all(text, "[email]");
    let t = p.spoken_email.replace_all(&t, "[email]");
    let t = p.digits.replace_all(&t, "[number]");
    p.spoken_digits.replace_all(&t, "[number]").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_phone_card_and_email() {
        let cases = [
            (
                "call me on 07700 900123 please",
                "call me on [number] please",
            ),
            ("my card is 4111-1111-1111-1111", "my card is [number]"),
            ("+44 (0)20 7946 0958 is my number", "[number] is my number"),
            (
                "email jo.bloggs+rail@example.co.uk now",
                "email [email] now",
            ),
            ("it's jo dot bloggs at gmail dot com", "it's [email]"),
            (
                "oh seven seven double oh nine oh oh one two three",
                "[number]",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(redact(input), want, "{input}");
        }
    }

    #[test]
    fn keeps_ordinary_numbers_and_words() {
        for keep in [
            "platform 12 at 10:45",
            "the 5 past 7 train to London",
            "I need two tickets",
            "I'm at the station",
        ] {
            assert_eq!(redact(keep), keep);
        }
    }
}
