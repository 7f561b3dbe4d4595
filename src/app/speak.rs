//! Speaking: the synthesis thread turns replies into audio sentence by sentence; the playback
//! thread plays it and can stop at once (barge-in) because it never does heavy work.

use super::brain::clamp_ms;
use super::{Activity, BrainMsg, TurnGuard};
use crate::audio::{AudioOutput, Pcm};
use crate::conversation::Say;
use crate::latency::TurnLatency;
use crate::tts::{TextToSpeech, split_sentences};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

/// A reply for the synthesis thread.
pub(super) struct SayCmd {
    pub say: Say,
    /// Cancellation generation the reply belongs to.
    pub generation: u64,
    /// Held until the reply is queued for playback (keeps `--fast` input waiting, so replies
    /// start at the same point of the recording every run).
    pub guard: Option<TurnGuard>,
    /// For a turn's first reply: the turn's timing so far.
    pub timing: Option<TurnTiming>,
}

/// A turn's timing, carried with its first reply so playback can complete the breakdown.
#[derive(Debug, Clone, Copy)]
pub(super) struct TurnTiming {
    /// The breakdown so far.
    pub latency: TurnLatency,
    /// When the hangover ran out (the customer stopped speaking one hangover before).
    pub ended_at: Instant,
    /// When the brain started on the turn.
    pub think_from: Instant,
}

impl TurnTiming {
    /// The brain is done with the turn: its time is counted.
    pub fn thought(mut self) -> Self {
        self.latency.think_ms = clamp_ms(self.think_from.elapsed().as_millis());
        self
    }

    /// The first audio is going out now: the breakdown is complete.
    fn heard(mut self) -> TurnLatency {
        let since_end = self.ended_at.elapsed().as_millis();
        self.latency.voice_to_voice_ms =
            self.latency.hangover_ms.saturating_add(clamp_ms(since_end));
        self.latency
    }
}

/// What the playback thread is told.
pub(super) enum PlayCmd {
    /// A synthesised sentence.
    Chunk {
        pcm: Pcm,
        generation: u64,
        first_of_reply: bool,
        said_at: Instant,
        timing: Option<TurnTiming>,
    },
    /// The reply of `generation` has no more sentences.
    EndOfReply {
        generation: u64,
        guard: Option<TurnGuard>,
    },
}

/// Runs the synthesis thread until the brain hangs up.
pub(super) fn synthesis_loop(
    mut tts: Box<dyn TextToSpeech>,
    from_brain: Receiver<SayCmd>,
    to_play: SyncSender<PlayCmd>,
    activity: Activity,
    stream_sentences: bool,
) {
    while let Ok(cmd) = from_brain.recv() {
        let said_at = Instant::now();
        let mut timing = cmd.timing;
        let parts = if stream_sentences {
            split_sentences(&cmd.say.text)
        } else {
            vec![cmd.say.text.clone()]
        };
        for (i, sentence) in parts.iter().enumerate() {
            if activity.generation() != cmd.generation {
                break; // barged in: the rest is not said
            }
            let t0 = Instant::now();
            match tts.synthesize(sentence, cmd.say.pace) {
                Ok(pcm) => {
                    let timing = timing.take().map(|mut t| {
                        t.latency.tts_first_ms = clamp_ms(t0.elapsed().as_millis());
                        t
                    });
                    let chunk = PlayCmd::Chunk {
                        pcm,
                        generation: cmd.generation,
                        first_of_reply: i == 0,
                        said_at,
                        timing,
                    };
                    if to_play.send(chunk).is_err() {
                        return;
                    }
                }
                Err(e) => tracing::error!("speech synthesis failed; sentence skipped: {e}"),
            }
        }
        let end = PlayCmd::EndOfReply {
            generation: cmd.generation,
            guard: cmd.guard,
        };
        if to_play.send(end).is_err() {
            return;
        }
    }
}

/// Runs the playback thread until the synthesis thread hangs up and playback is done.
pub(super) fn playback_loop(
    mut output: Box<dyn AudioOutput>,
    from_tts: Receiver<PlayCmd>,
    to_brain: SyncSender<BrainMsg>,
    activity: Activity,
) {
    let mut awaiting: Vec<u64> = Vec::new();
    let mut played_gen = activity.generation();
    loop {
        follow_generation(&mut played_gen, &activity, output.as_mut());
        match from_tts.recv_timeout(Duration::from_millis(5)) {
            Ok(PlayCmd::Chunk {
                pcm,
                generation,
                first_of_reply,
                said_at,
                timing,
            }) => {
                // The barge-in may have happened while we waited: stop first, then play what
                // belongs to the current reply only.
                follow_generation(&mut played_gen, &activity, output.as_mut());
                if generation == played_gen {
                    if first_of_reply {
                        tracing::debug!(
                            ms = said_at.elapsed().as_millis() as u64,
                            "first audio of reply"
                        );
                    }
                    if let Err(e) = output.play(&pcm) {
                        tracing::error!("playback failed on {}: {e}", output.describe());
                    } else if let Some(t) = timing {
                        let _ = to_brain.try_send(BrainMsg::FirstAudio(t.heard()));
                    }
                }
            }
            Ok(PlayCmd::EndOfReply { generation, guard }) => {
                awaiting.push(generation);
                drop(guard);
            }
            Err(RecvTimeoutError::Timeout) => {}
            // The brain only hangs up once replies are done, or on shutdown: stop either way.
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if !awaiting.is_empty() && !output.is_playing() {
            for generation in awaiting.drain(..) {
                activity.reply_done();
                if generation == activity.generation() {
                    let _ = to_brain.send(BrainMsg::PlaybackFinished);
                }
            }
        }
    }
    if let Err(e) = output.finish() {
        tracing::error!("cannot finish output {}: {e}", output.describe());
    }
}

/// Barge-in: when the generation moved on, stop what is playing (within one poll interval).
fn follow_generation(played: &mut u64, activity: &Activity, output: &mut dyn AudioOutput) {
    let now = activity.generation();
    if now != *played {
        if let Err(e) = output.stop() {
            tracing::warn!("cannot stop playback on {}: {e}", output.describe());
        }
        *played = now;
    }
}
