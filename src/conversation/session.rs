//! One customer's conversation: what they said, how stressed they sounded, and the alerts
//! raised for them.

use super::policy::Counters;
use super::{Now, Reason, StaffAck, Trend, Turn};
use std::collections::VecDeque;
use std::time::Duration;

/// How many recent customer utterances an alert carries.
const RECENT_TURNS: usize = 3;
/// Score change between turns that counts as a trend rather than noise.
const TREND_STEP: f32 = 0.15;

/// Most alerts one customer's conversation keeps track of (a safety alert is never merged
/// into another reason's, so a customer can have a few); the oldest acknowledged go first.
const MAX_SESSION_ALERTS: usize = 8;

/// An alert raised for the customer at the kiosk. It belongs to their conversation: the
/// cooldown, the re-alerts and "Sam is on the way" concern only them, so the next customer
/// is never covered by (or told about) an earlier customer's alert.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SessionAlert {
    pub(super) id: String,
    pub(super) reason: Reason,
    pub(super) raised_at: Now,
    pub(super) last_sent: Now,
    pub(super) realerts: u32,
    pub(super) ack: Option<StaffAck>,
}

impl SessionAlert {
    /// Still being chased: unacknowledged with re-alerts left.
    pub(super) fn chased(&self, max_realerts: u32) -> bool {
        self.ack.is_none() && self.realerts < max_realerts
    }
}

/// One customer's conversation.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Session {
    pub(super) greeted: bool,
    pub(super) last_activity: Now,
    pub(super) thinking_since: Option<Now>,
    pub(super) said_one_moment: bool,
    pub(super) counters: Counters,
    pub(super) recent: VecDeque<String>,
    pub(super) scores: VecDeque<f32>,
    /// This customer has an alert raised for them.
    pub(super) escalated: bool,
    /// Alerts raised for this customer, oldest first.
    pub(super) alerts: Vec<SessionAlert>,
}

impl Session {
    pub(super) fn new(now: Now) -> Self {
        Self {
            greeted: false,
            last_activity: now,
            thinking_since: None,
            said_one_moment: false,
            counters: Counters::default(),
            recent: VecDeque::new(),
            scores: VecDeque::new(),
            escalated: false,
            alerts: Vec::new(),
        }
    }

    /// Whether an alert already raised for this customer covers a new escalation for
    /// `reason`. A safety matter is covered only by a safety alert still unacknowledged (it
    /// is being re-sent and escalated); anything else by any alert that is unacknowledged or
    /// younger than the cooldown, so one customer does not cause a storm.
    pub(super) fn covers(&self, reason: Reason, now: Now, cooldown: Duration) -> bool {
        self.alerts.iter().any(|a| {
            if reason == Reason::Safety {
                a.reason == Reason::Safety && a.ack.is_none()
            } else {
                a.ack.is_none() || now.saturating_sub(a.raised_at) < cooldown
            }
        })
    }

    pub(super) fn add_alert(&mut self, alert: SessionAlert) {
        if self.alerts.len() >= MAX_SESSION_ALERTS {
            let oldest = self
                .alerts
                .iter()
                .position(|a| a.ack.is_some())
                .unwrap_or(0);
            self.alerts.remove(oldest);
        }
        self.alerts.push(alert);
        self.escalated = true;
    }

    /// The newest acknowledgement of this customer's alerts.
    pub(super) fn latest_ack(&self) -> Option<&StaffAck> {
        self.alerts.iter().rev().find_map(|a| a.ack.as_ref())
    }

    pub(super) fn trend(&self, score: f32) -> Trend {
        if self.scores.is_empty() {
            return Trend::Steady;
        }
        let mean = self.scores.iter().sum::<f32>() / self.scores.len() as f32;
        if score - mean > TREND_STEP {
            Trend::Rising
        } else if mean - score > TREND_STEP {
            Trend::Falling
        } else {
            Trend::Steady
        }
    }

    pub(super) fn remember(&mut self, turn: &Turn) {
        self.recent.push_back(turn.transcript.clone());
        self.scores.push_back(turn.stress.score);
        while self.recent.len() > RECENT_TURNS {
            self.recent.pop_front();
        }
        while self.scores.len() > RECENT_TURNS {
            self.scores.pop_front();
        }
    }
}
