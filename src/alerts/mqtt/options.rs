//! The kiosk's connection options: broker address, persistent session, keep-alive, retained
//! last will, credentials and TLS (rustls with the `ring` provider). Building them reads and
//! checks every file the `[mqtt]` section names, so `check-config` calls [`check`] and finds
//! exactly what start-up would.

use super::topics::{self, Topics};
use super::{MAX_INCOMING, MAX_OUTGOING, StatusInfo, WINDOW};
use crate::alerts::credentials::Credentials;
use crate::alerts::{AlertError, BrokerUrl, KioskIdentity, MqttConfig};
use rumqttc::{LastWill, MqttOptions, QoS, TlsConfiguration, Transport};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Used when `mqtts://` is configured without `ca_file` (Debian's bundle).
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

fn config_error(key: &'static str, why: impl Into<String>) -> AlertError {
    AlertError::Config {
        key,
        why: why.into(),
    }
}

/// Checks what start-up checks without connecting: the URL, and the TLS and credentials
/// files (read and parsed). Returns one line per problem.
pub fn check(cfg: &MqttConfig) -> Vec<String> {
    let mut out = Vec::new();
    let url = match BrokerUrl::parse(&cfg.url) {
        Ok(u) => u,
        Err(e) => return vec![format!("mqtt.url: {e}")],
    };
    if let Some(path) = &cfg.credentials_file
        && let Err(e) = Credentials::read(path)
    {
        out.push(format!("mqtt.credentials_file: {e}"));
    }
    if let BrokerUrl::Remote { tls: true, .. } = url
        && let Err(e) = tls_transport(cfg)
    {
        out.push(e.to_string());
    }
    out
}

/// Client options: persistent session, keep-alive, retained last will, credentials and TLS.
pub(super) fn options(
    cfg: &MqttConfig,
    kiosk: &KioskIdentity,
    topics: &Topics,
    status: &StatusInfo,
) -> Result<MqttOptions, AlertError> {
    let (tls, host, port) = match BrokerUrl::parse(&cfg.url) {
        Ok(BrokerUrl::Remote { tls, host, port }) => (tls, host, port),
        Ok(BrokerUrl::Embedded(_)) => {
            return Err(config_error(
                "mqtt.url",
                "the embedded broker must be started before connecting to it",
            ));
        }
        Err(e) => return Err(config_error("mqtt.url", e)),
    };
    let client_id = if cfg.client_id.is_empty() {
        format!("attune-{}-{}", kiosk.site, kiosk.id)
    } else {
        cfg.client_id.clone()
    };
    let mut options = MqttOptions::new(client_id, host, port);
    options
        .set_keep_alive(Duration::from_secs(cfg.keep_alive_s.max(1)))
        .set_clean_session(false)
        .set_last_will(LastWill::new(
            topics.status.as_str(),
            topics::last_will(kiosk, status),
            QoS::AtLeastOnce,
            true,
        ))
        .set_max_packet_size(MAX_INCOMING, MAX_OUTGOING)
        .set_inflight(WINDOW)
        .set_manual_acks(true);
    if let Some(path) = &cfg.credentials_file {
        let creds =
            Credentials::read(path).map_err(|e| config_error("mqtt.credentials_file", e))?;
        options.set_credentials(creds.user, creds.password);
    }
    if tls {
        options.set_transport(tls_transport(cfg)?);
    }
    Ok(options)
}

/// TLS with the `ring` provider passed explicitly (no process-wide default is installed), the
/// configured CA, and an optional client certificate.
fn tls_transport(cfg: &MqttConfig) -> Result<Transport, AlertError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let ca = cfg
        .ca_file
        .clone()
        .unwrap_or_else(|| PathBuf::from(SYSTEM_CA_BUNDLE));
    let roots = root_store(&ca)?;
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| config_error("mqtt.url", format!("TLS set-up: {e}")))?
        .with_root_certificates(roots);
    let config = match (&cfg.client_cert, &cfg.client_key) {
        (Some(cert), Some(key)) => {
            let chain = load_certs(cert, "mqtt.client_cert")?;
            let key_der = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| config_error("mqtt.client_key", format!("{}: {e}", key.display())))?;
            builder.with_client_auth_cert(chain, key_der).map_err(|e| {
                config_error(
                    "mqtt.client_cert",
                    format!("{} with key {}: {e}", cert.display(), key.display()),
                )
            })?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => {
            return Err(config_error(
                "mqtt.client_cert",
                "mqtt.client_cert and mqtt.client_key must be given together",
            ));
        }
    };
    Ok(Transport::tls_with_config(TlsConfiguration::Rustls(
        Arc::new(config),
    )))
}

fn root_store(path: &Path) -> Result<rustls::RootCertStore, AlertError> {
    let mut store = rustls::RootCertStore::empty();
    let (added, _ignored) = store.add_parsable_certificates(load_certs(path, "mqtt.ca_file")?);
    if added == 0 {
        return Err(config_error(
            "mqtt.ca_file",
            format!("{}: no usable CA certificate", path.display()),
        ));
    }
    Ok(store)
}

fn load_certs(path: &Path, key: &'static str) -> Result<Vec<CertificateDer<'static>>, AlertError> {
    let named = |e: &dyn std::fmt::Display| config_error(key, format!("{}: {e}", path.display()));
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| named(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| named(&e))?;
    if certs.is_empty() {
        return Err(named(&"no PEM certificate in it"));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_file_errors_name_the_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = |ca: PathBuf| MqttConfig {
            url: "mqtts://127.0.0.1:8883".into(),
            ca_file: Some(ca),
            ..MqttConfig::default()
        };
        let missing = dir.path().join("ca-missing.pem");
        let e = tls_transport(&cfg(missing)).err().unwrap().to_string();
        assert!(
            e.contains("ca-missing.pem") && e.contains("mqtt.ca_file"),
            "{e}"
        );
        let not_pem = dir.path().join("ca-empty.pem");
        std::fs::write(&not_pem, "hello\n").unwrap();
        let e = tls_transport(&cfg(not_pem.clone()))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("ca-empty.pem"), "{e}");
        let mut half = cfg(dir.path().join("x.pem"));
        half.client_cert = Some(dir.path().join("c.pem"));
        assert!(tls_transport(&half).is_err());
        assert_eq!(check(&cfg(not_pem)).len(), 1);
    }

    #[test]
    fn check_finds_what_start_up_would() {
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("creds");
        std::fs::write(&creds, "no colon\n").unwrap();
        for (url, problems) in [
            ("mqtt://host:99999", 1),
            ("mqtt://:1883", 1),
            ("mqtts://[::1", 1),
            ("mqtt://broker:1883", 1),
        ] {
            let cfg = MqttConfig {
                url: url.into(),
                credentials_file: Some(creds.clone()),
                ..MqttConfig::default()
            };
            let found = check(&cfg);
            assert_eq!(found.len(), problems, "{url}: {found:?}");
        }
        let cfg = MqttConfig {
            url: "mqtt://broker:1883".into(),
            ..MqttConfig::default()
        };
        assert!(check(&cfg).is_empty());
    }
}
