//! Audio in and out: the frame and clip types, the device-independent traits, and their
//! implementations (WAV files, null; devices in their own files).
//!
//! Everything inside the pipeline is 16 kHz mono `f32`; adapters convert at the edges.

mod aec3;
mod clock;
mod cpal;
mod denoise;
mod echo;
mod null;
mod resample;
mod rodio;
pub mod room;
mod spec;
mod timeline;
mod wav;

pub use self::aec3::Aec3;
pub use self::cpal::{CpalInput, DeviceInfo, DeviceState, list_devices};
pub use self::rodio::RodioOutput;
pub use clock::Clock;
pub use denoise::NoiseSuppressor;
pub use echo::{
    ECHO_BLOCK, EchoCancelledInput, EchoCanceller, EchoFilter, EchoReference, EchoTap,
    MakeCanceller,
};
pub use null::{NullInput, NullOutput};
pub use resample::{FrameResampler, resample};
pub use spec::AudioSpec;
pub use wav::{WavInput, WavOutput, read_wav_mono, write_wav_mono};

use std::path::PathBuf;
use thiserror::Error;

/// The pipeline's sample rate.
pub const SAMPLE_RATE: u32 = 16_000;
/// Samples per frame: 32 ms at 16 kHz, the frame Silero VAD takes.
pub const FRAME_SAMPLES: usize = 512;

/// A sample in -1..=1 as 16-bit PCM (clipped), as WAV files and compact caches store it.
pub fn to_i16(sample: f32) -> i16 {
    (sample.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16
}

/// A 16-bit PCM sample back in -1..=1 (the inverse of [`to_i16`]).
pub fn from_i16(sample: i16) -> f32 {
    f32::from(sample) / f32::from(i16::MAX)
}

/// Mono audio at a stated rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Pcm {
    /// Samples in -1..=1.
    pub samples: Vec<f32>,
    /// Samples per second.
    pub sample_rate: u32,
}

impl Pcm {
    /// Length in seconds.
    pub fn seconds(&self) -> f64 {
        if self.sample_rate == 0 {
            return 0.0;
        }
        self.samples.len() as f64 / f64::from(self.sample_rate)
    }
}

/// Errors of audio inputs and outputs; each names the file or device.
#[derive(Debug, Error)]
pub enum AudioError {
    /// A WAV file could not be read.
    #[error("cannot read WAV file {path}: {source}")]
    ReadWav {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: hound::Error,
    },
    /// A folder of recordings could not be listed.
    #[error("cannot list the recordings in {path}: {source}")]
    ReadDir {
        /// The folder.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A WAV file could not be written.
    #[error("cannot write WAV file {path}: {source}")]
    WriteWav {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: hound::Error,
    },
    /// A WAV file has a layout attune cannot use.
    #[error("unsupported WAV file {path}: {why}")]
    UnsupportedWav {
        /// The file.
        path: PathBuf,
        /// Why it is unsupported.
        why: String,
    },
    /// Resampling failed.
    #[error("cannot resample audio from {from} Hz to {to} Hz: {why}")]
    Resample {
        /// Source rate.
        from: u32,
        /// Target rate.
        to: u32,
        /// What went wrong.
        why: String,
    },
    /// A sound device failed or vanished.
    #[error("audio device {device}: {why}")]
    Device {
        /// The device name.
        device: String,
        /// What went wrong.
        why: String,
    },
    /// An input or output specification could not be parsed.
    #[error("bad audio spec {spec:?}: expected default, device:NAME, wav:PATH or null")]
    BadSpec {
        /// The text given.
        spec: String,
    },
}

/// A source of 16 kHz mono audio, read frame by frame on the capture thread.
pub trait AudioInput: Send {
    /// The next [`FRAME_SAMPLES`] samples, `Ok(None)` once the input has ended for good.
    /// Live devices block until a frame is available; on a lost device they report an error
    /// and the caller retries.
    fn read_frame(&mut self) -> Result<Option<Vec<f32>>, AudioError>;
    /// Name for logs and the status topic.
    fn describe(&self) -> String;
}

/// A sink for the kiosk's voice, driven by the playback thread.
pub trait AudioOutput: Send {
    /// Queues audio to be played after anything already queued.
    fn play(&mut self, pcm: &Pcm) -> Result<(), AudioError>;
    /// Stops at once and drops everything queued (barge-in).
    fn stop(&mut self) -> Result<(), AudioError>;
    /// Whether queued audio is still playing.
    fn is_playing(&mut self) -> bool;
    /// Plays out or flushes what is queued and releases files or devices.
    fn finish(&mut self) -> Result<(), AudioError>;
    /// Why the device is not playing (lost, being reopened), or `None` while it works.
    /// Polled by the playback thread, which may use the call to retry the device.
    fn trouble(&mut self) -> Option<String> {
        None
    }
    /// Name for logs and the status topic.
    fn describe(&self) -> String;
}

/// The `[audio]` section.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct AudioConfig {
    /// Microphone: `default`, `device:NAME`, `wav:PATH` or `null` (overridden by `--input`).
    pub input: String,
    /// Speaker: `default`, `device:NAME`, `wav:PATH` or `null` (overridden by `--output`).
    pub output: String,
    /// The hardware cancels the kiosk's own voice from the microphone, so the microphone
    /// need not be gated while the kiosk speaks.
    pub echo_cancellation: bool,
    /// attune removes its own voice from the microphone (WebRTC AEC3, using the audio it
    /// plays as the reference) when both ends are sound devices.
    pub cancel_echo: bool,
    /// Captured audio buffered between the device and the detector, in milliseconds.
    pub capture_buffer_ms: u32,
    /// Longest wait between attempts to reopen a lost device, in seconds.
    pub device_retry_max_s: u32,
}

impl Default for AudioConfig {
    fn default() -> Self {
        Self {
            input: "default".into(),
            output: "default".into(),
            echo_cancellation: false,
            cancel_echo: true,
            capture_buffer_ms: 2_000,
            device_retry_max_s: 30,
        }
    }
}

impl AudioConfig {
    /// Lists every bad value, each with its key.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (key, spec) in [("input", &self.input), ("output", &self.output)] {
            if let Err(e) = spec.parse::<AudioSpec>() {
                out.push(format!("audio.{key}: {e}"));
            }
        }
        if !(200..=10_000).contains(&self.capture_buffer_ms) {
            out.push(format!(
                "audio.capture_buffer_ms = {} is out of range 200..=10000",
                self.capture_buffer_ms
            ));
        }
        if !(1..=600).contains(&self.device_retry_max_s) {
            out.push(format!(
                "audio.device_retry_max_s = {} is out of range 1..=600",
                self.device_retry_max_s
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_survive_16_bit_and_clip() {
        for s in [-1.0, -0.5, 0.0, 0.25, 1.0] {
            assert!((from_i16(to_i16(s)) - s).abs() < 1e-4, "{s}");
        }
        assert_eq!(to_i16(1.7), i16::MAX);
        assert_eq!(to_i16(-1.7), -i16::MAX);
    }
}
