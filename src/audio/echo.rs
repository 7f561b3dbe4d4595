//! Acoustic echo cancellation: the kiosk removes its own voice from the microphone.
//!
//! The playback side copies what it plays into an [`EchoReference`]; the capture side takes
//! the reference in step with the microphone, one sample per captured sample, so the two stay
//! a fixed distance apart (the output and input devices' latency), which the canceller's own
//! delay estimator finds. Everything is 16 kHz mono.

use super::{AudioError, AudioInput, AudioOutput, FRAME_SAMPLES, Pcm, SAMPLE_RATE, resample};
use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

/// Samples per block the cancellers work on: 10 ms at 16 kHz.
pub const ECHO_BLOCK: usize = 160;

/// A frame the canceller made this much quieter held only the kiosk's own voice: it is passed
/// on as silence, so the residue cannot sound like a customer to the voice detector. A voice
/// over the echo keeps a frame within a few dB of its input (`attune eval room`: gates of 6,
/// 8, 10, 12, 16 dB gave 4, 4, 2, 2, 4 turns set off by 30 replies; 10 chosen).
pub const ECHO_ONLY_DB: f32 = 10.0;

/// Longest reference kept (queued replies not yet played), in seconds: beyond it the oldest
/// is dropped, so a stalled capture cannot grow memory.
const MAX_REFERENCE_S: usize = 60;

/// Removes the far end (what the kiosk played) from the near end (the microphone). Not `Send`
/// (AEC3's internals are not): a canceller lives on the thread that made it.
pub trait EchoCanceller {
    /// One block: `far` and `near` have [`ECHO_BLOCK`] samples; writes the cleaned block.
    fn cancel(&mut self, far: &[f32], near: &[f32], out: &mut [f32]) -> Result<(), AudioError>;
    /// Name for logs.
    fn name(&self) -> &'static str;
}

/// What the kiosk is playing, shared between the playback and capture sides.
#[derive(Debug, Clone, Default)]
pub struct EchoReference {
    queue: Arc<Mutex<VecDeque<f32>>>,
}

impl EchoReference {
    /// Appends audio as it is queued for the speaker (16 kHz mono).
    pub fn push(&self, samples: &[f32]) {
        if let Ok(mut q) = self.queue.lock() {
            q.extend(samples);
            let max = MAX_REFERENCE_S * SAMPLE_RATE as usize;
            if q.len() > max {
                let extra = q.len() - max;
                q.drain(..extra);
            }
        }
    }

    /// Drops what has not been played yet (barge-in stops the speaker).
    pub fn clear(&self) {
        if let Ok(mut q) = self.queue.lock() {
            q.clear();
        }
    }

    /// The next `out.len()` samples played; silence where nothing was.
    fn take(&self, out: &mut [f32]) {
        out.fill(0.0);
        if let Ok(mut q) = self.queue.lock() {
            let n = out.len().min(q.len());
            for (o, s) in out.iter_mut().zip(q.drain(..n)) {
                *o = s;
            }
        }
    }
}

/// Cancels echo frame by frame: pipeline frames of [`FRAME_SAMPLES`] in, the same out, one
/// block ([`ECHO_BLOCK`], 10 ms) later.
pub struct EchoFilter {
    canceller: Box<dyn EchoCanceller>,
    reference: EchoReference,
    near: Vec<f32>,
    out: VecDeque<f32>,
    removed_db: f32,
}

impl EchoFilter {
    /// A filter reading the far end from `reference`.
    pub fn new(canceller: Box<dyn EchoCanceller>, reference: EchoReference) -> Self {
        Self {
            canceller,
            reference,
            near: Vec::with_capacity(2 * FRAME_SAMPLES),
            // One block of delay, so every frame can be filled whatever the block phase.
            out: std::iter::repeat_n(0.0, ECHO_BLOCK).collect(),
            removed_db: 0.0,
        }
    }

    /// How much quieter the last frame came out than it went in, in dB: near 0 when the
    /// microphone held no echo or a voice over it, the canceller's echo return loss
    /// enhancement (15-25 dB) when it held only the kiosk's own voice.
    pub fn removed_db(&self) -> f32 {
        self.removed_db
    }

    /// Removes the kiosk's voice from one microphone frame, in place.
    pub fn process(&mut self, frame: &mut [f32]) -> Result<(), AudioError> {
        self.near.extend_from_slice(frame);
        let mut far = [0.0; ECHO_BLOCK];
        let mut clean = [0.0; ECHO_BLOCK];
        let mut start = 0;
        while self.near.len() - start >= ECHO_BLOCK {
            self.reference.take(&mut far);
            let block = &self.near[start..start + ECHO_BLOCK];
            self.canceller.cancel(&far, block, &mut clean)?;
            self.out.extend(clean);
            start += ECHO_BLOCK;
        }
        self.near.drain(..start);
        let power = |x: &[f32]| x.iter().map(|v| v * v).sum::<f32>() + 1e-12;
        let before = power(frame);
        for v in frame.iter_mut() {
            *v = self.out.pop_front().unwrap_or(0.0);
        }
        self.removed_db = 10.0 * (before / power(frame)).log10();
        if self.removed_db > ECHO_ONLY_DB {
            frame.fill(0.0);
        }
        Ok(())
    }
}

