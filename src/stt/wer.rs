//! Word error rate, with the normalisation used for the checks: case and punctuation ignored,
//! digits read out as words ("653" → "six five three"), as the reference transcripts do, and
//! "a.m."/"p.m." written as "am"/"pm" (whisper writes "6 a.m." for a reply's "6am").

const DIGITS: [&str; 10] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];

/// Lower-case words without punctuation; digits spelled out one by one.
pub fn normalise(text: &str) -> Vec<String> {
    let text = text
        .to_lowercase()
        .replace("a.m.", "am")
        .replace("p.m.", "pm");
    let mut spaced = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if let Some(d) = c.to_digit(10) {
            spaced.push(' ');
            spaced.push_str(DIGITS[d as usize]);
            spaced.push(' ');
        } else if c.is_alphanumeric() || c == '\'' {
            spaced.extend(c.to_lowercase());
        } else {
            spaced.push(' ');
        }
    }
    spaced
        .split_whitespace()
        .map(|w| w.trim_matches('\'').to_string())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Word-level edit distance between a reference and a hypothesis (after [`normalise`]).
pub fn word_errors(reference: &str, hypothesis: &str) -> (usize, usize) {
    let r = normalise(reference);
    let h = normalise(hypothesis);
    let mut prev: Vec<usize> = (0..=h.len()).collect();
    for (i, rw) in r.iter().enumerate() {
        let mut cur = vec![i + 1; h.len() + 1];
        for (j, hw) in h.iter().enumerate() {
            let sub = prev[j] + usize::from(rw != hw);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    (prev[h.len()], r.len())
}

/// Corpus word error rate over (reference, hypothesis) pairs, in percent.
pub fn wer_percent<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> f64 {
    let (mut errors, mut words) = (0, 0);
    for (r, h) in pairs {
        let (e, n) = word_errors(r, h);
        errors += e;
        words += n;
    }
    if words == 0 {
        0.0
    } else {
        100.0 * errors as f64 / words as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_punctuation_and_digits() {
        assert_eq!(
            normalise("Let's go, 653!"),
            vec!["let's", "go", "six", "five", "three"]
        );
        assert_eq!(word_errors("SIX FIVE THREE", "6, 5, 3."), (0, 3));
        assert_eq!(
            word_errors("open 6am to 8pm", "open 6 a.m. to 8 P.M."),
            (0, 6)
        );
    }

    #[test]
    fn counts_substitutions_insertions_deletions() {
        assert_eq!(word_errors("we call it bear", "we call it a bear"), (1, 4));
        assert_eq!(word_errors("we call it bear", "we call bear"), (1, 4));
        assert_eq!(word_errors("we call it bear", "we fall it bear"), (1, 4));
        assert!((wer_percent([("a b", "a c"), ("c d", "c d")]) - 25.0).abs() < 1e-9);
    }
}
