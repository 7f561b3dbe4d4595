//! What a run records: every turn, reply, alert and acknowledgement, for the demo's printout,
//! `attune bench` and tests. Only a run from a recording keeps it; a live kiosk keeps nothing,
//! so its memory does not grow with the turns it hears.

use crate::alerts::Alert;
use crate::conversation::{Reason, StaffAck, StressReading};
use crate::latency::TurnLatency;

/// One customer turn as it went.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnRecord {
    /// What the customer said.
    pub transcript: String,
    /// p(high arousal) from the voice, when available.
    pub acoustic: Option<f32>,
    /// Fused stress.
    pub stress: StressReading,
    /// Matched intent and confidence.
    pub intent: Option<(String, f32)>,
    /// What the kiosk said in answer (and until the next turn).
    pub replies: Vec<String>,
    /// Alert raised by this turn.
    pub alert: Option<(String, Reason)>,
}

/// What happened during a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunReport {
    /// Customer turns in order.
    pub turns: Vec<TurnRecord>,
    /// Everything the kiosk said, in order.
    pub said: Vec<String>,
    /// Alerts raised.
    pub alerts: Vec<Alert>,
    /// Staff acknowledgements received.
    pub acks: Vec<StaffAck>,
    /// Alerts not yet delivered when the run ended (they stay in the outbox).
    pub undelivered: usize,
    /// Latency of each answered turn, in order.
    pub latencies: Vec<TurnLatency>,
}

/// Records into a [`RunReport`] when asked to, and otherwise keeps nothing.
pub(super) struct Recorder {
    keep: bool,
    report: RunReport,
}

impl Recorder {
    /// A recorder that keeps everything (`keep`) or nothing.
    pub fn new(keep: bool) -> Self {
        Self {
            keep,
            report: RunReport::default(),
        }
    }

    /// A turn was understood.
    pub fn turn(&mut self, t: TurnRecord) {
        if self.keep {
            self.report.turns.push(t);
        }
    }

    /// The kiosk said `text`.
    pub fn said(&mut self, text: &str) {
        if self.keep {
            self.report.said.push(text.to_string());
            if let Some(t) = self.report.turns.last_mut() {
                t.replies.push(text.to_string());
            }
        }
    }

    /// An alert was raised.
    pub fn alert(&mut self, alert: &Alert) {
        if self.keep {
            if let Some(t) = self.report.turns.last_mut() {
                t.alert = Some((alert.alert_id.clone(), alert.reason));
            }
            self.report.alerts.push(alert.clone());
        }
    }

    /// Staff acknowledged an alert.
    pub fn ack(&mut self, ack: &StaffAck) {
        if self.keep {
            self.report.acks.push(ack.clone());
        }
    }

    /// A turn's latency is complete.
    pub fn latency(&mut self, l: TurnLatency) {
        if self.keep {
            self.report.latencies.push(l);
        }
    }

    /// What was recorded (empty for a live kiosk).
    pub fn into_report(self) -> RunReport {
        self.report
    }
}
