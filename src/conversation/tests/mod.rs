//! Unit tests of the conversation core: every transition and every escalation reason.

use super::*;
use std::time::Duration;

mod customers;
mod escalation;

fn secs(s: u64) -> Now {
    Duration::from_secs(s)
}

fn conv() -> Conversation {
    Conversation::new(
        Policy {
            min_answer_confidence: 0.4,
            ..Policy::default()
        },
        Phrases::default(),
        "k1-boot",
    )
}

fn stress(score: f32, level: StressLevel) -> StressReading {
    StressReading {
        score,
        level,
        reasons: vec!["raised, tense voice".into()],
    }
}

fn answer(intent: &str, text: &str) -> Answer {
    Answer {
        intent: intent.into(),
        confidence: 0.8,
        text: text.into(),
        follow_up: None,
        staff_only: false,
        safety: false,
    }
}

fn turn(text: &str) -> Turn {
    Turn {
        transcript: text.into(),
        stress: StressReading::calm(),
        safety_phrase: None,
        asked_for_person: None,
        repeated_request: false,
        answer: None,
    }
}

fn toilets() -> Turn {
    Turn {
        answer: Some(answer("toilets", "The toilets are next to platform 1.")),
        ..turn("where are the toilets")
    }
}

fn heard(c: Conversation, t: Turn, now: Now) -> (Conversation, Vec<Action>) {
    let (c, _) = c.step(&Event::SpeechStarted, now);
    let (c, _) = c.step(&Event::SpeechEnded, now);
    c.step(&Event::Heard(Box::new(t)), now)
}

fn said(actions: &[Action]) -> Vec<&Say> {
    actions
        .iter()
        .filter_map(|a| {
            if let Action::Say(s) = a {
                Some(s)
            } else {
                None
            }
        })
        .collect()
}

fn text(actions: &[Action]) -> String {
    said(actions)
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" | ")
}

fn alerts(actions: &[Action]) -> Vec<&AlertRequest> {
    actions
        .iter()
        .filter_map(|a| {
            if let Action::RaiseAlert(r) = a {
                Some(r)
            } else {
                None
            }
        })
        .collect()
}

/// Plays out whatever the kiosk is saying.
fn played(c: Conversation, now: Now) -> Conversation {
    c.step(&Event::PlaybackFinished, now).0
}

#[test]
fn approach_greets_with_the_disclosure() {
    let (c, a) = conv().step(&Event::Approached, secs(0));
    let t = text(&a);
    assert!(t.contains("automated"), "{t}");
    assert!(t.contains("member of staff"), "{t}");
    assert_eq!(c.phase(), Phase::Speaking);
    let (c, a) = c.step(&Event::Approached, secs(1));
    assert!(a.is_empty(), "no second greeting while busy");
    assert_eq!(played(c, secs(2)).phase(), Phase::Listening);
}

#[test]
fn first_turn_is_greeted_once_then_answered_directly() {
    let (c, a) = heard(conv(), toilets(), secs(1));
    let t = text(&a);
    assert!(t.starts_with("Hello, I'm the automated help point."), "{t}");
    assert!(t.ends_with("The toilets are next to platform 1."), "{t}");
    assert_eq!(said(&a)[0].pace, Pace::Normal);
    let c = played(c, secs(3));
    let (_, a) = heard(c, toilets(), secs(5));
    assert_eq!(text(&a), "The toilets are next to platform 1.");
}

#[test]
fn phases_follow_speech_thinking_speaking_listening() {
    let c = conv();
    assert_eq!(c.phase(), Phase::Idle);
    let (c, _) = c.step(&Event::SpeechStarted, secs(0));
    assert_eq!(c.phase(), Phase::Listening);
    let (c, _) = c.step(&Event::SpeechEnded, secs(1));
    assert_eq!(c.phase(), Phase::Thinking);
    let (c, _) = c.step(&Event::Heard(Box::new(toilets())), secs(1));
    assert_eq!(c.phase(), Phase::Speaking);
    assert_eq!(played(c, secs(2)).phase(), Phase::Listening);
}

