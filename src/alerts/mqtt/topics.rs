//! What goes on the wire: topic names and the JSON of status, active-alert, event and Home
//! Assistant discovery messages. Pure: no network.

use super::StatusInfo;
use crate::alerts::{KioskIdentity, OpenAlert};
use crate::latency::LatencyReport;
use serde::Serialize;
use serde_json::json;

/// Every topic the kiosk uses, built once from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Topics {
    /// `{prefix}/{site}/{kiosk}/alert`
    pub alert: String,
    /// `{prefix}/{site}/supervisor/alert`
    pub supervisor: String,
    /// `{prefix}/{site}/{kiosk}/ack` (subscribed)
    pub ack: String,
    /// `{prefix}/{site}/{kiosk}/outcome` (subscribed): how staff closed an alert
    pub outcome: String,
    /// `{prefix}/{site}/{kiosk}/event`
    pub event: String,
    /// `{prefix}/{site}/{kiosk}/status` (retained; also the last will)
    pub status: String,
    /// `{prefix}/{site}/{kiosk}/alerts/active` (retained)
    pub active: String,
    /// Home Assistant state of "help requested" (retained ON/OFF).
    pub ha_help: String,
    /// Home Assistant state of "customer stress" (retained score 0..=1).
    pub ha_stress: String,
    /// Home Assistant discovery config of the binary sensor.
    pub ha_help_config: String,
    /// Home Assistant discovery config of the sensor.
    pub ha_stress_config: String,
    node: String,
}

impl Topics {
    /// Topics of `kiosk` under `prefix`.
    pub fn new(prefix: &str, kiosk: &KioskIdentity) -> Self {
        let base = format!("{prefix}/{}/{}", kiosk.site, kiosk.id);
        let node = format!("attune_{}_{}", kiosk.site, kiosk.id);
        Self {
            alert: format!("{base}/alert"),
            supervisor: format!("{prefix}/{}/supervisor/alert", kiosk.site),
            ack: format!("{base}/ack"),
            outcome: format!("{base}/outcome"),
            event: format!("{base}/event"),
            status: format!("{base}/status"),
            active: format!("{base}/alerts/active"),
            ha_help: format!("{base}/ha/help"),
            ha_stress: format!("{base}/ha/stress"),
            ha_help_config: format!("homeassistant/binary_sensor/{node}/help/config"),
            ha_stress_config: format!("homeassistant/sensor/{node}/stress/config"),
            node,
        }
    }
}

/// The kiosk's state as published on the status topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LinkState {
    /// Connected, alerts are durable.
    Online,
    /// Connected, but the outbox cannot be written: alerts are sent from memory only.
    Degraded,
    /// Gone (clean shutdown, or the broker's last will).
    Offline,
}

/// Everything the status message reports.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Status<'a> {
    /// online, degraded or offline.
    pub state: LinkState,
    /// Site id.
    pub site: &'a str,
    /// Kiosk id.
    pub kiosk: &'a str,
    /// Daemon version and models in use.
    #[serde(flatten)]
    pub info: &'a StatusInfo,
    /// Alerts raised and not yet acknowledged by staff.
    pub open_alerts: usize,
    /// Alerts closed unacknowledged after `[mqtt] alert_max_age_s`, since start.
    pub expired_alerts: u64,
    /// Why the outbox is not usable, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outbox_problem: Option<&'a str>,
    /// Turns answered and their voice-to-voice latency.
    pub latency: LatencyReport,
}

impl Status<'_> {
    /// The JSON payload.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The last will: what the broker publishes when the link dies without a goodbye.
pub(crate) fn last_will(kiosk: &KioskIdentity, info: &StatusInfo) -> Vec<u8> {
    Status {
        state: LinkState::Offline,
        site: &kiosk.site,
        kiosk: &kiosk.id,
        info,
        open_alerts: 0,
        expired_alerts: 0,
        outbox_problem: None,
        latency: LatencyReport::default(),
    }
    .to_json()
}

/// The retained list of open alerts (a JSON array, oldest first).
pub(crate) fn active_json(open: &[OpenAlert]) -> Vec<u8> {
    serde_json::to_vec(open).unwrap_or_else(|_| b"[]".to_vec())
}

/// Tells staff the customer of an alert has walked away.
pub(crate) fn customer_left_json(alert_id: &str, at_ms: u64) -> Vec<u8> {
    json!({"event": "customer_left", "alert_id": alert_id, "at_ms": at_ms})
        .to_string()
        .into_bytes()
}

/// Tells staff an alert is finished: `why` is `customer_gone` (acknowledged, and the customer
/// has left), `resolved` (with the outcome staff reported) or `expired` (nobody acknowledged
/// it within the maximum age).
pub(crate) fn alert_closed_json(
    alert_id: &str,
    why: &str,
    outcome: Option<&str>,
    at_ms: u64,
) -> Vec<u8> {
    let mut v = json!({"event": "alert_closed", "alert_id": alert_id, "why": why, "at_ms": at_ms});
    if let Some(o) = outcome {
        v["outcome"] = json!(o);
    }
    v.to_string().into_bytes()
}

