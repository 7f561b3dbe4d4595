//! Unit tests of the conversation core: every transition and every escalation reason.

use super::*;
use std::time::Duration;

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

#[test]
fn one_customer_one_alert_and_the_cooldown_holds() {
    let d = || Turn {
        stress: stress(0.95, StressLevel::Distressed),
        ..turn("this is a disgrace")
    };
    let (c, a) = heard(conv(), d(), secs(0));
    assert_eq!(alerts(&a).len(), 1);
    let (c, a) = heard(played(c, secs(1)), d(), secs(10));
    assert!(alerts(&a).is_empty(), "no storm");
    assert!(
        text(&a).contains("I've asked a member of staff to come to you."),
        "{}",
        text(&a)
    );
    let t = Turn {
        asked_for_person: Some("a manager".into()),
        ..turn("get me a manager")
    };
    let (_, a) = heard(played(c, secs(11)), t, secs(20));
    assert!(alerts(&a).is_empty());
}

#[test]
fn safety_is_never_held_back_by_an_earlier_alert() {
    let t = Turn {
        asked_for_person: Some("a person".into()),
        ..turn("a person please")
    };
    let (c, a) = heard(conv(), t, secs(0));
    assert_eq!(alerts(&a).len(), 1);
    let s = Turn {
        safety_phrase: Some("can't breathe".into()),
        ..turn("I can't breathe")
    };
    let (c, a) = heard(played(c, secs(1)), s.clone(), secs(5));
    let r = alerts(&a);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].reason, Reason::Safety);
    assert_eq!(r[0].alert_id, "k1-boot-2");
    let (_, a) = heard(played(c, secs(6)), s, secs(8));
    assert!(alerts(&a).is_empty(), "one safety alert is enough");
}

#[test]
fn after_the_cooldown_a_new_customer_can_alert_again() {
    let p = || Turn {
        asked_for_person: Some("someone".into()),
        ..turn("someone please")
    };
    let (c, _) = heard(conv(), p(), secs(0));
    let alert_id = c.pending_alert().map(str::to_string).unwrap_or_default();
    let ack = StaffAck {
        alert_id,
        by: Some("Sam".into()),
        eta_s: Some(60),
    };
    let (c, _) = c.step(&Event::StaffAcknowledged(ack), secs(5));
    let c = played(c, secs(6));
    let (c, a) = c.step(&Event::Tick, secs(6 + 45));
    assert_eq!(
        a,
        vec![Action::SessionEnded {
            alerts: vec!["k1-boot-1".into()]
        }]
    );
    let (_, a) = heard(c, p(), secs(400));
    assert_eq!(alerts(&a).len(), 1);
}

#[test]
fn staff_acknowledgement_tells_the_customer_who_is_coming() {
    let t = Turn {
        asked_for_person: Some("someone".into()),
        ..turn("can I talk to someone")
    };
    let (c, _) = heard(conv(), t, secs(0));
    let c = played(c, secs(2));
    assert_eq!(c.phase(), Phase::WaitingForStaff);
    let ack = StaffAck {
        alert_id: "k1-boot-1".into(),
        by: Some("Sam".into()),
        eta_s: Some(120),
    };
    let (c, a) = c.step(&Event::StaffAcknowledged(ack.clone()), secs(10));
    assert_eq!(
        text(&a),
        "Sam is on the way. They should be with you in about 2 minutes."
    );
    assert_eq!(c.pending_alert(), None);
    let (_, a) = c.step(&Event::StaffAcknowledged(ack), secs(11));
    assert!(a.is_empty(), "a repeated ack is not announced twice");
}

#[test]
fn acknowledgement_without_name_or_eta_and_unknown_ids() {
    let t = Turn {
        asked_for_person: Some("someone".into()),
        ..turn("someone")
    };
    let (c, _) = heard(conv(), t, secs(0));
    let c = played(c, secs(1));
    let other = StaffAck {
        alert_id: "other".into(),
        by: Some("Kim".into()),
        eta_s: None,
    };
    let (c, a) = c.step(&Event::StaffAcknowledged(other), secs(2));
    assert!(a.is_empty(), "acks for other alerts are ignored");
    let ack = StaffAck {
        alert_id: "k1-boot-1".into(),
        by: None,
        eta_s: Some(30),
    };
    let (_, a) = c.step(&Event::StaffAcknowledged(ack), secs(3));
    assert_eq!(
        text(&a),
        "A member of staff is on the way. They should be with you in about a minute."
    );
}

