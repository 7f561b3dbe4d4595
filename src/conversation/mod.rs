//! The conversation core: what the kiosk says and when it calls staff.
//!
//! Pure by design: no engine or device crates, no I/O, no clock. Time is passed in as the
//! duration since the daemon started, so every transition is unit-testable and replayable.
//! [`Conversation::step`] takes one [`Event`] and returns the [`Action`]s for the adapters
//! to execute, in order (an alert is always listed before the words that mention it, so the
//! adapter commits it before the customer hears about it).

mod compose;
mod hints;
mod policy;
mod session;
mod state;

pub use compose::Phrases;
pub use policy::Policy;
pub use state::{Conversation, Phase};

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Time since the daemon started (monotonic). The core never reads a clock itself.
pub type Now = Duration;

/// How stressed the customer sounds, as fused from voice, words and dialogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StressLevel {
    /// Nothing in voice or words suggests stress.
    Calm,
    /// Raised arousal or frustrated words: acknowledge before answering.
    Tense,
    /// Clearly distressed: validate, reassure, and get a person.
    Distressed,
}

/// Which way the customer's stress is moving over the last turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    /// Stress score went up by a noticeable step.
    Rising,
    /// No noticeable change.
    Steady,
    /// Stress score went down by a noticeable step.
    Falling,
}

/// The stress assessment of one customer turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StressReading {
    /// Fused score in 0..=1.
    pub score: f32,
    /// Level derived from the score by the stress stage's thresholds.
    pub level: StressLevel,
    /// Human-readable reasons (e.g. "raised voice", "frustrated words").
    pub reasons: Vec<String>,
}

impl StressReading {
    /// A calm reading with no reasons, for turns where stress could not be assessed.
    pub fn calm() -> Self {
        Self {
            score: 0.0,
            level: StressLevel::Calm,
            reasons: Vec::new(),
        }
    }
}

/// An answer from the knowledge base for this turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// Intent id from the knowledge base (e.g. "toilets").
    pub intent: String,
    /// Match confidence in 0..=1.
    pub confidence: f32,
    /// What the kiosk says.
    pub text: String,
    /// Optional follow-up offered after the answer.
    pub follow_up: Option<String>,
    /// The topic needs a person (e.g. refunds).
    pub staff_only: bool,
    /// The topic is a safety matter (e.g. medical help).
    pub safety: bool,
}

/// One finished customer turn, already transcribed and assessed by the adapters.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// What the customer said (never logged unless enabled).
    pub transcript: String,
    /// Fused stress assessment.
    pub stress: StressReading,
    /// A configured safety phrase found in the words, if any.
    pub safety_phrase: Option<String>,
    /// A configured request for a person found in the words, if any.
    pub asked_for_person: Option<String>,
    /// The customer repeated or rephrased an earlier request.
    pub repeated_request: bool,
    /// Best knowledge-base match, if any (the core applies the confidence threshold).
    pub answer: Option<Answer>,
}

/// A member of staff acknowledging an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffAck {
    /// Which alert is acknowledged.
    pub alert_id: String,
    /// Name the customer is told ("Sam is on the way").
    pub by: Option<String>,
    /// Estimated arrival in seconds.
    pub eta_s: Option<u32>,
}

/// Something that happened, fed to [`Conversation::step`].
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A customer walked up or pressed the call button: greet them.
    Approached,
    /// The voice detector heard speech begin (barge-in while the kiosk speaks).
    SpeechStarted,
    /// The customer stopped speaking; transcription is under way.
    SpeechEnded,
    /// The finished turn, understood.
    Heard(Box<Turn>),
    /// The utterance held no usable words (noise, a cough).
    NotHeard,
    /// Everything the kiosk queued has been played.
    PlaybackFinished,
    /// Staff acknowledged an alert.
    StaffAcknowledged(StaffAck),
    /// Time passed (sent periodically so timeouts fire).
    Tick,
}

/// Why staff were called. The codes are part of the alert schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// A safety phrase or a safety topic (medical help, danger).
    Safety,
    /// The customer asked for a person.
    AskedForPerson,
    /// Sustained distress, or one very high stress turn.
    Distress,
    /// The kiosk could not understand or answer for N turns.
    Unresolved,
    /// The topic is configured as needing a person (e.g. refunds).
    StaffOnly,
}

impl Reason {
    /// The reason code as it appears in alerts.
    pub fn code(self) -> &'static str {
        match self {
            Reason::Safety => "safety",
            Reason::AskedForPerson => "asked_for_person",
            Reason::Distress => "distress",
            Reason::Unresolved => "unresolved",
            Reason::StaffOnly => "staff_only",
        }
    }
}

/// How fast the kiosk speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pace {
    /// The voice's normal rate.
    Normal,
    /// Slower and calmer, for a distressed customer.
    Slow,
}

/// Something the kiosk says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Say {
    /// The words, in short sentences.
    pub text: String,
    /// Speaking rate.
    pub pace: Pace,
}

/// Hints that help the member of staff approach the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffHints {
    /// How the customer sounds ("upset and getting more so").
    pub sounds: String,
    /// What they need ("asked about: refunds").
    pub needs: String,
    /// A suggested first sentence for the member of staff.
    pub first_sentence: String,
}

/// The core's request to alert staff; the adapter adds kiosk identity and delivers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRequest {
    /// Unique id: kiosk boot tag plus a sequence number (ordering never relies on wall time).
    pub alert_id: String,
    /// Why staff are needed.
    pub reason: Reason,
    /// Stress level at the time of the alert.
    pub level: StressLevel,
    /// Fused stress score at the time of the alert.
    pub score: f32,
    /// Direction of the stress over the last turns.
    pub trend: Trend,
    /// The customer's recent words, oldest first (redacted by the adapter per privacy settings).
    pub transcripts: Vec<String>,
    /// The knowledge-base topic, if one was matched.
    pub topic: Option<String>,
    /// Hints for the member of staff.
    pub hints: StaffHints,
}

/// What the adapters must do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Speak these words (after anything already queued).
    Say(Say),
    /// Stop speaking now and drop what is queued (barge-in).
    StopSpeaking,
    /// Commit and deliver a new alert.
    RaiseAlert(AlertRequest),
    /// No acknowledgement in time: send the same alert again, and to the supervisor.
    Realert {
        /// The alert being repeated.
        alert_id: String,
        /// How many times it has been repeated, starting at 1.
        attempt: u32,
    },
    /// The customer left (long silence); the conversation was reset.
    SessionEnded {
        /// The alerts raised for them, oldest first: staff are told the customer left, and
        /// an acknowledged alert is finished.
        alerts: Vec<String>,
    },
}

#[cfg(test)]
mod tests;
