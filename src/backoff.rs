//! Retry delays: doubling from a first delay up to a cap, optionally with jitter so a site's
//! kiosks do not all reconnect at the same moment after a broker restart. Used for the broker
//! connection and for sound devices that vanished.

use std::time::Duration;

/// Exponential retry delays.
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
    jitter: f64,
}

impl Backoff {
    /// Delays `first`, `2 × first`, … up to `max`, without jitter.
    pub fn new(first: Duration, max: Duration) -> Self {
        Self {
            first,
            max: max.max(first),
            next: first,
            jitter: 0.0,
        }
    }

    /// Each delay varies by up to ± `fraction` of itself.
    pub fn with_jitter(mut self, fraction: f64) -> Self {
        self.jitter = fraction.clamp(0.0, 1.0);
        self
    }

    /// Back to the first delay (after a success that held).
    pub fn reset(&mut self) {
        self.next = self.first;
    }

    /// The delay before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        self.next_delay_at(random_unit())
    }

    /// The delay before the next attempt, with `unit` in `0..1` choosing the jitter.
    pub fn next_delay_at(&mut self, unit: f64) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        base.mul_f64(1.0 - self.jitter + 2.0 * self.jitter * unit.clamp(0.0, 1.0))
    }
}

/// A random number in `0..1` (from the operating system's generator, via a v4 UUID).
fn random_unit() -> f64 {
    let bits = (uuid::Uuid::new_v4().as_u128() as u64) >> 11;
    bits as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_the_cap_with_bounded_jitter() {
        let mut b =
            Backoff::new(Duration::from_millis(500), Duration::from_secs(30)).with_jitter(0.2);
        let low: Vec<Duration> = (0..10).map(|_| b.next_delay_at(0.0)).collect();
        assert_eq!(low[0], Duration::from_millis(400));
        assert_eq!(low[1], Duration::from_millis(800));
        assert_eq!(*low.last().unwrap(), Duration::from_secs(24));
        b.reset();
        assert_eq!(b.next_delay_at(1.0), Duration::from_millis(600));
        for _ in 0..20 {
            assert!(b.next_delay() <= Duration::from_secs(36));
        }
    }

    #[test]
    fn without_jitter_the_delays_are_exact() {
        let mut b = Backoff::new(Duration::from_millis(200), Duration::from_secs(1));
        let got: Vec<u128> = (0..5).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(got, [200, 400, 800, 1000, 1000]);
    }
}
