//! Alert delivery over MQTT against a real mosquitto on loopback: payload, broker outages,
//! daemon restarts and SIGKILL, staff acknowledgements, half-open links, unwritable and
//! damaged outboxes, TLS, re-sending without PUBACK, Home Assistant discovery, and a
//! randomised fault loop. Needs `/usr/sbin/mosquitto` (or `MOSQUITTO`) and `openssl`; fails
//! loudly without them. Set `RUST_LOG=attune=debug` to watch the publisher.

mod mqtt_harness;

use attune::alerts::{Alert, AlertError, AlertPublisher, MqttConfig, StatusUpdate};
use attune::latency::TurnLatency;
use mqtt_harness::*;
use serde_json::json;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// How the kiosk child is started from this test binary.
const CHILD_ARGS: [&str; 5] = [
    "kiosk_child",
    "--exact",
    "--ignored",
    "--nocapture",
    "--test-threads=1",
];

/// Not a test: the entry point of the child kiosk process that the crash tests start and kill.
/// Ignored so that it is never counted as a passing test; the children ask for it by name.
#[test]
#[ignore = "the child kiosk process's entry point, started by the tests that kill it"]
fn kiosk_child() {
    if std::env::var_os(KIOSK_ENV).is_some() {
        kiosk_child_main();
    }
}

fn state_of(msg: &Msg) -> String {
    msg.json()["state"].as_str().unwrap_or_default().to_string()
}

fn seen_alert(staff: &Staff, id: &str, topic_name: &str, attempt: u64) -> bool {
    staff.seen.iter().any(|m| {
        m.topic == topic_name && m.json()["alert_id"] == id && m.json()["attempt"] == attempt
    })
}

#[test]
fn alert_arrives_with_expected_payload_status_and_events() {
    init_logging();
    let rt = runtime();
    let broker = Broker::start(false);
    let kiosk_topics = topic("#");
    let mut staff = Staff::connect(
        rt.handle(),
        broker.port,
        "staff-a",
        &[kiosk_topics.as_str(), "attune/site1/supervisor/#"],
        false,
    );
    let state = tempfile::tempdir().unwrap();
    let (mut p, _acks) = publisher(&rt, &mqtt_config(broker.port, 15), state.path());
    assert!(p.wait_connected(Duration::from_secs(5)));

    let sent = alert("a-1");
    p.raise(&sent).unwrap();
    assert!(staff.wait_until(Duration::from_secs(5), |s| {
        s.iter().any(|m| m.alert_id().as_deref() == Some("a-1"))
    }));
    let msg = staff
        .seen
        .iter()
        .find(|m| m.topic == topic("alert"))
        .unwrap()
        .clone();
    assert!(!msg.retain);
    let got: Alert = serde_json::from_slice(&msg.payload).unwrap();
    assert_eq!(got, sent);
    let v = msg.json();
    assert_eq!(v["schema"], "attune.alert/1");
    assert_eq!(v["reason"], "asked_for_person");
    assert_eq!(v["kiosk"]["site"], "site1");
    assert_eq!(v["stress"]["level"], "distressed");
    assert_eq!(v["attempt"], 0);
    assert_eq!(p.flush(Duration::from_secs(2)), 0);

    // Retained status and active list.
    assert!(
        staff.wait_until(Duration::from_secs(3), |s| s
            .iter()
            .any(|m| { m.topic == topic("status") && m.json()["open_alerts"] == 1 }))
    );
    let status = staff.last_on(&topic("status")).unwrap().json();
    assert_eq!(status["state"], "online");
    assert_eq!(status["version"], "0.1.0-test");
    assert_eq!(status["models"]["stt"], "ggml-tiny.en.bin");
    assert_eq!(status["audio"], "ok");
    assert!(staff.wait_until(Duration::from_secs(3), |s| s.iter().any(|m| {
        m.topic == topic("alerts/active")
            && m.json()
                == json!([{"alert_id": "a-1", "reason": "asked_for_person", "raised_at_ms": 1_764_000_000_000u64}])
    })));

    // Re-alert goes to the kiosk topic and the supervisor, with the new attempt number.
    p.realert("a-1", 1).unwrap();
    let sup = "attune/site1/supervisor/alert";
    assert!(staff.wait_until(Duration::from_secs(5), |s| {
        s.iter().any(|m| m.topic == sup && m.json()["attempt"] == 1)
    }));
    assert!(seen_alert(&staff, "a-1", &topic("alert"), 1));
    p.customer_left("a-1").unwrap();
    assert!(
        staff.wait_until(Duration::from_secs(5), |s| s.iter().any(|m| {
            m.topic == topic("event")
                && m.json()["event"] == "customer_left"
                && m.json()["alert_id"] == "a-1"
        }))
    );
    assert!(matches!(p.realert("nope", 1), Err(AlertError::Unknown(_))));
    assert!(matches!(
        p.customer_left("nope"),
        Err(AlertError::Unknown(_))
    ));

    p.report(StatusUpdate::Audio("input lost: no input device".into()));
    assert!(
        staff.wait_until(Duration::from_secs(3), |s| s.iter().any(|m| {
            m.topic == topic("status") && m.json()["audio"] == "input lost: no input device"
        }))
    );
    // Each answered turn is counted on the status topic with its latency.
    for ms in [420, 440, 900] {
        p.report(StatusUpdate::Turn(TurnLatency {
            hangover_ms: 416,
            voice_to_voice_ms: ms,
            ..Default::default()
        }));
    }
    assert!(
        staff.wait_until(Duration::from_secs(3), |s| s.iter().any(|m| {
            let l = &m.json()["latency"];
            m.topic == topic("status")
                && l["turns"] == 3
                && l["voice_to_voice_p50_ms"] == 440
                && l["last"]["voice_to_voice_ms"] == 900
        }))
    );

    // A clean shutdown leaves "offline" retained.
    assert_eq!(p.shutdown(Duration::from_secs(1)), 0);
    assert!(staff.wait_until(Duration::from_secs(3), |s| {
        s.iter()
            .rev()
            .find(|m| m.topic == topic("status"))
            .is_some_and(|m| state_of(m) == "offline")
    }));
}

