//! What staff send back, and how an alert ends, against a real mosquitto: acknowledgements
//! that fail the rules change nothing, a retained message on the ack topic (even one larger
//! than any packet the kiosk accepts) neither breaks the link nor makes the status flap, and
//! alerts close when resolved, when acknowledged and the customer has gone, or when they
//! expire.

mod mqtt_harness;

use attune::alerts::{AlertPublisher, Outbox};
use mqtt_harness::*;
use std::process::Command;
use std::time::{Duration, Instant};

fn retain_file(port: u16, topic: &str, bytes: usize) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big");
    std::fs::write(&file, vec![b'x'; bytes]).unwrap();
    let out = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-t",
            topic,
            "-r",
            "-q",
            "1",
        ])
        .arg("-f")
        .arg(&file)
        .output()
        .expect("mosquitto_pub (package mosquitto-clients)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether the broker still retains something on `topic` (a fresh subscriber gets it).
fn retained_on(port: u16, topic: &str) -> bool {
    let out = Command::new("mosquitto_sub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-t",
            topic,
            "-C",
            "1",
            "-W",
            "2",
        ])
        .output()
        .expect("mosquitto_sub (package mosquitto-clients)");
    !out.stdout.is_empty()
}

/// Waits until staff have the alert: the kiosk subscribes before it publishes, so its
/// acknowledgement topic is then listened to.
fn seen(staff: &mut Staff, id: &str) {
    assert!(
        staff_has_all(staff, &[id.to_string()], Duration::from_secs(5)),
        "{id} not seen: {:?}",
        staff
            .seen
            .iter()
            .map(|m| (
                m.topic.clone(),
                String::from_utf8_lossy(&m.payload).into_owned()
            ))
            .collect::<Vec<_>>()
    );
}

fn events(staff: &Staff, event: &str, id: &str) -> usize {
    staff
        .seen
        .iter()
        .filter(|m| m.topic == topic("event"))
        .filter(|m| m.json()["event"] == event && m.json()["alert_id"] == id)
        .count()
}

#[test]
fn an_ack_that_fails_the_rules_is_rejected_and_changes_nothing() {
    init_logging();
    let rt = runtime();
    let broker = Broker::start(false);
    let mut staff = Staff::connect(
        rt.handle(),
        broker.port,
        "staff-r",
        &[&topic("alert")],
        false,
    );
    let state = tempfile::tempdir().unwrap();
    let mut cfg = mqtt_config(broker.port, 15);
    cfg.staff_roster = vec!["Sam".into(), "Priya Shah".into()];
    let (mut p, acks) = publisher(&rt, &cfg, state.path());
    assert!(p.wait_connected(Duration::from_secs(5)));
    p.raise(&alert("r-1")).unwrap();
    seen(&mut staff, "r-1");
    let ack_topic = topic("ack");
    for bad in [
        r#"{"alert_id":"r-1","by":"Nobody. Please leave the station now. Goodbye from","eta_s":4294967295}"#,
        r#"{"alert_id":"r-1","by":"Kim"}"#,
    ] {
        staff.publish(&ack_topic, bad.as_bytes());
    }
    assert!(
        acks.recv_timeout(Duration::from_secs(2)).is_err(),
        "a rejected ack reaches nobody"
    );
    assert_eq!(p.link().open_alerts, 1, "still open, still re-sent");
    staff.publish(
        &ack_topic,
        br#"{"alert_id":"r-1","by":"priya shah","eta_s":4294967295}"#,
    );
    let ack = acks
        .recv_timeout(Duration::from_secs(5))
        .expect("valid ack");
    assert_eq!(
        ack.by.as_deref(),
        Some("Priya Shah"),
        "the roster's spelling"
    );
    assert_eq!(ack.eta_s, Some(3600), "clamped");
    assert_eq!(p.link().open_alerts, 0);
}

