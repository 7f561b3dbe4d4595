//! Text cue and dialogue cue behaviour with the default phrase lists.

use attune::knowledge::KnowledgeBase;
use attune::stress::cues::{CuePhrases, DialogueCues, analyse};

fn cues(text: &str) -> attune::stress::cues::TextCues {
    analyse(text, &CuePhrases::default())
}

#[test]
fn safety_phrases_are_heard() {
    let cases = [
        ("help me!", "help me"),
        ("please, somebody help me", "help me"),
        ("somebody help, quick", "somebody help"),
        ("it's an emergency", "emergency"),
        ("call an ambulance", "ambulance"),
        ("somebody call an ambulence", "ambulance"),
        ("there's a fire in the toilets", "fire"),
        ("I need the police", "police"),
        ("I can't breathe", "can't breathe"),
        ("i cant breathe", "can't breathe"),
        ("I cannot breathe", "can't breathe"),
        ("I can not breathe", "can't breathe"),
        ("he's got chest pain", "chest pain"),
        ("I've lost my child", "lost my child"),
        ("I think he's having a heart attack", "heart attack"),
        ("a woman has collapsed on platform 2", "collapsed"),
        ("she's bleeding", "bleeding"),
        ("someone is following me", "following me"),
        ("this is an emergancy", "emergency"),
        ("no, I'm not joking, call an ambulance", "ambulance"),
        (
            "I can't find my daughter anywhere",
            "can't find my daughter",
        ),
        ("um, help me, please", "help me"),
        ("my child is lost", "child is lost"),
    ];
    for (text, phrase) in cases {
        let c = cues(text);
        assert_eq!(c.safety.as_deref(), Some(phrase), "{text:?}: {c:?}");
        assert_eq!(c.score, 1.0, "{text:?}");
    }
}

#[test]
fn negated_or_routine_safety_words_do_not_trigger() {
    let negated = [
        "no emergency, just asking",
        "it's not on fire",
        "it's not an emergency",
        "I don't need an ambulance",
        "there is no fire",
    ];
    for text in negated {
        let c = cues(text);
        assert_eq!(c.safety, None, "{text:?}: {c:?}");
        assert!(c.negated, "{text:?}: {c:?}");
        assert!(c.score < 0.5, "{text:?}: {c:?}");
    }
    let routine = [
        "can you help me find the lift",
        "can you help me?",
        "could you please help me",
        "hi, I was hoping you could help me with my luggage",
        "where is the fire exit",
        "where's the police station",
        "I need help with my tickets",
    ];
    for text in routine {
        let c = cues(text);
        assert_eq!(c.safety, None, "{text:?}: {c:?}");
    }
}

#[test]
fn requests_for_a_person_are_heard() {
    let cases = [
        ("can I speak to someone", "speak to someone"),
        ("I want to speak to a person", "speak to a person"),
        ("just get me a human", "a human"),
        ("is there a real person I can talk to", "a real person"),
        ("I want a manager", "a manager"),
        ("can I talk to a member of staff", "member of staff"),
        ("I need someone who works here", "someone who works here"),
        ("can I please speak to somebody", "speak to somebody"),
    ];
    for (text, phrase) in cases {
        let c = cues(text);
        assert_eq!(
            c.asked_for_person.as_deref(),
            Some(phrase),
            "{text:?}: {c:?}"
        );
        assert_eq!(c.safety, None, "{text:?}");
    }
    for text in [
        "I don't need a manager",
        "I don't want to speak to a person",
    ] {
        let c = cues(text);
        assert_eq!(c.asked_for_person, None, "{text:?}: {c:?}");
        assert!(c.negated, "{text:?}");
    }
}

