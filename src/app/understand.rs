//! The understanding thread: speech-to-text and acoustic stress for each utterance.
//!
//! Transcription may start early, 96 ms into a pause: if the pause turns out to be the end
//! of the turn the audio is the same, so the early transcript is used and most of the
//! recogniser's time hides inside the hangover. If the customer speaks again instead, the
//! early transcription is stopped part-way, so the turn's own is not kept waiting. The voice's
//! arousal is read early too, when the offer is still current after the transcript (it runs
//! whisper's encoder: tens of milliseconds that would otherwise follow the recogniser's).

use super::activity::TurnGuard;
use super::messages::{BrainMsg, Understood, Utterance};
use crate::stress::StressClassifier;
use crate::stt::{Offers, SpeechToText, SttError};
use std::sync::mpsc::{Receiver, SyncSender};
use std::time::{Duration, Instant};

/// What the understanding thread owns.
pub(super) struct Understander {
    stt: Box<dyn SpeechToText>,
    stress: Box<dyn StressClassifier>,
    from_listener: Receiver<Utterance>,
    offers: Offers,
    to_brain: SyncSender<BrainMsg>,
}

/// An early transcript and voice reading, kept until the turn ends.
struct Early {
    audio: Vec<f32>,
    text: String,
    took: Duration,
    /// The voice's reading and its time, when it was taken before the offer went stale.
    acoustic: Option<(Option<f32>, Duration)>,
}

impl Understander {
    /// The thread's state: the engines, the utterances coming in, the brain to tell, and the
    /// offer count shared with the listener (it says when an early transcription is stale).
    pub fn new(
        stt: Box<dyn SpeechToText>,
        stress: Box<dyn StressClassifier>,
        offers: Offers,
        from_listener: Receiver<Utterance>,
        to_brain: SyncSender<BrainMsg>,
    ) -> Self {
        Self {
            stt,
            stress,
            from_listener,
            offers,
            to_brain,
        }
    }

    /// Runs until the listening thread hangs up.
    pub fn run(mut self) {
        let mut early: Option<Early> = None;
        let mut next: Option<Utterance> = None;
        loop {
            let Some(work) = next.take().or_else(|| self.from_listener.recv().ok()) else {
                break;
            };
            match work {
                Utterance::Early { audio, offer } => {
                    // Something newer is already waiting: this offer is out of date.
                    if let Ok(newer) = self.from_listener.try_recv() {
                        next = Some(newer);
                        continue;
                    }
                    early = self.transcribe_early(audio, offer);
                }
                Utterance::Final {
                    audio,
                    guard,
                    ended_at,
                } => {
                    let reuse = early.take().filter(|e| e.audio == audio);
                    let msg = self.understand(&audio, reuse, guard, ended_at);
                    if self.to_brain.send(msg).is_err() {
                        break;
                    }
                }
            }
        }
    }

    /// The early transcript, or nothing when the customer spoke again before it was done.
    fn transcribe_early(&mut self, audio: Vec<f32>, offer: u64) -> Option<Early> {
        let t0 = Instant::now();
        let stale = self.offers.stale_check(offer);
        match self.stt.transcribe_unless_stale(&audio, stale.clone()) {
            Ok(t) => {
                let took = t0.elapsed();
                let acoustic = (!stale.is_stale()).then(|| {
                    let t1 = Instant::now();
                    (self.arousal(&audio), t1.elapsed())
                });
                Some(Early {
                    audio,
                    text: t.text,
                    took,
                    acoustic,
                })
            }
            Err(SttError::Cancelled) => {
                tracing::debug!(after = ?t0.elapsed(), "early transcription stopped: the customer went on");
                None
            }
            Err(e) => {
                tracing::error!("speech-to-text failed: {e}");
                None
            }
        }
    }

    /// The voice's arousal; safety words must still work when the voice model fails, so a
    /// failure is logged and the turn goes on without it.
    fn arousal(&mut self, audio: &[f32]) -> Option<f32> {
        match self.stress.arousal(audio) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!("acoustic stress unavailable for this turn: {e}");
                None
            }
        }
    }

    fn transcribe(&mut self, audio: &[f32]) -> String {
        match self.stt.transcribe(audio) {
            Ok(t) => t.text,
            Err(e) => {
                tracing::error!("speech-to-text failed: {e}");
                String::new()
            }
        }
    }

    fn understand(
        &mut self,
        audio: &[f32],
        early: Option<Early>,
        guard: TurnGuard,
        ended_at: Instant,
    ) -> BrainMsg {
        let stt_early = early.is_some();
        let (text, took, early_acoustic) = match early {
            Some(e) => (e.text, e.took, e.acoustic),
            None => {
                let t0 = Instant::now();
                let text = self.transcribe(audio);
                (text, t0.elapsed(), None)
            }
        };
        let stt_wait_ms = ended_at.elapsed().as_millis();
        let (acoustic, stress_took) = early_acoustic.unwrap_or_else(|| {
            let t1 = Instant::now();
            (self.arousal(audio), t1.elapsed())
        });
        BrainMsg::Understood(Box::new(Understood {
            text,
            acoustic,
            seconds: audio.len() as f32 / crate::audio::SAMPLE_RATE as f32,
            stt_ms: took.as_millis(),
            stt_wait_ms,
            stt_early,
            stress_ms: stress_took.as_millis(),
            ended_at,
            guard,
        }))
    }
}