#[test]
fn questions_while_waiting_are_answered_with_where_staff_are() {
    let t = Turn {
        asked_for_person: Some("someone".into()),
        ..turn("someone")
    };
    let (c, _) = heard(conv(), t, secs(0));
    let ack = StaffAck {
        alert_id: "k1-boot-1".into(),
        by: Some("Sam".into()),
        eta_s: None,
    };
    let (c, _) = c.step(&Event::StaffAcknowledged(ack), secs(1));
    let (_, a) = heard(played(c, secs(2)), toilets(), secs(4));
    assert_eq!(
        text(&a),
        "The toilets are next to platform 1. Sam is on the way."
    );
}

#[test]
fn no_acknowledgement_realerts_up_to_the_limit() {
    let t = Turn {
        asked_for_person: Some("someone".into()),
        ..turn("someone")
    };
    let (mut c, _) = heard(conv(), t, secs(0));
    c = played(c, secs(2));
    let (c2, a) = c.step(&Event::Tick, secs(89));
    assert!(a.is_empty());
    c = c2;
    let mut attempts = Vec::new();
    for i in 1..=6 {
        let (next, a) = c.step(&Event::Tick, secs(90 * i));
        for act in &a {
            if let Action::Realert { alert_id, attempt } = act {
                assert_eq!(alert_id, "k1-boot-1");
                attempts.push(*attempt);
            }
        }
        if i == 1 {
            assert!(text(&a).contains("still getting someone"), "{}", text(&a));
        }
        c = played(next, secs(90 * i));
    }
    assert_eq!(attempts, vec![1, 2, 3]);
}

#[test]
fn one_moment_when_understanding_is_slow_said_once() {
    let (c, _) = conv().step(&Event::SpeechStarted, secs(0));
    let (c, _) = c.step(&Event::SpeechEnded, Duration::from_millis(1000));
    let (c, a) = c.step(&Event::Tick, Duration::from_millis(2000));
    assert!(a.is_empty());
    let (c, a) = c.step(&Event::Tick, Duration::from_millis(2600));
    assert_eq!(text(&a), "One moment.");
    assert_eq!(
        c.phase(),
        Phase::Thinking,
        "the real answer is still coming"
    );
    let (_, a) = c.step(&Event::Tick, Duration::from_millis(4000));
    assert!(a.is_empty());
}

#[test]
fn a_customer_who_leaves_resets_the_conversation() {
    let (c, _) = heard(conv(), toilets(), secs(0));
    let c = played(c, secs(2));
    let (c, a) = c.step(&Event::Tick, secs(30));
    assert!(a.is_empty());
    let (c, a) = c.step(&Event::Tick, secs(47));
    assert_eq!(a, vec![Action::SessionEnded { alerts: vec![] }]);
    assert_eq!(c.phase(), Phase::Idle);
    let (_, a) = heard(c, toilets(), secs(60));
    assert!(
        text(&a).starts_with("Hello"),
        "a new customer is greeted again"
    );
}

#[test]
fn a_waiting_customer_is_not_forgotten_while_staff_are_chased() {
    let t = Turn {
        asked_for_person: Some("someone".into()),
        ..turn("someone")
    };
    let (mut c, _) = heard(conv(), t, secs(0));
    c = played(c, secs(1));
    for s in [60, 90, 150, 180, 240, 270] {
        let (next, a) = c.step(&Event::Tick, secs(s));
        assert!(
            !a.iter().any(|x| matches!(x, Action::SessionEnded { .. })),
            "ended at {s}s"
        );
        c = played(next, secs(s));
    }
    // Re-alerts exhausted (3 x 90 s) and then 45 s of silence: they left, staff are told.
    let (c, a) = c.step(&Event::Tick, secs(300));
    assert!(a.is_empty());
    let (c, a) = c.step(&Event::Tick, secs(316));
    assert_eq!(
        a,
        vec![Action::SessionEnded {
            alerts: vec!["k1-boot-1".into()]
        }]
    );
    assert_eq!(c.pending_alert(), None, "the next customer starts afresh");
    let (_, a) = c.step(&Event::Tick, secs(1000));
    assert!(a.is_empty(), "no re-alerts for a customer who left");
}

