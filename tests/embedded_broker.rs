//! The embedded broker against real MQTT clients (mosquitto_pub / mosquitto_sub) and a real
//! mosquitto squatting on its port: anonymous and wrong log-ins are refused, staff may only
//! acknowledge, a taken port fails start-up, and the connection cap holds.

mod mqtt_harness;

use attune::alerts::{BrokerScope, Credentials, EmbeddedBroker};
use mqtt_harness::{Broker as Mosquitto, free_port, runtime};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn scope() -> BrokerScope {
    BrokerScope {
        prefix: "attune".into(),
        site: "site1".into(),
        kiosk: "k1".into(),
    }
}

fn start(rt: &tokio::runtime::Runtime, dir: &std::path::Path) -> EmbeddedBroker {
    EmbeddedBroker::start("127.0.0.1:0".parse().unwrap(), dir, &scope(), rt.handle())
        .expect("embedded broker starts")
}

fn port(b: &EmbeddedBroker) -> String {
    b.addr().port().to_string()
}

fn login(path: &std::path::Path) -> Credentials {
    Credentials::read(path).expect("credentials file")
}

/// `mosquitto_sub` for one message on `topic`, waiting at most `wait_s`.
fn sub_one(port: &str, creds: Option<&Credentials>, topic: &str, wait_s: u32) -> Output {
    let mut cmd = Command::new("mosquitto_sub");
    cmd.args(["-h", "127.0.0.1", "-p", port, "-t", topic, "-C", "1", "-v"])
        .args(["-W", &wait_s.to_string()]);
    if let Some(c) = creds {
        cmd.args(["-u", &c.user, "-P", &c.password]);
    }
    cmd.output()
        .expect("mosquitto_sub (package mosquitto-clients) is installed")
}

fn publish(
    port: &str,
    creds: Option<&Credentials>,
    topic: &str,
    body: &str,
    retain: bool,
) -> Output {
    let mut cmd = Command::new("mosquitto_pub");
    cmd.args([
        "-h",
        "127.0.0.1",
        "-p",
        port,
        "-t",
        topic,
        "-m",
        body,
        "-q",
        "1",
    ]);
    if retain {
        cmd.arg("-r");
    }
    if let Some(c) = creds {
        cmd.args(["-u", &c.user, "-P", &c.password]);
    }
    cmd.output()
        .expect("mosquitto_pub (package mosquitto-clients) is installed")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn anonymous_and_wrong_logins_are_refused() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let broker = start(&rt, dir.path());
    let p = port(&broker);
    let anon = publish(&p, None, "attune/site1/k1/ack", "{}", false);
    assert!(!anon.status.success(), "anonymous publish: {}", text(&anon));
    assert!(
        text(&anon).to_lowercase().contains("refused"),
        "{}",
        text(&anon)
    );
    let wrong = Credentials {
        user: "staff".into(),
        password: "guess".into(),
    };
    let out = publish(&p, Some(&wrong), "attune/site1/k1/ack", "{}", false);
    assert!(!out.status.success(), "{}", text(&out));
    let anon_sub = sub_one(&p, None, "attune/#", 2);
    assert!(!anon_sub.status.success(), "{}", text(&anon_sub));
    let staff = login(broker.staff_credentials());
    let ok = publish(&p, Some(&staff), "attune/site1/k1/ack", "{}", false);
    assert!(ok.status.success(), "{}", text(&ok));
}

#[test]
fn accounts_are_private_files_that_persist() {
    use std::os::unix::fs::PermissionsExt;
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let first = {
        let b = start(&rt, dir.path());
        for f in [b.staff_credentials(), b.kiosk_credentials()] {
            let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", f.display());
        }
        login(b.staff_credentials())
    };
    let again = start(&rt, dir.path());
    assert_eq!(
        login(again.staff_credentials()),
        first,
        "kept across restarts"
    );
}

#[test]
fn staff_may_acknowledge_but_not_forge_alerts_or_fill_other_topics() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let broker = start(&rt, dir.path());
    let p = port(&broker);
    let staff = login(broker.staff_credentials());
    let kiosk = login(broker.kiosk_credentials());
    // A forged alert and a retained junk message: accepted on the wire, dropped by the rules.
    publish(&p, Some(&staff), "attune/site1/k1/alert", "forged", true);
    publish(&p, Some(&staff), "junk/x", "junk", true);
    publish(&p, Some(&staff), "attune/site1/k1/status", "offline", true);
    for topic in ["attune/site1/k1/alert", "junk/x", "attune/site1/k1/status"] {
        let got = sub_one(&p, Some(&kiosk), topic, 1);
        assert!(
            String::from_utf8_lossy(&got.stdout).trim().is_empty(),
            "{topic}: {}",
            text(&got)
        );
    }
    // The kiosk's own retained status is readable by staff.
    publish(&p, Some(&kiosk), "attune/site1/k1/status", "online", true);
    let got = sub_one(&p, Some(&staff), "attune/site1/k1/status", 3);
    assert_eq!(
        String::from_utf8_lossy(&got.stdout).trim(),
        "attune/site1/k1/status online"
    );
    // Staff cannot subscribe outside the prefix, nor to everything.
    let wide = sub_one(&p, Some(&staff), "#", 1);
    assert!(
        !wide.status.success() || wide.stdout.is_empty(),
        "{}",
        text(&wide)
    );
}

#[test]
fn a_taken_port_fails_start_up_with_a_clear_error() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let squatter = Mosquitto::start_with(free_port(), false, &[]);
    let addr = format!("127.0.0.1:{}", squatter.port).parse().unwrap();
    let t0 = Instant::now();
    let err = EmbeddedBroker::start(addr, &dir.path().join("state"), &scope(), rt.handle())
        .expect_err("the port is taken");
    let msg = err.to_string();
    assert!(msg.contains(&squatter.port.to_string()), "{msg}");
    assert!(msg.contains("another program"), "{msg}");
    assert!(msg.starts_with("mqtt.url"), "{msg}");
    assert!(t0.elapsed() < Duration::from_secs(10));
}

#[test]
fn the_connection_cap_holds() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let broker = start(&rt, dir.path());
    let p = port(&broker);
    let staff = login(broker.staff_credentials());
    let mut holders = Vec::new();
    for i in 0..16 {
        holders.push(
            Command::new("mosquitto_sub")
                .args(["-h", "127.0.0.1", "-p", &p, "-t", "attune/#"])
                .args([
                    "-u",
                    &staff.user,
                    "-P",
                    &staff.password,
                    "-i",
                    &format!("hold-{i}"),
                ])
                .spawn()
                .expect("mosquitto_sub"),
        );
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while broker.connections() < 16 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(broker.connections(), 16);
    let refused = publish(&p, Some(&staff), "attune/site1/k1/ack", "{}", false);
    assert!(!refused.status.success(), "{}", text(&refused));
    for mut h in holders {
        let _ = h.kill();
        let _ = h.wait();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while broker.connections() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let ok = publish(&p, Some(&staff), "attune/site1/k1/ack", "{}", false);
    assert!(ok.status.success(), "{}", text(&ok));
}
