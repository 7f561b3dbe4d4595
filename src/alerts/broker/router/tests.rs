use super::*;
use bytes::Bytes;

const KIOSK: &str = "kiosk-pw";
const STAFF: &str = "staff-pw";

fn router(limits: Limits) -> Router {
    let creds = |user: &str, password: &str| Credentials {
        user: user.into(),
        password: password.into(),
    };
    Router::new(
        limits,
        Acl::new("attune", "s1", "k1"),
        vec![
            (creds("kiosk", KIOSK), Role::Kiosk),
            (creds("staff", STAFF), Role::Staff),
        ],
    )
}

fn connect(r: &mut Router, id: &str, user: &str, pw: &str, clean: bool) -> Accepted {
    r.connect(ConnectRequest {
        client_id: id,
        login: Some((user, pw)),
        clean,
        will: None,
    })
    .expect("accepted")
}

fn msg(topic: &str, payload: &str, qos: u8, retain: bool) -> Message {
    Message {
        topic: topic.into(),
        payload: Bytes::from(payload.to_string()),
        qos,
        retain,
    }
}

fn payloads(out: &[Outgoing]) -> Vec<String> {
    out.iter()
        .map(|o| String::from_utf8_lossy(&o.message.payload).into_owned())
        .collect()
}

#[test]
fn anonymous_and_wrong_passwords_are_refused() {
    let mut r = router(Limits::default());
    let anon = ConnectRequest {
        client_id: "x",
        login: None,
        clean: true,
        will: None,
    };
    assert_eq!(r.connect(anon.clone()).err(), Some(Refused::BadCredentials));
    let wrong = ConnectRequest {
        login: Some(("staff", "guess")),
        ..anon.clone()
    };
    assert_eq!(r.connect(wrong).err(), Some(Refused::BadCredentials));
    let swapped = ConnectRequest {
        login: Some(("staff", KIOSK)),
        ..anon
    };
    assert_eq!(r.connect(swapped).err(), Some(Refused::BadCredentials));
    assert_eq!(r.connections(), 0);
}

#[test]
fn staff_acks_reach_the_kiosk_and_forged_alerts_do_not_reach_staff() {
    let mut r = router(Limits::default());
    let k = connect(&mut r, "kiosk", "kiosk", KIOSK, false);
    let s = connect(&mut r, "pager", "staff", STAFF, true);
    assert_eq!(
        r.subscribe("kiosk", &[("attune/s1/k1/ack".into(), 1)]),
        [Some(1)]
    );
    assert_eq!(
        r.subscribe("pager", &[("attune/s1/+/alert".into(), 2), ("#".into(), 0)]),
        [Some(1), None]
    );
    assert!(!r.publish("pager", msg("attune/s1/k1/alert", "forged", 1, false)));
    assert!(r.publish("kiosk", msg("attune/s1/k1/alert", "real", 1, false)));
    assert!(r.publish("pager", msg("attune/s1/k1/ack", "ack", 1, false)));
    assert_eq!(payloads(&r.take_outgoing("pager", s.conn)), ["real"]);
    assert_eq!(payloads(&r.take_outgoing("kiosk", k.conn)), ["ack"]);
    assert_eq!(r.stats().denied, 1);
}

#[test]
fn retained_messages_reach_new_subscribers_until_cleared() {
    let mut r = router(Limits::default());
    connect(&mut r, "kiosk", "kiosk", KIOSK, true);
    r.publish("kiosk", msg("attune/s1/k1/status", "online", 1, true));
    let s = connect(&mut r, "pager", "staff", STAFF, true);
    r.subscribe("pager", &[("attune/s1/k1/status".into(), 1)]);
    let out = r.take_outgoing("pager", s.conn);
    assert_eq!(payloads(&out), ["online"]);
    assert!(out[0].message.retain);
    r.publish("kiosk", msg("attune/s1/k1/status", "", 1, true));
    r.unsubscribe("pager", &["attune/s1/k1/status".into()]);
    r.subscribe("pager", &[("attune/s1/k1/status".into(), 1)]);
    assert!(
        r.take_outgoing("pager", s.conn)
            .iter()
            .all(|o| o.message.payload.is_empty())
    );
}

#[test]
fn the_retained_store_is_bounded() {
    let limits = Limits {
        max_retained: 3,
        ..Limits::default()
    };
    let mut r = router(limits);
    connect(&mut r, "kiosk", "kiosk", KIOSK, true);
    for i in 0..10 {
        r.publish("kiosk", msg(&format!("attune/s1/k1/r{i}"), "x", 0, true));
    }
    let big = "y".repeat(300 * 1024);
    r.publish("kiosk", msg("attune/s1/k1/big", &big, 0, true));
    assert_eq!(r.stats().not_retained, 8);
}

