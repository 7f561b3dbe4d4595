//! What the pipeline is busy with, shared by its threads: turns being handled, replies being
//! spoken, and the speech generation a barge-in moves on.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Shared counters (cheap to clone).
#[derive(Debug, Clone, Default)]
pub(super) struct Activity(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    turns_in_flight: AtomicUsize,
    replies_in_flight: AtomicUsize,
    generation: AtomicU64,
}

impl Activity {
    /// A turn is being handled until the returned guard is dropped.
    pub fn turn_started(&self) -> TurnGuard {
        self.0.turns_in_flight.fetch_add(1, Ordering::SeqCst);
        TurnGuard(self.clone())
    }

    /// Turns being handled.
    pub fn turns_in_flight(&self) -> usize {
        self.0.turns_in_flight.load(Ordering::SeqCst)
    }

    /// A reply was handed to the speech threads.
    pub fn reply_started(&self) {
        self.0.replies_in_flight.fetch_add(1, Ordering::SeqCst);
    }

    /// A reply was played out (or dropped).
    pub fn reply_done(&self) {
        let _ = self
            .0
            .replies_in_flight
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    }

    /// The kiosk is speaking or about to (gates the microphone).
    pub fn speaking(&self) -> bool {
        self.0.replies_in_flight.load(Ordering::SeqCst) > 0
    }

    /// Nothing is being handled or said.
    pub fn idle(&self) -> bool {
        self.turns_in_flight() == 0 && !self.speaking()
    }

    /// The current speech generation.
    pub fn generation(&self) -> u64 {
        self.0.generation.load(Ordering::SeqCst)
    }

    /// Barge-in: everything queued under the current generation is dropped.
    pub fn cancel_speech(&self) {
        self.0.generation.fetch_add(1, Ordering::SeqCst);
    }
}

/// Held while a turn is being handled; dropping it marks the turn done.
#[derive(Debug)]
pub(super) struct TurnGuard(Activity);

impl Drop for TurnGuard {
    fn drop(&mut self) {
        let _ = self
            .0
            .0
            .turns_in_flight
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    }
}
