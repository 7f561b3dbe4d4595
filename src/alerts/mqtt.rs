//! Alert delivery over MQTT 3.1.1 (rumqttc, with rustls and the `ring` provider for `mqtts://`):
//! the only file that imports `rumqttc` and `rustls`.
//!
//! [`MqttPublisher`] is called from the brain's plain thread; a tokio task owns the connection.
//! Every alert is committed to the [`Outbox`] before `raise` returns, then re-sent with the
//! same id after every reconnect, and whenever the broker has not acknowledged it within
//! [`RESEND_AFTER`](delivery::RESEND_AFTER), until staff acknowledge it on
//! `{prefix}/{site}/{kiosk}/ack`. rumqttc keeps its own queue in memory only and drops it when
//! the broker has lost the session, which is why the outbox, not the client, decides what is
//! sent. Receivers de-duplicate by `alert_id`.
//!
//! The kiosk numbers its own QoS 1 packets (see [`InFlight`]) so each PUBACK maps to one alert.

mod delivery;
mod staff;
mod topics;

pub use staff::StaffClient;

use super::{Alert, AlertError, AlertPublisher, KioskIdentity, MqttConfig, Outbox, StatusUpdate};
use crate::conversation::StaffAck;
use crate::latency::TurnLatency;
use delivery::{Backoff, InFlight, Kind, Ledger, Outgoing};
use rumqttc::{
    ConnectionError, Disconnect, Event, EventLoop, Incoming, LastWill, MqttOptions, NetworkOptions,
    PubAck, Publish, QoS, Request, Subscribe, SubscribeReasonCode, TlsConfiguration, Transport,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::runtime::Handle;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use topics::Topics;

/// Largest MQTT packet sent or accepted.
const MAX_PACKET: usize = 256 * 1024;
/// Packet ids the kiosk may have awaiting PUBACK (rumqttc's in-flight window).
const WINDOW: u16 = 100;
/// TCP connect, TLS handshake and CONNACK must complete within this many seconds.
const CONNECT_TIMEOUT_S: u64 = 5;
/// How long the goodbye (retained "offline", then DISCONNECT) may take.
const GOODBYE: Duration = Duration::from_secs(1);
/// How long dropping the publisher waits for the goodbye, from a plain thread.
const DROP_WAIT: Duration = Duration::from_millis(1500);
/// Used when `mqtts://` is configured without `ca_file` (Debian's bundle).
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Version, models and audio state reported on the retained status topic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatusInfo {
    /// Daemon version.
    pub version: String,
    /// Model in use per stage (e.g. `"stt" -> "ggml-tiny.en.bin"`).
    pub models: BTreeMap<String, String>,
    /// Audio state in a word or two ("ok", "no input device").
    pub audio: String,
}

/// A snapshot of the link, for health checks and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkReport {
    /// Connected to the broker now.
    pub connected: bool,
    /// Connection attempts since start.
    pub connect_attempts: u64,
    /// Alerts waiting for a staff acknowledgement.
    pub open_alerts: usize,
    /// Open alerts whose latest sending the broker has not acknowledged.
    pub unconfirmed: usize,
    /// Why the outbox is unusable (alerts then live in memory only), when it is.
    pub outbox_problem: Option<String>,
}

/// State shared by the caller's thread and the connection task.
struct Shared {
    ledger: Mutex<Ledger>,
    /// Signalled on confirmations, connection changes and task end (flush waits on it).
    changed: Condvar,
    /// Wakes the task when there is something new to send.
    wake: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn poke(&self) {
        self.changed.notify_all();
        self.wake.notify_one();
    }

