//! Playback emulated on the pipeline clock, for outputs that are not a device (WAV, null).
//!
//! Audio "plays" for its real duration on the pipeline clock, so barge-in and "playback
//! finished" happen at the same points of a conversation whether it runs live or `--fast`.

use super::{AudioError, Clock, Pcm, resample};
use std::time::Duration;

/// Silence put between two separate replies in a recording, so they can be told apart.
const GAP_S: f32 = 0.3;

/// What was queued, when it plays, and (optionally) a recording of what was actually said.
#[derive(Debug)]
pub(super) struct Timeline {
    clock: Clock,
    record: bool,
    rate: Option<u32>,
    recorded: Vec<f32>,
    queue_start: Duration,
    queue_start_index: usize,
    busy_until: Duration,
}

impl Timeline {
    /// A timeline on `clock`; `record` keeps the samples for writing out.
    pub(super) fn new(clock: Clock, record: bool) -> Self {
        Self {
            clock,
            record,
            rate: None,
            recorded: Vec::new(),
            queue_start: Duration::ZERO,
            queue_start_index: 0,
            busy_until: Duration::ZERO,
        }
    }

    /// Queues `pcm` after what is already playing.
    pub(super) fn play(&mut self, pcm: &Pcm) -> Result<(), AudioError> {
        let rate = *self.rate.get_or_insert(pcm.sample_rate);
        let now = self.clock.now();
        if now >= self.busy_until {
            if self.record && !self.recorded.is_empty() {
                let gap = (GAP_S * rate as f32) as usize;
                self.recorded.resize(self.recorded.len() + gap, 0.0);
            }
            self.queue_start = now;
            self.queue_start_index = self.recorded.len();
            self.busy_until = now;
        }
        self.busy_until += Duration::from_secs_f64(pcm.seconds());
        if self.record {
            let samples = resample(&pcm.samples, pcm.sample_rate, rate)?;
            self.recorded.extend_from_slice(&samples);
        }
        Ok(())
    }

    /// Cuts playback at the current time; the recording keeps only what was heard.
    pub(super) fn stop(&mut self) {
        let now = self.clock.now();
        if now >= self.busy_until {
            return;
        }
        if let Some(rate) = self.rate {
            let heard = now.saturating_sub(self.queue_start).as_secs_f64() * f64::from(rate);
            self.recorded
                .truncate(self.queue_start_index + heard as usize);
        }
        self.busy_until = now;
    }

    /// Whether queued audio is still playing.
    pub(super) fn is_playing(&self) -> bool {
        self.clock.now() < self.busy_until
    }

    /// Marks everything as played and hands over the recording and its rate.
    pub(super) fn finish(&mut self) -> (Vec<f32>, u32) {
        self.busy_until = Duration::ZERO;
        let rate = self.rate.unwrap_or(super::SAMPLE_RATE);
        (std::mem::take(&mut self.recorded), rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn second_of(value: f32) -> Pcm {
        Pcm {
            samples: vec![value; 1000],
            sample_rate: 1000,
        }
    }

    #[test]
    fn plays_for_its_duration_on_the_clock_and_stop_truncates() {
        let clock = Clock::samples(1000);
        let mut t = Timeline::new(clock.clone(), true);
        t.play(&second_of(0.5)).expect("play");
        t.play(&second_of(0.25)).expect("play");
        assert!(t.is_playing());
        clock.advance(1500);
        assert!(t.is_playing());
        t.stop();
        assert!(!t.is_playing());
        let (rec, rate) = t.finish();
        assert_eq!(rate, 1000);
        assert_eq!(rec.len(), 1500, "only what was heard is kept");
        assert_eq!(rec[999], 0.5);
        assert_eq!(rec[1000], 0.25);
    }

    #[test]
    fn separate_replies_get_a_gap() {
        let clock = Clock::samples(1000);
        let mut t = Timeline::new(clock.clone(), true);
        t.play(&second_of(0.5)).expect("play");
        clock.advance(2000);
        assert!(!t.is_playing());
        t.play(&second_of(0.5)).expect("play");
        let (rec, _) = t.finish();
        assert_eq!(rec.len(), 2300);
    }
}
