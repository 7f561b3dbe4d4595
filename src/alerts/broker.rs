//! The embedded MQTT broker (rumqttd), used when no site broker is configured
//! (`[mqtt] url = "embedded"`, the default) and by `attune demo`, so a single kiosk works out
//! of the box. By default it listens on loopback (127.0.0.1:1883); `embedded://0.0.0.0:1883`
//! opens it to the staff network, without TLS or authentication. A site with several kiosks
//! should run a real broker (mosquitto; see systemd/mosquitto-example.conf).

use super::AlertError;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A running in-process broker.
#[derive(Debug)]
pub struct EmbeddedBroker {
    addr: SocketAddr,
}

impl EmbeddedBroker {
    /// Starts a broker on `addr` (a loopback address) and waits until it accepts connections.
    pub fn start(addr: SocketAddr) -> Result<Self, AlertError> {
        let fail = |why: String| AlertError::Broker {
            url: format!("embedded://{addr}"),
            why,
        };
        let config: rumqttd::Config =
            toml::from_str(&config_text(addr)).map_err(|e| fail(e.to_string()))?;
        let mut broker = rumqttd::Broker::new(config);
        std::thread::Builder::new()
            .name("attune-broker".into())
            .spawn(move || {
                if let Err(e) = broker.start() {
                    tracing::error!("embedded MQTT broker stopped: {e}");
                }
            })
            .map_err(|e| fail(e.to_string()))?;
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if Instant::now() > deadline {
                return Err(fail(
                    "did not start listening within 5 s (port in use?)".into(),
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Self { addr })
    }

    /// The address an `[mqtt] url` of `embedded` or `embedded://ADDR` asks for, if it is one.
    pub fn address_for(url: &str) -> Option<Result<SocketAddr, String>> {
        match url.strip_prefix("embedded") {
            Some("") => Some(Ok(SocketAddr::from(([127, 0, 0, 1], 1883)))),
            Some(rest) => Some(
                rest.strip_prefix("://")
                    .ok_or_else(|| format!("{url}: expected embedded or embedded://ADDR:PORT"))
                    .and_then(|a| a.parse::<SocketAddr>().map_err(|e| format!("{url}: {e}"))),
            ),
            None => None,
        }
    }

    /// The `mqtt://` URL clients use.
    pub fn url(&self) -> String {
        format!("mqtt://{}", self.addr)
    }
}

fn config_text(addr: SocketAddr) -> String {
    format!(
        r#"id = 0

[router]
max_connections = 64
max_outgoing_packet_count = 200
max_segment_size = 10485760
max_segment_count = 10

[v4.1]
name = "v4-1"
listen = "{addr}"
next_connection_delay_ms = 1

[v4.1.connections]
connection_timeout_ms = 60000
max_payload_size = 262144
max_inflight_count = 100
dynamic_filters = true
"#
    )
}
