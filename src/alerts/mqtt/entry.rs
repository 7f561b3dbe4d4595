//! One open alert as the ledger keeps it: its encoded payload and where its delivery stands.

use crate::alerts::Alert;
use std::time::{Duration, Instant};

/// An alert the broker has not acknowledged within this time is sent again (same id).
pub(crate) const RESEND_AFTER: Duration = Duration::from_secs(10);
/// Alerts are kept small enough for any broker's default packet limit.
pub(crate) const MAX_ALERT_BYTES: usize = 64 * 1024;

/// An alert waiting for staff, and the state of its sending.
#[derive(Debug)]
pub(super) struct Entry {
    /// The alert as raised (or re-raised).
    pub(super) alert: Alert,
    /// Its JSON, within [`MAX_ALERT_BYTES`].
    pub(super) payload: Vec<u8>,
    /// Must go out at the next opportunity (new, re-alerted, or reconnected).
    pub(super) due: bool,
    /// The broker acknowledged the latest sending.
    pub(super) confirmed: bool,
    /// When the latest sending went out.
    pub(super) last_sent: Option<Instant>,
    /// The customer has left the kiosk.
    pub(super) gone: bool,
    /// Nobody acknowledged it by then: it is closed as expired.
    pub(super) expires_at: Instant,
}

impl Entry {
    /// A new entry, due at once.
    pub(super) fn new(alert: Alert, expires_at: Instant) -> Self {
        let payload = encode(&alert);
        Self {
            alert,
            payload,
            due: true,
            confirmed: false,
            last_sent: None,
            gone: false,
            expires_at,
        }
    }

    /// Sent but not confirmed by the broker within [`RESEND_AFTER`].
    pub(super) fn overdue(&self, now: Instant) -> bool {
        !self.confirmed && self.last_sent.is_some_and(|t| now >= t + RESEND_AFTER)
    }
}

/// Encodes an alert, dropping the customer's words if they would make it too large: an alert
/// that never fits the broker's limit would otherwise be retried forever.
fn encode(alert: &Alert) -> Vec<u8> {
    let full = serde_json::to_vec(alert).unwrap_or_default();
    if full.len() <= MAX_ALERT_BYTES {
        return full;
    }
    tracing::warn!(alert_id = %alert.alert_id, bytes = full.len(), "alert too large; sending it without the transcript");
    let mut slim = alert.clone();
    slim.customer_said = Some(vec!["[too long to send]".into()]);
    serde_json::to_vec(&slim).unwrap_or_default()
}
