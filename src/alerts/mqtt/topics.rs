//! What goes on the wire: topic names and the JSON of status, active-alert, event and Home
//! Assistant discovery messages, and the parsing of staff acknowledgements. Pure: no network.

use super::StatusInfo;
use crate::alerts::{KioskIdentity, OpenAlert};
use crate::conversation::StaffAck;
use crate::latency::LatencyReport;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Acknowledgements larger than this are not from a staff app; they are ignored unread.
const MAX_ACK_BYTES: usize = 4096;
/// Longest alert id accepted in an acknowledgement (ours are far shorter).
const MAX_ID_CHARS: usize = 200;
/// Longest staff name passed on to the kiosk's voice.
const MAX_NAME_CHARS: usize = 64;

/// Every topic the kiosk uses, built once from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Topics {
    /// `{prefix}/{site}/{kiosk}/alert`
    pub alert: String,
    /// `{prefix}/{site}/supervisor/alert`
    pub supervisor: String,
    /// `{prefix}/{site}/{kiosk}/ack` (subscribed)
    pub ack: String,
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
        outbox_problem: None,
        latency: LatencyReport::default(),
    }
    .to_json()
}

/// The retained list of open alerts (a JSON array, oldest first).
pub(crate) fn active_json(open: &[OpenAlert]) -> Vec<u8> {
    serde_json::to_vec(open).unwrap_or_else(|_| b"[]".to_vec())
}

/// Tells staff the customer of an open alert has walked away.
pub(crate) fn customer_left_json(alert_id: &str, at_ms: u64) -> Vec<u8> {
    json!({"event": "customer_left", "alert_id": alert_id, "at_ms": at_ms})
        .to_string()
        .into_bytes()
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

#[derive(Deserialize)]
struct AckWire {
    alert_id: String,
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    eta_s: Option<u32>,
}

/// Parses a staff acknowledgement `{"alert_id": "...", "by": "Sam", "eta_s": 120}` (`by` and
/// `eta_s` optional; other fields ignored). The error says what is wrong, for the log.
pub(crate) fn parse_ack(payload: &[u8]) -> Result<StaffAck, String> {
    if payload.len() > MAX_ACK_BYTES {
        return Err(format!("{} bytes is too large", payload.len()));
    }
    let wire: AckWire = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
    let alert_id = wire.alert_id.trim().to_string();
    if alert_id.is_empty() || alert_id.chars().count() > MAX_ID_CHARS {
        return Err("alert_id is empty or too long".into());
    }
    // The name is spoken to the customer: keep it short and free of control characters.
    let by = wire
        .by
        .map(|b| {
            b.chars()
                .filter(|c| !c.is_control())
                .take(MAX_NAME_CHARS)
                .collect::<String>()
                .trim()
                .to_string()
        })
        .filter(|b| !b.is_empty());
    Ok(StaffAck {
        alert_id,
        by,
        eta_s: wire.eta_s,
    })
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
        assert_eq!(t.status, "attune/north/k7/status");
        assert_eq!(t.active, "attune/north/k7/alerts/active");
        assert_eq!(
            t.ha_help_config,
            "homeassistant/binary_sensor/attune_north_k7/help/config"
        );
    }

    #[test]
    fn acks_parse_with_optional_fields() {
        let a = parse_ack(br#"{"alert_id":"k7-1","by":"Sam","eta_s":120}"#).unwrap();
        assert_eq!(a.alert_id, "k7-1");
        assert_eq!(a.by.as_deref(), Some("Sam"));
        assert_eq!(a.eta_s, Some(120));
        let a = parse_ack(br#"{"alert_id":"k7-2","extra":true}"#).unwrap();
        assert_eq!((a.by, a.eta_s), (None, None));
        let a = parse_ack(br#"{"alert_id":"k7-3","by":"  \u0007 "}"#).unwrap();
        assert_eq!(a.by, None);
    }

    #[test]
    fn malformed_acks_are_rejected() {
        for bad in [
            &b"not json"[..],
            br#"{"by":"Sam"}"#,
            br#"{"alert_id":""}"#,
            br#"{"alert_id":42}"#,
            br#"{"alert_id":"x","eta_s":-5}"#,
            br#"[1,2]"#,
            b"",
        ] {
            assert!(parse_ack(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        assert!(parse_ack(&vec![b' '; MAX_ACK_BYTES + 1]).is_err());
    }

    #[test]
    fn status_and_active_json() {
        let info = StatusInfo {
            version: "0.1.0".into(),
            models: [("stt".to_string(), "tiny.en".to_string())].into(),
            audio: "ok".into(),
        };
        let k = kiosk();
        let s = Status {
            state: LinkState::Degraded,
            site: &k.site,
            kiosk: &k.id,
            info: &info,
            open_alerts: 2,
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
        assert_eq!(v["open_alerts"], 2);
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
