//! The pipeline clock: wall time for live devices, audio time for files.
//!
//! With a WAV input the conversation runs on the file's own timeline (samples consumed), so
//! `--fast` runs make the same decisions as real-time ones. After the file ends, time goes on
//! at a wall-clock pace (sped up for `--fast` runs, so the last reply does not hold them up).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A shared, cheap-to-clone clock.
#[derive(Debug, Clone)]
pub struct Clock(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    start: Instant,
    /// `Some(rate)` when time is counted in samples consumed at that rate.
    sample_rate: Option<u32>,
    samples: AtomicU64,
    ended: AtomicBool,
    ended_at: Mutex<Option<(Instant, f64)>>,
}

impl Clock {
    /// Wall-clock time since now.
    pub fn wall() -> Self {
        Self::build(None)
    }

    /// Time counted in samples consumed at `sample_rate` (advanced by [`Clock::advance`]).
    pub fn samples(sample_rate: u32) -> Self {
        Self::build(Some(sample_rate.max(1)))
    }

    fn build(sample_rate: Option<u32>) -> Self {
        Self(Arc::new(Inner {
            start: Instant::now(),
            sample_rate,
            samples: AtomicU64::new(0),
            ended: AtomicBool::new(false),
            ended_at: Mutex::new(None),
        }))
    }

    /// Counts `n` more samples consumed (no effect on a wall clock).
    pub fn advance(&self, n: usize) {
        self.0.samples.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// The input has ended: from now on time runs at `speed` times wall-clock speed.
    pub fn end_of_input(&self, speed: f64) {
        if !self.0.ended.swap(true, Ordering::Relaxed)
            && let Ok(mut at) = self.0.ended_at.lock()
        {
            *at = Some((Instant::now(), speed.max(0.0)));
        }
    }

    /// Whether time is audio time (a file) rather than wall time.
    pub fn is_audio_time(&self) -> bool {
        self.0.sample_rate.is_some()
    }

    /// Time since the pipeline started.
    pub fn now(&self) -> Duration {
        let Some(rate) = self.0.sample_rate else {
            return self.0.start.elapsed();
        };
        let samples = self.0.samples.load(Ordering::Relaxed);
        let audio = Duration::from_secs_f64(samples as f64 / f64::from(rate));
        let after_end = self
            .0
            .ended_at
            .lock()
            .ok()
            .and_then(|at| at.map(|(t, speed)| t.elapsed().mul_f64(speed)))
            .unwrap_or_default();
        audio + after_end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_clock_counts_samples_then_wall_time_after_the_end() {
        let c = Clock::samples(16_000);
        assert_eq!(c.now(), Duration::ZERO);
        c.advance(16_000);
        assert_eq!(c.now(), Duration::from_secs(1));
        c.end_of_input(10.0);
        std::thread::sleep(Duration::from_millis(20));
        assert!(c.now() >= Duration::from_millis(1_200));
        assert!(c.is_audio_time());
        assert!(!Clock::wall().is_audio_time());
    }
}
