//! The embedded broker's state: accounts, sessions, subscriptions, retained messages and
//! per-session queues, every one of them bounded (see [`Limits`]). Pure bookkeeping: the
//! connection tasks do the I/O and call in under one lock, so routing is easy to test.

use super::acl::{Acl, Role, matches};
use crate::alerts::credentials::{Credentials, same_secret};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use tokio::sync::Notify;

mod types;

pub(crate) use types::{Accepted, ConnectRequest, Limits, Message, Outgoing, Refused, Stats};

#[derive(Debug)]
struct Session {
    role: Role,
    conn: Option<u64>,
    notify: Arc<Notify>,
    persistent: bool,
    subs: Vec<(String, u8)>,
    queue: VecDeque<Message>,
    inflight: BTreeMap<u16, Message>,
    bytes: usize,
    resend: bool,
    next_pkid: u16,
    will: Option<Message>,
    /// Logical time of the last connect or disconnect, to evict the oldest away session.
    touched: u64,
}

impl Session {
    fn new(role: Role, persistent: bool, touched: u64) -> Self {
        Self {
            role,
            conn: None,
            notify: Arc::new(Notify::new()),
            persistent,
            subs: Vec::new(),
            queue: VecDeque::new(),
            inflight: BTreeMap::new(),
            bytes: 0,
            resend: false,
            next_pkid: 1,
            will: None,
            touched,
        }
    }

    /// The highest QoS among this session's subscriptions matching `topic`.
    fn wants(&self, topic: &str) -> Option<u8> {
        self.subs
            .iter()
            .filter(|(f, _)| matches(f, topic))
            .map(|(_, q)| *q)
            .max()
    }

    fn free_pkid(&mut self) -> u16 {
        loop {
            let id = self.next_pkid;
            self.next_pkid = self.next_pkid.checked_add(1).unwrap_or(1);
            if id != 0 && !self.inflight.contains_key(&id) {
                return id;
            }
        }
    }
}

/// The broker's whole state.
#[derive(Debug)]
pub(crate) struct Router {
    limits: Limits,
    acl: Acl,
    accounts: Vec<(Credentials, Role)>,
    sessions: HashMap<String, Session>,
    retained: BTreeMap<String, Message>,
    retained_bytes: usize,
    queued_bytes: usize,
    connections: usize,
    next_conn: u64,
    clock: u64,
    stats: Stats,
}

impl Router {
    /// A broker with these accounts, rules and limits.
    pub fn new(limits: Limits, acl: Acl, accounts: Vec<(Credentials, Role)>) -> Self {
        Self {
            limits,
            acl,
            accounts,
            sessions: HashMap::new(),
            retained: BTreeMap::new(),
            retained_bytes: 0,
            queued_bytes: 0,
            connections: 0,
            next_conn: 1,
            clock: 0,
            stats: Stats::default(),
        }
    }

    /// Counters so far.
    #[cfg(test)]
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Open connections.
    pub fn connections(&self) -> usize {
        self.connections
    }

    /// Bytes queued over all sessions (for tests of the limits).
    #[cfg(test)]
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    fn authenticate(&self, login: Option<(&str, &str)>) -> Option<Role> {
        let (user, password) = login?;
        self.accounts
            .iter()
            .find(|(c, _)| c.user == user && same_secret(&c.password, password))
            .map(|(_, role)| *role)
    }

    /// Handles CONNECT: credentials, client id, takeover of a live session, the connection
    /// cap, and a clean or resumed session.
    pub fn connect(&mut self, req: ConnectRequest<'_>) -> Result<Accepted, Refused> {
        let role = self
            .authenticate(req.login)
            .ok_or(Refused::BadCredentials)?;
        let client_id = match req.client_id {
            "" if req.clean => format!("attune-auto-{}", self.next_conn),
            "" => return Err(Refused::IdentifierRejected),
            id if id.len() > 128 || id.chars().any(char::is_control) => {
                return Err(Refused::IdentifierRejected);
            }
            id => id.to_string(),
        };
        let existing = self.sessions.get(&client_id);
        if existing.is_some_and(|s| s.role != role) {
            // Staff must not be able to push the kiosk off the broker by borrowing its id.
            return Err(Refused::IdentifierRejected);
        }
        // The old connection's task sees it is no longer current and closes.
        let taken_over = existing
            .filter(|s| s.conn.is_some())
            .map(|s| s.notify.clone());
        let takeover = taken_over.is_some();
        if !takeover && self.connections >= self.limits.max_connections {
            return Err(Refused::Unavailable);
        }
        if req.clean {
            self.remove_session(&client_id);
        }
        if !self.sessions.contains_key(&client_id) && !self.make_room_for_session() {
            return Err(Refused::Unavailable);
        }
        let touched = self.tick();
        let conn = self.next_conn;
        self.next_conn += 1;
        let will = req
            .will
            .filter(|w| self.acl.may_publish(role, &w.topic) && w.payload.len() <= 64 * 1024);
        let session_present = self.sessions.contains_key(&client_id);
        let session = self
            .sessions
            .entry(client_id.clone())
            .or_insert_with(|| Session::new(role, !req.clean, touched));
        if let Some(old) = taken_over {
            old.notify_one();
        } else {
            self.connections += 1;
        }
        session.notify = Arc::new(Notify::new());
        session.conn = Some(conn);
        session.persistent = !req.clean;
        session.resend = session_present;
        session.will = will;
        session.touched = touched;
        Ok(Accepted {
            client_id,
            conn,
            session_present,
            notify: session.notify.clone(),
        })
    }

