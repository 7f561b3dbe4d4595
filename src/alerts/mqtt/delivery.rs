//! Delivery bookkeeping, free of network code so it can be unit-tested: the [`Ledger`] of
//! what must reach the broker (open alerts, one-shot events, retained state), shared between
//! the caller's thread and the connection task.

use super::StatusInfo;
use super::entry::{Entry, RESEND_AFTER};
use super::inflight::{Kind, Outgoing, retained};
use super::topics::{self, LinkState, Status, Topics};
use crate::alerts::{Alert, KioskIdentity, OpenAlert};
use crate::latency::{LatencySummary, TurnLatency};
use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

/// Recently acknowledged ids remembered so late calls about them are not "unknown".
const RECENT_CLOSED: usize = 256;
/// An alert found in the outbox at start-up is kept at least this long, whatever the wall
/// clock says its age is (a Pi without a real-time clock may have jumped since).
const RESTART_GRACE: Duration = Duration::from_secs(300);

/// An alert staff acknowledged or resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Closed {
    /// Its customer had already left the kiosk.
    pub customer_gone: bool,
}

/// Where an alert stands when its customer leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    /// Still waiting for staff (and still re-sent).
    Open,
    /// Acknowledged recently: help is on the way.
    Acknowledged,
    /// Not known (expired or closed long ago, or never raised).
    Unknown,
}

/// What must reach the broker, and the kiosk's state for the status topic.
#[derive(Debug)]
pub(crate) struct Ledger {
    topics: Topics,
    kiosk: KioskIdentity,
    info: StatusInfo,
    home_assistant: bool,
    open: Vec<Entry>,
    recent_closed: VecDeque<String>,
    events: VecDeque<Outgoing>,
    max_age: Duration,
    expired: u64,
    status_dirty: bool,
    active_dirty: bool,
    stress_dirty: bool,
    discovery_due: bool,
    stress: Option<f32>,
    latency: LatencySummary,
    outbox_problem: Option<String>,
    connected: bool,
    connect_attempts: u64,
    shutdown: bool,
    task_done: bool,
}

impl Ledger {
    /// A ledger holding the outbox's pending alerts (oldest first); an alert nobody
    /// acknowledges within `max_age` expires.
    pub fn new(
        topics: Topics,
        kiosk: KioskIdentity,
        info: StatusInfo,
        home_assistant: bool,
        pending: Vec<Alert>,
        max_age: Duration,
    ) -> Self {
        let now = Instant::now();
        let wall = crate::wallclock::now_ms();
        let open = pending
            .into_iter()
            .map(|a| {
                let age = Duration::from_millis(wall.saturating_sub(a.raised_at_ms));
                let left = max_age.saturating_sub(age).max(RESTART_GRACE.min(max_age));
                Entry::new(a, now + left)
            })
            .collect();
        Self {
            topics,
            kiosk,
            info,
            home_assistant,
            open,
            max_age,
            expired: 0,
            recent_closed: VecDeque::new(),
            events: VecDeque::new(),
            status_dirty: true,
            active_dirty: true,
            stress_dirty: false,
            discovery_due: home_assistant,
            stress: None,
            latency: LatencySummary::default(),
            outbox_problem: None,
            connected: false,
            connect_attempts: 0,
            shutdown: false,
            task_done: false,
        }
    }

    /// The topics in use.
    pub fn topics(&self) -> &Topics {
        &self.topics
    }

    /// Adds a new alert to deliver; `false` if it is already open.
    pub fn add(&mut self, alert: &Alert) -> bool {
        if self.is_open(&alert.alert_id) {
            return false;
        }
        let expires_at = Instant::now() + self.max_age;
        self.open.push(Entry::new(alert.clone(), expires_at));
        self.active_dirty = true;
        self.status_dirty = true;
        self.set_stress(alert.stress.score);
        true
    }

    /// Whether the alert is waiting for staff.
    pub fn is_open(&self, alert_id: &str) -> bool {
        self.open.iter().any(|e| e.alert.alert_id == alert_id)
    }

    /// Whether the alert is open or was acknowledged recently.
    pub fn knows(&self, alert_id: &str) -> bool {
        self.is_open(alert_id) || self.recent_closed.iter().any(|id| id == alert_id)
    }

