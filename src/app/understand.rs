//! The understanding thread: speech-to-text and acoustic stress for each utterance.

use super::{BrainMsg, TurnGuard};
use crate::stress::StressClassifier;
use crate::stt::SpeechToText;
use std::sync::mpsc::{Receiver, SyncSender};
use std::time::Instant;

/// What the understanding thread owns.
pub(super) struct Understander {
    pub stt: Box<dyn SpeechToText>,
    pub stress: Box<dyn StressClassifier>,
    pub from_listener: Receiver<(Vec<f32>, TurnGuard)>,
    pub to_brain: SyncSender<BrainMsg>,
}

/// One utterance, understood as far as the engines go.
#[derive(Debug)]
pub(super) struct Understood {
    pub text: String,
    pub acoustic: Option<f32>,
    pub seconds: f32,
    pub stt_ms: u128,
    pub stress_ms: u128,
    pub guard: TurnGuard,
}

impl Understander {
    /// Runs until the listening thread hangs up.
    pub fn run(mut self) {
        while let Ok((audio, guard)) = self.from_listener.recv() {
            let msg = self.understand(&audio, guard);
            if self.to_brain.send(msg).is_err() {
                break;
            }
        }
    }

    fn understand(&mut self, audio: &[f32], guard: TurnGuard) -> BrainMsg {
        let t0 = Instant::now();
        let text = match self.stt.transcribe(audio) {
            Ok(t) => t.text,
            Err(e) => {
                tracing::error!("speech-to-text failed: {e}");
                String::new()
            }
        };
        let stt_ms = t0.elapsed().as_millis();
        let t1 = Instant::now();
        // Safety words must still work when the voice model fails: stress is optional.
        let acoustic = match self.stress.arousal(audio) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!("acoustic stress unavailable for this turn: {e}");
                None
            }
        };
        BrainMsg::Understood(Box::new(Understood {
            text,
            acoustic,
            seconds: audio.len() as f32 / crate::audio::SAMPLE_RATE as f32,
            stt_ms,
            stress_ms: t1.elapsed().as_millis(),
            guard,
        }))
    }
}