    /// Evicts the longest-away persistent session if the session table is full; `false`
    /// when every session is connected.
    fn make_room_for_session(&mut self) -> bool {
        if self.sessions.len() < self.limits.max_sessions {
            return true;
        }
        let oldest = self
            .sessions
            .iter()
            .filter(|(_, s)| s.conn.is_none())
            .min_by_key(|(_, s)| s.touched)
            .map(|(id, _)| id.clone());
        match oldest {
            Some(id) => {
                tracing::info!(client = ?id, "embedded broker: dropping the oldest away session to make room");
                self.remove_session(&id);
                true
            }
            None => false,
        }
    }

    fn remove_session(&mut self, client_id: &str) {
        if let Some(s) = self.sessions.remove(client_id) {
            self.queued_bytes -= s.bytes;
        }
    }

    /// Whether `conn` is still the connection of `client_id` (not taken over or closed).
    pub fn is_current(&self, client_id: &str, conn: u64) -> bool {
        self.sessions
            .get(client_id)
            .is_some_and(|s| s.conn == Some(conn))
    }

    /// The connection ended; `graceful` after DISCONNECT (the will is then discarded).
    pub fn disconnect(&mut self, client_id: &str, conn: u64, graceful: bool) {
        if !self.is_current(client_id, conn) {
            return;
        }
        self.connections -= 1;
        let touched = self.tick();
        let Some(session) = self.sessions.get_mut(client_id) else {
            return;
        };
        session.conn = None;
        session.touched = touched;
        let will = session.will.take();
        if !session.persistent {
            self.remove_session(client_id);
        }
        if let (false, Some(will)) = (graceful, will) {
            self.route(will);
        }
    }

    /// A PUBLISH from `client_id`; `false` if the access rules refuse it (it is dropped).
    pub fn publish(&mut self, client_id: &str, message: Message) -> bool {
        let Some(role) = self.sessions.get(client_id).map(|s| s.role) else {
            return false;
        };
        if !self.acl.may_publish(role, &message.topic) {
            self.stats.denied += 1;
            return false;
        }
        self.route(message);
        true
    }

    fn route(&mut self, message: Message) {
        if message.retain {
            self.retain(&message);
        }
        let targets: Vec<(String, u8)> = self
            .sessions
            .iter()
            .filter_map(|(id, s)| s.wants(&message.topic).map(|q| (id.clone(), q)))
            .collect();
        for (id, sub_qos) in targets {
            let qos = sub_qos.min(message.qos);
            let delivered = Message {
                qos,
                retain: false,
                ..message.clone()
            };
            self.enqueue(&id, delivered);
        }
    }

    fn retain(&mut self, message: &Message) {
        if let Some(old) = self.retained.remove(&message.topic) {
            self.retained_bytes -= old.cost();
        }
        if message.payload.is_empty() {
            return;
        }
        let cost = message.cost();
        let fits = self.retained.len() < self.limits.max_retained
            && self.retained_bytes + cost <= self.limits.max_retained_bytes
            && cost <= self.limits.max_retained_bytes / 8;
        if fits {
            self.retained_bytes += cost;
            self.retained.insert(message.topic.clone(), message.clone());
        } else {
            self.stats.not_retained += 1;
            tracing::warn!(topic = ?message.topic, bytes = message.payload.len(),
                "embedded broker: retained store full or message too large; not retained");
        }
    }