#[test]
fn frustration_is_heard_and_negation_respected() {
    let c = cues("This is ridiculous, I already told you twice. Useless machine!");
    assert!(c.frustration.contains(&"ridiculous".to_string()), "{c:?}");
    assert!(
        c.frustration.contains(&"i already told you".to_string()),
        "{c:?}"
    );
    assert!(c.frustration.contains(&"useless".to_string()), "{c:?}");
    assert!(c.sentiment < 0.0 && c.score > 0.6, "{c:?}");

    for text in ["I'm not upset", "I'm not angry, just confused"] {
        let c = cues(text);
        assert!(c.frustration.is_empty(), "{text:?}: {c:?}");
        assert!(c.negated, "{text:?}");
    }
    let nobody = cues("no one is helping me");
    assert_eq!(nobody.frustration, ["no one is helping"], "{nobody:?}");
    assert_eq!(nobody.safety, None, "frustration, not an emergency");
    let fed_up = cues("I'm so fed up with these delays");
    assert_eq!(fed_up.frustration, ["fed up"]);
}

#[test]
fn sentiment_and_score_are_bounded() {
    let positive = cues("thank you so much, that's really helpful");
    assert!(
        positive.sentiment > 0.3 && positive.score == 0.0,
        "{positive:?}"
    );
    let neutral = cues("where are the toilets");
    assert!(neutral.score < 0.1, "{neutral:?}");
    for text in ["", "!!!", "😀 😡", "café ñandú", "?", "a", "I", "HELP"] {
        let c = cues(text);
        assert!((-1.0..=1.0).contains(&c.sentiment), "{text:?}");
        assert!((0.0..=1.0).contains(&c.score), "{text:?}");
    }
}

#[test]
fn phrase_lists_come_from_config() {
    let config: CuePhrases = match toml::from_str("safety = [\"code red\"]\n") {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(config.safety, ["code red"]);
    assert_eq!(config.negators, CuePhrases::default().negators);
    assert_eq!(
        analyse("we have a code red", &config).safety.as_deref(),
        Some("code red")
    );
    assert_eq!(analyse("call an ambulance", &config).safety, None);
    let text = attune::config::EXAMPLE
        .replace("[stress.phrases]\n", "[stress.phrases]\nsaftey = [\"x\"]\n");
    let err = attune::config::Config::parse(&text, "t.toml", std::path::Path::new("."))
        .expect_err("a misspelt list must be reported");
    assert!(err.to_string().contains("`stress.phrases.saftey`"), "{err}");
}

#[test]
fn repeated_requests_are_noticed() {
    let history = ["where is the toilet"];
    let again = DialogueCues::assess(&history, "I said, where is the toilet?");
    assert!(again.repeated_request && again.repeats == 1, "{again:?}");
    let rephrased = DialogueCues::assess(&history, "I need the toilet please");
    assert!(rephrased.repeated_request, "{rephrased:?}");
    let misheard = DialogueCues::assess(&history, "wear is the toilets");
    assert!(misheard.repeated_request, "{misheard:?}");
    let different = DialogueCues::assess(&history, "where is the lift");
    assert!(!different.repeated_request, "{different:?}");
    let none: [&str; 0] = [];
    assert!(!DialogueCues::assess(&none, "where is the toilet").repeated_request);
    assert!(!DialogueCues::assess(&history, "").repeated_request);

    let third = DialogueCues::assess(
        &[
            "which platform for london",
            "what platform is the london train",
            "hello",
        ],
        "which platform is the london train on",
    );
    assert_eq!(third.repeats, 2, "{third:?}");
}

#[test]
fn repeated_requests_use_knowledge_base_synonyms() {
    let kb = match KnowledgeBase::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/systemd/knowledge.toml"
    )) {
        Ok(kb) => kb,
        Err(e) => panic!("{e}"),
    };
    let history = ["where's the loo"];
    let plain = DialogueCues::assess(&history, "I need a bathroom");
    assert!(
        !plain.repeated_request,
        "plain normalisation has no synonyms"
    );
    let with_kb = DialogueCues::assess_with(&history, "I need a bathroom", |s| kb.content_terms(s));
    assert!(with_kb.repeated_request, "{with_kb:?}");
}
