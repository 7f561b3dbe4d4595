//! Alerts to staff: the versioned payload, privacy redaction, and the [`AlertPublisher`]
//! seam. The MQTT publisher (`mqtt/`), the embedded broker (`broker/`), the durable outbox,
//! the broker URL and credentials files live in their own files.

mod broker;
mod credentials;
mod mqtt;
mod outbox;
mod redact;
mod state_lock;
mod url;

pub use broker::{
    BrokerScope, EmbeddedBroker, KIOSK_CREDENTIALS, STAFF_CREDENTIALS, check_address,
};
pub use credentials::Credentials;
pub use mqtt::{
    LinkReport, MqttPublisher, Outcome, StaffClient, StatusHandle, StatusInfo, check as check_mqtt,
};
pub use outbox::{OpenAlert, Outbox};
pub use redact::{redact, redact_turns};
pub use state_lock::StateLock;
pub use url::BrokerUrl;

use crate::conversation::{AlertRequest, Reason, StaffHints, StressLevel, Trend};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;

/// Schema identifier carried by every alert; bump on incompatible changes.
pub const ALERT_SCHEMA: &str = "attune.alert/1";

/// How much of what the customer said goes into an alert (`privacy.alert_transcript`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TranscriptPolicy {
    /// Nothing the customer said.
    None,
    /// What they said, with phone, card and e-mail numbers masked.
    #[default]
    Redacted,
    /// Verbatim.
    Full,
}

/// Which kiosk raised the alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KioskIdentity {
    /// Site (station, shop, hospital) id.
    pub site: String,
    /// Kiosk id within the site.
    pub id: String,
    /// Where the kiosk stands, in words staff understand.
    pub location: String,
}

/// Stress at the time of the alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertStress {
    /// calm, tense or distressed.
    pub level: StressLevel,
    /// Fused score 0..=1.
    pub score: f32,
    /// rising, steady or falling.
    pub trend: Trend,
}

/// The alert as published on `attune/{site}/{kiosk}/alert` (JSON, schema [`ALERT_SCHEMA`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Always [`ALERT_SCHEMA`].
    pub schema: String,
    /// Unique id; receivers de-duplicate by it.
    pub alert_id: String,
    /// The kiosk.
    pub kiosk: KioskIdentity,
    /// Reason code: safety, asked_for_person, distress, unresolved, staff_only.
    pub reason: Reason,
    /// Stress at the time of the alert.
    pub stress: AlertStress,
    /// What the customer said, per the privacy setting (absent with `none`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_said: Option<Vec<String>>,
    /// Knowledge-base topic, when one was matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// How to approach the customer.
    pub hints: StaffHints,
    /// Wall-clock time the alert was raised, ms since the Unix epoch (informational: a Pi has
    /// no real-time clock, so ordering uses the id's sequence number).
    pub raised_at_ms: u64,
    /// 0 for the first sending; n for the n-th re-alert after no acknowledgement.
    pub attempt: u32,
}

impl Alert {
    /// Builds the payload from the core's request, applying the transcript policy.
    pub fn new(
        request: &AlertRequest,
        kiosk: &KioskIdentity,
        policy: TranscriptPolicy,
        raised_at_ms: u64,
    ) -> Self {
        let customer_said = match policy {
            TranscriptPolicy::None => None,
            TranscriptPolicy::Redacted => Some(redact_turns(&request.transcripts)),
            TranscriptPolicy::Full => Some(request.transcripts.clone()),
        };
        Self {
            schema: ALERT_SCHEMA.to_string(),
            alert_id: request.alert_id.clone(),
            kiosk: kiosk.clone(),
            reason: request.reason,
            stress: AlertStress {
                level: request.level,
                score: request.score,
                trend: request.trend,
            },
            customer_said,
            topic: request.topic.clone(),
            hints: request.hints.clone(),
            raised_at_ms,
            attempt: 0,
        }
    }
}

/// Errors of alert delivery; they name the outbox file, the broker or the configuration key.
#[derive(Debug, Error)]
pub enum AlertError {
    /// The configuration (or what it names: a file, an address) cannot work; fix and restart.
    #[error("{key}: {why}")]
    Config {
        /// The configuration key at fault.
        key: &'static str,
        /// What is wrong and how to fix it.
        why: String,
    },
    /// The durable outbox could not be written or read.
    #[error("alert outbox {path}: {why}")]
    Outbox {
        /// The outbox file.
        path: PathBuf,
        /// What went wrong.
        why: String,
    },
    /// The broker connection could not be set up.
    #[error("MQTT broker {url}: {why}")]
    Broker {
        /// The broker URL.
        url: String,
        /// What went wrong.
        why: String,
    },
    /// No such alert is known.
    #[error("unknown alert {0}")]
    Unknown(String),
}

/// Delivers alerts to staff. `raise` returns only once the alert is committed (durable), so
/// the kiosk never tells a customer staff are called before that is true.
pub trait AlertPublisher: Send {
    /// Commits a new alert and starts delivering it.
    fn raise(&mut self, alert: &Alert) -> Result<(), AlertError>;
    /// Sends an unacknowledged alert again, and to the site supervisor.
    fn realert(&mut self, alert_id: &str, attempt: u32) -> Result<(), AlertError>;
    /// Tells staff the customer of an alert has left the kiosk; an alert staff already
    /// acknowledged is then finished, an unacknowledged one is still re-sent.
    fn customer_left(&mut self, alert_id: &str) -> Result<(), AlertError>;
    /// Waits up to `grace` for pending alerts to be delivered; returns how many are still
    /// undelivered (they stay in the outbox for the next start).
    fn flush(&mut self, grace: Duration) -> usize;
    /// Updates what the kiosk reports about itself on the status topic.
    fn report(&mut self, update: StatusUpdate);
}

