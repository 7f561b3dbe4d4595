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
fn masks_what_the_recogniser_writes() {
    let cases = [
        ("4111, 1111, 1111, 1111", "[number]"),
        ("for 111, 111, 111, 111, 111", "for [number]"),
        ("oh seven seven oh oh 900123", "[number]"),
        ("It's 07700/900/123.", "It's [number]."),
        ("my account is 12-34-56 31926819", "my account is [number]"),
        ("ring (020) 7946 0958", "ring [number]"),
        ("4111.1111.1111.1111", "[number]"),
        (
            "card 4111 1111 1111 1111, expiry 12/27",
            "card [number], expiry 12/27",
        ),
        (
            "number seven seven zero zero nine hundred one two three",
            "number [number]",
        ),
        ("jo at gmail dot com", "[email]"),
        (
            "my email is jo at gmail.com thanks",
            "my email is [email] thanks",
        ),
        ("Jo underscore Smith at outlook dot co dot uk.", "[email]."),
        ("j o e at gmail dot com", "[email]"),
        ("IBAN GB82 WEST 1234 5698 7654 32", "IBAN [number]"),
        ("gb82west12345698765432", "[number]"),
        (
            "G B eight two, one two three four five six seven eight",
            "[number]",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(redact(input), want, "{input}");
    }
}

#[test]
fn keeps_ordinary_numbers_times_and_places() {
    for keep in [
        "platform 12 at 10:45",
        "the 5 past 7 train to London",
        "trains at 10:45, 11:15, 11:45 and 12:15",
        "I need two tickets",
        "I'm at the station",
        "I'm at St. Pancras, where is platform 9",
        "it costs 12.50 or 15.75",
        "the 19:04 to Leeds, coach C, seat 42",
        "in 2024 and 2025",
        "Oh no, oh dear",
    ] {
        assert_eq!(redact(keep), keep);
    }
}

#[test]
fn a_number_split_across_turns_is_masked_in_both() {
    let turns = [
        "My phone number is 0770".to_string(),
        "0900 123, can you call me".to_string(),
        "where are the toilets".to_string(),
    ];
    assert_eq!(
        redact_turns(&turns),
        [
            "My phone number is [number]",
            "[number], can you call me",
            "where are the toilets"
        ]
    );
    let spoken = [
        "it's oh seven seven".to_string(),
        "oh oh nine one".to_string(),
    ];
    assert_eq!(redact_turns(&spoken), ["it's [number]", "[number]"]);
    let apart = ["platform 4".to_string(), "at 10:45".to_string()];
    assert_eq!(redact_turns(&apart), ["platform 4", "at 10:45"]);
}

/// A small deterministic generator (xorshift), so the property test is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const WORDS: [&str; 10] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];

/// One way of saying or writing `digits`, in groups, as the recogniser might return it.
fn render(rng: &mut Rng, digits: &[u8]) -> String {
    let mut groups: Vec<&[u8]> = Vec::new();
    let mut rest = digits;
    while !rest.is_empty() {
        let n = (1 + rng.below(5)).min(rest.len());
        groups.push(&rest[..n]);
        rest = &rest[n..];
    }
    let style = rng.below(3); // 0 digits, 1 words, 2 mixed
    let sep = rng.pick(&[" ", ", ", "-", "/", ".", " - ", ": ", " dash "]);
    let said: Vec<String> = groups
        .iter()
        .map(|g| {
            let words = style == 1 || (style == 2 && rng.below(2) == 0);
            if !words {
                return g.iter().map(|d| char::from(b'0' + d)).collect();
            }
            let mut out = Vec::new();
            let mut i = 0;
            while i < g.len() {
                let d = g[i] as usize;
                let word = if d == 0 {
                    rng.pick(&["zero", "oh"])
                } else {
                    WORDS[d]
                };
                if i + 1 < g.len() && g[i + 1] as usize == d && rng.below(2) == 0 {
                    out.push(format!("double {word}"));
                    i += 2;
                } else {
                    out.push(word.to_string());
                    i += 1;
                }
            }
            out.join(" ")
        })
        .collect();
    said.join(sep)
}

fn leaks(text: &str) -> bool {
    text.chars().any(|c| c.is_ascii_digit())
        || text
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| WORDS.contains(&w.to_lowercase().as_str()) || w.eq_ignore_ascii_case("oh"))
}

#[test]
fn property_no_generated_number_survives() {
    let templates = [
        "my card number is {} thanks",
        "{} is my phone",
        "call me back on {} please",
        "the account is {}",
    ];
    let mut rng = Rng(0x5eed_1234_abcd_0042);
    for case in 0..3000 {
        let len = 7 + rng.below(13);
        let digits: Vec<u8> = (0..len).map(|_| rng.below(10) as u8).collect();
        let said = render(&mut rng, &digits);
        let template = templates[rng.below(templates.len())];
        let text = template.replace("{}", &said);
        let split = rng.below(3) == 0;
        let turns: Vec<String> = if split {
            // The customer pauses at a separator: the recogniser returns two turns.
            match said.rfind([' ', ',', '-', '/']) {
                Some(at) if at > 0 && at + 1 < said.len() => {
                    let (a, b) = said.split_at(at);
                    vec![format!("my number is {a}"), format!("{} please", &b[1..])]
                }
                _ => vec![text.clone()],
            }
        } else {
            vec![text.clone()]
        };
        let out = redact_turns(&turns);
        for (t, o) in turns.iter().zip(&out) {
            assert!(!leaks(o), "case {case}: {t:?} -> {o:?}");
        }
        if !split {
            let kept: Vec<&str> = template.split("{}").map(str::trim).collect();
            for k in kept.iter().filter(|k| !k.is_empty()) {
                assert!(out[0].contains(k), "case {case}: {text:?} -> {:?}", out[0]);
            }
        }
    }
}

#[test]
fn property_short_numbers_and_times_survive() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for case in 0..1000 {
        let h = rng.below(24);
        let m = rng.below(60);
        let platform = 1 + rng.below(20);
        let text = format!(
            "the {h:02}:{m:02} from platform {platform}, {} tickets",
            1 + rng.below(6)
        );
        assert_eq!(redact(&text), text, "case {case}");
    }
}
