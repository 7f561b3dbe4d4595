//! The messages between the daemon's threads, in the order a turn passes through them:
//! listen → understand ([`Utterance`]), understand → brain ([`BrainMsg::Understood`]), brain →
//! synthesis ([`SayCmd`]), synthesis → playback ([`PlayCmd`]), and back to the brain.

use super::activity::TurnGuard;
use crate::conversation::Say;
use crate::latency::{TurnLatency, clamp_ms};
use std::time::Instant;

/// What the listening thread hands to the understanding thread.
#[derive(Debug)]
pub(super) enum Utterance {
    /// Speech so far, at the start of a pause that may or may not end the turn.
    Early {
        /// The audio.
        audio: Vec<f32>,
        /// Its number in [`crate::stt::Offers`]: stale once the listener moves the count on.
        offer: u64,
    },
    /// A finished turn.
    Final {
        /// The audio.
        audio: Vec<f32>,
        /// Keeps the turn counted as in flight.
        guard: TurnGuard,
        /// When the hangover ran out.
        ended_at: Instant,
    },
}

/// One utterance, understood as far as the engines go.
#[derive(Debug)]
pub(super) struct Understood {
    /// The transcript.
    pub text: String,
    /// p(high arousal) from the voice, when the classifier ran.
    pub acoustic: Option<f32>,
    /// Length of the utterance.
    pub seconds: f32,
    /// Speech-to-text time.
    pub stt_ms: u128,
    /// Time from the end of the hangover until the transcript was ready.
    pub stt_wait_ms: u128,
    /// The early transcript was used.
    pub stt_early: bool,
    /// Acoustic stress time.
    pub stress_ms: u128,
    /// When the hangover ran out.
    pub ended_at: Instant,
    /// Keeps the turn counted as in flight.
    pub guard: TurnGuard,
}

/// Messages to the brain thread.
#[derive(Debug)]
pub(super) enum BrainMsg {
    /// The voice detector heard speech begin.
    SpeechStarted,
    /// Speech ended; the utterance is being understood.
    SpeechEnded,
    /// The utterance was too short or not speech.
    Discarded,
    /// A finished turn, understood.
    Understood(Box<Understood>),
    /// Everything queued has been played.
    PlaybackFinished,
    /// A reply's first audio went out: the turn's latency breakdown is complete.
    FirstAudio(TurnLatency),
    /// The input failed (the device vanished); it is being retried.
    InputTrouble(String),
    /// Frames flow again from the named input.
    InputRecovered(String),
    /// The input has ended for good (a recording ran out).
    InputEnded,
    /// The speaker stopped playing (the device vanished); it is being retried.
    OutputTrouble(String),
    /// The named speaker plays again.
    OutputRecovered(String),
}

/// A reply for the synthesis thread.
pub(super) struct SayCmd {
    /// What to say, and how.
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
    pub fn heard(mut self) -> TurnLatency {
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
        /// The audio.
        pcm: crate::audio::Pcm,
        /// The reply's generation.
        generation: u64,
        /// The reply's first sentence.
        first_of_reply: bool,
        /// When synthesis of the reply began.
        said_at: Instant,
        /// The turn's timing, with its first sentence.
        timing: Option<TurnTiming>,
    },
    /// The reply of `generation` has no more sentences.
    EndOfReply {
        /// The reply's generation.
        generation: u64,
        /// Released once playback has the whole reply.
        guard: Option<TurnGuard>,
    },
}