#[test]
fn broker_down_for_ten_seconds_then_every_alert_delivered_without_tight_loop() {
    init_logging();
    let rt = runtime();
    let mut broker = Broker::start(true);
    let alert_topic = topic("alert");
    let mut staff = Staff::connect(rt.handle(), broker.port, "staff-b", &[&alert_topic], false);
    let state = tempfile::tempdir().unwrap();
    let (mut p, _acks) = publisher(&rt, &mqtt_config(broker.port, 15), state.path());
    assert!(p.wait_connected(Duration::from_secs(5)));

    let stopped = Instant::now();
    broker.terminate();
    assert!(wait_for(Duration::from_secs(3), || !p.link().connected));
    let attempts_before = p.link().connect_attempts;
    let ids: Vec<String> = (1..=3).map(|i| format!("b-{i}")).collect();
    for id in &ids {
        p.raise(&alert(id))
            .expect("committed while the broker is down");
    }
    assert_eq!(p.flush(Duration::from_millis(200)), 3);
    std::thread::sleep(Duration::from_secs(10).saturating_sub(stopped.elapsed()));
    let attempts = p.link().connect_attempts - attempts_before;
    assert!(
        (2..=8).contains(&attempts),
        "{attempts} connection attempts in 10 s: backoff is broken"
    );

    broker.restart();
    assert!(
        staff_has_all(&mut staff, &ids, Duration::from_secs(25)),
        "missing alerts; staff saw {:?}",
        staff.alert_ids()
    );
    assert_eq!(p.flush(Duration::from_secs(3)), 0);
}

#[test]
fn daemon_restart_after_undelivered_drop_delivers() {
    init_logging();
    let rt = runtime();
    let port = free_port();
    let cfg = mqtt_config(port, 15);
    let state = tempfile::tempdir().unwrap();
    {
        let (mut p, _acks) = publisher(&rt, &cfg, state.path());
        p.raise(&alert("c-1")).expect("committed with no broker");
        assert_eq!(p.flush(Duration::from_millis(200)), 1);
    }
    let broker = Broker::start_with(port, false, &[]);
    let alert_topic = topic("alert");
    let mut staff = Staff::connect(rt.handle(), broker.port, "staff-c1", &[&alert_topic], false);
    let (p, _acks) = publisher(&rt, &cfg, state.path());
    assert!(staff_has_all(
        &mut staff,
        &["c-1".into()],
        Duration::from_secs(10)
    ));
    drop(p);
}

