//! What the router takes and gives: limits, messages, CONNECT requests and their answers.

use bytes::Bytes;
use std::sync::Arc;
use tokio::sync::Notify;

/// What the broker holds at most. The defaults keep the worst case near 16 MiB, which a
/// 1 GB Raspberry Pi running the speech models can spare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Simultaneous client connections.
    pub max_connections: usize,
    /// Sessions, connected or kept for a persistent client that is away.
    pub max_sessions: usize,
    /// Subscriptions per session.
    pub max_subscriptions: usize,
    /// Messages queued (or awaiting PUBACK) per session.
    pub max_session_messages: usize,
    /// Bytes queued (or awaiting PUBACK) per session.
    pub max_session_bytes: usize,
    /// Bytes queued over all sessions.
    pub max_queued_bytes: usize,
    /// Retained topics.
    pub max_retained: usize,
    /// Bytes of all retained messages.
    pub max_retained_bytes: usize,
    /// QoS 1 messages sent to one client before it must acknowledge some.
    pub inflight_window: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 16,
            max_sessions: 32,
            max_subscriptions: 32,
            max_session_messages: 512,
            max_session_bytes: 1 << 20,
            max_queued_bytes: 8 << 20,
            max_retained: 256,
            max_retained_bytes: 1 << 20,
            inflight_window: 32,
        }
    }
}

/// A message as the broker routes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    /// Topic name.
    pub topic: String,
    /// Payload.
    pub payload: Bytes,
    /// 0 or 1 (QoS 2 is handled as 1).
    pub qos: u8,
    /// Retain flag as delivered.
    pub retain: bool,
}

impl Message {
    /// What holding it costs, counted against the limits.
    pub(super) fn cost(&self) -> usize {
        self.topic.len() + self.payload.len() + 64
    }
}

/// Why a CONNECT is refused (each maps to an MQTT 3.1.1 return code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// No or wrong user name and password.
    BadCredentials,
    /// The client id is malformed, or belongs to the other role.
    IdentifierRejected,
    /// Too many connections or sessions.
    Unavailable,
}

/// A CONNECT that was accepted.
#[derive(Debug, Clone)]
pub(crate) struct Accepted {
    /// The client id in use (generated for an empty id with a clean session).
    pub client_id: String,
    /// This connection's number; a takeover gives the session a new one.
    pub conn: u64,
    /// Whether a persistent session was resumed.
    pub session_present: bool,
    /// Signalled when the session has something to send or was taken over.
    pub notify: Arc<Notify>,
}

/// A PUBLISH to send to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outgoing {
    /// Packet id (0 for QoS 0).
    pub pkid: u16,
    /// The message.
    pub message: Message,
    /// A re-send after reconnecting.
    pub dup: bool,
}

/// What CONNECT asks for.
#[derive(Debug, Clone)]
pub(crate) struct ConnectRequest<'a> {
    /// Client id as sent.
    pub client_id: &'a str,
    /// User name and password, if given.
    pub login: Option<(&'a str, &'a str)>,
    /// Clean session flag.
    pub clean: bool,
    /// Last will.
    pub will: Option<Message>,
}

/// Counters for the log and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Stats {
    /// Messages dropped because a queue was full.
    pub dropped: u64,
    /// Publishes refused by the access rules.
    pub denied: u64,
    /// Retained messages not kept because the store was full or they were too large.
    pub not_retained: u64,
}
