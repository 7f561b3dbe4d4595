//! Alerts: the cooldown, safety, acknowledgements, re-alerts and one customer after another.

use super::*;

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
