//! One customer after another: each customer's alerts are their own.

use super::*;

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