#[test]
fn sigkill_after_commit_before_puback_then_restart_delivers() {
    init_logging();
    let rt = runtime();
    let port = free_port();
    let state = tempfile::tempdir().unwrap();
    let args = KioskArgs {
        url: format!("mqtt://127.0.0.1:{port}"),
        state_dir: state.path().to_path_buf(),
        keep_alive_s: 15,
    };
    let mut child = Kiosk::spawn(&CHILD_ARGS, &args);
    let reply = child.raise("c-2");
    assert_eq!(reply, "committed c-2");
    // No broker is listening, so no PUBACK can have happened.
    child.kill9();

    let broker = Broker::start_with(port, false, &[]);
    let alert_topic = topic("alert");
    let mut staff = Staff::connect(rt.handle(), broker.port, "staff-c2", &[&alert_topic], false);
    let (_p, _acks) = publisher(&rt, &mqtt_config(port, 15), state.path());
    assert!(staff_has_all(
        &mut staff,
        &["c-2".into()],
        Duration::from_secs(10)
    ));
}

#[test]
fn staff_ack_reaches_brain_stops_resends_and_malformed_acks_are_ignored() {
    init_logging();
    let rt = runtime();
    let broker = Broker::start(false);
    let filters = [topic("alert"), topic("alerts/active")];
    let filters: Vec<&str> = filters.iter().map(String::as_str).collect();
    let mut staff = Staff::connect(rt.handle(), broker.port, "staff-d", &filters, false);
    let state = tempfile::tempdir().unwrap();
    let cfg = mqtt_config(broker.port, 15);
    let (mut p, acks) = publisher(&rt, &cfg, state.path());
    p.raise(&alert("d-1")).unwrap();
    p.raise(&alert("d-2")).unwrap();
    assert!(staff_has_all(
        &mut staff,
        &["d-1".into(), "d-2".into()],
        Duration::from_secs(5)
    ));

    let ack_topic = topic("ack");
    for bad in [
        &b"garbage"[..],
        br#"{"by":"Sam"}"#,
        br#"{"alert_id":"unknown-1","by":"Sam"}"#,
        br#"{"alert_id":"d-2","eta_s":"soon"}"#,
        &[0xff, 0xfe, 0x00][..],
    ] {
        staff.publish(&ack_topic, bad);
    }
    staff.publish(&ack_topic, br#"{"alert_id":"d-1","by":"Sam","eta_s":120}"#);
    let ack = acks
        .recv_timeout(Duration::from_secs(5))
        .expect("ack reaches the brain");
    assert_eq!(ack.alert_id, "d-1");
    assert_eq!(ack.by.as_deref(), Some("Sam"));
    assert_eq!(ack.eta_s, Some(120));
    // A repeated ack is not passed on twice; the malformed ones produced nothing.
    staff.publish(&ack_topic, br#"{"alert_id":"d-1","by":"Kim"}"#);
    assert!(acks.recv_timeout(Duration::from_millis(700)).is_err());
    let link = p.link();
    assert!(link.connected, "malformed acks must not break the link");
    assert_eq!(link.open_alerts, 1);
    assert!(staff.wait_until(Duration::from_secs(3), |s| {
        s.iter()
            .rev()
            .find(|m| m.topic == topic("alerts/active"))
            .is_some_and(|m| m.json()[0]["alert_id"] == "d-2" && m.json()[1].is_null())
    }));

    // After a restart only the unacknowledged alert is sent again.
    drop(p);
    staff.pump();
    staff.seen.clear();
    let (_p2, _acks2) = publisher(&rt, &cfg, state.path());
    assert!(staff_has_all(
        &mut staff,
        &["d-2".into()],
        Duration::from_secs(5)
    ));
    staff.wait_until(Duration::from_secs(1), |_| false);
    assert!(
        !staff.unique_alert_ids().contains("d-1"),
        "acked alert re-sent"
    );
}

#[test]
fn half_open_link_is_detected_will_published_and_alert_delivered_after_heal() {
    init_logging();
    let rt = runtime();
    let broker = Broker::start(false);
    let proxy = Proxy::start(rt.handle(), broker.port);
    let filters = [topic("status"), topic("alert")];
    let filters: Vec<&str> = filters.iter().map(String::as_str).collect();
    let mut staff = Staff::connect(rt.handle(), broker.port, "staff-e", &filters, false);
    let state = tempfile::tempdir().unwrap();
    let keep_alive = Duration::from_secs(5);
    let (mut p, _acks) = publisher(&rt, &mqtt_config(proxy.port, 5), state.path());
    assert!(p.wait_connected(Duration::from_secs(5)));
    assert!(staff.wait_until(Duration::from_secs(3), |s| {
        s.iter()
            .any(|m| m.topic == topic("status") && state_of(m) == "online")
    }));

    proxy.set(ProxyMode::BlackHole);
    let t0 = Instant::now();
    p.raise(&alert("e-1")).unwrap();
    assert!(wait_for(keep_alive * 3, || !p.link().connected));
    let detected = t0.elapsed();
    assert!(
        detected <= keep_alive * 2 + Duration::from_millis(1500),
        "half-open link noticed after {detected:?}"
    );
    let will_seen = staff.wait_until(Duration::from_secs(15), |s| {
        s.iter()
            .rev()
            .find(|m| m.topic == topic("status"))
            .is_some_and(|m| state_of(m) == "offline")
    });
    assert!(
        will_seen,
        "last will not seen; broker log:\n{}",
        broker.log()
    );
    assert!(!staff.unique_alert_ids().contains("e-1"));

    proxy.set(ProxyMode::Forward);
    assert!(
        staff_has_all(&mut staff, &["e-1".into()], Duration::from_secs(20)),
        "not delivered after heal"
    );
    assert!(staff.wait_until(Duration::from_secs(3), |s| {
        s.iter()
            .rev()
            .find(|m| m.topic == topic("status"))
            .is_some_and(|m| state_of(m) == "online")
    }));
    eprintln!("half-open link detected after {detected:?}");
}

#[test]
fn unwritable_state_dir_reports_error_and_sends_from_memory() {
    init_logging();
    let rt = runtime();
    let broker = Broker::start(false);
    let filters = [topic("status"), topic("alert")];
    let filters: Vec<&str> = filters.iter().map(String::as_str).collect();
    let mut staff = Staff::connect(rt.handle(), broker.port, "staff-f1", &filters, false);
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, b"not a directory").unwrap();
    let state = blocker.join("state");
    let (mut p, _acks) = publisher(&rt, &mqtt_config(broker.port, 15), &state);
    assert!(p.link().outbox_problem.is_some());
    let err = p.raise(&alert("f-1")).expect_err("not durable");
    assert!(matches!(err, AlertError::Outbox { .. }));
    assert!(err.to_string().contains("outbox.sqlite3"), "{err}");
    assert!(staff_has_all(
        &mut staff,
        &["f-1".into()],
        Duration::from_secs(5)
    ));
    assert!(
        staff.wait_until(Duration::from_secs(3), |s| s.iter().any(|m| {
            m.topic == topic("status")
                && state_of(m) == "degraded"
                && m.json()["outbox_problem"]
                    .as_str()
                    .is_some_and(|w| w.contains("outbox.sqlite3"))
        }))
    );
}

#[test]
fn disk_full_mid_run_reports_error_and_sends_from_memory() {
    init_logging();
    let rt = runtime();
    let broker = Broker::start(false);
    let filters = [topic("status"), topic("alert")];
    let filters: Vec<&str> = filters.iter().map(String::as_str).collect();
    let mut staff = Staff::connect(rt.handle(), broker.port, "staff-f2", &filters, false);
    let state = tempfile::tempdir().unwrap();
    let args = KioskArgs {
        url: broker.url(),
        state_dir: state.path().to_path_buf(),
        keep_alive_s: 15,
    };
    let mut child = Kiosk::spawn(&CHILD_ARGS, &args);
    assert_eq!(child.raise("f-ok"), "committed f-ok");
    child.send("fsize");
    child.expect("fsize-set", Duration::from_secs(5));
    let reply = child.raise("f-full");
    assert!(
        reply.starts_with("failed f-full") && reply.contains("outbox.sqlite3"),
        "{reply}"
    );
    assert!(staff_has_all(
        &mut staff,
        &["f-ok".into(), "f-full".into()],
        Duration::from_secs(5)
    ));
    assert!(staff.wait_until(Duration::from_secs(3), |s| {
        s.iter()
            .any(|m| m.topic == topic("status") && state_of(m) == "degraded")
    }));
}

#[test]
fn corrupt_outbox_is_quarantined_and_publisher_works() {
    init_logging();
    let rt = runtime();
    let broker = Broker::start(false);
    let alert_topic = topic("alert");
    let mut staff = Staff::connect(rt.handle(), broker.port, "staff-g", &[&alert_topic], false);
    let state = tempfile::tempdir().unwrap();
    std::fs::write(
        state.path().join("outbox.sqlite3"),
        b"this is not sqlite".repeat(500),
    )
    .unwrap();
    let (mut p, _acks) = publisher(&rt, &mqtt_config(broker.port, 15), state.path());
    assert_eq!(p.link().outbox_problem, None);
    let quarantined = std::fs::read_dir(state.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("outbox.sqlite3.corrupt-")
        })
        .count();
    assert_eq!(quarantined, 1);
    p.raise(&alert("g-1")).unwrap();
    assert!(staff_has_all(
        &mut staff,
        &["g-1".into()],
        Duration::from_secs(5)
    ));
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl must be installed for the TLS test");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a server certificate for 127.0.0.1 (plus an unrelated CA) in `dir`.
fn make_certs(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    for ca in ["ca", "other-ca"] {
        let key = format!("{ca}.key");
        let crt = format!("{ca}.crt");
        let mut args = vec!["req", "-x509"];
        args.extend(ec);
        args.extend([
            "-keyout",
            &key,
            "-out",
            &crt,
            "-days",
            "2",
            "-subj",
            "/CN=attune test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(dir, &args);
    }
    let mut args = vec!["req"];
    args.extend(ec);
    args.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    openssl(dir, &args);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
}

#[test]
fn tls_with_ca_file_delivers_and_wrong_ca_never_connects() {
    init_logging();
    let rt = runtime();
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    let tls_port = free_port();
    let c = |f: &str| certs.path().join(f).display().to_string();
    let extra = ExtraListener {
        port: tls_port,
        lines: vec![
            format!("cafile {}", c("ca.crt")),
            format!("certfile {}", c("server.crt")),
            format!("keyfile {}", c("server.key")),
        ],
    };
    let broker = Broker::start_with(free_port(), false, &[extra]);
    let alert_topic = topic("alert");
    let mut staff = Staff::connect(rt.handle(), broker.port, "staff-h", &[&alert_topic], false);
    let tls_cfg = |ca: &str, client_id: &str| MqttConfig {
        url: format!("mqtts://127.0.0.1:{tls_port}"),
        ca_file: Some(certs.path().join(ca)),
        client_id: client_id.into(),
        ..MqttConfig::default()
    };
    let state = tempfile::tempdir().unwrap();
    let (mut p, _acks) = publisher(&rt, &tls_cfg("ca.crt", "kiosk-tls"), state.path());
    assert!(
        p.wait_connected(Duration::from_secs(5)),
        "TLS connect failed; broker log:\n{}",
        broker.log()
    );
    p.raise(&alert("h-1")).unwrap();
    assert!(staff_has_all(
        &mut staff,
        &["h-1".into()],
        Duration::from_secs(5)
    ));

    let state2 = tempfile::tempdir().unwrap();
    let (wrong, _acks2) = publisher(
        &rt,
        &tls_cfg("other-ca.crt", "kiosk-wrong-ca"),
        state2.path(),
    );
    assert!(!wrong.wait_connected(Duration::from_secs(2)));
    let link = wrong.link();
    assert!(!link.connected);
    assert!(
        (1..=4).contains(&link.connect_attempts),
        "{} attempts in 2 s",
        link.connect_attempts
    );
}

#[test]
fn unconfirmed_alert_is_resent_after_ten_seconds_and_after_reconnect() {
    init_logging();
    let rt = runtime();
    let fake = WithholdingBroker::start(rt.handle());
    let state = tempfile::tempdir().unwrap();
    let (mut p, _acks) = publisher(&rt, &mqtt_config(fake.port, 5), state.path());
    assert!(p.wait_connected(Duration::from_secs(5)));
    p.raise(&alert("i-1")).unwrap();
    assert!(wait_for(Duration::from_secs(3), || !fake
        .copies("i-1")
        .is_empty()));
    let first = Instant::now();
    assert!(wait_for(Duration::from_secs(13), || fake
        .copies("i-1")
        .len()
        >= 2));
    let gap = first.elapsed();
    assert!(
        gap >= Duration::from_secs(9) && gap <= Duration::from_secs(12),
        "re-sent after {gap:?}"
    );
    assert_eq!(fake.copies("i-1"), [1, 1], "both on the first connection");
    assert_eq!(p.flush(Duration::ZERO), 1);

    // The connection drops before any PUBACK: the same id goes out on the new one.
    fake.ack.store(true, std::sync::atomic::Ordering::SeqCst);
    fake.drop_conn
        .store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(wait_for(Duration::from_secs(5), || fake
        .copies("i-1")
        .contains(&2)));
    assert_eq!(p.flush(Duration::from_secs(3)), 0);
}

#[test]
fn home_assistant_discovery_is_retained_and_tracks_help_state() {
    init_logging();
    let rt = runtime();
    let broker = Broker::start(false);
    let state = tempfile::tempdir().unwrap();
    let mut cfg = mqtt_config(broker.port, 15);
    cfg.home_assistant_discovery = true;
    let (mut p, _acks) = publisher(&rt, &cfg, state.path());
    assert!(p.wait_connected(Duration::from_secs(5)));
    p.raise(&alert("j-1")).unwrap();
    assert_eq!(p.flush(Duration::from_secs(3)), 0);
    std::thread::sleep(Duration::from_millis(300));
    // A late subscriber sees retained configuration and state.
    let ha = topic("ha/#");
    let mut late = Staff::connect(
        rt.handle(),
        broker.port,
        "home-assistant",
        &["homeassistant/#", &ha],
        false,
    );
    let help_cfg = "homeassistant/binary_sensor/attune_site1_k1/help/config";
    let stress_cfg = "homeassistant/sensor/attune_site1_k1/stress/config";
    assert!(late.wait_until(Duration::from_secs(3), |s| {
        [help_cfg, stress_cfg]
            .iter()
            .all(|t| s.iter().any(|m| m.topic == *t && m.retain))
            && s.iter()
                .any(|m| m.topic == topic("ha/help") && m.payload == b"ON")
            && s.iter()
                .any(|m| m.topic == topic("ha/stress") && m.payload == b"0.90")
    }));
    let conf = late.last_on(help_cfg).unwrap().json();
    assert_eq!(conf["state_topic"], topic("ha/help"));
    assert_eq!(conf["availability"][0]["topic"], topic("status"));
    p.status_handle().set_customer_stress(0.25);
    assert!(late.wait_until(Duration::from_secs(3), |s| {
        s.iter()
            .any(|m| m.topic == topic("ha/stress") && m.payload == b"0.25")
    }));
}

#[test]
fn randomised_faults_lose_no_alert() {
    init_logging();
    let seed = std::env::var("ATTUNE_TRIAL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    let report = fault_trials(&CHILD_ARGS, 20, seed, Duration::from_secs(30));
    eprintln!("fault trials (seed {seed}): {report:?}");
    assert!(
        report.lost.is_empty(),
        "seed {seed}: lost {:?} of {} committed",
        report.lost,
        report.committed
    );
    assert_eq!(report.committed, 20);
}
