//! Where a turn's time goes, from the end of the customer's speech to the first audio of the
//! reply ("voice to voice"), and a running summary of it for the status topic.

use serde::Serialize;
use std::collections::VecDeque;

/// Turns the summary's percentiles are taken over.
const WINDOW: usize = 100;

/// One turn's latency breakdown, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TurnLatency {
    /// Silence waited for before the turn was taken as finished.
    pub hangover_ms: u32,
    /// Speech-to-text time still to wait once the turn was finished (0 when the early
    /// transcription, started in the pause, was already done).
    pub stt_wait_ms: u32,
    /// Speech-to-text time spent in all.
    pub stt_ms: u32,
    /// Whether the early transcription (started in the pause) was used.
    pub stt_early: bool,
    /// Acoustic stress classifier.
    pub stress_ms: u32,
    /// Cues, knowledge base, fusion and the conversation core.
    pub think_ms: u32,
    /// Synthesis of the first sentence (0 for a cached prompt).
    pub tts_first_ms: u32,
    /// End of speech to the first reply audio handed to the output.
    pub voice_to_voice_ms: u32,
}

/// Running counts and percentiles over the last turns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LatencySummary {
    turns: u64,
    recent: VecDeque<u32>,
    last: Option<TurnLatency>,
}

/// The summary as published.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LatencyReport {
    /// Turns answered since start.
    pub turns: u64,
    /// Median voice-to-voice over the last turns (up to 100).
    pub voice_to_voice_p50_ms: Option<u32>,
    /// 95th percentile of the same.
    pub voice_to_voice_p95_ms: Option<u32>,
    /// The last turn's breakdown.
    pub last: Option<TurnLatency>,
}

impl LatencySummary {
    /// Counts one turn.
    pub fn record(&mut self, turn: TurnLatency) {
        self.turns += 1;
        if self.recent.len() == WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back(turn.voice_to_voice_ms);
        self.last = Some(turn);
    }

    /// Counts and percentiles as of now.
    pub fn report(&self) -> LatencyReport {
        let mut sorted: Vec<u32> = self.recent.iter().copied().collect();
        sorted.sort_unstable();
        LatencyReport {
            turns: self.turns,
            voice_to_voice_p50_ms: percentile(&sorted, 0.5),
            voice_to_voice_p95_ms: percentile(&sorted, 0.95),
            last: self.last,
        }
    }
}

/// Milliseconds as reported: a turn never takes 49 days, but no cast may wrap.
pub fn clamp_ms(ms: u128) -> u32 {
    u32::try_from(ms).unwrap_or(u32::MAX)
}

/// Nearest-rank percentile of sorted values (the one definition the status topic and
/// `attune bench` both use).
pub fn percentile<T: Copy>(sorted: &[T], q: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(ms: u32) -> TurnLatency {
        TurnLatency {
            voice_to_voice_ms: ms,
            ..Default::default()
        }
    }

    #[test]
    fn summary_counts_turns_and_takes_percentiles_over_the_window() {
        let mut s = LatencySummary::default();
        assert_eq!(s.report().voice_to_voice_p50_ms, None);
        for ms in 1..=10 {
            s.record(turn(ms * 100));
        }
        let r = s.report();
        assert_eq!(r.turns, 10);
        assert_eq!(r.voice_to_voice_p50_ms, Some(500));
        assert_eq!(r.voice_to_voice_p95_ms, Some(1000));
        assert_eq!(r.last, Some(turn(1000)));
        for _ in 0..WINDOW {
            s.record(turn(50));
        }
        let r = s.report();
        assert_eq!(r.turns, 10 + WINDOW as u64);
        assert_eq!(
            r.voice_to_voice_p95_ms,
            Some(50),
            "old turns leave the window"
        );
    }
}