#[test]
fn noise_goes_back_to_listening_without_a_word() {
    let (c, _) = conv().step(&Event::SpeechStarted, secs(0));
    let (c, _) = c.step(&Event::SpeechEnded, secs(1));
    let (c, a) = c.step(&Event::NotHeard, secs(1));
    assert!(a.is_empty());
    assert_eq!(c.phase(), Phase::Listening);
}

#[test]
fn barge_in_stops_playback() {
    let (c, _) = heard(conv(), toilets(), secs(1));
    assert_eq!(c.phase(), Phase::Speaking);
    let (c, a) = c.step(&Event::SpeechStarted, secs(2));
    assert_eq!(a, vec![Action::StopSpeaking]);
    assert_eq!(c.phase(), Phase::Listening);
    // A late "playback finished" for the cut reply changes nothing.
    assert_eq!(played(c, secs(2)).phase(), Phase::Listening);
}

#[test]
fn tense_customer_is_acknowledged_before_the_answer() {
    let c = played(heard(conv(), toilets(), secs(0)).0, secs(1));
    let t = Turn {
        stress: stress(0.45, StressLevel::Tense),
        ..toilets()
    };
    let (_, a) = heard(c, t, secs(2));
    let s = text(&a);
    assert!(s.starts_with("I can see this has been frustrating."), "{s}");
    assert!(s.ends_with("next to platform 1."), "{s}");
    assert!(alerts(&a).is_empty());
}

#[test]
fn empathy_lines_never_repeat_back_to_back() {
    let mut c = played(heard(conv(), toilets(), secs(0)).0, secs(1));
    let mut last = String::new();
    for i in 0..6 {
        let t = Turn {
            stress: stress(0.45, StressLevel::Tense),
            ..toilets()
        };
        let (next, a) = heard(c, t, secs(2 + i));
        let first = text(&a).split(". ").next().unwrap_or_default().to_string();
        assert_ne!(first, last, "same empathy line twice in a row");
        last = first;
        c = played(next, secs(2 + i));
    }
}

#[test]
fn one_distressed_turn_is_not_enough_two_in_a_row_call_staff() {
    let t = || Turn {
        stress: stress(0.7, StressLevel::Distressed),
        ..toilets()
    };
    let (c, a) = heard(conv(), t(), secs(0));
    assert!(
        alerts(&a).is_empty(),
        "hysteresis: one distressed turn alone does not alert"
    );
    assert_eq!(said(&a)[0].pace, Pace::Slow);
    let (c, a) = heard(played(c, secs(1)), t(), secs(5));
    let raised = alerts(&a);
    assert_eq!(raised.len(), 1);
    assert_eq!(raised[0].reason, Reason::Distress);
    assert_eq!(raised[0].alert_id, "k1-boot-1");
    let s = text(&a);
    assert!(
        s.contains("I'm asking a member of staff to come and help you."),
        "{s}"
    );
    assert!(s.contains("stay with you"), "{s}");
    assert_eq!(said(&a)[0].pace, Pace::Slow);
    assert!(
        matches!(a[0], Action::RaiseAlert(_)),
        "alert committed before the customer is told"
    );
    assert_eq!(played(c, secs(9)).phase(), Phase::WaitingForStaff);
}

#[test]
fn a_calm_turn_in_between_resets_the_distress_run() {
    let d = || Turn {
        stress: stress(0.7, StressLevel::Distressed),
        ..toilets()
    };
    let (c, _) = heard(conv(), d(), secs(0));
    let (c, _) = heard(played(c, secs(1)), toilets(), secs(2));
    let (_, a) = heard(played(c, secs(3)), d(), secs(4));
    assert!(alerts(&a).is_empty());
}

#[test]
fn one_very_high_turn_calls_staff_at_once() {
    let t = Turn {
        stress: stress(0.95, StressLevel::Distressed),
        ..turn("this is absolutely ridiculous")
    };
    let (_, a) = heard(conv(), t, secs(0));
    assert_eq!(alerts(&a)[0].reason, Reason::Distress);
}

