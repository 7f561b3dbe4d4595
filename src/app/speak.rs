//! Speaking: the synthesis thread turns replies into audio sentence by sentence; the playback
//! thread plays it and can stop at once (barge-in) because it never does heavy work.

use super::activity::Activity;
use super::messages::{BrainMsg, PlayCmd, SayCmd};
use crate::audio::AudioOutput;
use crate::latency::clamp_ms;
use crate::tts::{TextToSpeech, split_sentences};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

/// What the synthesis thread owns.
pub(super) struct Synthesiser {
    tts: Box<dyn TextToSpeech>,
    stream_sentences: bool,
    from_brain: Receiver<SayCmd>,
    to_play: SyncSender<PlayCmd>,
    activity: Activity,
}

impl Synthesiser {
    /// The thread's state; `stream_sentences` hands each sentence to playback as soon as it
    /// is synthesised.
    pub fn new(
        tts: Box<dyn TextToSpeech>,
        stream_sentences: bool,
        from_brain: Receiver<SayCmd>,
        to_play: SyncSender<PlayCmd>,
        activity: Activity,
    ) -> Self {
        Self {
            tts,
            stream_sentences,
            from_brain,
            to_play,
            activity,
        }
    }

    /// Runs until the brain hangs up.
    pub fn run(mut self) {
        while let Ok(cmd) = self.from_brain.recv() {
            if !self.say(cmd) {
                return;
            }
        }
    }

    /// Synthesises one reply; `false` once playback has hung up.
    fn say(&mut self, cmd: SayCmd) -> bool {
        let (tts, to_play, activity, stream_sentences) = (
            &mut self.tts,
            &self.to_play,
            &self.activity,
            self.stream_sentences,
        );
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
                        return false;
                    }
                }
                Err(e) => tracing::error!("speech synthesis failed; sentence skipped: {e}"),
            }
        }
        let end = PlayCmd::EndOfReply {
            generation: cmd.generation,
            guard: cmd.guard,
        };
        to_play.send(end).is_ok()
    }
}

/// What the playback thread owns.
pub(super) struct Player {
    output: Box<dyn AudioOutput>,
    from_tts: Receiver<PlayCmd>,
    to_brain: SyncSender<BrainMsg>,
    activity: Activity,
}

impl Player {
    /// The thread's state.
    pub fn new(
        output: Box<dyn AudioOutput>,
        from_tts: Receiver<PlayCmd>,
        to_brain: SyncSender<BrainMsg>,
        activity: Activity,
    ) -> Self {
        Self {
            output,
            from_tts,
            to_brain,
            activity,
        }
    }

    /// Runs until the synthesis thread hangs up and playback is done.
    pub fn run(self) {
        let Player {
            output,
            from_tts,
            to_brain,
            activity,
        } = self;
        playback_loop(output, from_tts, to_brain, activity);
    }
}

fn playback_loop(
    mut output: Box<dyn AudioOutput>,
    from_tts: Receiver<PlayCmd>,
    to_brain: SyncSender<BrainMsg>,
    activity: Activity,
) {
    let mut awaiting: Vec<u64> = Vec::new();
    let mut played_gen = activity.generation();
    let mut trouble: Option<String> = None;
    loop {
        follow_generation(&mut played_gen, &activity, output.as_mut());
        report_trouble(&mut trouble, output.as_mut(), &to_brain);
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
                        // A lost speaker is reported once, not for every sentence it drops.
                        if trouble.is_none() {
                            tracing::error!("playback failed on {}: {e}", output.describe());
                        }
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

/// Tells the brain when the speaker is lost (once) and when it plays again.
fn report_trouble(
    known: &mut Option<String>,
    output: &mut dyn AudioOutput,
    to_brain: &SyncSender<BrainMsg>,
) {
    let now = output.trouble();
    if now.is_some() == known.is_some() {
        return;
    }
    let msg = match &now {
        Some(why) => BrainMsg::OutputTrouble(why.clone()),
        None => BrainMsg::OutputRecovered(output.describe()),
    };
    // The brain's queue is bounded; a report that does not fit is tried again next poll.
    if to_brain.try_send(msg).is_ok() {
        *known = now;
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
