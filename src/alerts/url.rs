//! The `[mqtt] url`, parsed once: the embedded broker's address, or a site broker's scheme,
//! host and port. `check-config` and start-up use the same parser, so a URL that passes the
//! check also connects.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// Where alerts go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerUrl {
    /// attune's own broker, listening on this address (`embedded`, `embedded://ADDR:PORT`).
    Embedded(SocketAddr),
    /// A site broker: `mqtt://host[:port]` or `mqtts://host[:port]` (TLS).
    Remote {
        /// `mqtts://`.
        tls: bool,
        /// Host name or IP literal (IPv6 keeps its brackets).
        host: String,
        /// TCP port.
        port: u16,
    },
}

/// The embedded broker's address when the URL is just `embedded`.
pub const EMBEDDED_DEFAULT: SocketAddr =
    SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 1883);

impl BrokerUrl {
    /// Parses `url`; the error says what is wrong and what is expected.
    pub fn parse(url: &str) -> Result<BrokerUrl, String> {
        if url == "embedded" {
            return Ok(BrokerUrl::Embedded(EMBEDDED_DEFAULT));
        }
        if let Some(addr) = url.strip_prefix("embedded://") {
            return addr
                .trim_end_matches('/')
                .parse::<SocketAddr>()
                .map(BrokerUrl::Embedded)
                .map_err(|_| {
                    format!("{url:?}: expected embedded or embedded://IP:PORT (e.g. embedded://127.0.0.1:1883)")
                });
        }
        let (tls, rest) = if let Some(rest) = url.strip_prefix("mqtts://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("mqtt://") {
            (false, rest)
        } else {
            return Err(format!(
                "{url:?} must look like mqtt://host:port, mqtts://host:port or embedded"
            ));
        };
        let (host, port) =
            split_host_port(rest.trim_end_matches('/')).map_err(|why| format!("{url:?}: {why}"))?;
        let port = match port {
            None => {
                if tls {
                    8883
                } else {
                    1883
                }
            }
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 => n,
                _ => return Err(format!("{url:?}: port {p:?} is not a number 1..=65535")),
            },
        };
        Ok(BrokerUrl::Remote {
            tls,
            host: host.to_string(),
            port,
        })
    }

    /// Whether this is the embedded broker.
    pub fn is_embedded(&self) -> bool {
        matches!(self, BrokerUrl::Embedded(_))
    }
}

impl fmt::Display for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BrokerUrl::Embedded(addr) => write!(f, "embedded://{addr}"),
            BrokerUrl::Remote { tls, host, port } => {
                let scheme = if *tls { "mqtts" } else { "mqtt" };
                write!(f, "{scheme}://{host}:{port}")
            }
        }
    }
}

/// `host[:port]`, where host is a name, an IPv4 literal or a bracketed IPv6 literal.
fn split_host_port(rest: &str) -> Result<(&str, Option<&str>), String> {
    let (host, port) = if rest.starts_with('[') {
        let end = rest
            .find(']')
            .ok_or("an IPv6 address needs its closing ]")?;
        let literal = &rest[1..end];
        if literal.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("[{literal}] is not an IPv6 address"));
        }
        let after = &rest[end + 1..];
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or("expected :port after the IPv6 address")?,
            ),
        };
        (&rest[..=end], port)
    } else {
        match rest.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        }
    };
    if host.is_empty() {
        return Err("the host is missing".into());
    }
    let bad = |c: char| !(c.is_ascii_alphanumeric() || "-._[]:".contains(c));
    if host.contains(bad) {
        return Err(format!("{host:?} is not a host name or IP address"));
    }
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls_parse() {
        let remote = |tls, host: &str, port| BrokerUrl::Remote {
            tls,
            host: host.into(),
            port,
        };
        for (url, want) in [
            ("mqtt://10.0.0.5:1884", remote(false, "10.0.0.5", 1884)),
            ("mqtts://broker.local", remote(true, "broker.local", 8883)),
            ("mqtt://[::1]:1999/", remote(false, "[::1]", 1999)),
            ("mqtt://[fe80::1]", remote(false, "[fe80::1]", 1883)),
            ("embedded", BrokerUrl::Embedded(EMBEDDED_DEFAULT)),
            (
                "embedded://0.0.0.0:1884",
                BrokerUrl::Embedded("0.0.0.0:1884".parse().unwrap()),
            ),
        ] {
            assert_eq!(BrokerUrl::parse(url), Ok(want), "{url}");
        }
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        for bad in [
            "tcp://x:1",
            "mqtt://",
            "mqtt://:1883",
            "mqtt://h:notaport",
            "mqtt://host:99999",
            "mqtt://h:0",
            "mqtt://u@h:1",
            "mqtts://[::1",
            "mqtts://[nothex]:1",
            "mqtt://[::1]x",
            "mqtt://a b:1",
            "embedded://8.8.8",
            "embedded:1883",
            "",
        ] {
            let e = BrokerUrl::parse(bad).expect_err(bad);
            assert!(e.contains(&format!("{bad:?}")), "{bad}: {e}");
        }
    }

    #[test]
    fn display_round_trips() {
        for url in [
            "mqtt://h:1",
            "mqtts://[::1]:8883",
            "embedded://127.0.0.1:1883",
        ] {
            let parsed = BrokerUrl::parse(url).unwrap();
            assert_eq!(parsed.to_string(), url);
            assert_eq!(BrokerUrl::parse(&parsed.to_string()), Ok(parsed));
        }
    }
}
