//! Alert delivery over MQTT 3.1.1 (rumqttc, with rustls and the `ring` provider for
//! `mqtts://`); `rumqttc` and `rustls` are imported only in this folder and the embedded broker.
//!
//! [`MqttPublisher`] is the handle the brain's plain thread calls; a tokio task ([`link`]) owns
//! the connection. Every alert is committed to the [`Outbox`] before `raise` returns, then
//! re-sent with the same id after every reconnect, and whenever the broker has not
//! acknowledged it within [`RESEND_AFTER`](entry::RESEND_AFTER), until staff acknowledge it
//! on `{prefix}/{site}/{kiosk}/ack` or it expires (`[mqtt] alert_max_age_s`). rumqttc keeps
//! its own queue in memory only and drops it when the broker has lost the session, which is
//! why the outbox, not the client, decides what is sent. Receivers de-duplicate by `alert_id`.
//!
//! An alert ends in the outbox as `closed` when staff acknowledged it and its customer has
//! left, when staff report an outcome on `…/outcome`, or when it expires; each is announced on
//! the event topic.
//!
//! - `options.rs`: connection options, TLS, credentials (and [`check`] for `check-config`);
//! - `link.rs`: the connection task;
//! - `delivery.rs`: what must be sent, kept apart from the network so it can be unit-tested;
//! - `acks.rs`: the checks on what staff send back; `topics.rs`: what goes on the wire;
//! - `staff.rs`: a staff-side client for the demo and tests.

mod acks;
mod delivery;
mod entry;
mod inflight;
mod link;
mod options;
mod staff;
mod topics;

pub use acks::Outcome;
pub use options::check;
pub use staff::StaffClient;

use super::{
    Alert, AlertError, AlertPublisher, EmbeddedBroker, KioskIdentity, MqttConfig, Outbox,
    StateLock, StatusUpdate,
};
use crate::conversation::StaffAck;
use crate::latency::TurnLatency;
use delivery::{Ledger, Standing};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::runtime::Handle;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use topics::Topics;

/// Largest MQTT packet the kiosk sends.
const MAX_OUTGOING: usize = 256 * 1024;
/// Largest packet accepted. The kiosk subscribes only to its acknowledgement and outcome
/// topics, whose messages are a few hundred bytes; the documented site-broker configuration
/// caps packets at 256 KiB. A bigger limit lets a mis-sized message arrive and be dropped as
/// a bad message; one beyond even this makes the client drop the link, after which the
/// kiosk reconnects once with a clean session and clears the retained topic (see `link.rs`).
const MAX_INCOMING: usize = 1024 * 1024;
/// Packet ids the kiosk may have awaiting PUBACK (rumqttc's in-flight window).
const WINDOW: u16 = 100;
/// TCP connect, TLS handshake and CONNACK must complete within this many seconds.
const CONNECT_TIMEOUT_S: u64 = 5;
/// How long the goodbye (retained "offline", then DISCONNECT) may take.
const GOODBYE: Duration = Duration::from_secs(1);
/// How long dropping the publisher waits for the goodbye, from a plain thread.
const DROP_WAIT: Duration = Duration::from_millis(1500);
/// Finished alerts are pruned from the outbox this often while running.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Version, models and audio state reported on the retained status topic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatusInfo {
    /// Daemon version.
    pub version: String,
    /// Model in use per stage (e.g. `"stt" -> "ggml-tiny.en.bin"`).
    pub models: BTreeMap<String, String>,
    /// Audio state in a word or two ("ok", "no input device").
    pub audio: String,
    /// The speaker's state: its name while it plays, "output lost: ..." while it is retried.
    pub speaker: String,
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

/// Records that an alert is finished (`why`: customer_gone, resolved, expired), reporting an
/// outbox failure on the status topic rather than failing: the alert is over either way.
fn finish_in_outbox(
    outbox: &SharedOutbox,
    shared: &Shared,
    alert_id: &str,
    why: &str,
    outcome: Option<&str>,
) {
    let result = match lock_outbox(outbox).as_mut() {
        Some(o) => o.finish(alert_id, why, outcome).map(|_| ()),
        None => Ok(()),
    };
    if let Err(e) = result {
        tracing::error!("{e}");
        shared.lock().set_outbox_problem(Some(e.to_string()));
    }
}

/// Delivers alerts to staff over MQTT with a durable outbox (see the module documentation).
pub struct MqttPublisher {
    shared: Arc<Shared>,
    outbox: SharedOutbox,
    state_dir: PathBuf,
    task: Option<JoinHandle<()>>,
    /// The embedded broker, when this kiosk runs one; stopped after the goodbye.
    broker: Option<EmbeddedBroker>,
    /// No other daemon may use this state directory while the publisher runs.
    _lock: Option<StateLock>,
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

    /// Sets the speaker state shown on the status topic.
    pub fn set_speaker_state(&self, speaker: &str) {
        self.shared.lock().set_speaker(speaker);
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
        let lock = StateLock::acquire(state_dir)?;
        let topics = Topics::new(&cfg.topic_prefix, kiosk);
        let options = options::options(cfg, kiosk, &topics, &status)?;
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
            Duration::from_secs(cfg.alert_max_age_s),
        );
        ledger.set_outbox_problem(problem);
        let shared = Arc::new(Shared {
            ledger: Mutex::new(ledger),
            changed: Condvar::new(),
            wake: Notify::new(),
        });
        let outbox = Arc::new(Mutex::new(outbox));
        let rules = acks::AckRules {
            roster: cfg.staff_roster.clone(),
        };
        let link = link::Link::new(
            options,
            cfg,
            topics,
            rules,
            shared.clone(),
            outbox.clone(),
            acks,
        );
        let task = runtime.spawn(link.run());
        Ok(MqttPublisher {
            shared,
            outbox,
            state_dir: state_dir.to_path_buf(),
            task: Some(task),
            broker: None,
            _lock: lock,
        })
    }

    /// Keeps the embedded broker this publisher connects to running for as long as the
    /// publisher: it stops after the kiosk's goodbye.
    pub fn attach_broker(&mut self, broker: EmbeddedBroker) {
        self.broker = Some(broker);
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
        let standing = ledger.customer_gone(alert_id);
        if standing == Standing::Unknown {
            return Err(AlertError::Unknown(alert_id.to_string()));
        }
        let event = ledger.topics().event.clone();
        let now = crate::wallclock::now_ms();
        ledger.queue_event(event.clone(), topics::customer_left_json(alert_id, now));
        if standing == Standing::Acknowledged {
            // Help was on the way and the customer has gone: the alert is over.
            let closed = topics::alert_closed_json(alert_id, "customer_gone", None, now);
            ledger.queue_event(event, closed);
        }
        drop(ledger);
        if standing == Standing::Acknowledged {
            finish_in_outbox(&self.outbox, &self.shared, alert_id, "customer_gone", None);
        }
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
            StatusUpdate::Speaker(state) => handle.set_speaker_state(&state),
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
