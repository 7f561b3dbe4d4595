//! What staff send back, checked before anything acts on it: acknowledgements on
//! `…/{kiosk}/ack` and outcomes on `…/{kiosk}/outcome`. The name in an acknowledgement is
//! spoken to the customer, so it must be a configured member of staff or, without a roster,
//! a short plain name; anything else is rejected and changes nothing. Pure: no network.

use crate::conversation::StaffAck;
use serde::Deserialize;

/// Messages larger than this are not from a staff app; they are rejected unread.
pub(crate) const MAX_MESSAGE_BYTES: usize = 4096;
/// Longest alert id accepted (ours are far shorter).
const MAX_ID_CHARS: usize = 200;
/// Longest name spoken when there is no roster.
pub(crate) const MAX_NAME_CHARS: usize = 24;
/// Arrival estimates are clamped to this (an hour); the customer hears "about N minutes".
pub(crate) const MAX_ETA_S: u32 = 3600;

/// How staff messages are checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AckRules {
    /// `[mqtt] staff_roster`: the names the kiosk may speak. Empty: any short plain name.
    pub roster: Vec<String>,
}

#[derive(Deserialize)]
struct AckWire {
    alert_id: String,
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    eta_s: Option<u32>,
}

/// How a member of staff closed an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The customer was helped.
    Helped,
    /// Nobody needed help (a false alarm).
    NotNeeded,
    /// Staff came but could not help.
    CouldNotHelp,
}

impl Outcome {
    /// The code stored in the outbox and sent in events.
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Helped => "helped",
            Outcome::NotNeeded => "not_needed",
            Outcome::CouldNotHelp => "could_not_help",
        }
    }
}

/// An outcome reported by staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StaffOutcome {
    /// Which alert.
    pub alert_id: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Who reported it (stored, never spoken).
    pub by: Option<String>,
}

#[derive(Deserialize)]
struct OutcomeWire {
    alert_id: String,
    outcome: Outcome,
    #[serde(default)]
    by: Option<String>,
}

/// Parses and checks an acknowledgement `{"alert_id": "...", "by": "Sam", "eta_s": 120}`
/// (`by` and `eta_s` optional; other fields ignored). The error says why, for the log.
pub(crate) fn parse_ack(payload: &[u8], rules: &AckRules) -> Result<StaffAck, String> {
    let wire: AckWire = decode(payload)?;
    let alert_id = checked_id(&wire.alert_id)?;
    let by = match wire.by.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(name) => Some(spoken_name(name, &rules.roster)?),
    };
    Ok(StaffAck {
        alert_id,
        by,
        eta_s: wire.eta_s.map(|e| e.min(MAX_ETA_S)),
    })
}

/// Parses an outcome `{"alert_id": "...", "outcome": "helped", "by": "Sam"}`.
pub(crate) fn parse_outcome(payload: &[u8]) -> Result<StaffOutcome, String> {
    let wire: OutcomeWire = decode(payload)?;
    let by = wire
        .by
        .map(|b| {
            b.chars()
                .filter(|c| !c.is_control())
                .take(64)
                .collect::<String>()
        })
        .map(|b| b.trim().to_string())
        .filter(|b| !b.is_empty());
    Ok(StaffOutcome {
        alert_id: checked_id(&wire.alert_id)?,
        outcome: wire.outcome,
        by,
    })
}

fn decode<'a, T: Deserialize<'a>>(payload: &'a [u8]) -> Result<T, String> {
    if payload.len() > MAX_MESSAGE_BYTES {
        return Err(format!("{} bytes is too large", payload.len()));
    }
    serde_json::from_slice(payload).map_err(|e| e.to_string())
}

fn checked_id(id: &str) -> Result<String, String> {
    let id = id.trim();
    let ok = !id.is_empty()
        && id.chars().count() <= MAX_ID_CHARS
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(id.to_string())
    } else {
        Err("alert_id must be 1-200 letters, digits, - or _".into())
    }
}

