//! A staff-side MQTT client: receives alerts (de-duplicated by id and attempt) and
//! acknowledges them. Used by `attune demo`'s simulated member of staff and by tests; a real
//! site uses its own pager or app on the same topics.

use super::acks::Outcome;
use crate::alerts::{Alert, AlertError, BrokerUrl, Credentials};
use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
use std::collections::HashSet;
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::time::Duration;

/// Alerts waiting for the staff client's reader.
const QUEUE: usize = 64;

/// A member of staff's connection to the site broker.
pub struct StaffClient {
    client: Client,
    alerts: Receiver<Alert>,
    seen: HashSet<(String, u32)>,
    prefix: String,
}

impl StaffClient {
    /// Connects to `url` (`mqtt://host:port`) as `login` and subscribes to every kiosk's
    /// alerts of `site`.
    pub fn connect(
        url: &str,
        prefix: &str,
        site: &str,
        login: Option<&Credentials>,
    ) -> Result<Self, AlertError> {
        let fail = |why: String| AlertError::Broker {
            url: url.to_string(),
            why,
        };
        let (host, port) = match BrokerUrl::parse(url) {
            Ok(BrokerUrl::Remote {
                tls: false,
                host,
                port,
            }) => (host, port),
            _ => return Err(fail("expected mqtt://host:port".into())),
        };
        let id = format!(
            "attune-staff-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let mut opts = MqttOptions::new(id, host, port);
        opts.set_keep_alive(Duration::from_secs(15));
        if let Some(c) = login {
            opts.set_credentials(c.user.clone(), c.password.clone());
        }
        let (client, mut connection) = Client::new(opts, 32);
        client
            .subscribe(format!("{prefix}/{site}/+/alert"), QoS::AtLeastOnce)
            .map_err(|e| fail(e.to_string()))?;
        let (tx, alerts) = sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("attune-staff".into())
            .spawn(move || {
                for event in connection.iter() {
                    match event {
                        Ok(Event::Incoming(Packet::Publish(p))) => {
                            match serde_json::from_slice::<Alert>(&p.payload) {
                                Ok(alert) => {
                                    if tx.send(alert).is_err() {
                                        return;
                                    }
                                }
                                Err(e) => {
                                    tracing::warn!("staff client: not an alert on {}: {e}", p.topic)
                                }
                            }
                        }
                        Ok(_) => {}
                        // rumqttc reconnects on the next poll; do not spin while the broker is away.
                        Err(_) => std::thread::sleep(Duration::from_millis(200)),
                    }
                }
            })
            .map_err(|e| fail(e.to_string()))?;
        Ok(Self {
            client,
            alerts,
            seen: HashSet::new(),
            prefix: prefix.to_string(),
        })
    }

    /// The next alert not seen before (same id and attempt), waiting up to `timeout`.
    pub fn next_alert(&mut self, timeout: Duration) -> Option<Alert> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.alerts.recv_timeout(left) {
                Ok(a) => {
                    if self.seen.insert((a.alert_id.clone(), a.attempt)) {
                        return Some(a);
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Acknowledges `alert` as `by`, arriving in about `eta_s` seconds.
    pub fn acknowledge(&self, alert: &Alert, by: &str, eta_s: u32) -> Result<(), AlertError> {
        let body = serde_json::json!({ "alert_id": alert.alert_id, "by": by, "eta_s": eta_s });
        self.send(alert, "ack", body)
    }

    /// Reports how `alert` ended.
    pub fn resolve(&self, alert: &Alert, outcome: Outcome, by: &str) -> Result<(), AlertError> {
        let body =
            serde_json::json!({ "alert_id": alert.alert_id, "outcome": outcome.code(), "by": by });
        self.send(alert, "outcome", body)
    }

    fn send(&self, alert: &Alert, leaf: &str, body: serde_json::Value) -> Result<(), AlertError> {
        let topic = format!(
            "{}/{}/{}/{leaf}",
            self.prefix, alert.kiosk.site, alert.kiosk.id
        );
        self.client
            .publish(topic, QoS::AtLeastOnce, false, body.to_string())
            .map_err(|e| AlertError::Broker {
                url: "staff client".into(),
                why: e.to_string(),
            })
    }
}