    /// Waits until `done` holds or `timeout` passes; returns the ledger either way.
    fn wait_until(
        &self,
        timeout: Duration,
        done: impl Fn(&Ledger) -> bool,
    ) -> MutexGuard<'_, Ledger> {
        let deadline = Instant::now() + timeout;
        let mut ledger = self.lock();
        loop {
            let now = Instant::now();
            if done(&ledger) || now >= deadline {
                return ledger;
            }
            ledger = match self.changed.wait_timeout(ledger, deadline - now) {
                Ok((g, _)) => g,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }
}

type SharedOutbox = Arc<Mutex<Option<Outbox>>>;

fn lock_outbox(outbox: &SharedOutbox) -> MutexGuard<'_, Option<Outbox>> {
    outbox.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Delivers alerts to staff over MQTT with a durable outbox (see the module documentation).
pub struct MqttPublisher {
    shared: Arc<Shared>,
    outbox: SharedOutbox,
    state_dir: PathBuf,
    task: Option<JoinHandle<()>>,
}

/// Updates the status the kiosk reports, from any thread (cheap to clone).
#[derive(Clone)]
pub struct StatusHandle {
    shared: Arc<Shared>,
}

impl StatusHandle {
    /// Sets the audio state shown on the status topic ("ok", "no input device", ...).
    pub fn set_audio_state(&self, audio: &str) {
        self.shared.lock().set_audio(audio);
        self.shared.poke();
    }

    /// Counts an answered turn and its latency on the status topic.
    pub fn record_turn(&self, turn: TurnLatency) {
        self.shared.lock().record_turn(turn);
        self.shared.poke();
    }

    /// Sets the customer stress score (0..=1) shown by Home Assistant, when discovery is on.
    pub fn set_customer_stress(&self, score: f32) {
        self.shared.lock().set_stress(score);
        self.shared.poke();
    }
}

impl MqttPublisher {
    /// Opens the outbox in `state_dir` and starts the connection task on `runtime`. Staff
    /// acknowledgements are passed to `acks`. A broken URL, TLS file or credentials file is
    /// an error; an unusable outbox is not (alerts are then sent from memory, the status says
    /// "degraded" and every `raise` reports the outbox error), because a kiosk that cannot
    /// call staff at all is worse.
    pub fn start(
        cfg: &MqttConfig,
        kiosk: &KioskIdentity,
        state_dir: &Path,
        runtime: &Handle,
        acks: SyncSender<StaffAck>,
        status: StatusInfo,
    ) -> Result<MqttPublisher, AlertError> {
        let topics = Topics::new(&cfg.topic_prefix, kiosk);
        let options = options(cfg, kiosk, &topics, &status)?;
        let (outbox, pending, problem) = open_outbox(state_dir);
        if !pending.is_empty() {
            tracing::info!(
                pending = pending.len(),
                "re-sending alerts not yet acknowledged"
            );
        }
        let mut ledger = Ledger::new(
            topics.clone(),
            kiosk.clone(),
            status,
            cfg.home_assistant_discovery,
            pending,
        );
        ledger.set_outbox_problem(problem);
        let shared = Arc::new(Shared {
            ledger: Mutex::new(ledger),
            changed: Condvar::new(),
            wake: Notify::new(),
        });
        let outbox = Arc::new(Mutex::new(outbox));
        let link = Link::new(options, cfg, topics, shared.clone(), outbox.clone(), acks);
        let task = runtime.spawn(link.run());
        Ok(MqttPublisher {
            shared,
            outbox,
            state_dir: state_dir.to_path_buf(),
            task: Some(task),
        })
    }

    /// A handle for updating the reported status from other threads.
    pub fn status_handle(&self) -> StatusHandle {
        StatusHandle {
            shared: self.shared.clone(),
        }
    }

    /// The link as it is now.
    pub fn link(&self) -> LinkReport {
        let ledger = self.shared.lock();
        LinkReport {
            connected: ledger.connected(),
            connect_attempts: ledger.connect_attempts(),
            open_alerts: ledger.open_count(),
            unconfirmed: ledger.unconfirmed(),
            outbox_problem: ledger.outbox_problem().map(str::to_string),
        }
    }

    /// Waits up to `timeout` for the broker connection; returns whether it is up.
    pub fn wait_connected(&self, timeout: Duration) -> bool {
        self.shared
            .wait_until(timeout, |l| l.connected() || l.task_done())
            .connected()
    }

    /// Flushes for up to `grace`, publishes the retained "offline" status and disconnects.
    /// Returns how many alerts the broker had not confirmed (they stay in the outbox). Blocks:
    /// call it from a plain thread, like the trait's methods.
    pub fn shutdown(mut self, grace: Duration) -> usize {
        let unconfirmed = self.flush(grace);
        self.stop(wait_budget(GOODBYE * 2));
        unconfirmed
    }