    /// Sends an open alert again as `alert` (with its new attempt number), to the kiosk's
    /// topic and to the supervisor. Returns `false` (and does nothing) if it is not open.
    pub fn realert(&mut self, alert: &Alert) -> bool {
        let Some(entry) = self
            .open
            .iter_mut()
            .find(|e| e.alert.alert_id == alert.alert_id)
        else {
            return false;
        };
        let (gone, expires_at) = (entry.gone, entry.expires_at);
        *entry = Entry::new(alert.clone(), expires_at);
        entry.gone = gone;
        let payload = entry.payload.clone();
        self.events.push_back(Outgoing {
            topic: self.topics.supervisor.clone(),
            payload,
            retain: false,
            kind: Kind::Event,
        });
        true
    }

    /// The open alert with its attempt raised to at least `attempt` (memory-only alerts).
    pub fn bumped(&self, alert_id: &str, attempt: u32) -> Option<Alert> {
        let entry = self.open.iter().find(|e| e.alert.alert_id == alert_id)?;
        let mut alert = entry.alert.clone();
        alert.attempt = alert.attempt.max(attempt);
        Some(alert)
    }

    /// Staff acknowledged (or resolved) the alert: stop sending it. Returns whether it was
    /// open, and whether its customer had already left.
    pub fn close(&mut self, alert_id: &str) -> Option<Closed> {
        let i = self
            .open
            .iter()
            .position(|e| e.alert.alert_id == alert_id)?;
        let entry = self.open.remove(i);
        self.remember_closed(alert_id);
        Some(Closed {
            customer_gone: entry.gone,
        })
    }

    fn remember_closed(&mut self, alert_id: &str) {
        if self.recent_closed.len() >= RECENT_CLOSED {
            self.recent_closed.pop_front();
        }
        self.recent_closed.push_back(alert_id.to_string());
        self.active_dirty = true;
        self.status_dirty = true;
    }

    /// The customer of the alert has left. Returns what the alert is now.
    pub fn customer_gone(&mut self, alert_id: &str) -> Standing {
        if let Some(e) = self.open.iter_mut().find(|e| e.alert.alert_id == alert_id) {
            e.gone = true;
            Standing::Open
        } else if self.knows(alert_id) {
            Standing::Acknowledged
        } else {
            Standing::Unknown
        }
    }

