//! The wall clock, for timestamps that are informational only (a Pi has no real-time clock,
//! so nothing is ordered or decided by it; ordering uses sequence numbers and monotonic time).

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch; 0 if the clock is set before 1970.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