    /// Asks the task to say goodbye, waits up to `wait` for it, then stops it for good, so a
    /// new publisher with the same client id never competes with this one.
    fn stop(&mut self, wait: Duration) {
        let Some(task) = self.task.take() else {
            return;
        };
        self.shared.lock().request_shutdown();
        self.shared.poke();
        if wait.is_zero() {
            // Inside the runtime we must not block; the task ends itself after its goodbye.
            return;
        }
        drop(self.shared.wait_until(wait, Ledger::task_done));
        task.abort();
    }

    fn commit(&self, alert: &Alert) -> Result<(), AlertError> {
        let mut slot = lock_outbox(&self.outbox);
        let outbox = match slot.as_mut() {
            Some(outbox) => outbox,
            None => {
                // The state directory may have been fixed since; pick up what it holds.
                let reopened = Outbox::open(&self.state_dir)?;
                let earlier = reopened.pending()?;
                let mut ledger = self.shared.lock();
                for a in &earlier {
                    ledger.add(a);
                }
                slot.insert(reopened)
            }
        };
        outbox.commit(alert).map(|_| ())
    }

    fn bump_attempt(&self, alert_id: &str, attempt: u32) -> Result<Alert, AlertError> {
        match lock_outbox(&self.outbox).as_mut() {
            Some(outbox) => outbox.bump_attempt(alert_id, attempt),
            None => Err(AlertError::Unknown(alert_id.to_string())),
        }
    }
}

impl AlertPublisher for MqttPublisher {
    fn raise(&mut self, alert: &Alert) -> Result<(), AlertError> {
        let committed = self.commit(alert);
        {
            let mut ledger = self.shared.lock();
            ledger.add(alert);
            ledger.set_outbox_problem(committed.as_ref().err().map(ToString::to_string));
        }
        self.shared.poke();
        if let Err(e) = &committed {
            tracing::error!(alert_id = %alert.alert_id, "alert not durable, sending it from memory: {e}");
        }
        committed
    }

    fn realert(&mut self, alert_id: &str, attempt: u32) -> Result<(), AlertError> {
        let stored = self.bump_attempt(alert_id, attempt);
        let mut ledger = self.shared.lock();
        let result = match stored {
            Ok(alert) => {
                if !ledger.realert(&alert) {
                    tracing::debug!(%alert_id, "re-alert after staff acknowledged: nothing to send");
                }
                Ok(())
            }
            Err(AlertError::Unknown(_)) => match ledger.bumped(alert_id, attempt) {
                Some(alert) => {
                    ledger.realert(&alert);
                    Ok(())
                }
                None if ledger.knows(alert_id) => Ok(()),
                None => Err(AlertError::Unknown(alert_id.to_string())),
            },
            Err(e) => {
                if let Some(alert) = ledger.bumped(alert_id, attempt) {
                    ledger.realert(&alert);
                }
                ledger.set_outbox_problem(Some(e.to_string()));
                Err(e)
            }
        };
        drop(ledger);
        self.shared.poke();
        result
    }

    fn customer_left(&mut self, alert_id: &str) -> Result<(), AlertError> {
        let mut ledger = self.shared.lock();
        if !ledger.knows(alert_id) {
            return Err(AlertError::Unknown(alert_id.to_string()));
        }
        let topic = ledger.topics().event.clone();
        ledger.queue_event(topic, topics::customer_left_json(alert_id, wall_ms()));
        drop(ledger);
        self.shared.poke();
        Ok(())
    }

    fn flush(&mut self, grace: Duration) -> usize {
        self.shared
            .wait_until(grace, |l| l.unconfirmed() == 0 || l.task_done())
            .unconfirmed()
    }