#[test]
fn alerts_carry_recent_words_trend_and_hints() {
    let mut c = conv();
    for (i, (w, s)) in [("one", 0.1), ("two", 0.2), ("three", 0.3), ("four", 0.3)]
        .iter()
        .enumerate()
    {
        let t = Turn {
            stress: stress(*s, StressLevel::Calm),
            ..toilets()
        };
        let t = Turn {
            transcript: (*w).into(),
            ..t
        };
        c = played(heard(c, t, secs(i as u64)).0, secs(i as u64));
    }
    let t = Turn {
        transcript: "five".into(),
        stress: stress(0.95, StressLevel::Distressed),
        ..turn("five")
    };
    let (_, a) = heard(c, t, secs(10));
    let r = alerts(&a)[0];
    assert_eq!(r.transcripts, vec!["three", "four", "five"]);
    assert_eq!(r.trend, Trend::Rising);
    assert_eq!(r.level, StressLevel::Distressed);
    assert!(
        r.hints
            .sounds
            .starts_with("distressed, and getting more upset"),
        "{}",
        r.hints.sounds
    );
    assert!(!r.hints.first_sentence.is_empty());
}

#[test]
fn every_reason_has_a_code_and_hints() {
    let codes: Vec<&str> = [
        Reason::Safety,
        Reason::AskedForPerson,
        Reason::Distress,
        Reason::Unresolved,
        Reason::StaffOnly,
    ]
    .iter()
    .map(|r| r.code())
    .collect();
    assert_eq!(
        codes,
        vec![
            "safety",
            "asked_for_person",
            "distress",
            "unresolved",
            "staff_only"
        ]
    );
    for r in [
        Reason::Safety,
        Reason::AskedForPerson,
        Reason::Distress,
        Reason::Unresolved,
        Reason::StaffOnly,
    ] {
        let h = hints::staff_hints(&hints::HintInput {
            reason: r,
            level: StressLevel::Tense,
            trend: Trend::Steady,
            stress_reasons: &[],
            topic: Some("lost_property"),
            safety_phrase: None,
        });
        assert!(!h.needs.is_empty() && !h.first_sentence.is_empty() && h.sounds == "frustrated");
    }
}

#[test]
fn configuration_problems_are_named() {
    assert!(Policy::default().problems().is_empty());
    assert!(Phrases::default().problems().is_empty());
    let bad = Policy {
        sustained_turns: 0,
        ack_timeout_s: 1,
        ..Policy::default()
    };
    let p = bad.problems();
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(p.iter().any(|x| x.contains("escalation.sustained_turns")));
    let phrases = Phrases {
        acknowledge: vec![],
        staff_coming_named: "on the way".into(),
        ..Phrases::default()
    };
    assert_eq!(phrases.problems().len(), 2);
}

fn safety(text_: &str) -> Turn {
    Turn {
        safety_phrase: Some("help me".into()),
        ..turn(text_)
    }
}

/// Customer A's alert is raised at 0 s and acknowledged by Sam at 5 s; A walks away and the
/// conversation ends at 51 s.
fn first_customer_helped_and_gone(first: Turn) -> Conversation {
    let (c, a) = heard(conv(), first, secs(0));
    assert_eq!(alerts(&a).len(), 1);
    let ack = StaffAck {
        alert_id: "k1-boot-1".into(),
        by: Some("Sam".into()),
        eta_s: Some(60),
    };
    let (c, _) = c.step(&Event::StaffAcknowledged(ack), secs(5));
    let c = played(c, secs(6));
    let (c, a) = c.step(&Event::Tick, secs(51));
    assert_eq!(
        a,
        vec![Action::SessionEnded {
            alerts: vec!["k1-boot-1".into()]
        }]
    );
    c
}

#[test]
fn a_second_customers_emergency_within_the_cooldown_raises_its_own_alert() {
    let c = first_customer_helped_and_gone(safety("help me, he has collapsed"));
    let (c, a) = heard(
        c,
        safety("someone is following me, I have been attacked"),
        secs(95),
    );
    let r = alerts(&a);
    assert_eq!(r.len(), 1, "B's emergency is not swallowed");
    assert_eq!(
        (r[0].alert_id.as_str(), r[0].reason),
        ("k1-boot-2", Reason::Safety)
    );
    let t = text(&a);
    assert!(
        !t.contains("Sam"),
        "B is not told A's helper is coming: {t}"
    );
    assert!(t.contains("Hello"), "B is a new customer: {t}");
    assert_eq!(c.pending_alert(), Some("k1-boot-2"));
}