#[test]
fn safety_phrase_alerts_at_once_with_the_emergency_hint() {
    let t = Turn {
        safety_phrase: Some("chest pain".into()),
        ..turn("my husband has chest pain")
    };
    let (_, a) = heard(conv(), t, secs(0));
    let r = alerts(&a);
    assert_eq!(r[0].reason, Reason::Safety);
    assert!(r[0].hints.needs.contains("chest pain"));
    assert!(r[0].hints.first_sentence.contains("hurt"));
    let s = text(&a);
    assert!(
        s.contains("I'm calling a member of staff to you right now."),
        "{s}"
    );
    assert!(s.contains("999"), "{s}");
    assert_eq!(said(&a)[0].pace, Pace::Slow);
}

#[test]
fn safety_topic_from_the_knowledge_base_alerts() {
    let mut ans = answer("medical_help", "I'm getting help.");
    ans.safety = true;
    let (_, a) = heard(
        conv(),
        Turn {
            answer: Some(ans),
            ..turn("I feel faint")
        },
        secs(0),
    );
    assert_eq!(alerts(&a)[0].reason, Reason::Safety);
}

#[test]
fn asking_for_a_person_alerts() {
    let t = Turn {
        asked_for_person: Some("speak to someone".into()),
        ..turn("can I speak to someone")
    };
    let (_, a) = heard(conv(), t, secs(0));
    assert_eq!(alerts(&a)[0].reason, Reason::AskedForPerson);
    assert!(text(&a).contains("Of course."));
    assert_eq!(alerts(&a)[0].hints.needs, "asked to speak to a person");
}

#[test]
fn staff_only_topics_alert_and_still_say_what_is_known() {
    let mut ans = answer("refunds", "Refunds are handled by our staff.");
    ans.staff_only = true;
    let (_, a) = heard(
        conv(),
        Turn {
            answer: Some(ans),
            ..turn("I want a refund")
        },
        secs(0),
    );
    let r = alerts(&a);
    assert_eq!(r[0].reason, Reason::StaffOnly);
    assert_eq!(r[0].topic.as_deref(), Some("refunds"));
    let s = text(&a);
    assert!(s.contains("Refunds are handled by our staff."), "{s}");
    assert!(
        s.contains("A member of staff needs to help with that"),
        "{s}"
    );
}

#[test]
fn not_understood_asks_once_to_rephrase_then_calls_staff() {
    let (c, a) = heard(conv(), turn("blorp the frobnicator"), secs(0));
    assert!(alerts(&a).is_empty());
    assert!(
        text(&a).contains("Could you say it another way?"),
        "{}",
        text(&a)
    );
    let (_, a) = heard(played(c, secs(1)), turn("frobnicator blorp"), secs(3));
    assert_eq!(alerts(&a)[0].reason, Reason::Unresolved);
    assert!(text(&a).contains("I couldn't help with that myself"));
}

#[test]
fn low_confidence_matches_count_as_not_understood() {
    let mut weak = toilets();
    if let Some(a) = weak.answer.as_mut() {
        a.confidence = 0.2;
    }
    let (_, a) = heard(conv(), weak, secs(0));
    assert!(text(&a).contains("another way"), "{}", text(&a));
    assert!(!text(&a).contains("toilets"));
}

#[test]
fn a_repeated_request_counts_as_unresolved() {
    let (c, _) = heard(conv(), toilets(), secs(0));
    let again = Turn {
        repeated_request: true,
        ..toilets()
    };
    let (c, a) = heard(played(c, secs(1)), again.clone(), secs(3));
    assert!(alerts(&a).is_empty(), "first repeat: asked to rephrase");
    let (_, a) = heard(played(c, secs(4)), again, secs(6));
    assert_eq!(alerts(&a)[0].reason, Reason::Unresolved);
}