    fn report(&mut self, update: StatusUpdate) {
        let handle = self.status_handle();
        match update {
            StatusUpdate::Audio(state) => handle.set_audio_state(&state),
            StatusUpdate::Turn(turn) => handle.record_turn(turn),
            StatusUpdate::Stress(score) => handle.set_customer_stress(score),
        }
    }
}

impl Drop for MqttPublisher {
    fn drop(&mut self) {
        self.stop(wait_budget(DROP_WAIT));
    }
}

/// How long this thread may wait for the connection task: `limit`, except from inside a task
/// (it would stall a worker) or on a current-thread runtime's own thread (the task could not
/// run meanwhile). A plain thread that merely entered the runtime, like `main`, may wait.
fn wait_budget(limit: Duration) -> Duration {
    let in_task = tokio::task::try_id().is_some();
    let single = matches!(
        Handle::try_current().map(|h| h.runtime_flavor()),
        Ok(tokio::runtime::RuntimeFlavor::CurrentThread)
    );
    if in_task || single {
        Duration::ZERO
    } else {
        limit
    }
}

/// Opens the outbox; on failure the publisher runs from memory and says why.
fn open_outbox(state_dir: &Path) -> (Option<Outbox>, Vec<Alert>, Option<String>) {
    let opened = Outbox::open(state_dir).and_then(|o| {
        let pending = o.pending()?;
        Ok((o, pending))
    });
    match opened {
        Ok((outbox, pending)) => (Some(outbox), pending, None),
        Err(e) => {
            tracing::error!("{e}; alerts will be sent from memory only until it is fixed");
            (None, Vec::new(), Some(e.to_string()))
        }
    }
}

/// The connection task's state.
struct Link {
    eventloop: EventLoop,
    shared: Arc<Shared>,
    outbox: SharedOutbox,
    topics: Topics,
    inflight: InFlight,
    acks: SyncSender<StaffAck>,
    backoff: Backoff,
    url: String,
    /// A connection that lived this long was healthy: the next retry starts quickly again.
    stable_after: Duration,
    connected_since: Option<Instant>,
    retry_at: Instant,
}

/// What woke the connected loop.
enum Step {
    Event(Result<Event, ConnectionError>),
    Wake,
}

/// Marks the task finished however it ends (return, panic or abort).
struct DoneGuard(Arc<Shared>);

impl Drop for DoneGuard {
    fn drop(&mut self) {
        self.0.lock().set_task_done();
        self.0.changed.notify_all();
    }
}

impl Link {
    fn new(
        options: MqttOptions,
        cfg: &MqttConfig,
        topics: Topics,
        shared: Arc<Shared>,
        outbox: SharedOutbox,
        acks: SyncSender<StaffAck>,
    ) -> Self {
        let mut eventloop = EventLoop::new(options, 1);
        let mut net = NetworkOptions::new();
        net.set_connection_timeout(CONNECT_TIMEOUT_S);
        // Alerts are small and urgent: Nagle's delay (with the peer's delayed ACK) added up to
        // tens of milliseconds per alert on loopback.
        net.set_tcp_nodelay(true);
        eventloop.set_network_options(net);
        Self {
            eventloop,
            shared,
            outbox,
            topics,
            inflight: InFlight::new(WINDOW),
            acks,
            backoff: Backoff::new(),
            url: cfg.url.clone(),
            stable_after: Duration::from_secs(cfg.keep_alive_s.max(1)),
            connected_since: None,
            retry_at: Instant::now(),
        }
    }

    async fn run(mut self) {
        let _done = DoneGuard(self.shared.clone());
        loop {
            if self.shared.lock().shutdown_requested() {
                if self.connected_since.is_some() {
                    self.goodbye().await;
                }
                return;
            }
            if self.connected_since.is_some() {
                self.serve().await;
            } else {
                self.connect().await;
            }
        }
    }

    /// Waits out the backoff (or a wake-up), then makes one connection attempt.
    async fn connect(&mut self) {
        let shared = self.shared.clone();
        tokio::select! {
            _ = tokio::time::sleep_until(self.retry_at.into()) => {}
            _ = shared.wake.notified() => return,
        }
        self.shared.lock().count_attempt();
        // Not raced against anything: abandoning a half-done TLS handshake would waste it.
        match self.eventloop.poll().await {
            Ok(Event::Incoming(Incoming::ConnAck(ack))) => self.on_connack(ack.session_present),
            Ok(other) => {
                tracing::debug!(?other, "unexpected event while connecting");
                self.retry_at = Instant::now() + self.backoff.next_delay(jitter_unit());
            }
            Err(e) => self.on_link_error(&e),
        }
    }

