//! Harness for the MQTT alert tests and the fault benchmark: a real mosquitto on a loopback
//! port (killed on drop), a fault-injecting TCP proxy, a "staff" client, a scripted broker that
//! withholds PUBACKs, and a child "kiosk" process that can be SIGKILLed. Loopback only; every
//! wait is bounded.

// Shared by the integration test and the fault benchmark, which each use a part of it.
#![allow(dead_code)]

use attune::alerts::{
    ALERT_SCHEMA, Alert, AlertPublisher, AlertStress, KioskIdentity, MqttConfig, MqttPublisher,
    StatusInfo,
};
use attune::conversation::{Reason, StaffAck, StaffHints, StressLevel, Trend};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::{Handle, Runtime};
use tokio::task::JoinHandle;

/// Environment variable that turns the test binary (or bench example) into a child kiosk.
pub const KIOSK_ENV: &str = "ATTUNE_TEST_KIOSK";
/// Site and kiosk used throughout.
pub const SITE: &str = "site1";
/// Kiosk id used throughout.
pub const KIOSK: &str = "k1";

/// Logs to stderr when `RUST_LOG` is set (once per process).
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .try_init();
}

/// A multi-threaded runtime like the daemon's.
pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The kiosk under test.
pub fn kiosk() -> KioskIdentity {
    KioskIdentity {
        site: SITE.into(),
        id: KIOSK.into(),
        location: "Platform 2, by the lifts".into(),
    }
}

/// Topic of the kiosk's `leaf` (`alert`, `status`, ...).
pub fn topic(leaf: &str) -> String {
    format!("attune/{SITE}/{KIOSK}/{leaf}")
}

/// A realistic alert with id `id`.
pub fn alert(id: &str) -> Alert {
    Alert {
        schema: ALERT_SCHEMA.into(),
        alert_id: id.into(),
        kiosk: kiosk(),
        reason: Reason::AskedForPerson,
        stress: AlertStress {
            level: StressLevel::Distressed,
            score: 0.9,
            trend: Trend::Rising,
        },
        customer_said: Some(vec!["I need to talk to a person [number]".into()]),
        topic: Some("refunds".into()),
        hints: StaffHints {
            sounds: "upset and getting more so".into(),
            needs: "asked about: refunds".into(),
            first_sentence: "Hello, I'm here to help with your refund.".into(),
        },
        raised_at_ms: 1_764_000_000_000,
        attempt: 0,
    }
}

/// MQTT configuration for a broker on `port`.
pub fn mqtt_config(port: u16, keep_alive_s: u64) -> MqttConfig {
    MqttConfig {
        url: format!("mqtt://127.0.0.1:{port}"),
        keep_alive_s,
        ..MqttConfig::default()
    }
}

/// Status details as the daemon would report them.
pub fn status_info() -> StatusInfo {
    StatusInfo {
        version: "0.1.0-test".into(),
        models: BTreeMap::from([("stt".to_string(), "ggml-tiny.en.bin".to_string())]),
        audio: "ok".into(),
        speaker: "ok".into(),
    }
}

/// Starts a publisher; returns it with the receiving end of staff acknowledgements.
pub fn publisher(
    rt: &Runtime,
    cfg: &MqttConfig,
    state_dir: &Path,
) -> (MqttPublisher, Receiver<StaffAck>) {
    let (tx, rx) = mpsc::sync_channel(8);
    let p = MqttPublisher::start(cfg, &kiosk(), state_dir, rt.handle(), tx, status_info())
        .expect("publisher starts");
    (p, rx)
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Polls `cond` every 20 ms until it holds or `timeout` passes.
pub fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn mosquitto_path() -> PathBuf {
    let p = std::env::var_os("MOSQUITTO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/mosquitto"));
    assert!(
        p.is_file(),
        "mosquitto not found at {} (apt-get install mosquitto, or set MOSQUITTO)",
        p.display()
    );
    p
}

/// Extra mosquitto listener (e.g. TLS) written into the config.
pub struct ExtraListener {
    /// Port.
    pub port: u16,
    /// Lines after `listener PORT 127.0.0.1`.
    pub lines: Vec<String>,
}

/// A real mosquitto on 127.0.0.1, killed on drop.
pub struct Broker {
    dir: tempfile::TempDir,
    /// Its plain listener port.
    pub port: u16,
    child: Option<Child>,
}