    /// Removes the open alerts nobody acknowledged within the maximum age; returns their ids.
    pub fn take_expired(&mut self, now: Instant) -> Vec<String> {
        let (expired, kept): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut self.open)
            .into_iter()
            .partition(|e| now >= e.expires_at);
        self.open = kept;
        let ids: Vec<String> = expired.into_iter().map(|e| e.alert.alert_id).collect();
        for id in &ids {
            self.expired += 1;
            self.remember_closed(id);
        }
        ids
    }

    /// When the next open alert expires.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.open.iter().map(|e| e.expires_at).min()
    }

    /// The broker acknowledged a sending of the alert; returns whether that is news.
    pub fn confirm(&mut self, alert_id: &str) -> bool {
        match self.open.iter_mut().find(|e| e.alert.alert_id == alert_id) {
            Some(e) if !e.confirmed => {
                e.confirmed = true;
                true
            }
            _ => false,
        }
    }

    /// Queues a one-shot message.
    pub fn queue_event(&mut self, topic: String, payload: Vec<u8>) {
        self.events.push_back(Outgoing {
            topic,
            payload,
            retain: false,
            kind: Kind::Event,
        });
    }

    /// Queues an empty retained message on `topic`, which deletes what the broker retains.
    pub fn queue_clear(&mut self, topic: String) {
        self.events.push_back(Outgoing {
            topic,
            payload: Vec::new(),
            retain: true,
            kind: Kind::Event,
        });
    }

    /// Open alerts the broker has not acknowledged since they were (re)sent.
    pub fn unconfirmed(&self) -> usize {
        self.open.iter().filter(|e| !e.confirmed).count()
    }

    /// Alerts waiting for staff.
    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    /// A connection was established. Messages lost with the broker session are re-queued
    /// (events) or regenerated (alerts, retained state); alerts still in flight on a resumed
    /// session are left to the client's own retransmission.
    pub fn on_connected(&mut self, lost: Vec<Outgoing>, still_in_flight: &HashSet<String>) {
        self.connected = true;
        for msg in lost.into_iter().rev() {
            if msg.kind == Kind::Event {
                self.events.push_front(msg);
            }
        }
        for e in &mut self.open {
            if !still_in_flight.contains(&e.alert.alert_id) {
                e.due = true;
                e.confirmed = false;
            }
        }
        self.status_dirty = true;
        self.active_dirty = true;
        self.stress_dirty = self.home_assistant && self.stress.is_some();
        self.discovery_due = self.home_assistant;
    }

    /// The connection was lost.
    pub fn on_disconnected(&mut self) {
        self.connected = false;
    }

    /// Counts a connection attempt.
    pub fn count_attempt(&mut self) {
        self.connect_attempts += 1;
    }

    /// Whether the connection is up.
    pub fn connected(&self) -> bool {
        self.connected
    }

    /// Connection attempts so far.
    pub fn connect_attempts(&self) -> u64 {
        self.connect_attempts
    }

    /// Records the outbox's health; `None` once it works again.
    pub fn set_outbox_problem(&mut self, problem: Option<String>) {
        if self.outbox_problem != problem {
            self.outbox_problem = problem;
            self.status_dirty = true;
        }
    }

    /// Why the outbox is not usable, when it is not.
    pub fn outbox_problem(&self) -> Option<&str> {
        self.outbox_problem.as_deref()
    }

    /// Updates the audio state shown on the status topic.
    pub fn set_audio(&mut self, audio: &str) {
        if self.info.audio != audio {
            self.info.audio = audio.to_string();
            self.status_dirty = true;
        }
    }

    /// Updates the speaker state shown on the status topic.
    pub fn set_speaker(&mut self, speaker: &str) {
        if self.info.speaker != speaker {
            self.info.speaker = speaker.to_string();
            self.status_dirty = true;
        }
    }

    /// Counts an answered turn and its latency on the status topic.
    pub fn record_turn(&mut self, turn: TurnLatency) {
        self.latency.record(turn);
        self.status_dirty = true;
    }

    /// Updates the customer stress shown to Home Assistant.
    pub fn set_stress(&mut self, score: f32) {
        self.stress = Some(score);
        self.stress_dirty = self.home_assistant;
    }

    /// Asks the connection task to say goodbye and stop.
    pub fn request_shutdown(&mut self) {
        self.shutdown = true;
    }

    /// Whether a shutdown was requested.
    pub fn shutdown_requested(&self) -> bool {
        self.shutdown
    }

    /// Marks the connection task as finished.
    pub fn set_task_done(&mut self) {
        self.task_done = true;
        self.connected = false;
    }

    /// Whether the connection task has finished.
    pub fn task_done(&self) -> bool {
        self.task_done
    }

    /// When the earliest unconfirmed alert becomes due for re-sending.
    pub fn next_resend_at(&self) -> Option<Instant> {
        self.open
            .iter()
            .filter(|e| !e.confirmed)
            .filter_map(|e| e.last_sent)
            .map(|t| t + RESEND_AFTER)
            .min()
    }

    fn state(&self) -> LinkState {
        if self.shutdown {
            LinkState::Offline
        } else if self.outbox_problem.is_some() {
            LinkState::Degraded
        } else {
            LinkState::Online
        }
    }

    /// The retained status message as of now.
    pub fn status_message(&self) -> Outgoing {
        let payload = Status {
            state: self.state(),
            site: &self.kiosk.site,
            kiosk: &self.kiosk.id,
            info: &self.info,
            open_alerts: self.open.len(),
            expired_alerts: self.expired,
            outbox_problem: self.outbox_problem.as_deref(),
            latency: self.latency.report(),
        }
        .to_json();
        retained(self.topics.status.clone(), payload)
    }

    fn active_messages(&self) -> Vec<Outgoing> {
        let open: Vec<OpenAlert> = self.open.iter().map(|e| OpenAlert::of(&e.alert)).collect();
        let mut out = vec![retained(
            self.topics.active.clone(),
            topics::active_json(&open),
        )];
        if self.home_assistant {
            out.push(retained(
                self.topics.ha_help.clone(),
                topics::help_state(open.len()),
            ));
        }
        out
    }

    /// Takes what must be published now, in order (alerts oldest first, discovery, status,
    /// events, active list, stress), at most `capacity` messages; the rest stays due. Alerts
    /// go first because the client spaces queued packets by a timer tick (about 1 ms) each.
    pub fn take_due(&mut self, now: Instant, capacity: usize) -> Vec<Outgoing> {
        let mut out = Vec::new();
        for e in &mut self.open {
            if out.len() >= capacity {
                break;
            }
            if e.due || e.overdue(now) {
                e.due = false;
                e.last_sent = Some(now);
                out.push(Outgoing {
                    topic: self.topics.alert.clone(),
                    payload: e.payload.clone(),
                    retain: false,
                    kind: Kind::Alert(e.alert.alert_id.clone()),
                });
            }
        }
        if self.discovery_due && out.len() + 2 <= capacity {
            self.discovery_due = false;
            for (topic, payload) in topics::discovery(&self.topics, &self.kiosk, &self.info) {
                out.push(retained(topic, payload));
            }
        }
        if self.status_dirty && out.len() < capacity {
            self.status_dirty = false;
            out.push(self.status_message());
        }
        while out.len() < capacity {
            let Some(msg) = self.events.pop_front() else {
                break;
            };
            out.push(msg);
        }
        if self.active_dirty {
            let active = self.active_messages();
            if out.len() + active.len() <= capacity {
                self.active_dirty = false;
                out.extend(active);
            }
        }
        if let (true, Some(score), true) = (self.stress_dirty, self.stress, out.len() < capacity) {
            self.stress_dirty = false;
            out.push(retained(
                self.topics.ha_stress.clone(),
                topics::stress_state(score),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::{ALERT_SCHEMA, AlertStress};
    use crate::conversation::{Reason, StaffHints, StressLevel, Trend};

    fn kiosk() -> KioskIdentity {
        KioskIdentity {
            site: "s".into(),
            id: "k".into(),
            location: "hall".into(),
        }
    }

    fn alert(id: &str) -> Alert {
        Alert {
            schema: ALERT_SCHEMA.into(),
            alert_id: id.into(),
            kiosk: kiosk(),
            reason: Reason::Distress,
            stress: AlertStress {
                level: StressLevel::Distressed,
                score: 0.9,
                trend: Trend::Rising,
            },
            customer_said: None,
            topic: None,
            hints: StaffHints {
                sounds: String::new(),
                needs: String::new(),
                first_sentence: String::new(),
            },
            raised_at_ms: 1,
            attempt: 0,
        }
    }

    fn ledger(pending: Vec<Alert>) -> Ledger {
        let info = StatusInfo {
            version: "t".into(),
            models: Default::default(),
            audio: "ok".into(),
            speaker: "ok".into(),
        };
        Ledger::new(
            Topics::new("a", &kiosk()),
            kiosk(),
            info,
            false,
            pending,
            Duration::from_secs(3600),
        )
    }

    fn alert_ids(msgs: &[Outgoing]) -> Vec<String> {
        msgs.iter()
            .filter_map(|m| match &m.kind {
                Kind::Alert(id) => Some(id.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn pending_alerts_go_first_in_order_then_resend_after_timeout() {
        let mut l = ledger(vec![alert("a"), alert("b")]);
        let t0 = Instant::now();
        let first = l.take_due(t0, 100);
        assert_eq!(alert_ids(&first[..2]), ["a", "b"]);
        assert_eq!(first[2].topic, "a/s/k/status");
        assert!(l.take_due(t0 + Duration::from_secs(1), 100).is_empty());
        assert!(l.confirm("a"));
        assert!(!l.confirm("a"));
        assert_eq!(l.next_resend_at(), Some(t0 + RESEND_AFTER));
        let later = l.take_due(t0 + RESEND_AFTER, 100);
        assert_eq!(alert_ids(&later), ["b"]);
        assert_eq!(l.unconfirmed(), 1);
    }

    #[test]
    fn reconnect_resends_everything_not_in_flight() {
        let mut l = ledger(vec![alert("a"), alert("b")]);
        let now = Instant::now();
        l.take_due(now, 100);
        l.confirm("a");
        l.confirm("b");
        let in_flight: HashSet<String> = ["b".to_string()].into();
        l.on_connected(Vec::new(), &in_flight);
        assert_eq!(alert_ids(&l.take_due(now, 100)), ["a"]);
    }

    #[test]
    fn capacity_is_respected_and_rest_stays_due() {
        let mut l = ledger((0..5).map(|i| alert(&format!("x{i}"))).collect());
        let now = Instant::now();
        let got = l.take_due(now, 3);
        assert_eq!(alert_ids(&got), ["x0", "x1", "x2"]);
        let rest = l.take_due(now, 100);
        assert_eq!(alert_ids(&rest), ["x3", "x4"]);
        assert!(
            rest.iter().any(|m| m.topic == "a/s/k/status"),
            "status still due"
        );
    }

    #[test]
    fn realert_queues_supervisor_copy_and_close_stops_it() {
        let mut l = ledger(vec![alert("a")]);
        let now = Instant::now();
        l.take_due(now, 100);
        let mut again = alert("a");
        again.attempt = 1;
        assert!(l.realert(&again));
        let msgs = l.take_due(now, 100);
        assert!(msgs.iter().any(|m| m.topic == "a/s/supervisor/alert"));
        assert_eq!(alert_ids(&msgs), ["a"]);
        assert_eq!(
            l.close("a"),
            Some(Closed {
                customer_gone: false
            })
        );
        assert!(!l.realert(&again));
        assert!(l.knows("a") && !l.is_open("a"));
        let msgs = l.take_due(now + RESEND_AFTER * 2, 100);
        assert!(alert_ids(&msgs).is_empty());
        let active = msgs
            .iter()
            .find(|m| m.topic == "a/s/k/alerts/active")
            .unwrap();
        assert_eq!(active.payload, b"[]");
    }

    #[test]
    fn lost_events_are_requeued_in_order() {
        let mut l = ledger(vec![]);
        let ev = |n: u8| Outgoing {
            topic: "e".into(),
            payload: vec![n],
            retain: false,
            kind: Kind::Event,
        };
        l.queue_event("e".into(), vec![3]);
        l.on_connected(vec![ev(1), ev(2)], &HashSet::new());
        let got: Vec<u8> = l
            .take_due(Instant::now(), 100)
            .into_iter()
            .filter(|m| m.topic == "e")
            .map(|m| m.payload[0])
            .collect();
        assert_eq!(got, [1, 2, 3]);
    }

    #[test]
    fn unacknowledged_alerts_expire_and_are_counted() {
        let mut l = ledger(vec![]);
        let now = Instant::now();
        l.add(&alert("a"));
        assert!(l.take_expired(now).is_empty());
        let at = l.next_expiry().unwrap();
        assert!(at >= now + Duration::from_secs(3599));
        assert_eq!(l.take_expired(at), ["a"]);
        assert!(!l.is_open("a") && l.knows("a"));
        let status = l.status_message();
        let v: serde_json::Value = serde_json::from_slice(&status.payload).unwrap();
        assert_eq!(v["expired_alerts"], 1);
        assert_eq!(v["open_alerts"], 0);
    }

    #[test]
    fn alerts_from_before_a_restart_keep_their_age_but_get_a_grace() {
        let now_ms = crate::wallclock::now_ms();
        let mut old = alert("old");
        old.raised_at_ms = now_ms - 7200 * 1000;
        let mut fresh = alert("fresh");
        fresh.raised_at_ms = now_ms - 600 * 1000;
        let mut future = alert("future");
        future.raised_at_ms = now_ms + 86_400 * 1000;
        let l = ledger(vec![old, fresh, future]);
        let t0 = Instant::now();
        let left = |id: &str| {
            let e = l.open.iter().find(|e| e.alert.alert_id == id).unwrap();
            e.expires_at.saturating_duration_since(t0).as_secs()
        };
        assert!((290..=300).contains(&left("old")), "{}", left("old"));
        assert!((2990..=3000).contains(&left("fresh")), "{}", left("fresh"));
        assert!(
            (3590..=3600).contains(&left("future")),
            "{}",
            left("future")
        );
    }

    #[test]
    fn a_departed_customer_is_remembered_until_staff_answer() {
        let mut l = ledger(vec![alert("a"), alert("b")]);
        assert_eq!(l.customer_gone("a"), Standing::Open);
        assert_eq!(
            l.close("a"),
            Some(Closed {
                customer_gone: true
            })
        );
        l.close("b");
        assert_eq!(l.customer_gone("b"), Standing::Acknowledged);
        assert_eq!(l.customer_gone("zzz"), Standing::Unknown);
    }
}
