//! The listening thread: input frames → energy gate → voice detector → endpointing.

use super::activity::Activity;
use super::messages::{BrainMsg, Utterance};
use crate::audio::{AudioInput, Clock};
use crate::backoff::Backoff;
use crate::shutdown::Shutdown;
use crate::stt::Offers;
use crate::vad::{FrontEnd, Segment, VadConfig, VoiceDetector};
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};

/// How the listening thread works.
pub(super) struct ListenSettings {
    /// Voice detection and endpointing.
    pub vad: VadConfig,
    /// The hardware removes the kiosk's own voice (no raised barge-in threshold). attune's
    /// own canceller keeps the raised threshold: its residue still sounds like a voice at
    /// times (`attune eval room`: 6 of 30 replies set the detector off at the normal
    /// threshold, 3 at the raised one, and fewer barge-ins were missed).
    pub echo_cancellation: bool,
    /// Feed the input only when the pipeline is idle (`--fast` runs).
    pub paced_by_pipeline: bool,
    /// Longest wait between retries of a lost device.
    pub retry_max: Duration,
}

/// What the pipeline's threads share with the listener.
pub(super) struct ListenLinks {
    /// The pipeline clock.
    pub clock: Clock,
    /// What the pipeline is busy with.
    pub activity: Activity,
    /// Numbers the early offers; moving it on stops a stale early transcription.
    pub offers: Offers,
    /// Stops the thread.
    pub shutdown: Shutdown,
    /// Speech started and ended, input trouble.
    pub to_brain: SyncSender<BrainMsg>,
    /// Utterances, early and final.
    pub to_understand: SyncSender<Utterance>,
}

/// What the listening thread owns.
pub(super) struct Listener {
    input: Box<dyn AudioInput>,
    front: FrontEnd,
    settings: ListenSettings,
    links: ListenLinks,
}

impl Listener {
    /// The thread's state.
    pub fn new(
        input: Box<dyn AudioInput>,
        vad: Box<dyn VoiceDetector>,
        settings: ListenSettings,
        links: ListenLinks,
    ) -> Self {
        Self {
            input,
            front: FrontEnd::new(vad, settings.vad.clone()),
            settings,
            links,
        }
    }

    /// Runs until the input ends or shutdown; errors from a lost device are retried.
    pub fn run(mut self) {
        let echo_removed = self.settings.echo_cancellation;
        let mut backoff = Backoff::new(Duration::from_millis(200), self.settings.retry_max);
        let mut troubled = false;
        while !self.links.shutdown.is_triggered() {
            if self.settings.paced_by_pipeline && !self.wait_until_idle() {
                break;
            }
            match self.input.read_frame() {
                Ok(Some(frame)) => {
                    backoff.reset();
                    if std::mem::take(&mut troubled) {
                        tracing::info!(input = %self.input.describe(), "audio input is back");
                        let _ = self
                            .links
                            .to_brain
                            .send(BrainMsg::InputRecovered(self.input.describe()));
                    }
                    let raised = self.links.activity.speaking() && !echo_removed;
                    for seg in self.front.hear(&frame, raised) {
                        self.forward(seg);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let wait = backoff.next_delay();
                    tracing::error!(input = %self.input.describe(), "audio input failed: {e}; retrying in {wait:?}");
                    troubled = true;
                    let _ = self
                        .links
                        .to_brain
                        .send(BrainMsg::InputTrouble(e.to_string()));
                    std::thread::sleep(wait);
                    self.front.gap();
                }
            }
        }
        if let Some(seg) = self.front.flush() {
            self.forward(seg);
        }
        // A --fast run need not wait out its last reply in real time.
        self.links
            .clock
            .end_of_input(if self.settings.paced_by_pipeline {
                20.0
            } else {
                1.0
            });
        let _ = self.links.to_brain.send(BrainMsg::InputEnded);
    }

    fn forward(&mut self, seg: Segment) {
        match seg {
            Segment::Started => {
                let _ = self.links.to_brain.send(BrainMsg::SpeechStarted);
            }
            Segment::Discarded => {
                let _ = self.links.to_brain.send(BrainMsg::Discarded);
            }
            Segment::Paused(audio) => {
                // Only a head start: when the understanding thread is busy it is not worth
                // queueing (and never worth blocking the microphone for).
                let offer = self.links.offers.supersede();
                let _ = self
                    .links
                    .to_understand
                    .try_send(Utterance::Early { audio, offer });
            }
            Segment::Resumed => {
                self.links.offers.supersede();
            }
            Segment::Ended(audio) => {
                let ended_at = Instant::now();
                let guard = self.links.activity.turn_started();
                let _ = self.links.to_brain.send(BrainMsg::SpeechEnded);
                let utterance = Utterance::Final {
                    audio,
                    guard,
                    ended_at,
                };
                if self.links.to_understand.send(utterance).is_err() {
                    tracing::error!("understanding thread is gone; utterance dropped");
                }
            }
        }
    }

    /// In `--fast` runs the file waits while a turn is being handled, so replies land at the
    /// same place in the conversation as they would live. Returns false on shutdown.
    fn wait_until_idle(&self) -> bool {
        while self.links.activity.turns_in_flight() > 0 {
            if self.links.shutdown.is_triggered() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        true
    }
}
