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