#[test]
fn a_slow_or_absent_subscriber_cannot_grow_the_broker() {
    let limits = Limits {
        max_session_bytes: 10_000,
        max_queued_bytes: 15_000,
        ..Limits::default()
    };
    let mut r = router(limits);
    connect(&mut r, "kiosk", "kiosk", KIOSK, true);
    for id in ["a", "b", "c"] {
        connect(&mut r, id, "staff", STAFF, false);
        r.subscribe(id, &[("attune/#".into(), 1)]);
    }
    let payload = "z".repeat(1000);
    for _ in 0..100 {
        r.publish("kiosk", msg("attune/s1/k1/alert", &payload, 1, false));
    }
    assert!(r.queued_bytes() <= 15_000, "{}", r.queued_bytes());
    assert!(r.stats().dropped > 0);
}

#[test]
fn a_persistent_session_keeps_qos1_while_away_and_resends_unacknowledged() {
    let mut r = router(Limits::default());
    connect(&mut r, "kiosk", "kiosk", KIOSK, true);
    let a = connect(&mut r, "pager", "staff", STAFF, false);
    r.subscribe("pager", &[("attune/s1/+/alert".into(), 1)]);
    r.publish("kiosk", msg("attune/s1/k1/alert", "one", 1, false));
    let first = r.take_outgoing("pager", a.conn);
    assert_eq!(payloads(&first), ["one"]);
    r.disconnect("pager", a.conn, false);
    r.publish("kiosk", msg("attune/s1/k1/alert", "two", 1, false));
    r.publish("kiosk", msg("attune/s1/k1/alert", "lost", 0, false));
    let b = connect(&mut r, "pager", "staff", STAFF, false);
    assert!(b.session_present);
    let again = r.take_outgoing("pager", b.conn);
    assert_eq!(payloads(&again), ["one", "two"]);
    assert!(again[0].dup && !again[1].dup);
    r.acked("pager", again[0].pkid);
    r.acked("pager", again[1].pkid);
    r.disconnect("pager", b.conn, true);
    let c = connect(&mut r, "pager", "staff", STAFF, true);
    assert!(!c.session_present);
    assert_eq!(r.queued_bytes(), 0);
}

#[test]
fn takeover_keeps_one_connection_and_the_will_fires_only_on_a_drop() {
    let mut r = router(Limits::default());
    let s = connect(&mut r, "pager", "staff", STAFF, true);
    r.subscribe("pager", &[("attune/s1/k1/status".into(), 1)]);
    let will = || Some(msg("attune/s1/k1/status", "offline", 1, true));
    let k1 = r
        .connect(ConnectRequest {
            client_id: "kiosk",
            login: Some(("kiosk", KIOSK)),
            clean: false,
            will: will(),
        })
        .unwrap();
    let k2 = r
        .connect(ConnectRequest {
            client_id: "kiosk",
            login: Some(("kiosk", KIOSK)),
            clean: false,
            will: will(),
        })
        .unwrap();
    assert_eq!(r.connections(), 2);
    assert!(!r.is_current("kiosk", k1.conn) && r.is_current("kiosk", k2.conn));
    r.disconnect("kiosk", k1.conn, false);
    assert!(r.take_outgoing("pager", s.conn).is_empty(), "stale conn");
    r.disconnect("kiosk", k2.conn, false);
    assert_eq!(payloads(&r.take_outgoing("pager", s.conn)), ["offline"]);
    assert_eq!(r.connections(), 1);
}

#[test]
fn staff_cannot_borrow_the_kiosks_client_id_and_the_cap_holds() {
    let limits = Limits {
        max_connections: 2,
        ..Limits::default()
    };
    let mut r = router(limits);
    connect(&mut r, "attune-s1-k1", "kiosk", KIOSK, false);
    let steal = ConnectRequest {
        client_id: "attune-s1-k1",
        login: Some(("staff", STAFF)),
        clean: true,
        will: None,
    };
    assert_eq!(r.connect(steal).err(), Some(Refused::IdentifierRejected));
    connect(&mut r, "p1", "staff", STAFF, true);
    let third = ConnectRequest {
        client_id: "p2",
        login: Some(("staff", STAFF)),
        clean: true,
        will: None,
    };
    assert_eq!(r.connect(third).err(), Some(Refused::Unavailable));
}

#[test]
fn away_sessions_are_evicted_oldest_first() {
    let limits = Limits {
        max_sessions: 2,
        ..Limits::default()
    };
    let mut r = router(limits);
    let a = connect(&mut r, "a", "staff", STAFF, false);
    r.disconnect("a", a.conn, true);
    let b = connect(&mut r, "b", "staff", STAFF, false);
    r.disconnect("b", b.conn, true);
    connect(&mut r, "c", "staff", STAFF, false);
    assert!(!connect(&mut r, "a", "staff", STAFF, false).session_present);
}