/// Makes a canceller on the thread that will use it.
pub type MakeCanceller = fn() -> Box<dyn EchoCanceller>;

/// A microphone with the kiosk's own voice removed. The canceller runs on its own thread
/// ("attune-echo"), one frame in and one out over bounded channels.
pub struct EchoCancelledInput {
    inner: Box<dyn AudioInput>,
    to_echo: SyncSender<Vec<f32>>,
    from_echo: Receiver<Result<Vec<f32>, AudioError>>,
}

impl EchoCancelledInput {
    /// Wraps `inner`; the far end comes from `reference`.
    pub fn start(
        inner: Box<dyn AudioInput>,
        make: MakeCanceller,
        reference: EchoReference,
    ) -> Result<Self, AudioError> {
        let (to_echo, frames) = sync_channel::<Vec<f32>>(1);
        let (cleaned, from_echo) = sync_channel(1);
        std::thread::Builder::new()
            .name("attune-echo".into())
            .spawn(move || {
                let mut filter = EchoFilter::new(make(), reference);
                while let Ok(mut frame) = frames.recv() {
                    let result = filter.process(&mut frame).map(|()| frame);
                    if cleaned.send(result).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| AudioError::Device {
                device: "echo canceller".into(),
                why: e.to_string(),
            })?;
        Ok(Self {
            inner,
            to_echo,
            from_echo,
        })
    }
}

impl AudioInput for EchoCancelledInput {
    fn read_frame(&mut self) -> Result<Option<Vec<f32>>, AudioError> {
        let Some(frame) = self.inner.read_frame()? else {
            return Ok(None);
        };
        let gone = || AudioError::Device {
            device: "echo canceller".into(),
            why: "its thread has stopped".into(),
        };
        self.to_echo.send(frame).map_err(|_| gone())?;
        self.from_echo.recv().map_err(|_| gone())?.map(Some)
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// A speaker that also hands what it plays to the echo canceller.
pub struct EchoTap {
    inner: Box<dyn AudioOutput>,
    reference: EchoReference,
}

impl EchoTap {
    /// Wraps `inner`, copying its audio into `reference`.
    pub fn new(inner: Box<dyn AudioOutput>, reference: EchoReference) -> Self {
        Self { inner, reference }
    }
}

impl AudioOutput for EchoTap {
    fn play(&mut self, pcm: &Pcm) -> Result<(), AudioError> {
        // Only audio the speaker took is a reference: the canceller would otherwise treat a
        // lost speaker's dropped reply as echo and muffle the customer for its whole length.
        self.inner.play(pcm)?;
        self.reference
            .push(&resample(&pcm.samples, pcm.sample_rate, SAMPLE_RATE)?);
        Ok(())
    }

    fn stop(&mut self) -> Result<(), AudioError> {
        self.reference.clear();
        self.inner.stop()
    }

    fn is_playing(&mut self) -> bool {
        self.inner.is_playing()
    }

    fn finish(&mut self) -> Result<(), AudioError> {
        self.inner.finish()
    }

    fn trouble(&mut self) -> Option<String> {
        let trouble = self.inner.trouble();
        if trouble.is_some() {
            // What was queued when the speaker was lost will never be played.
            self.reference.clear();
        }
        trouble
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Subtracts the far end one-to-one: enough to check the framing and alignment.
    struct Subtract;

    impl EchoCanceller for Subtract {
        fn cancel(&mut self, far: &[f32], near: &[f32], out: &mut [f32]) -> Result<(), AudioError> {
            for ((o, n), f) in out.iter_mut().zip(near).zip(far) {
                *o = n - f;
            }
            Ok(())
        }
        fn name(&self) -> &'static str {
            "subtract"
        }
    }

    #[test]
    fn frames_keep_their_length_and_the_reference_is_taken_in_step() {
        let reference = EchoReference::default();
        let mut filter = EchoFilter::new(Box::new(Subtract), reference.clone());
        let played: Vec<f32> = (0..3 * FRAME_SAMPLES)
            .map(|i| (i as f32 * 0.01).sin())
            .collect();
        reference.push(&played);
        let mut out = Vec::new();
        for chunk in played.chunks(FRAME_SAMPLES) {
            let mut frame = chunk.to_vec();
            filter.process(&mut frame).expect("process");
            assert_eq!(frame.len(), FRAME_SAMPLES);
            out.extend(frame);
        }
        // One block late, and the echo (here the exact reference) is gone.
        assert!(out[ECHO_BLOCK..].iter().all(|v| v.abs() < 1e-6));
    }

    #[test]
    fn barge_in_drops_the_unplayed_reference() {
        let reference = EchoReference::default();
        reference.push(&[0.5; 1000]);
        reference.clear();
        let mut far = [1.0; ECHO_BLOCK];
        reference.take(&mut far);
        assert!(far.iter().all(|v| *v == 0.0));
    }
}
