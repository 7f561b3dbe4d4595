//! One shutdown signal for the whole daemon: SIGTERM or SIGINT set it, threads poll it, and
//! the pipeline drains (pending alerts flushed, "offline" published) before exiting.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A cloneable flag that says the daemon should stop.
#[derive(Debug, Clone, Default)]
pub struct Shutdown(Arc<AtomicBool>);

impl Shutdown {
    /// A flag not yet raised.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks everything to stop.
    pub fn trigger(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was asked for.
    pub fn is_triggered(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Raises the flag on SIGTERM or SIGINT. Must be called inside a tokio runtime.
    pub fn on_signals(&self) {
        let me = self.clone();
        tokio::spawn(async move {
            let Ok(mut term) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            else {
                tracing::warn!("cannot listen for SIGTERM; only SIGINT will stop attune cleanly");
                let _ = tokio::signal::ctrl_c().await;
                me.trigger();
                return;
            };
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
                _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
            }
            me.trigger();
        });
    }
}

/// Talks to systemd (`Type=notify`): READY once models are loaded and audio is open, STATUS
/// lines, and WATCHDOG pings from the health-checked main loop so a hung pipeline gets
/// restarted. Without systemd (no `NOTIFY_SOCKET`) every call is a no-op.
#[derive(Debug)]
pub struct Systemd {
    watchdog: Option<std::time::Duration>,
    last_ping: std::time::Instant,
}

impl Systemd {
    /// Reads the watchdog interval systemd asked for, if any.
    pub fn new() -> Self {
        let mut usec = 0;
        let watchdog = sd_notify::watchdog_enabled(false, &mut usec)
            .then(|| std::time::Duration::from_micros(usec / 2));
        Self {
            watchdog,
            last_ping: std::time::Instant::now(),
        }
    }

    /// Startup is finished.
    pub fn ready(&self, status: &str) {
        let _ = sd_notify::notify(
            false,
            &[
                sd_notify::NotifyState::Ready,
                sd_notify::NotifyState::Status(status),
            ],
        );
    }

    /// A one-line status for `systemctl status`.
    pub fn status(&self, status: &str) {
        let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Status(status)]);
    }

    /// Called from the main loop each time it is healthy; pings at half the watchdog interval.
    pub fn alive(&mut self) {
        if let Some(every) = self.watchdog
            && self.last_ping.elapsed() >= every
        {
            let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Watchdog]);
            self.last_ping = std::time::Instant::now();
        }
    }

    /// Shutting down.
    pub fn stopping(&self) {
        let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    }
}

impl Default for Systemd {
    fn default() -> Self {
        Self::new()
    }
}
