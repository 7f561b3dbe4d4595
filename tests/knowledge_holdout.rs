//! Held-out cases, written after the matcher constants were tuned on
//! `tests/knowledge_intents.rs` and not used for tuning. Their accuracy is the honest
//! estimate; the assertions only guard against regressions.

use attune::knowledge::KnowledgeBase;

fn kb() -> KnowledgeBase {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/knowledge.toml");
    match KnowledgeBase::load(path) {
        Ok(kb) => kb,
        Err(e) => panic!("{e}"),
    }
}

const IN_DOMAIN: &[(&str, &str)] = &[
    ("excuse me, where is the gents", "toilets"),
    ("are there toilets on this platform", "toilets"),
    ("i really need a wee", "toilets"),
    ("wheres the nearest lavatry", "toilets"),
    ("where can i get a railcard", "ticket_office"),
    ("the ticket machine won't take my card", "ticket_office"),
    ("i want to buy a ticket for tomorrow", "ticket_office"),
    ("where can i pick up my tickets", "ticket_office"),
    ("which platform is the train for manchester", "platforms"),
    ("how do i get over to platform three", "platforms"),
    (
        "what platform does the london train leave from",
        "platforms",
    ),
    ("is this the right platform for reading", "platforms"),
    ("is there a lift, i've got a pram", "step_free_access"),
    (
        "how do i get to platform 4 without using the stairs",
        "step_free_access",
    ),
    ("is there an escalator", "step_free_access"),
    ("the elevator is out of order", "step_free_access"),
    ("i've lost my phone", "lost_property"),
    ("has anyone found a purse", "lost_property"),
    (
        "i left my jacket on the train this morning",
        "lost_property",
    ),
    ("lost property office", "lost_property"),
    ("how do i log onto the wifi", "wifi"),
    ("is the wi fi free", "wifi"),
    ("what's the password for the internet", "wifi"),
    ("wifi not working", "wifi"),
    (
        "what time does the ticket office close today",
        "opening_hours",
    ),
    ("when do you open tomorrow", "opening_hours"),
    ("is the station open on christmas day", "opening_hours"),
    ("what are the ticket office hours", "opening_hours"),
    ("i need assistance boarding the train", "passenger_assist"),
    (
        "i'm visually impaired and need help to the platform",
        "passenger_assist",
    ),
    (
        "can someone help me with my bags onto the train",
        "passenger_assist",
    ),
    ("is there a taxi outside", "taxis_buses"),
    ("which bus goes to the town centre", "taxis_buses"),
    ("where do i catch the replacement bus", "taxis_buses"),
    ("is the next train delayed", "timetable"),
    ("what time's the next one to leeds", "timetable"),
    ("has the 5 o'clock been cancelled", "timetable"),
    ("can i get a refund on my ticket", "refunds"),
    ("i want compensation", "refunds"),
    ("how do i claim my money back", "refunds"),
    ("someone's fainted", "medical_help"),
    ("i think she's having a stroke", "medical_help"),
    ("my husband is not feeling well", "medical_help"),
    ("we need a first aider", "medical_help"),
    ("my little girl is missing", "lost_person"),
    ("i can't find my grandson", "lost_person"),
    ("i'm being followed", "personal_safety"),
    ("someone stole my phone", "personal_safety"),
    (
        "there's a suspicious bag on the platform",
        "personal_safety",
    ),
    ("is there a coffee shop", "food_and_drink"),
    ("where can i buy a snack", "food_and_drink"),
    ("is there anywhere to sit", "waiting_room"),
    ("where's the waiting area", "waiting_room"),
];

const OUT_OF_DOMAIN: &[&str] = &[
    "what's the time",
    "i like trains",
    "are you a robot",
    "where are you from",
    "what's the meaning of life",
    "can you recommend a good restaurant in town",
    "how tall is big ben",
    "play some music",
    "what day is it today",
    "i'm bored",
    "do you speak french",
    "what's two times three",
    "blue is my favourite colour",
    "the dog ate my homework",
    "have a nice day",
    "yes",
    "no thanks",
    "okay",
];

#[test]
fn holdout_report() {
    let kb = kb();
    let mut misses = Vec::new();
    let mut min_correct = f32::MAX;
    for (utterance, expected) in IN_DOMAIN {
        match kb.match_intent(utterance) {
            Some(m) if m.id == *expected => min_correct = min_correct.min(m.confidence),
            _ => misses.push(format!(
                "  {utterance:?} (expected {expected})\n    {}",
                kb.explain(utterance)
            )),
        }
    }
    let mut accepted = Vec::new();
    let mut max_ood = 0.0_f32;
    for utterance in OUT_OF_DOMAIN {
        if let Some(best) = kb.top_n(utterance, 1).first() {
            max_ood = max_ood.max(best.confidence);
        }
        if kb.match_intent(utterance).is_some() {
            accepted.push(format!("  {utterance:?}\n    {}", kb.explain(utterance)));
        }
    }
    let correct = IN_DOMAIN.len() - misses.len();
    let rejected = OUT_OF_DOMAIN.len() - accepted.len();
    println!(
        "holdout in-domain: {correct}/{} ({:.1} %), min correct confidence {min_correct:.3}",
        IN_DOMAIN.len(),
        100.0 * correct as f32 / IN_DOMAIN.len() as f32
    );
    println!(
        "holdout out-of-domain: {rejected}/{} rejected ({:.1} %), max confidence {max_ood:.3}",
        OUT_OF_DOMAIN.len(),
        100.0 * rejected as f32 / OUT_OF_DOMAIN.len() as f32
    );
    println!(
        "misses:\n{}\nfalse accepts:\n{}",
        misses.join("\n"),
        accepted.join("\n")
    );
    assert!(
        correct * 100 >= IN_DOMAIN.len() * 80,
        "in-domain accuracy regressed"
    );
    assert!(
        rejected * 100 >= OUT_OF_DOMAIN.len() * 90,
        "out-of-domain rejection regressed"
    );
}