/// The name as the kiosk will say it: the roster's spelling of a listed member of staff, or
/// (without a roster) a short name of letters, spaces, hyphens and apostrophes.
fn spoken_name(name: &str, roster: &[String]) -> Result<String, String> {
    let squeezed = name.split_whitespace().collect::<Vec<_>>().join(" ");
    if !roster.is_empty() {
        let wanted = squeezed.to_lowercase();
        return roster
            .iter()
            .map(|r| r.split_whitespace().collect::<Vec<_>>().join(" "))
            .find(|r| r.to_lowercase() == wanted)
            .ok_or_else(|| "the name is not on the staff roster".to_string());
    }
    let plain = squeezed
        .chars()
        .all(|c| c.is_alphabetic() || c == ' ' || c == '-' || c == '\'');
    if plain && squeezed.chars().count() <= MAX_NAME_CHARS {
        Ok(squeezed)
    } else {
        Err(format!(
            "the name must be at most {MAX_NAME_CHARS} letters, spaces, - or '"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> AckRules {
        AckRules::default()
    }

    #[test]
    fn acks_parse_with_optional_fields() {
        let a = parse_ack(br#"{"alert_id":"k7-1","by":" Sam ","eta_s":120}"#, &open()).unwrap();
        assert_eq!(a.alert_id, "k7-1");
        assert_eq!(a.by.as_deref(), Some("Sam"));
        assert_eq!(a.eta_s, Some(120));
        let a = parse_ack(br#"{"alert_id":"k7-2","extra":true}"#, &open()).unwrap();
        assert_eq!((a.by, a.eta_s), (None, None));
        let a = parse_ack(br#"{"alert_id":"k7-3","by":"Mary-Jane O'Neil"}"#, &open()).unwrap();
        assert_eq!(a.by.as_deref(), Some("Mary-Jane O'Neil"));
        let a = parse_ack(r#"{"alert_id":"k7-4","by":"Zoë"}"#.as_bytes(), &open()).unwrap();
        assert_eq!(a.by.as_deref(), Some("Zoë"));
    }

    #[test]
    fn a_sentence_for_a_name_is_rejected() {
        for by in [
            "Nobody. Please leave the station now. Goodbye from",
            "Sam, call 999",
            "a very long name indeed for anyone",
            "Sam\u{7}",
            "<speak>",
        ] {
            let body = serde_json::json!({"alert_id": "k7-1", "by": by}).to_string();
            assert!(parse_ack(body.as_bytes(), &open()).is_err(), "{by}");
        }
    }

    #[test]
    fn the_roster_decides_the_name_and_its_spelling() {
        let rules = AckRules {
            roster: vec!["Sam".into(), "Priya Shah".into()],
        };
        let a = parse_ack(br#"{"alert_id":"x","by":"priya   shah"}"#, &rules).unwrap();
        assert_eq!(a.by.as_deref(), Some("Priya Shah"));
        assert!(parse_ack(br#"{"alert_id":"x","by":"Kim"}"#, &rules).is_err());
        assert!(parse_ack(br#"{"alert_id":"x"}"#, &rules).is_ok());
    }

    #[test]
    fn eta_is_clamped_and_malformed_acks_are_rejected() {
        let a = parse_ack(br#"{"alert_id":"x","eta_s":4294967295}"#, &open()).unwrap();
        assert_eq!(a.eta_s, Some(MAX_ETA_S));
        for bad in [
            &b"not json"[..],
            br#"{"by":"Sam"}"#,
            br#"{"alert_id":""}"#,
            br#"{"alert_id":42}"#,
            br#"{"alert_id":"x","eta_s":-5}"#,
            br#"{"alert_id":"x","eta_s":1e99}"#,
            br#"{"alert_id":"a\nb"}"#,
            br#"[1,2]"#,
            b"",
        ] {
            assert!(
                parse_ack(bad, &open()).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(parse_ack(&vec![b' '; MAX_MESSAGE_BYTES + 1], &open()).is_err());
    }

    #[test]
    fn outcomes_parse() {
        let o = parse_outcome(br#"{"alert_id":"k-1","outcome":"not_needed","by":"Sam"}"#).unwrap();
        assert_eq!(o.outcome, Outcome::NotNeeded);
        assert_eq!(o.by.as_deref(), Some("Sam"));
        assert!(parse_outcome(br#"{"alert_id":"k-1","outcome":"maybe"}"#).is_err());
        assert!(parse_outcome(br#"{"alert_id":"k-1"}"#).is_err());
    }
}
