//! The listening front end, frame by frame: energy gate, voice detector, segmenter. The
//! daemon's listening thread and `attune eval room` both hear through it, so the evaluation
//! measures what the kiosk does.

use super::segmenter::frames_for;
use super::{Segment, Segmenter, VadConfig, VoiceDetector, gated_probability};

/// Turns microphone frames into utterances.
pub struct FrontEnd {
    detector: Box<dyn VoiceDetector>,
    segmenter: Segmenter,
    config: VadConfig,
    /// Frames the raised threshold still holds after the kiosk stopped speaking.
    tail_left: usize,
}

impl FrontEnd {
    /// A front end in silence.
    pub fn new(detector: Box<dyn VoiceDetector>, config: VadConfig) -> Self {
        Self {
            detector,
            segmenter: Segmenter::new(config.clone()),
            config,
            tail_left: 0,
        }
    }

    /// One frame of [`crate::audio::FRAME_SAMPLES`] samples. `kiosk_speaking` raises the
    /// onset threshold (barge-in), for microphones that still hear the kiosk's own voice; it
    /// stays raised for `echo_tail_ms` after the kiosk stops.
    pub fn hear(&mut self, frame: &[f32], kiosk_speaking: bool) -> Vec<Segment> {
        self.segmenter
            .set_barge_in(kiosk_speaking || self.tail_left > 0);
        self.tail_left = if kiosk_speaking {
            frames_for(self.config.echo_tail_ms)
        } else {
            self.tail_left.saturating_sub(1)
        };
        let prob = gated_probability(self.detector.as_mut(), frame, self.config.energy_gate_db);
        self.segmenter.push(frame, prob)
    }

    /// Ends any utterance under way (end of input).
    pub fn flush(&mut self) -> Option<Segment> {
        self.segmenter.flush()
    }

    /// The detector forgets its state (after a gap in the audio); an utterance under way
    /// stays open.
    pub fn gap(&mut self) {
        self.detector.reset();
    }

    /// Starts afresh: a new conversation.
    pub fn reset(&mut self) {
        self.detector.reset();
        self.segmenter = Segmenter::new(self.config.clone());
        self.tail_left = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::FRAME_SAMPLES;
    use crate::vad::EnergyDetector;

    fn tone(level: f32, frames: usize) -> Vec<f32> {
        (0..frames * FRAME_SAMPLES)
            .map(|i| level * (i as f32 * 0.07).sin())
            .collect()
    }

    fn starts(front: &mut FrontEnd, audio: &[f32], kiosk_speaking: bool) -> usize {
        audio
            .chunks_exact(FRAME_SAMPLES)
            .flat_map(|f| front.hear(f, kiosk_speaking))
            .filter(|s| matches!(s, Segment::Started))
            .count()
    }

    fn front() -> FrontEnd {
        let config = VadConfig {
            threshold: 0.5,
            barge_in_threshold: 0.99,
            ..VadConfig::default()
        };
        FrontEnd::new(Box::new(EnergyDetector::new(-30.0)), config)
    }

    #[test]
    fn a_voice_starts_an_utterance_unless_the_kiosk_speaks_over_it() {
        // -25 dBFS: p ~ 0.84 with the detector at -30 dBFS, above 0.5, below 0.99.
        let voice = tone(0.08, 20);
        let mut front = front();
        assert_eq!(starts(&mut front, &voice, false), 1);
        front.reset();
        assert_eq!(starts(&mut front, &voice, true), 0);
    }

    #[test]
    fn the_raised_threshold_outlasts_the_kiosks_voice_by_the_echo_tail() {
        let mut front = front(); // echo_tail_ms 300: 10 frames of 32 ms
        let voice = tone(0.08, 1);
        let hear = |front: &mut FrontEnd, speaking: bool| {
            front
                .hear(&voice, speaking)
                .iter()
                .filter(|s| matches!(s, Segment::Started))
                .count()
        };
        hear(&mut front, true);
        // The voice goes on after the kiosk stopped: held back for the tail, then heard.
        let held: usize = (0..10).map(|_| hear(&mut front, false)).sum();
        assert_eq!(held, 0);
        let heard: usize = (0..3).map(|_| hear(&mut front, false)).sum();
        assert_eq!(heard, 1);
    }

    #[test]
    fn flush_ends_the_utterance_under_way() {
        let mut front = front();
        starts(&mut front, &tone(0.3, 20), false);
        assert!(matches!(front.flush(), Some(Segment::Ended(_))));
        assert!(front.flush().is_none());
    }
}