/// Home Assistant's binary sensor state.
pub(crate) fn help_state(open_alerts: usize) -> Vec<u8> {
    if open_alerts > 0 {
        b"ON".to_vec()
    } else {
        b"OFF".to_vec()
    }
}

/// Home Assistant's stress sensor state (two decimals are plenty for a dashboard).
pub(crate) fn stress_state(score: f32) -> Vec<u8> {
    format!("{:.2}", score.clamp(0.0, 1.0)).into_bytes()
}

/// Retained discovery configs `(topic, payload)` for the binary sensor "help requested" and
/// the sensor "customer stress", both bound to the kiosk's availability.
pub(crate) fn discovery(
    topics: &Topics,
    kiosk: &KioskIdentity,
    info: &StatusInfo,
) -> [(String, Vec<u8>); 2] {
    let device = json!({
        "identifiers": [topics.node],
        "name": format!("Help point {} ({})", kiosk.id, kiosk.location),
        "manufacturer": "attune",
        "model": "voice help point",
        "sw_version": info.version,
        "suggested_area": kiosk.location,
    });
    // "degraded" still means the kiosk works, so only "offline" makes the entities unavailable.
    let availability = json!([{
        "topic": topics.status,
        "value_template": "{{ 'offline' if value_json.state == 'offline' else 'online' }}",
        "payload_available": "online",
        "payload_not_available": "offline",
    }]);
    let help = json!({
        "name": "Help requested",
        "unique_id": format!("{}_help", topics.node),
        "state_topic": topics.ha_help,
        "payload_on": "ON",
        "payload_off": "OFF",
        "device_class": "problem",
        "availability": availability,
        "device": device,
    });
    let stress = json!({
        "name": "Customer stress",
        "unique_id": format!("{}_stress", topics.node),
        "state_topic": topics.ha_stress,
        "state_class": "measurement",
        "icon": "mdi:account-alert",
        "availability": availability,
        "device": device,
    });
    [
        (topics.ha_help_config.clone(), help.to_string().into_bytes()),
        (
            topics.ha_stress_config.clone(),
            stress.to_string().into_bytes(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::Reason;

    fn kiosk() -> KioskIdentity {
        KioskIdentity {
            site: "north".into(),
            id: "k7".into(),
            location: "Platform 2".into(),
        }
    }

    #[test]
    fn topics_follow_the_scheme() {
        let t = Topics::new("attune", &kiosk());
        assert_eq!(t.alert, "attune/north/k7/alert");
        assert_eq!(t.supervisor, "attune/north/supervisor/alert");
        assert_eq!(t.ack, "attune/north/k7/ack");
        assert_eq!(t.outcome, "attune/north/k7/outcome");
        assert_eq!(t.status, "attune/north/k7/status");
        assert_eq!(t.active, "attune/north/k7/alerts/active");
        assert_eq!(
            t.ha_help_config,
            "homeassistant/binary_sensor/attune_north_k7/help/config"
        );
    }

    #[test]
    fn status_and_active_json() {
        let info = StatusInfo {
            version: "0.1.0".into(),
            models: [("stt".to_string(), "tiny.en".to_string())].into(),
            audio: "ok".into(),
            speaker: "device:usb".into(),
        };
        let k = kiosk();
        let s = Status {
            state: LinkState::Degraded,
            site: &k.site,
            kiosk: &k.id,
            info: &info,
            open_alerts: 2,
            expired_alerts: 1,
            outbox_problem: Some("disk full"),
            latency: LatencyReport {
                turns: 3,
                voice_to_voice_p50_ms: Some(480),
                ..Default::default()
            },
        };
        let v: serde_json::Value = serde_json::from_slice(&s.to_json()).unwrap();
        assert_eq!(v["state"], "degraded");
        assert_eq!(v["version"], "0.1.0");
        assert_eq!(v["models"]["stt"], "tiny.en");
        assert_eq!(v["audio"], "ok");
        assert_eq!(v["speaker"], "device:usb");
        assert_eq!(v["open_alerts"], 2);
        assert_eq!(v["expired_alerts"], 1);
        assert_eq!(v["latency"]["turns"], 3);
        assert_eq!(v["latency"]["voice_to_voice_p50_ms"], 480);
        let will: serde_json::Value = serde_json::from_slice(&last_will(&k, &info)).unwrap();
        assert_eq!(will["state"], "offline");
        let open = [OpenAlert {
            alert_id: "k7-1".into(),
            reason: Reason::Safety,
            raised_at_ms: 5,
        }];
        let v: serde_json::Value = serde_json::from_slice(&active_json(&open)).unwrap();
        assert_eq!(
            v,
            json!([{"alert_id": "k7-1", "reason": "safety", "raised_at_ms": 5}])
        );
        let [(topic, help), _] = discovery(&Topics::new("attune", &k), &k, &info);
        assert!(topic.starts_with("homeassistant/binary_sensor/"));
        let help: serde_json::Value = serde_json::from_slice(&help).unwrap();
        assert_eq!(help["state_topic"], "attune/north/k7/ha/help");
    }
}