impl Broker {
    /// Starts mosquitto on a free port; `persistence` saves sessions on every change.
    pub fn start(persistence: bool) -> Broker {
        Self::start_with(free_port(), persistence, &[])
    }

    /// Starts mosquitto on `port` with extra listeners.
    pub fn start_with(port: u16, persistence: bool, extra: &[ExtraListener]) -> Broker {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conf = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\nlog_dest stderr\nlog_type error\nlog_type warning\n"
        );
        // Running as root, mosquitto would drop to the `mosquitto` user and lose access to
        // the temporary directory.
        if unsafe_is_root() {
            conf.push_str("user root\n");
        }
        if persistence {
            conf.push_str(&format!(
                "persistence true\npersistence_location {}/\nautosave_interval 1\nautosave_on_changes true\n",
                dir.path().display()
            ));
        } else {
            conf.push_str("persistence false\n");
        }
        for l in extra {
            conf.push_str(&format!("listener {} 127.0.0.1\n", l.port));
            for line in &l.lines {
                conf.push_str(line);
                conf.push('\n');
            }
        }
        std::fs::write(dir.path().join("mosquitto.conf"), conf).expect("write mosquitto.conf");
        let mut b = Broker {
            dir,
            port,
            child: None,
        };
        b.restart();
        b
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// Starts it (again) on the same port and configuration; waits until it accepts.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "broker already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("mosquitto.log"))
            .expect("mosquitto log");
        let child = Command::new(mosquitto_path())
            .arg("-c")
            .arg(self.dir.path().join("mosquitto.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn mosquitto");
        self.child = Some(child);
        let port = self.port;
        let up = wait_for(Duration::from_secs(5), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(up, "mosquitto did not start on {port}: {}", self.log());
    }

    /// The broker's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mosquitto.log")).unwrap_or_default()
    }

    /// SIGKILL: no goodbye, nothing saved since the last autosave.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM: mosquitto saves its database and exits.
    pub fn terminate(&mut self) {
        if let Some(mut c) = self.child.take() {
            signal(c.id(), libc::SIGTERM);
            let exited = wait_for(Duration::from_secs(5), || {
                matches!(c.try_wait(), Ok(Some(_)))
            });
            if !exited {
                let _ = c.kill();
            }
            let _ = c.wait();
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}

fn unsafe_is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Sends `sig` to the child process `pid`.
pub fn signal(pid: u32, sig: i32) {
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

/// What the proxy does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ProxyMode {
    /// Pass bytes both ways.
    Forward = 0,
    /// Swallow bytes without closing anything (a half-open link).
    BlackHole = 1,
    /// Close new connections at once (broker "down").
    Refuse = 2,
}

/// A TCP proxy on 127.0.0.1 in front of a broker, with network faults on demand.
pub struct Proxy {
    /// Port clients connect to.
    pub port: u16,
    mode: Arc<AtomicU8>,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// Starts forwarding to `upstream` on `rt`.
    pub fn start(rt: &Handle, upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let mode = Arc::new(AtomicU8::new(ProxyMode::Forward as u8));
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (m, c) = (mode.clone(), conns.clone());
        let accept = rt.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            while let Ok((client, _)) = listener.accept().await {
                let mode = m.clone();
                let task = tokio::spawn(proxy_conn(client, upstream, mode));
                let mut list = c.lock().expect("conns");
                list.retain(|h| !h.is_finished());
                list.push(task);
            }
        });
        Proxy {
            port,
            mode,
            conns,
            accept,
        }
    }

    /// Changes what the proxy does from now on.
    pub fn set(&self, mode: ProxyMode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }

    /// Closes every connection at once (both sides see the socket close).
    pub fn reset(&self) {
        for h in self.conns.lock().expect("conns").drain(..) {
            h.abort();
        }
    }

    /// URL through the proxy.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.reset();
    }
}

fn mode_of(m: &AtomicU8) -> ProxyMode {
    match m.load(Ordering::SeqCst) {
        1 => ProxyMode::BlackHole,
        2 => ProxyMode::Refuse,
        _ => ProxyMode::Forward,
    }
}