    /// One turn of the connected loop: hand over what is due, then wait for the broker, new
    /// work or the next re-send deadline.
    async fn serve(&mut self) {
        self.push_due();
        // With the window full nothing can be re-sent before a PUBACK frees an id, so the
        // re-send deadline must not wake us (it would spin).
        let resend_at = match self.inflight.free() {
            0 => None,
            _ => self.shared.lock().next_resend_at(),
        };
        let wake_at = resend_at.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        let shared = self.shared.clone();
        // Dropping a pending poll() is safe while connected: reads are buffered by the codec,
        // and a packet already taken from the queue is tracked as in flight and re-sent.
        let step = tokio::select! {
            biased;
            ev = self.eventloop.poll() => Step::Event(ev),
            _ = shared.wake.notified() => Step::Wake,
            _ = tokio::time::sleep_until(wake_at.into()) => Step::Wake,
        };
        match step {
            Step::Event(Ok(ev)) => self.on_event(ev).await,
            Step::Event(Err(e)) => self.on_link_error(&e),
            Step::Wake => {}
        }
    }

    fn push_due(&mut self) {
        let free = self.inflight.free();
        if free == 0 {
            return;
        }
        let due = self.shared.lock().take_due(Instant::now(), free);
        for msg in due {
            self.push(msg);
        }
    }

    /// Queues `msg` on the client with a packet id of our choosing; returns the id.
    fn push(&mut self, msg: Outgoing) -> Option<u16> {
        let mut publish = Publish::new(msg.topic.as_str(), QoS::AtLeastOnce, msg.payload.clone());
        publish.retain = msg.retain;
        let pkid = self.inflight.insert(msg)?;
        publish.pkid = pkid;
        self.eventloop.pending.push_back(Request::Publish(publish));
        Some(pkid)
    }

    fn on_connack(&mut self, session_present: bool) {
        tracing::info!(broker = %self.url, session_present, "connected to the MQTT broker");
        self.connected_since = Some(Instant::now());
        // Without a session the client dropped its queue, so everything we had in flight is
        // lost; with one, it retransmits them itself.
        let lost = if session_present {
            Vec::new()
        } else {
            self.inflight.take_all()
        };
        let in_flight = self.inflight.alert_ids();
        self.shared.lock().on_connected(lost, &in_flight);
        self.eventloop
            .pending
            .push_back(Request::Subscribe(Subscribe::new(
                self.topics.ack.as_str(),
                QoS::AtLeastOnce,
            )));
        self.shared.changed.notify_all();
    }

    fn on_link_error(&mut self, e: &ConnectionError) {
        match self.connected_since.take() {
            Some(since) => {
                tracing::warn!(broker = %self.url, "lost the MQTT broker: {e}");
                if since.elapsed() >= self.stable_after {
                    self.backoff.reset();
                }
            }
            None => tracing::warn!(broker = %self.url, "cannot connect to the MQTT broker: {e}"),
        }
        let delay = self.backoff.next_delay(jitter_unit());
        tracing::debug!(?delay, "next connection attempt");
        self.retry_at = Instant::now() + delay;
        self.shared.lock().on_disconnected();
        self.shared.changed.notify_all();
    }

    async fn on_event(&mut self, ev: Event) {
        match ev {
            Event::Incoming(Incoming::PubAck(ack)) => self.on_puback(ack.pkid),
            Event::Incoming(Incoming::Publish(p)) => self.on_publish(p).await,
            Event::Incoming(Incoming::SubAck(s))
                if s.return_codes.contains(&SubscribeReasonCode::Failure) =>
            {
                tracing::error!(topic = %self.topics.ack, broker = %self.url,
                    "the broker refused the subscription: staff acknowledgements will not arrive");
            }
            _ => {}
        }
    }

    fn on_puback(&mut self, pkid: u16) {
        match self.inflight.remove(pkid) {
            Some(Outgoing {
                kind: Kind::Alert(id),
                ..
            }) => {
                let news = self.shared.lock().confirm(&id);
                self.shared.changed.notify_all();
                if news {
                    self.record_confirmed(id);
                }
            }
            Some(_) => {}
            None => tracing::debug!(pkid, "PUBACK for a packet not in flight"),
        }
    }

