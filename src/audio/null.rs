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