#[test]
fn a_second_customers_request_for_a_person_within_the_cooldown_raises_its_own_alert() {
    let c = first_customer_helped_and_gone(Turn {
        asked_for_person: Some("a person".into()),
        ..turn("a person please")
    });
    for (n, second) in [
        Turn {
            asked_for_person: Some("a manager".into()),
            ..turn("get me a manager")
        },
        Turn {
            stress: stress(0.95, StressLevel::Distressed),
            ..turn("this is a disgrace")
        },
    ]
    .into_iter()
    .enumerate()
    {
        let (_, a) = heard(c.clone(), second, secs(100 + n as u64));
        assert_eq!(alerts(&a).len(), 1, "case {n}: {}", text(&a));
    }
}

#[test]
fn an_earlier_customers_acknowledgement_is_not_announced_to_the_next() {
    let t = Turn {
        asked_for_person: Some("someone".into()),
        ..turn("someone")
    };
    let (mut c, _) = heard(conv(), t, secs(0));
    c = played(c, secs(1));
    // Nobody acknowledges: three re-alerts, then A is taken to have left.
    for s in [90, 180, 270] {
        c = played(c.step(&Event::Tick, secs(s)).0, secs(s));
    }
    let (c, a) = c.step(&Event::Tick, secs(316));
    assert!(matches!(&a[..], [Action::SessionEnded { .. }]));
    let (c, a) = heard(c, toilets(), secs(320));
    assert!(alerts(&a).is_empty());
    let late = StaffAck {
        alert_id: "k1-boot-1".into(),
        by: Some("Sam".into()),
        eta_s: None,
    };
    let (c, a) = c.step(&Event::StaffAcknowledged(late), secs(325));
    assert!(a.is_empty(), "B did not ask for anyone: {}", text(&a));
    let (_, a) = c.step(&Event::Tick, secs(500));
    assert!(
        !a.iter().any(|x| matches!(x, Action::Realert { .. })),
        "A's alert is not re-sent from B's conversation"
    );
}

#[test]
fn a_new_safety_matter_after_an_acknowledged_one_raises_a_new_alert() {
    let (c, _) = heard(conv(), safety("help me"), secs(0));
    let ack = StaffAck {
        alert_id: "k1-boot-1".into(),
        by: Some("Sam".into()),
        eta_s: Some(120),
    };
    let (c, _) = c.step(&Event::StaffAcknowledged(ack), secs(3));
    let c = played(c, secs(4));
    let (_, a) = heard(c, safety("help me, he has stopped breathing"), secs(20));
    let r = alerts(&a);
    assert_eq!(r.len(), 1, "{}", text(&a));
    assert_eq!(r[0].alert_id, "k1-boot-2");
}

#[test]
fn a_customers_alerts_are_each_re_sent_and_all_reported_when_they_leave() {
    let p = Turn {
        asked_for_person: Some("someone".into()),
        ..turn("someone")
    };
    let (c, _) = heard(conv(), p, secs(0));
    let (mut c, a) = heard(played(c, secs(1)), safety("help me"), secs(10));
    assert_eq!(alerts(&a)[0].alert_id, "k1-boot-2");
    c = played(c, secs(11));
    let (c, a) = c.step(&Event::Tick, secs(100));
    let realerts: Vec<_> = a
        .iter()
        .filter(|x| matches!(x, Action::Realert { .. }))
        .collect();
    assert_eq!(realerts.len(), 2, "{a:?}");
    assert_eq!(
        said(&a).len(),
        1,
        "the customer hears one 'still getting someone'"
    );
    let mut c = played(c, secs(101));
    for s in [190, 280] {
        c = played(c.step(&Event::Tick, secs(s)).0, secs(s));
    }
    let (_, a) = c.step(&Event::Tick, secs(400));
    assert_eq!(
        a,
        vec![Action::SessionEnded {
            alerts: vec!["k1-boot-1".into(), "k1-boot-2".into()]
        }]
    );
}

#[test]
fn an_absurd_eta_is_said_sensibly() {
    let t = Turn {
        asked_for_person: Some("someone".into()),
        ..turn("someone")
    };
    let (c, _) = heard(conv(), t, secs(0));
    let ack = StaffAck {
        alert_id: "k1-boot-1".into(),
        by: Some("Sam".into()),
        eta_s: Some(u32::MAX),
    };
    let (_, a) = c.step(&Event::StaffAcknowledged(ack), secs(1));
    assert!(text(&a).starts_with("Sam is on the way."), "{}", text(&a));
    assert!(!text(&a).contains("zero"), "{}", text(&a));
}