    /// Informational, so it is not awaited: the flag only helps whoever inspects the outbox.
    fn record_confirmed(&self, alert_id: String) {
        let outbox = self.outbox.clone();
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || {
            let result = match lock_outbox(&outbox).as_mut() {
                Some(o) => o.mark_broker_confirmed(&alert_id).map(|_| ()),
                None => Ok(()),
            };
            if let Err(e) = result {
                tracing::error!("{e}");
                shared.lock().set_outbox_problem(Some(e.to_string()));
                shared.poke();
            }
        });
    }

    async fn on_publish(&mut self, publish: Publish) {
        if publish.topic == self.topics.ack {
            self.on_ack(&publish.payload).await;
        } else {
            tracing::debug!(topic = %publish.topic, "ignoring a message on an unexpected topic");
        }
        // Acknowledged to the broker only now (manual acks), so an ack that arrived just
        // before a crash is delivered again rather than lost.
        if publish.qos != QoS::AtMostOnce {
            self.eventloop
                .pending
                .push_back(Request::PubAck(PubAck::new(publish.pkid)));
        }
    }

    async fn on_ack(&mut self, payload: &[u8]) {
        let ack = match topics::parse_ack(payload) {
            Ok(ack) => ack,
            Err(why) => {
                tracing::warn!(topic = %self.topics.ack, "ignoring a malformed acknowledgement: {why}");
                return;
            }
        };
        if !self.shared.lock().is_open(&ack.alert_id) {
            tracing::info!(alert_id = %ack.alert_id, "ignoring an acknowledgement of an unknown or already acknowledged alert");
            return;
        }
        self.store_ack(&ack).await;
        self.shared.lock().close(&ack.alert_id);
        self.shared.poke();
        let id = ack.alert_id.clone();
        match self.acks.try_send(ack) {
            Ok(()) => tracing::info!(alert_id = %id, "staff acknowledged"),
            Err(TrySendError::Full(_)) => {
                tracing::error!(alert_id = %id, "the acknowledgement queue is full; this acknowledgement is not passed on")
            }
            Err(TrySendError::Disconnected(_)) => {
                tracing::warn!(alert_id = %id, "nobody receives acknowledgements any more")
            }
        }
    }

    /// Records the acknowledgement durably before anything else acts on it.
    async fn store_ack(&mut self, ack: &StaffAck) {
        let outbox = self.outbox.clone();
        let (id, by) = (ack.alert_id.clone(), ack.by.clone());
        let stored = tokio::task::spawn_blocking(move || match lock_outbox(&outbox).as_mut() {
            Some(o) => o.mark_acked(&id, by.as_deref()).map(|_| ()),
            None => Ok(()),
        })
        .await;
        let problem = match stored {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e.to_string(),
            Err(join) => format!("recording an acknowledgement failed: {join}"),
        };
        tracing::error!("{problem}");
        self.shared.lock().set_outbox_problem(Some(problem));
    }

    /// Publishes the retained "offline" status and disconnects cleanly (so the broker does
    /// not also fire the last will), within [`GOODBYE`] each.
    async fn goodbye(&mut self) {
        let offline = self.shared.lock().status_message();
        if let Some(pkid) = self.push(offline) {
            let deadline = tokio::time::Instant::now() + GOODBYE;
            while self.inflight.contains(pkid) {
                match tokio::time::timeout_at(deadline, self.eventloop.poll()).await {
                    Ok(Ok(ev)) => self.on_event(ev).await,
                    Ok(Err(_)) | Err(_) => return,
                }
            }
        }
        self.eventloop
            .pending
            .push_back(Request::Disconnect(Disconnect));
        let deadline = tokio::time::Instant::now() + GOODBYE;
        loop {
            match tokio::time::timeout_at(deadline, self.eventloop.poll()).await {
                Ok(Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect))) => {
                    tracing::info!(broker = %self.url, "disconnected from the MQTT broker");
                    return;
                }
                Ok(Ok(ev)) => self.on_event(ev).await,
                Ok(Err(_)) | Err(_) => return,
            }
        }
    }
}