async fn proxy_conn(client: tokio::net::TcpStream, upstream: u16, mode: Arc<AtomicU8>) {
    match mode_of(&mode) {
        ProxyMode::Refuse => {}
        ProxyMode::BlackHole => {
            // Accept and swallow: the client's handshake never gets an answer.
            let (mut r, _w) = client.into_split();
            let mut buf = vec![0u8; 4096];
            while matches!(r.read(&mut buf).await, Ok(n) if n > 0) {}
        }
        ProxyMode::Forward => {
            let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await else {
                return;
            };
            let poisoned = Arc::new(AtomicBool::new(false));
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            // Both halves are held until both directions end, so a black-holed link is never
            // closed by the proxy: each side must find out by keep-alive.
            let _ = tokio::join!(
                pump(cr, sw, mode.clone(), poisoned.clone()),
                pump(sr, cw, mode, poisoned)
            );
        }
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mode: Arc<AtomicU8>,
    poisoned: Arc<AtomicBool>,
) -> tokio::net::tcp::OwnedWriteHalf {
    let mut buf = vec![0u8; 16384];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        // Once a byte is swallowed the stream is broken for good, as after a real partition.
        if mode_of(&mode) == ProxyMode::BlackHole {
            poisoned.store(true, Ordering::SeqCst);
        }
        if poisoned.load(Ordering::SeqCst) {
            continue;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    if !poisoned.load(Ordering::SeqCst) {
        let _ = to.shutdown().await;
    }
    to
}

/// A message a staff client received.
#[derive(Debug, Clone)]
pub struct Msg {
    /// Topic.
    pub topic: String,
    /// Payload.
    pub payload: Vec<u8>,
    /// Retained flag as delivered.
    pub retain: bool,
}

impl Msg {
    /// The payload as JSON (Null if it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.payload).unwrap_or(serde_json::Value::Null)
    }

    /// The alert id, if this is an alert.
    pub fn alert_id(&self) -> Option<String> {
        if !self.topic.ends_with("/alert") {
            return None;
        }
        self.json()["alert_id"].as_str().map(str::to_string)
    }
}

/// A member of staff's app: subscribes (persistent session), collects messages, and can
/// acknowledge alerts automatically.
pub struct Staff {
    rx: Receiver<Msg>,
    /// Everything received so far, in order.
    pub seen: Vec<Msg>,
    client: AsyncClient,
    subacks: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl Staff {
    /// Connects to the broker on `port` and subscribes to `filters` after every connect.
    pub fn connect(rt: &Handle, port: u16, name: &str, filters: &[&str], auto_ack: bool) -> Staff {
        let mut opts = MqttOptions::new(name, "127.0.0.1", port);
        opts.set_keep_alive(Duration::from_secs(5))
            .set_clean_session(false)
            .set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut el) = AsyncClient::new(opts, 1024);
        let (tx, rx) = mpsc::channel();
        let subacks = Arc::new(AtomicU64::new(0));
        let filters: Vec<String> = filters.iter().map(|s| s.to_string()).collect();
        let wanted = filters.len() as u64;
        let (c, s) = (client.clone(), subacks.clone());
        let task = rt.spawn(async move {
            loop {
                match el.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        for f in &filters {
                            let _ = c.try_subscribe(f.as_str(), QoS::AtLeastOnce);
                        }
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        s.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let msg = Msg {
                            topic: p.topic.clone(),
                            payload: p.payload.to_vec(),
                            retain: p.retain,
                        };
                        if auto_ack
                            && !msg.topic.contains("/supervisor/")
                            && let Some(id) = msg.alert_id()
                        {
                            let ack = serde_json::json!({"alert_id": id, "by": "Sam"});
                            let topic = msg.topic.replace("/alert", "/ack");
                            let _ = c.try_publish(topic, QoS::AtLeastOnce, false, ack.to_string());
                        }
                        let _ = tx.send(msg);
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        let mut staff = Staff {
            rx,
            seen: Vec::new(),
            client,
            subacks,
            task,
        };
        assert!(
            staff.wait_subscribed(wanted, Duration::from_secs(5)),
            "staff client could not subscribe on port {port}"
        );
        staff
    }

    /// SUBACKs received so far (one per filter per connection).
    pub fn subacks(&self) -> u64 {
        self.subacks.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` SUBACKs have arrived in total.
    pub fn wait_subscribed(&mut self, n: u64, timeout: Duration) -> bool {
        wait_for(timeout, || self.subacks() >= n)
    }

    /// Publishes `payload` to `topic` (QoS 1).
    pub fn publish(&self, topic: &str, payload: &[u8]) {
        self.client
            .try_publish(topic, QoS::AtLeastOnce, false, payload.to_vec())
            .expect("staff publish");
    }

    /// Moves newly arrived messages into `seen`.
    pub fn pump(&mut self) {
        while let Ok(m) = self.rx.try_recv() {
            self.seen.push(m);
        }
    }

    /// Waits until `cond(seen)` holds, for up to `timeout`.
    pub fn wait_until(&mut self, timeout: Duration, cond: impl Fn(&[Msg]) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            self.pump();
            if cond(&self.seen) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            if let Ok(m) = self.rx.recv_timeout(left.min(Duration::from_millis(50))) {
                self.seen.push(m);
            }
        }
    }

    /// Alert ids received on kiosk alert topics (with duplicates, in order).
    pub fn alert_ids(&self) -> Vec<String> {
        self.seen
            .iter()
            .filter(|m| !m.topic.contains("/supervisor/"))
            .filter_map(Msg::alert_id)
            .collect()
    }

    /// Distinct alert ids received.
    pub fn unique_alert_ids(&self) -> HashSet<String> {
        self.alert_ids().into_iter().collect()
    }

    /// The latest message on `topic`.
    pub fn last_on(&self, topic: &str) -> Option<&Msg> {
        self.seen.iter().rev().find(|m| m.topic == topic)
    }
}

impl Drop for Staff {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Waits until staff have every id in `ids`.
pub fn staff_has_all(staff: &mut Staff, ids: &[String], timeout: Duration) -> bool {
    staff.wait_until(timeout, |seen| {
        let got: HashSet<String> = seen.iter().filter_map(Msg::alert_id).collect();
        ids.iter().all(|id| got.contains(id))
    })
}

/// `(connection number, topic, payload)` of every PUBLISH a scripted broker received.
pub type Log = Arc<Mutex<Vec<(u32, String, Vec<u8>)>>>;

/// A scripted broker on loopback that accepts one client at a time, never sends PUBACK (until
/// told to), and records every PUBLISH it receives.
pub struct WithholdingBroker {
    /// Port.
    pub port: u16,
    /// `(connection number, topic, payload)` of every PUBLISH.
    pub publishes: Log,
    /// Send PUBACKs from now on.
    pub ack: Arc<AtomicBool>,
    /// Close the current connection.
    pub drop_conn: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl WithholdingBroker {
    /// Starts it on `rt`.
    pub fn start(rt: &Handle) -> WithholdingBroker {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let publishes: Log = Arc::default();
        let ack = Arc::new(AtomicBool::new(false));
        let drop_conn = Arc::new(AtomicBool::new(false));
        let (p, a, d) = (publishes.clone(), ack.clone(), drop_conn.clone());
        let task = rt.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let mut n = 0;
            while let Ok((sock, _)) = listener.accept().await {
                n += 1;
                d.store(false, Ordering::SeqCst);
                scripted_session(sock, n, p.clone(), a.clone(), d.clone()).await;
            }
        });
        WithholdingBroker {
            port,
            publishes,
            ack,
            drop_conn,
            task,
        }
    }

    /// Copies of alert `id` received, per connection number.
    pub fn copies(&self, id: &str) -> Vec<u32> {
        self.publishes
            .lock()
            .expect("publishes")
            .iter()
            .filter(|(_, t, p)| {
                t.ends_with("/alert")
                    && serde_json::from_slice::<serde_json::Value>(p)
                        .map(|v| v["alert_id"] == id)
                        .unwrap_or(false)
            })
            .map(|(n, _, _)| *n)
            .collect()
    }
}

impl Drop for WithholdingBroker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn scripted_session(
    mut sock: tokio::net::TcpStream,
    conn: u32,
    publishes: Log,
    ack: Arc<AtomicBool>,
    drop_conn: Arc<AtomicBool>,
) {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if drop_conn.load(Ordering::SeqCst) {
            return;
        }
        let read = tokio::time::timeout(Duration::from_millis(100), sock.read(&mut chunk)).await;
        match read {
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => continue,
        }
        while let Some((header, body, used)) = split_packet(&buf) {
            let reply = scripted_reply(header, &body, conn, &publishes, &ack);
            buf.drain(..used);
            if !reply.is_empty() && sock.write_all(&reply).await.is_err() {
                return;
            }
        }
    }
}

/// One MQTT packet from the front of `buf`: (first byte, body, bytes used).
fn split_packet(buf: &[u8]) -> Option<(u8, Vec<u8>, usize)> {
    let mut len = 0usize;
    let mut mult = 1usize;
    let mut i = 1;
    loop {
        let b = *buf.get(i)?;
        len += usize::from(b & 0x7f) * mult;
        mult *= 128;
        i += 1;
        if b & 0x80 == 0 {
            break;
        }
    }
    let end = i + len;
    (buf.len() >= end).then(|| (buf[0], buf[i..end].to_vec(), end))
}

fn scripted_reply(
    header: u8,
    body: &[u8],
    conn: u32,
    publishes: &Log,
    ack: &AtomicBool,
) -> Vec<u8> {
    match header >> 4 {
        1 => vec![0x20, 2, 0, 0],                // CONNECT -> CONNACK, no session
        8 => vec![0x90, 3, body[0], body[1], 1], // SUBSCRIBE -> SUBACK QoS 1
        12 => vec![0xd0, 0],                     // PINGREQ -> PINGRESP
        3 => {
            let tlen = usize::from(body[0]) << 8 | usize::from(body[1]);
            let topic = String::from_utf8_lossy(&body[2..2 + tlen]).to_string();
            let qos = (header >> 1) & 3;
            let (pkid, payload) = if qos > 0 {
                (&body[2 + tlen..4 + tlen], body[4 + tlen..].to_vec())
            } else {
                (&body[0..0], body[2 + tlen..].to_vec())
            };
            publishes
                .lock()
                .expect("publishes")
                .push((conn, topic, payload));
            if qos > 0 && ack.load(Ordering::SeqCst) {
                vec![0x40, 2, pkid[0], pkid[1]]
            } else {
                Vec::new()
            }
        }
        _ => Vec::new(),
    }
}

/// A kiosk in its own process (the test binary re-executed), driven over stdin/stdout.
pub struct Kiosk {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

/// How to start a child kiosk.
#[derive(Debug, Clone)]
pub struct KioskArgs {
    /// Broker URL.
    pub url: String,
    /// State directory.
    pub state_dir: PathBuf,
    /// Keep-alive seconds.
    pub keep_alive_s: u64,
}

impl Kiosk {
    /// Re-executes this binary with `args` (for a test binary: the child test's name and
    /// `--exact`), as a kiosk configured by `k`.
    pub fn spawn(args: &[&str], k: &KioskArgs) -> Kiosk {
        let exe = std::env::current_exe().expect("current exe");
        let mut child = Command::new(exe)
            .args(args)
            .env(KIOSK_ENV, "1")
            .env("KIOSK_URL", &k.url)
            .env("KIOSK_STATE", &k.state_dir)
            .env("KIOSK_KEEPALIVE", k.keep_alive_s.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // Piped, not inherited: when the test's stderr is a file (CI logs), the child's
            // "disk full" file-size limit would make its own log writes fail and kill it.
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kiosk child");
        let stderr = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[kiosk child] {line}");
            }
        });
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // libtest may print "test kiosk_child ... " just before the first line.
                if let Some(at) = line.find("KIOSK ")
                    && tx.send(line[at + 6..].to_string()).is_err()
                {
                    break;
                }
            }
        });
        let mut k = Kiosk {
            child,
            stdin,
            lines: rx,
        };
        k.expect("ready", Duration::from_secs(10));
        k
    }

    /// Sends one command line.
    pub fn send(&mut self, cmd: &str) {
        writeln!(self.stdin, "{cmd}").expect("write to kiosk");
        self.stdin.flush().expect("flush kiosk stdin");
    }

    /// Waits for the next reply line, which must start with `prefix`.
    pub fn expect(&mut self, prefix: &str, timeout: Duration) -> String {
        let line = self.lines.recv_timeout(timeout).unwrap_or_else(|e| {
            panic!("kiosk child said nothing ({e}) while waiting for {prefix:?}")
        });
        assert!(
            line.starts_with(prefix),
            "expected {prefix:?}, kiosk said {line:?}"
        );
        line
    }

    /// Raises alert `id`; returns the reply (`committed ID` or `failed ID why`).
    pub fn raise(&mut self, id: &str) -> String {
        self.send(&format!("raise {id}"));
        self.lines
            .recv_timeout(Duration::from_secs(10))
            .expect("kiosk answers raise")
    }

    /// SIGKILL, like a power cut or the OOM killer.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Kiosk {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The child side of [`Kiosk`]: runs a publisher and obeys `raise ID`, `fsize`, `link`,
/// `quit` on stdin, answering lines prefixed `KIOSK `.
pub fn kiosk_child_main() {
    init_logging();
    let url = std::env::var("KIOSK_URL").expect("KIOSK_URL");
    let state = PathBuf::from(std::env::var("KIOSK_STATE").expect("KIOSK_STATE"));
    let keep_alive_s = std::env::var("KIOSK_KEEPALIVE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let rt = runtime();
    let cfg = MqttConfig {
        url,
        keep_alive_s,
        ..MqttConfig::default()
    };
    let (mut p, acks) = publisher(&rt, &cfg, &state);
    // Like the brain, take acknowledgements as they come (nothing else needs them here).
    std::thread::spawn(move || while acks.recv().is_ok() {});
    let out = |s: String| {
        let mut o = std::io::stdout().lock();
        let _ = writeln!(o, "KIOSK {s}");
        let _ = o.flush();
    };
    out("ready".into());
    let mut input = String::new();
    let stdin = std::io::stdin();
    loop {
        input.clear();
        if stdin.lock().read_line(&mut input).unwrap_or(0) == 0 {
            return;
        }
        let mut words = input.split_whitespace();
        match (words.next(), words.next()) {
            (Some("raise"), Some(id)) => match p.raise(&alert(id)) {
                Ok(()) => out(format!("committed {id}")),
                Err(e) => out(format!("failed {id} {e}")),
            },
            (Some("fsize"), _) => {
                limit_file_size();
                out("fsize-set".into());
            }
            (Some("link"), _) => out(format!("link {:?}", p.link())),
            (Some("quit"), _) => {
                let n = p.shutdown(Duration::from_secs(2));
                out(format!("bye {n}"));
                return;
            }
            _ => out(format!("unknown {input}")),
        }
    }
}

/// Makes every further write to a file past byte 1 fail (EFBIG), like a full disk, for this
/// process only.
fn limit_file_size() {
    // SAFETY: plain libc calls on this process; ignoring SIGXFSZ makes the write fail with
    // EFBIG instead of killing the process.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        let lim = libc::rlimit {
            rlim_cur: 1,
            rlim_max: libc::RLIM_INFINITY,
        };
        libc::setrlimit(libc::RLIMIT_FSIZE, &lim);
    }
}

/// A tiny deterministic random number generator (xorshift64*), so a failing trial sequence
/// can be replayed from its seed.
pub struct Rng(u64);

impl Rng {
    /// Seeded generator.
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    /// Next value.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Milliseconds in `lo..hi`.
    pub fn ms(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.below(hi - lo))
    }
}

/// Faults injected by [`fault_trials`]; each trial raises one alert where it is at risk.
pub const FAULTS: [&str; 7] = [
    "none",
    "broker killed, alert raised while it is down",
    "broker killed right after the alert is committed",
    "link black-holed, alert raised into it",
    "link reset right after the alert is committed",
    "kiosk SIGKILLed 0-50 ms after the commit",
    "kiosk SIGKILLed after the commit, before any PUBACK",
];

/// Outcome of [`fault_trials`].
#[derive(Debug, Default)]
pub struct TrialReport {
    /// Trials run.
    pub trials: usize,
    /// Alerts the kiosk said were committed.
    pub committed: usize,
    /// Committed alerts staff received at least once.
    pub delivered: usize,
    /// Committed alerts staff never received.
    pub lost: Vec<String>,
    /// Alert messages received beyond the first per id.
    pub duplicates: usize,
    /// How often each fault was injected (indexed like [`FAULTS`]).
    pub faults: [usize; 7],
    /// Wall time.
    pub elapsed: Duration,
}

/// Broker, proxy, staff and child kiosk of the fault trials.
struct Rig {
    broker: Broker,
    proxy: Proxy,
    staff: Staff,
    kiosk: Option<Kiosk>,
    args: KioskArgs,
    child_args: Vec<String>,
}

impl Rig {
    fn raise(&mut self, id: &str) -> bool {
        let kiosk = self.kiosk.as_mut().expect("kiosk running");
        kiosk.raise(id) == format!("committed {id}")
    }

    fn restart_kiosk(&mut self) {
        if let Some(k) = self.kiosk.take() {
            k.kill9();
        }
        self.proxy.set(ProxyMode::Forward);
        let args: Vec<&str> = self.child_args.iter().map(String::as_str).collect();
        self.kiosk = Some(Kiosk::spawn(&args, &self.args));
    }

    fn broker_down(&mut self) {
        self.proxy.set(ProxyMode::Refuse);
        self.proxy.reset();
        self.broker.kill();
    }

    /// Staff must be subscribed again before the kiosk can reconnect: a broker without
    /// persistence drops messages nobody is subscribed to.
    fn broker_up(&mut self) {
        let before = self.staff.subacks();
        self.broker.restart();
        self.staff
            .wait_subscribed(before + 1, Duration::from_secs(5));
        self.proxy.set(ProxyMode::Forward);
    }

    /// Runs fault number `fault` around raising `id`; returns whether it was committed.
    fn trial(&mut self, fault: usize, id: &str, rng: &mut Rng) -> bool {
        match fault {
            1 => {
                self.broker_down();
                let committed = self.raise(id);
                std::thread::sleep(rng.ms(0, 800));
                self.broker_up();
                committed
            }
            2 => {
                let committed = self.raise(id);
                self.broker_down();
                std::thread::sleep(rng.ms(0, 800));
                self.broker_up();
                committed
            }
            3 => {
                self.proxy.set(ProxyMode::BlackHole);
                let committed = self.raise(id);
                std::thread::sleep(rng.ms(200, 2500));
                self.proxy.set(ProxyMode::Forward);
                committed
            }
            4 => {
                let committed = self.raise(id);
                self.proxy.reset();
                committed
            }
            5 => {
                let committed = self.raise(id);
                std::thread::sleep(rng.ms(0, 50));
                self.restart_kiosk();
                committed
            }
            6 => {
                self.proxy.set(ProxyMode::BlackHole);
                let committed = self.raise(id);
                self.restart_kiosk();
                committed
            }
            _ => self.raise(id),
        }
    }
}

/// Runs `trials` rounds of: a random fault hits the broker, the link or the child kiosk process
/// around the raising of one alert. Staff (acknowledging every alert) must end up with every
/// committed alert. The broker keeps no persistence, so each broker restart loses the session.
pub fn fault_trials(
    child_args: &[&str],
    trials: usize,
    seed: u64,
    settle: Duration,
) -> TrialReport {
    let started = Instant::now();
    let rt = runtime();
    let broker = Broker::start(false);
    let proxy = Proxy::start(rt.handle(), broker.port);
    let alert_topic = topic("alert");
    let staff = Staff::connect(
        rt.handle(),
        broker.port,
        "staff-trials",
        &[alert_topic.as_str()],
        true,
    );
    let state = tempfile::tempdir().expect("state dir");
    let args = KioskArgs {
        url: proxy.url(),
        state_dir: state.path().to_path_buf(),
        keep_alive_s: 2,
    };
    let kiosk = Kiosk::spawn(child_args, &args);
    let mut rig = Rig {
        broker,
        proxy,
        staff,
        kiosk: Some(kiosk),
        args,
        child_args: child_args.iter().map(|s| s.to_string()).collect(),
    };
    let mut rng = Rng::new(seed);
    let mut report = TrialReport {
        trials,
        ..TrialReport::default()
    };
    let mut committed = Vec::new();
    for i in 0..trials {
        let id = format!("trial-{seed}-{i}");
        let fault = rng.below(FAULTS.len() as u64) as usize;
        report.faults[fault] += 1;
        if rig.trial(fault, &id, &mut rng) {
            committed.push(id);
        }
        std::thread::sleep(rng.ms(0, 300));
    }
    rig.proxy.set(ProxyMode::Forward);
    staff_has_all(&mut rig.staff, &committed, settle);
    let ids = rig.staff.alert_ids();
    let unique: HashSet<&String> = ids.iter().collect();
    report.committed = committed.len();
    report.lost = committed
        .iter()
        .filter(|id| !unique.contains(id))
        .cloned()
        .collect();
    report.delivered = report.committed - report.lost.len();
    report.duplicates = ids.len() - unique.len();
    report.elapsed = started.elapsed();
    drop(rig);
    drop(rt);
    report
}
