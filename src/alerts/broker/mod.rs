//! The embedded MQTT 3.1.1 broker, used when no site broker is configured (`[mqtt] url =
//! "embedded"`, the default) and by `attune demo`, so a single kiosk works out of the box.
//!
//! It is small on purpose and closed by default:
//! - it binds its port itself when the kiosk starts, and start-up fails with a clear error if
//!   it cannot (another broker squatting on the port would otherwise receive every alert);
//! - every client must log in: the kiosk with `{state_dir}/mqtt/kiosk.credentials`, staff
//!   (pagers, the staff console) with `{state_dir}/mqtt/staff.credentials`; both are created
//!   on first start, mode 0600;
//! - staff may read the kiosk's topics but publish only acknowledgements and outcomes
//!   ([`acl`]); the kiosk publishes only its own topics;
//! - connections, sessions, queues and retained messages are bounded ([`Limits`]), so no
//!   client can take the help point's memory.
//!
//! Nothing is persisted: the kiosk's durable outbox re-sends alerts after a restart.

mod acl;
mod conn;
mod router;

pub(crate) use acl::Role;
pub(crate) use router::Limits;

use super::AlertError;
use super::credentials::Credentials;
use acl::Acl;
use conn::SharedRouter;
use router::Router;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// How long start-up keeps trying a port still held by a previous instance shutting down.
const BIND_RETRY: Duration = Duration::from_secs(3);
/// TCP connections served at once, logged in or not (a flood of idle sockets is cut here;
/// the logged-in cap is [`Limits::max_connections`]).
const MAX_SOCKETS: usize = 64;

/// The kiosk's account file, under the state directory.
pub const KIOSK_CREDENTIALS: &str = "mqtt/kiosk.credentials";
/// The staff account file, under the state directory.
pub const STAFF_CREDENTIALS: &str = "mqtt/staff.credentials";

/// Which kiosk the broker serves, for its access rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerScope {
    /// `[mqtt] topic_prefix`.
    pub prefix: String,
    /// Site id.
    pub site: String,
    /// Kiosk id.
    pub kiosk: String,
}

/// A running embedded broker; it stops when dropped.
#[derive(Debug)]
pub struct EmbeddedBroker {
    addr: SocketAddr,
    kiosk: PathBuf,
    staff: PathBuf,
    router: SharedRouter,
    accept: JoinHandle<()>,
}

impl EmbeddedBroker {
    /// Binds `addr`, creates the accounts under `state_dir` if needed, and starts serving on
    /// `runtime`. Fails (naming the address) when the port is taken or the address is not
    /// this machine's.
    pub fn start(
        addr: SocketAddr,
        state_dir: &Path,
        scope: &BrokerScope,
        runtime: &Handle,
    ) -> Result<Self, AlertError> {
        Self::start_with(addr, state_dir, scope, Limits::default(), runtime)
    }

    pub(crate) fn start_with(
        addr: SocketAddr,
        state_dir: &Path,
        scope: &BrokerScope,
        limits: Limits,
        runtime: &Handle,
    ) -> Result<Self, AlertError> {
        let kiosk_path = state_dir.join(KIOSK_CREDENTIALS);
        let staff_path = state_dir.join(STAFF_CREDENTIALS);
        let account = |path: &Path, user| {
            Credentials::read_or_create(path, user).map_err(|why| AlertError::Config {
                key: "kiosk.state_dir",
                why: format!("the embedded broker's accounts: {why}"),
            })
        };
        let accounts = vec![
            (account(&kiosk_path, "kiosk")?, Role::Kiosk),
            (account(&staff_path, "staff")?, Role::Staff),
        ];
        let listener = bind(addr)?;
        let addr = listener.local_addr().unwrap_or(addr);
        let acl = Acl::new(&scope.prefix, &scope.site, &scope.kiosk);
        let router: SharedRouter = Arc::new(Mutex::new(Router::new(limits, acl, accounts)));
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(listener).map_err(|e| bind_error(addr, &e))?
        };
        let accept = runtime.spawn(accept_loop(listener, router.clone()));
        tracing::info!(%addr, "embedded MQTT broker listening");
        Ok(Self {
            addr,
            kiosk: kiosk_path,
            staff: staff_path,
            router,
            accept,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `mqtt://` URL clients use (a wildcard bind is reached over loopback).
    pub fn url(&self) -> String {
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        format!("mqtt://{addr}")
    }

    /// The kiosk's credentials file.
    pub fn kiosk_credentials(&self) -> &Path {
        &self.kiosk
    }

    /// The staff credentials file (for pagers, the staff console and `attune demo`).
    pub fn staff_credentials(&self) -> &Path {
        &self.staff
    }

    /// Open client connections.
    pub fn connections(&self) -> usize {
        self.router
            .lock()
            .map(|r| r.connections())
            .unwrap_or_default()
    }
}

impl Drop for EmbeddedBroker {
    fn drop(&mut self) {
        // Aborting the accept loop drops its task set, which aborts every connection.
        self.accept.abort();
    }
}

fn bind_error(addr: SocketAddr, e: &std::io::Error) -> AlertError {
    let hint = match e.kind() {
        std::io::ErrorKind::AddrInUse => {
            " (another program, perhaps another MQTT broker, holds this port: stop it, or set \
             [mqtt] url = \"embedded://127.0.0.1:PORT\" with a free port, or point url at that \
             broker)"
        }
        std::io::ErrorKind::AddrNotAvailable => {
            " (the address is not one of this machine's: use 127.0.0.1, 0.0.0.0 or a local address)"
        }
        std::io::ErrorKind::PermissionDenied => " (ports below 1024 need privileges)",
        _ => "",
    };
    AlertError::Config {
        key: "mqtt.url",
        why: format!("the embedded MQTT broker cannot listen on {addr}: {e}{hint}"),
    }
}

/// Binds `addr`, retrying briefly while a previous instance lets go of the port.
fn bind(addr: SocketAddr) -> Result<std::net::TcpListener, AlertError> {
    let deadline = Instant::now() + BIND_RETRY;
    loop {
        match std::net::TcpListener::bind(addr) {
            Ok(l) => {
                l.set_nonblocking(true).map_err(|e| bind_error(addr, &e))?;
                return Ok(l);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => return Err(bind_error(addr, &e)),
        }
    }
}

/// Checks that the embedded broker could listen on `addr`'s host (a local address), without
/// taking the port: used by `check-config`.
pub fn check_address(addr: SocketAddr) -> Result<(), String> {
    let mut probe = addr;
    probe.set_port(0);
    std::net::TcpListener::bind(probe)
        .map(|_| ())
        .map_err(|e| match bind_error(addr, &e) {
            AlertError::Config { why, .. } => why,
            other => other.to_string(),
        })
}

async fn accept_loop(listener: tokio::net::TcpListener, router: SharedRouter) {
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) if tasks.len() >= MAX_SOCKETS => {
                    tracing::warn!(%peer, "embedded broker: too many connections; refused");
                    drop(stream);
                }
                Ok((stream, _)) => {
                    tasks.spawn(conn::serve(stream, router.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!("embedded broker: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
}