/// A random number in `0..1` for backoff jitter.
fn jitter_unit() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() as u64 >> 11;
    bits as f64 / (1u64 << 53) as f64
}

fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn broker_error(url: &str, why: impl Into<String>) -> AlertError {
    AlertError::Broker {
        url: url.to_string(),
        why: why.into(),
    }
}

/// Client options: persistent session, keep-alive, retained last will, credentials and TLS.
fn options(
    cfg: &MqttConfig,
    kiosk: &KioskIdentity,
    topics: &Topics,
    status: &StatusInfo,
) -> Result<MqttOptions, AlertError> {
    let addr = BrokerAddr::parse(&cfg.url)?;
    let client_id = if cfg.client_id.is_empty() {
        format!("attune-{}-{}", kiosk.site, kiosk.id)
    } else {
        cfg.client_id.clone()
    };
    let mut options = MqttOptions::new(client_id, addr.host.clone(), addr.port);
    options
        .set_keep_alive(Duration::from_secs(cfg.keep_alive_s.max(1)))
        .set_clean_session(false)
        .set_last_will(LastWill::new(
            topics.status.as_str(),
            topics::last_will(kiosk, status),
            QoS::AtLeastOnce,
            true,
        ))
        .set_max_packet_size(MAX_PACKET, MAX_PACKET)
        .set_inflight(WINDOW)
        .set_manual_acks(true);
    if let Some(path) = &cfg.credentials_file {
        let (user, password) = read_credentials(path, &cfg.url)?;
        options.set_credentials(user, password);
    }
    if addr.tls {
        options.set_transport(tls_transport(cfg)?);
    }
    Ok(options)
}

/// `mqtt://host[:port]` or `mqtts://host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BrokerAddr {
    tls: bool,
    host: String,
    port: u16,
}

impl BrokerAddr {
    fn parse(url: &str) -> Result<BrokerAddr, AlertError> {
        let (tls, rest) = if let Some(rest) = url.strip_prefix("mqtts://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("mqtt://") {
            (false, rest)
        } else {
            return Err(broker_error(url, "must start with mqtt:// or mqtts://"));
        };
        let rest = rest.trim_end_matches('/');
        let default_port = if tls { 8883 } else { 1883 };
        // An IPv6 literal keeps its brackets: the resolver needs them before ":port".
        let (host, port) = match rest.rfind(':') {
            Some(i) if !rest[i..].contains(']') => (&rest[..i], Some(&rest[i + 1..])),
            _ => (rest, None),
        };
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .map_err(|_| broker_error(url, format!("port {p:?} is not a number 1..65535")))?,
            None => default_port,
        };
        if host.is_empty() || port == 0 || host.contains(['/', '@', '?', '#', ' ']) {
            return Err(broker_error(
                url,
                "expected mqtt://host:port or mqtts://host:port",
            ));
        }
        Ok(BrokerAddr {
            tls,
            host: host.to_string(),
            port,
        })
    }
}

/// Reads `user:password` from the first line of `path`. The password is never logged.
fn read_credentials(path: &Path, url: &str) -> Result<(String, String), AlertError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| broker_error(url, format!("credentials file {}: {e}", path.display())))?;
    let line = text.lines().next().unwrap_or("");
    match line.split_once(':') {
        Some((user, password)) if !user.trim().is_empty() => {
            Ok((user.trim().to_string(), password.to_string()))
        }
        _ => Err(broker_error(
            url,
            format!(
                "credentials file {}: the first line must be user:password",
                path.display()
            ),
        )),
    }
}