    /// Queues `message` for `client_id`, dropping that session's oldest queued messages
    /// first when a limit would be exceeded.
    fn enqueue(&mut self, client_id: &str, message: Message) {
        let limits = self.limits.clone();
        let Some(s) = self.sessions.get_mut(client_id) else {
            return;
        };
        if s.conn.is_none() && message.qos == 0 {
            return;
        }
        let cost = message.cost();
        let over = |s: &Session, global: usize| {
            s.bytes + cost > limits.max_session_bytes
                || s.queue.len() + s.inflight.len() >= limits.max_session_messages
                || global + cost > limits.max_queued_bytes
        };
        while over(s, self.queued_bytes) {
            let Some(old) = s.queue.pop_front() else {
                self.stats.dropped += 1;
                tracing::warn!(client = ?client_id, topic = ?message.topic,
                    "embedded broker: queue full; message dropped");
                return;
            };
            s.bytes -= old.cost();
            self.queued_bytes -= old.cost();
            self.stats.dropped += 1;
        }
        s.bytes += cost;
        self.queued_bytes += cost;
        s.queue.push_back(message);
        s.notify.notify_one();
    }

    /// SUBSCRIBE: each filter's granted QoS, or `None` where the rules refuse it. Retained
    /// messages matching a granted filter are queued.
    pub fn subscribe(&mut self, client_id: &str, filters: &[(String, u8)]) -> Vec<Option<u8>> {
        let max = self.limits.max_subscriptions;
        let Some(s) = self.sessions.get_mut(client_id) else {
            return vec![None; filters.len()];
        };
        let mut granted = Vec::with_capacity(filters.len());
        for (filter, qos) in filters {
            let allowed = self.acl.may_subscribe(s.role, filter);
            let known = s.subs.iter().position(|(f, _)| f == filter);
            let q = (*qos).min(1);
            let result = match (allowed, known) {
                (false, _) => None,
                (true, Some(i)) => {
                    s.subs[i].1 = q;
                    Some(q)
                }
                (true, None) if s.subs.len() < max => {
                    s.subs.push((filter.clone(), q));
                    Some(q)
                }
                (true, None) => None,
            };
            granted.push(result);
        }
        let wanted: Vec<(&String, u8)> = filters
            .iter()
            .zip(&granted)
            .filter_map(|((f, _), g)| g.map(|q| (f, q)))
            .collect();
        let retained: Vec<Message> = self
            .retained
            .values()
            .filter_map(|m| {
                let q = wanted
                    .iter()
                    .filter(|(f, _)| matches(f, &m.topic))
                    .map(|(_, q)| *q)
                    .max()?;
                Some(Message {
                    qos: q.min(m.qos),
                    retain: true,
                    ..m.clone()
                })
            })
            .collect();
        for m in retained {
            self.enqueue(client_id, m);
        }
        granted
    }

    /// UNSUBSCRIBE.
    pub fn unsubscribe(&mut self, client_id: &str, filters: &[String]) {
        if let Some(s) = self.sessions.get_mut(client_id) {
            s.subs.retain(|(f, _)| !filters.contains(f));
        }
    }

    /// The client acknowledged `pkid`.
    pub fn acked(&mut self, client_id: &str, pkid: u16) {
        if let Some(s) = self.sessions.get_mut(client_id)
            && let Some(m) = s.inflight.remove(&pkid)
        {
            s.bytes -= m.cost();
            self.queued_bytes -= m.cost();
        }
    }

    /// What to send to `client_id` on connection `conn` now: after a resumed session, every
    /// unacknowledged message again (DUP), then queued messages up to the in-flight window.
    pub fn take_outgoing(&mut self, client_id: &str, conn: u64) -> Vec<Outgoing> {
        let window = self.limits.inflight_window;
        let Some(s) = self.sessions.get_mut(client_id) else {
            return Vec::new();
        };
        if s.conn != Some(conn) {
            return Vec::new();
        }
        let mut out = Vec::new();
        if std::mem::take(&mut s.resend) {
            out.extend(s.inflight.iter().map(|(pkid, m)| Outgoing {
                pkid: *pkid,
                message: m.clone(),
                dup: true,
            }));
        }
        while s.inflight.len() < window {
            let Some(m) = s.queue.pop_front() else { break };
            if m.qos == 0 {
                s.bytes -= m.cost();
                self.queued_bytes -= m.cost();
                out.push(Outgoing {
                    pkid: 0,
                    message: m,
                    dup: false,
                });
            } else {
                let pkid = s.free_pkid();
                s.inflight.insert(pkid, m.clone());
                out.push(Outgoing {
                    pkid,
                    message: m,
                    dup: false,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