#[test]
fn a_large_retained_message_on_the_ack_topic_is_cleared_without_a_flap() {
    init_logging();
    let rt = runtime();
    let broker = Broker::start(false);
    retain_file(broker.port, &topic("ack"), 300 * 1024);
    let status_topic = topic("status");
    let mut watcher = Staff::connect(rt.handle(), broker.port, "watch", &[&status_topic], false);
    let state = tempfile::tempdir().unwrap();
    let (mut p, acks) = publisher(&rt, &mqtt_config(broker.port, 5), state.path());
    assert!(p.wait_connected(Duration::from_secs(5)));
    // Long enough for several reconnect cycles, had the message broken the link.
    watcher.wait_until(Duration::from_secs(8), |_| false);
    let states: Vec<String> = watcher
        .seen
        .iter()
        .filter(|m| m.topic == status_topic)
        .map(|m| m.json()["state"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        !states.iter().any(|s| s == "offline"),
        "status flapped: {states:?}"
    );
    assert_eq!(p.link().connect_attempts, 1);
    assert!(
        !retained_on(broker.port, &topic("ack")),
        "the kiosk cleared it"
    );
    p.raise(&alert("big-1")).unwrap();
    watcher.publish(&topic("ack"), br#"{"alert_id":"big-1","by":"Sam"}"#);
    assert_eq!(
        acks.recv_timeout(Duration::from_secs(5))
            .map(|a| a.alert_id),
        Ok("big-1".to_string())
    );
}

#[test]
fn a_message_beyond_the_packet_limit_costs_one_reconnect_and_is_gone() {
    init_logging();
    let rt = runtime();
    let broker = Broker::start(false);
    retain_file(broker.port, &topic("ack"), 2 * 1024 * 1024);
    let state = tempfile::tempdir().unwrap();
    let (mut p, acks) = publisher(&rt, &mqtt_config(broker.port, 5), state.path());
    let t0 = Instant::now();
    assert!(wait_for(Duration::from_secs(15), || {
        let l = p.link();
        l.connected && l.connect_attempts >= 2 && !retained_on(broker.port, &topic("ack"))
    }));
    let attempts = p.link().connect_attempts;
    assert!(attempts <= 3, "{attempts} attempts");
    // Stable from now on, and acknowledgements work.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(p.link().connect_attempts, attempts, "no reconnect loop");
    let mut staff = Staff::connect(
        rt.handle(),
        broker.port,
        "staff-b",
        &[&topic("alert")],
        false,
    );
    p.raise(&alert("huge-1")).unwrap();
    seen(&mut staff, "huge-1");
    staff.publish(&topic("ack"), br#"{"alert_id":"huge-1","by":"Sam"}"#);
    assert!(acks.recv_timeout(Duration::from_secs(5)).is_ok());
    assert!(t0.elapsed() < Duration::from_secs(30));
}

#[test]
fn outcomes_close_alerts_and_are_recorded() {
    init_logging();
    let rt = runtime();
    let broker = Broker::start(false);
    let mut staff = Staff::connect(rt.handle(), broker.port, "staff-o", &[&topic("#")], false);
    let state = tempfile::tempdir().unwrap();
    let (mut p, _acks) = publisher(&rt, &mqtt_config(broker.port, 15), state.path());
    assert!(p.wait_connected(Duration::from_secs(5)));
    p.raise(&alert("o-1")).unwrap();
    seen(&mut staff, "o-1");
    staff.publish(
        &topic("outcome"),
        br#"{"alert_id":"o-1","outcome":"not_needed","by":"Sam"}"#,
    );
    assert!(
        staff.wait_until(Duration::from_secs(5), |s| s.iter().any(|m| {
            m.topic == topic("event")
                && m.json()["event"] == "alert_closed"
                && m.json()["why"] == "resolved"
                && m.json()["outcome"] == "not_needed"
        }))
    );
    assert_eq!(p.link().open_alerts, 0, "no longer re-sent");
    let outbox = Outbox::open(state.path()).unwrap();
    assert_eq!(
        outbox.state_of("o-1").unwrap(),
        Some(("closed".into(), Some("resolved".into())))
    );
    staff.publish(
        &topic("outcome"),
        br#"{"alert_id":"o-1","outcome":"maybe"}"#,
    );
    staff.publish(
        &topic("outcome"),
        br#"{"alert_id":"nope-1","outcome":"helped"}"#,
    );
    staff.wait_until(Duration::from_secs(1), |_| false);
    assert_eq!(events(&staff, "alert_closed", "nope-1"), 0);
    assert!(p.link().connected);
}

#[test]
fn an_acknowledged_alert_closes_when_the_customer_leaves() {
    init_logging();
    let rt = runtime();
    let broker = Broker::start(false);
    let mut staff = Staff::connect(rt.handle(), broker.port, "staff-g", &[&topic("#")], false);
    let state = tempfile::tempdir().unwrap();
    let (mut p, acks) = publisher(&rt, &mqtt_config(broker.port, 15), state.path());
    assert!(p.wait_connected(Duration::from_secs(5)));
    p.raise(&alert("g-1")).unwrap();
    p.raise(&alert("g-2")).unwrap();
    seen(&mut staff, "g-2");
    staff.publish(&topic("ack"), br#"{"alert_id":"g-1","by":"Sam"}"#);
    assert!(acks.recv_timeout(Duration::from_secs(5)).is_ok());
    p.customer_left("g-1").unwrap();
    p.customer_left("g-2").unwrap();
    // Both events are published in the order the calls were made, but each is its own
    // message: wait for the later one too rather than assume it has arrived.
    assert!(staff.wait_until(Duration::from_secs(5), |s| {
        let has = |event: &str, id: &str| {
            s.iter()
                .any(|m| m.json()["event"] == event && m.json()["alert_id"] == id)
        };
        has("alert_closed", "g-1") && has("customer_left", "g-2")
    }));
    assert_eq!(events(&staff, "customer_left", "g-2"), 1);
    assert_eq!(
        events(&staff, "alert_closed", "g-2"),
        0,
        "still waiting for staff"
    );
    // Staff answer the one whose customer left: it closes at once.
    staff.publish(&topic("ack"), br#"{"alert_id":"g-2","by":"Sam"}"#);
    assert!(staff.wait_until(Duration::from_secs(5), |s| {
        s.iter()
            .any(|m| m.json()["event"] == "alert_closed" && m.json()["alert_id"] == "g-2")
    }));
    let outbox = Outbox::open(state.path()).unwrap();
    for id in ["g-1", "g-2"] {
        assert_eq!(
            outbox.state_of(id).unwrap(),
            Some(("closed".into(), Some("customer_gone".into()))),
            "{id}"
        );
    }
}

#[test]
fn an_alert_nobody_acknowledges_expires_and_is_reported() {
    init_logging();
    let rt = runtime();
    let broker = Broker::start(false);
    let status_topic = topic("status");
    let event_topic = topic("event");
    let mut staff = Staff::connect(
        rt.handle(),
        broker.port,
        "staff-x",
        &[&status_topic, &event_topic, &topic("alerts/active")],
        false,
    );
    let state = tempfile::tempdir().unwrap();
    let mut cfg = mqtt_config(broker.port, 15);
    cfg.alert_max_age_s = 2;
    let (mut p, _acks) = publisher(&rt, &cfg, state.path());
    p.raise(&alert("x-1")).unwrap();
    assert!(staff.wait_until(Duration::from_secs(8), |s| {
        s.iter().any(|m| {
            m.topic == event_topic && m.json()["why"] == "expired" && m.json()["alert_id"] == "x-1"
        })
    }));
    assert!(
        staff.wait_until(Duration::from_secs(3), |s| s.iter().any(|m| {
            m.topic == status_topic
                && m.json()["expired_alerts"] == 1
                && m.json()["open_alerts"] == 0
        }))
    );
    assert!(staff.wait_until(Duration::from_secs(3), |s| {
        s.iter()
            .rev()
            .find(|m| m.topic == topic("alerts/active"))
            .is_some_and(|m| m.json() == serde_json::json!([]))
    }));
    assert_eq!(p.link().open_alerts, 0);
    drop(p);
    let outbox = Outbox::open(state.path()).unwrap();
    assert_eq!(
        outbox.state_of("x-1").unwrap(),
        Some(("closed".into(), Some("expired".into())))
    );
    assert!(
        outbox.pending().unwrap().is_empty(),
        "not re-sent after a restart"
    );
}