/// TLS with the `ring` provider passed explicitly (no process-wide default is installed), the
/// configured CA, and an optional client certificate.
fn tls_transport(cfg: &MqttConfig) -> Result<Transport, AlertError> {
    let url = cfg.url.as_str();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let ca = cfg
        .ca_file
        .clone()
        .unwrap_or_else(|| PathBuf::from(SYSTEM_CA_BUNDLE));
    let roots = root_store(&ca, url)?;
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| broker_error(url, format!("TLS set-up: {e}")))?
        .with_root_certificates(roots);
    let config = match (&cfg.client_cert, &cfg.client_key) {
        (Some(cert), Some(key)) => {
            let chain = load_certs(cert, "client certificate", url)?;
            let key_der = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| broker_error(url, format!("client key {}: {e}", key.display())))?;
            builder.with_client_auth_cert(chain, key_der).map_err(|e| {
                broker_error(
                    url,
                    format!(
                        "client certificate {} with key {}: {e}",
                        cert.display(),
                        key.display()
                    ),
                )
            })?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => {
            return Err(broker_error(
                url,
                "mqtt.client_cert and mqtt.client_key must be given together",
            ));
        }
    };
    Ok(Transport::tls_with_config(TlsConfiguration::Rustls(
        Arc::new(config),
    )))
}

fn root_store(path: &Path, url: &str) -> Result<rustls::RootCertStore, AlertError> {
    let mut store = rustls::RootCertStore::empty();
    let (added, _ignored) = store.add_parsable_certificates(load_certs(path, "CA file", url)?);
    if added == 0 {
        return Err(broker_error(
            url,
            format!("CA file {}: no usable CA certificate", path.display()),
        ));
    }
    Ok(store)
}

fn load_certs(
    path: &Path,
    what: &str,
    url: &str,
) -> Result<Vec<CertificateDer<'static>>, AlertError> {
    let named =
        |e: &dyn std::fmt::Display| broker_error(url, format!("{what} {}: {e}", path.display()));
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| named(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| named(&e))?;
    if certs.is_empty() {
        return Err(named(&"no PEM certificate in it"));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls_parse() {
        let a = BrokerAddr::parse("mqtt://10.0.0.5:1884").unwrap();
        assert_eq!((a.tls, a.host.as_str(), a.port), (false, "10.0.0.5", 1884));
        let a = BrokerAddr::parse("mqtts://broker.local").unwrap();
        assert_eq!(
            (a.tls, a.host.as_str(), a.port),
            (true, "broker.local", 8883)
        );
        let a = BrokerAddr::parse("mqtt://[::1]:1999/").unwrap();
        assert_eq!((a.host.as_str(), a.port), ("[::1]", 1999));
        for bad in [
            "tcp://x:1",
            "mqtt://",
            "mqtt://h:notaport",
            "mqtt://u@h:1",
            "mqtt://h:0",
        ] {
            let e = BrokerAddr::parse(bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn credentials_file_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.txt");
        let e = read_credentials(&missing, "mqtt://h")
            .unwrap_err()
            .to_string();
        assert!(e.contains("nope.txt") && e.contains("mqtt://h"), "{e}");
        let bad = dir.path().join("bad.txt");
        std::fs::write(&bad, "no colon here\n").unwrap();
        let e = read_credentials(&bad, "mqtt://h").unwrap_err().to_string();
        assert!(e.contains("bad.txt") && e.contains("user:password"), "{e}");
        let good = dir.path().join("good.txt");
        std::fs::write(&good, "kiosk:pa:ss word\nignored\n").unwrap();
        assert_eq!(
            read_credentials(&good, "mqtt://h").unwrap(),
            ("kiosk".to_string(), "pa:ss word".to_string())
        );
    }

    #[test]
    fn tls_file_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = |ca: PathBuf| MqttConfig {
            url: "mqtts://127.0.0.1:8883".into(),
            ca_file: Some(ca),
            ..MqttConfig::default()
        };
        let missing = dir.path().join("ca-missing.pem");
        let e = tls_transport(&cfg(missing)).err().unwrap().to_string();
        assert!(e.contains("ca-missing.pem") && e.contains("CA file"), "{e}");
        let empty = dir.path().join("ca-empty.pem");
        std::fs::write(&empty, "hello\n").unwrap();
        let e = tls_transport(&cfg(empty)).err().unwrap().to_string();
        assert!(e.contains("ca-empty.pem"), "{e}");
        let mut half = cfg(dir.path().join("x.pem"));
        half.client_cert = Some(dir.path().join("c.pem"));
        assert!(tls_transport(&half).is_err());
    }
}
