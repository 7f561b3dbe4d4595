//! The null output: plays nothing, but takes as long as the audio would.

use super::timeline::Timeline;
use super::{AudioError, AudioOutput, Clock, Pcm};

/// Discards the kiosk's voice while keeping its timing (for `--output null`).
#[derive(Debug)]
pub struct NullOutput(Timeline);

impl NullOutput {
    /// A null output whose playback takes real time on `clock`.
    pub fn new(clock: Clock) -> Self {
        Self(Timeline::new(clock, false))
    }
}

impl AudioOutput for NullOutput {
    fn play(&mut self, pcm: &Pcm) -> Result<(), AudioError> {
        self.0.play(pcm)
    }

    fn stop(&mut self) -> Result<(), AudioError> {
        self.0.stop();
        Ok(())
    }

    fn is_playing(&mut self) -> bool {
        self.0.is_playing()
    }

    fn finish(&mut self) -> Result<(), AudioError> {
        self.0.finish();
        Ok(())
    }

    fn describe(&self) -> String {
        "null".into()
    }
}

/// Silence at the speed of real time, for `--input null`: the kiosk runs without a microphone
/// until it is stopped.
#[derive(Debug)]
pub struct NullInput {
    started: Option<std::time::Instant>,
    frames: u64,
}

impl NullInput {
    /// A silent input.
    pub fn new() -> Self {
        Self {
            started: None,
            frames: 0,
        }
    }
}

impl Default for NullInput {
    fn default() -> Self {
        Self::new()
    }
}

impl super::AudioInput for NullInput {
    fn read_frame(&mut self) -> Result<Option<Vec<f32>>, AudioError> {
        let started = *self.started.get_or_insert_with(std::time::Instant::now);
        let due = std::time::Duration::from_secs_f64(
            self.frames as f64 * super::FRAME_SAMPLES as f64 / f64::from(super::SAMPLE_RATE),
        );
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
        self.frames += 1;
        Ok(Some(vec![0.0; super::FRAME_SAMPLES]))
    }

    fn describe(&self) -> String {
        "null".into()
    }
}