/// What the pipeline reports on the kiosk's status topic.
#[derive(Debug, Clone, PartialEq)]
pub enum StatusUpdate {
    /// The microphone's state in a few words ("ok", "lost: device unplugged").
    Audio(String),
    /// The speaker's state: its name while it plays, "output lost: ..." while it is retried.
    Speaker(String),
    /// A turn was answered; where its time went.
    Turn(crate::latency::TurnLatency),
    /// The customer's fused stress score (0..=1) after a turn, for Home Assistant's sensor.
    Stress(f32),
}

/// The `[mqtt]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MqttConfig {
    /// Broker URL: `mqtt://host:port`, `mqtts://host:port` (TLS), or `embedded` for the
    /// in-process broker on 127.0.0.1:1883 (`embedded://ADDR:PORT` to choose the address).
    pub url: String,
    /// Client id; empty means `attune-{site}-{kiosk}`.
    pub client_id: String,
    /// Keep-alive in seconds; a dead link is noticed within about twice this.
    pub keep_alive_s: u64,
    /// CA certificate (PEM) for `mqtts://`.
    pub ca_file: Option<PathBuf>,
    /// Client certificate (PEM), with `client_key`.
    pub client_cert: Option<PathBuf>,
    /// Client private key (PEM), with `client_cert`.
    pub client_key: Option<PathBuf>,
    /// File holding `username:password` on its first line.
    pub credentials_file: Option<PathBuf>,
    /// First topic level (`attune/{site}/{kiosk}/...`).
    pub topic_prefix: String,
    /// Publish Home Assistant MQTT discovery for "help requested" and "customer stress".
    pub home_assistant_discovery: bool,
    /// On shutdown or at the end of a `wav:` input, wait this long for pending alerts to go
    /// out; at the end of a `wav:` input also for staff to acknowledge an open alert, so the
    /// recorded customer hears who is coming.
    pub flush_grace_s: u64,
    /// An alert nobody acknowledges within this many seconds is closed as expired.
    pub alert_max_age_s: u64,
    /// Names the kiosk may speak in "… is on the way"; empty: any short plain name.
    pub staff_roster: Vec<String>,
}

impl Default for MqttConfig {
    fn default() -> Self {
        Self {
            url: "embedded".into(),
            client_id: String::new(),
            keep_alive_s: 15,
            ca_file: None,
            client_cert: None,
            client_key: None,
            credentials_file: None,
            topic_prefix: "attune".into(),
            home_assistant_discovery: false,
            flush_grace_s: 5,
            alert_max_age_s: 3600,
            staff_roster: Vec::new(),
        }
    }
}

impl MqttConfig {
    /// Lists every bad value, each with its key (files are checked separately).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Err(e) = BrokerUrl::parse(&self.url) {
            out.push(format!("mqtt.url: {e}"));
        }
        if !(5..=300).contains(&self.keep_alive_s) {
            out.push(format!(
                "mqtt.keep_alive_s = {} is out of range 5..=300",
                self.keep_alive_s
            ));
        }
        if self.flush_grace_s > 120 {
            out.push(format!(
                "mqtt.flush_grace_s = {} is out of range 0..=120",
                self.flush_grace_s
            ));
        }
        if !(60..=7 * 86_400).contains(&self.alert_max_age_s) {
            out.push(format!(
                "mqtt.alert_max_age_s = {} is out of range 60..=604800",
                self.alert_max_age_s
            ));
        }
        if self.client_cert.is_some() != self.client_key.is_some() {
            out.push("mqtt.client_cert and mqtt.client_key must be given together".into());
        }
        if let Err(why) = topic_level_path(&self.topic_prefix) {
            out.push(format!("mqtt.topic_prefix = {:?} {why}", self.topic_prefix));
        }
        if self.client_id.len() > 128 || self.client_id.chars().any(char::is_control) {
            out.push("mqtt.client_id must be at most 128 printable characters".into());
        }
        for name in &self.staff_roster {
            let plain = name
                .chars()
                .all(|c| c.is_alphabetic() || c == ' ' || c == '-' || c == '\'');
            if name.trim().is_empty() || !plain || name.chars().count() > 40 {
                out.push(format!(
                    "mqtt.staff_roster: {name:?} must be a name of letters, spaces, - or ' (at most 40)"
                ));
            }
        }
        out
    }

    /// Files named by this section, with their keys.
    pub fn files(&self) -> Vec<(&'static str, &PathBuf)> {
        [
            ("mqtt.ca_file", &self.ca_file),
            ("mqtt.client_cert", &self.client_cert),
            ("mqtt.client_key", &self.client_key),
            ("mqtt.credentials_file", &self.credentials_file),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|p| (k, p)))
        .collect()
    }
}

/// Checks a topic prefix: one or more non-empty levels of printable characters, without
/// wildcards, not starting with `$` (reserved for brokers).
fn topic_level_path(prefix: &str) -> Result<(), &'static str> {
    if prefix.is_empty() || prefix.starts_with('$') {
        return Err("must be non-empty and not start with $");
    }
    if prefix.split('/').any(str::is_empty) {
        return Err("must not have empty levels (no leading, trailing or double /)");
    }
    if prefix
        .chars()
        .any(|c| c.is_control() || c == '#' || c == '+')
    {
        return Err("must not contain #, + or control characters");
    }
    Ok(())
}
