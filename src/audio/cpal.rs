//! Sound devices through cpal (ALSA on Linux): listing, and microphone capture.

use super::AudioError;
use crate::backoff::Backoff;
use cpal::traits::{DeviceTrait, HostTrait};

/// One device as `attune list-devices` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Name to use in `device:NAME`.
    pub name: String,
    /// Whether it captures (microphone) or plays (speaker).
    pub direction: &'static str,
    /// Whether it is the system default for its direction.
    pub is_default: bool,
    /// Supported sample-rate ranges and channel counts, e.g. "8000-192000 Hz x1..2".
    pub formats: Vec<String>,
}

/// Lists input and output devices with their supported rates.
pub fn list_devices() -> Result<Vec<DeviceInfo>, AudioError> {
    let host = cpal::default_host();
    let err = |why: String| AudioError::Device {
        device: host.id().name().to_string(),
        why,
    };
    let default_in = host.default_input_device().and_then(|d| d.name().ok());
    let default_out = host.default_output_device().and_then(|d| d.name().ok());
    let mut out = Vec::new();
    for dev in host.input_devices().map_err(|e| err(e.to_string()))? {
        let name = dev.name().unwrap_or_else(|_| "<unnamed>".into());
        let formats = dev
            .supported_input_configs()
            .map(|cs| summarise(cs.map(Format::from)))
            .unwrap_or_default();
        let is_default = default_in.as_deref() == Some(name.as_str());
        out.push(DeviceInfo {
            name,
            direction: "input",
            is_default,
            formats,
        });
    }
    for dev in host.output_devices().map_err(|e| err(e.to_string()))? {
        let name = dev.name().unwrap_or_else(|_| "<unnamed>".into());
        let formats = dev
            .supported_output_configs()
            .map(|cs| summarise(cs.map(Format::from)))
            .unwrap_or_default();
        let is_default = default_out.as_deref() == Some(name.as_str());
        out.push(DeviceInfo {
            name,
            direction: "output",
            is_default,
            formats,
        });
    }
    Ok(out)
}

/// One supported configuration of a device, as cpal reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Format {
    min_rate: u32,
    max_rate: u32,
    channels: u16,
    sample: &'static str,
}

impl From<cpal::SupportedStreamConfigRange> for Format {
    fn from(c: cpal::SupportedStreamConfigRange) -> Self {
        let sample = match c.sample_format() {
            cpal::SampleFormat::F32 => "f32",
            cpal::SampleFormat::I16 => "i16",
            cpal::SampleFormat::U16 => "u16",
            cpal::SampleFormat::I32 => "i32",
            cpal::SampleFormat::I8 => "i8",
            cpal::SampleFormat::U8 => "u8",
            _ => "other",
        };
        Self {
            min_rate: c.min_sample_rate().0,
            max_rate: c.max_sample_rate().0,
            channels: c.channels(),
            sample,
        }
    }
}

/// One line per rate range, with the channel counts and sample formats offered in it: a sound
/// server or ALSA plugin offers every combination (32 channel counts × several formats), which
/// listed one per line would bury the device names.
fn summarise(formats: impl Iterator<Item = Format>) -> Vec<String> {
    // (rate range, channel counts, sample formats)
    type Range = ((u32, u32), Vec<u16>, Vec<&'static str>);
    let mut ranges: Vec<Range> = Vec::new();
    for f in formats {
        let key = (f.min_rate, f.max_rate);
        let i = match ranges.iter().position(|(k, _, _)| *k == key) {
            Some(i) => i,
            None => {
                ranges.push((key, Vec::new(), Vec::new()));
                ranges.len() - 1
            }
        };
        let (_, channels, samples) = &mut ranges[i];
        if !channels.contains(&f.channels) {
            channels.push(f.channels);
        }
        if !samples.contains(&f.sample) {
            samples.push(f.sample);
        }
    }
    ranges
        .into_iter()
        .map(|((min, max), mut channels, samples)| {
            channels.sort_unstable();
            let rate = if min == max {
                format!("{min} Hz")
            } else {
                format!("{min}-{max} Hz")
            };
            format!("{rate} x{} {}", channel_list(&channels), samples.join("/"))
        })
        .collect()
}

/// "1", "1,2" or "1-32" (a contiguous run of three or more).
fn channel_list(sorted: &[u16]) -> String {
    match (sorted.first(), sorted.last()) {
        (Some(a), Some(b)) if sorted.len() >= 3 && usize::from(b - a) + 1 == sorted.len() => {
            format!("{a}-{b}")
        }
        _ => sorted
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(","),
    }
}

use super::{AudioInput, FRAME_SAMPLES, SAMPLE_RATE};
use cpal::{SampleFormat, SizedSample, Stream, StreamConfig};
use rubato::{FftFixedIn, Resampler};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Captured audio as the device delivered it (mono, device rate).
struct Chunk {
    rate: u32,
    samples: Vec<f32>,
}

/// What the capture thread reports about the device, for logs and the status topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceState {
    /// Not opened yet.
    Starting,
    /// Capturing at this rate.
    Capturing(u32),
    /// Lost or failed to open; being retried.
    Lost(String),
}

/// A microphone through cpal. The stream lives on its own thread ("attune-capture"), which
/// reopens it with backoff when the device vanishes; the callback only copies samples into a
/// bounded channel and counts what it had to drop.
pub struct CpalInput {
    name: String,
    rx: Receiver<Chunk>,
    state: Arc<Mutex<DeviceState>>,
    dropped: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    converter: Option<(u32, FftFixedIn<f32>)>,
    input: Vec<f32>,
    output: Vec<f32>,
}

impl CpalInput {
    /// Starts capturing from the device whose name contains `name` (the default device when
    /// `None`), buffering about `buffer_ms` of audio and retrying a lost device up to every
    /// `retry_max`.
    pub fn open(
        name: Option<String>,
        buffer_ms: u32,
        retry_max: Duration,
    ) -> Result<Self, AudioError> {
        let label = name.clone().unwrap_or_else(|| "default".into());
        // ~10 ms callbacks: buffer_ms of audio is buffer_ms / 10 chunks.
        let (tx, rx) = sync_channel((buffer_ms / 10).max(8) as usize);
        let state = Arc::new(Mutex::new(DeviceState::Starting));
        let dropped = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let ctx = CaptureThread {
            name,
            tx,
            state: state.clone(),
            dropped: dropped.clone(),
            stop: stop.clone(),
            retry_max,
        };
        std::thread::Builder::new()
            .name("attune-capture".into())
            .spawn(move || ctx.run())
            .map_err(|e| AudioError::Device {
                device: label.clone(),
                why: e.to_string(),
            })?;
        Ok(Self {
            name: label,
            rx,
            state,
            dropped,
            stop,
            converter: None,
            input: Vec::new(),
            output: Vec::new(),
        })
    }

    /// The device's current state.
    pub fn state(&self) -> DeviceState {
        self.state
            .lock()
            .map(|s| s.clone())
            .unwrap_or(DeviceState::Starting)
    }

    /// Samples dropped because the pipeline did not keep up.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn convert(&mut self, chunk: Chunk) -> Result<(), AudioError> {
        if chunk.rate == SAMPLE_RATE {
            self.output.extend_from_slice(&chunk.samples);
            return Ok(());
        }
        let err = |why: String| AudioError::Resample {
            from: chunk.rate,
            to: SAMPLE_RATE,
            why,
        };
        if self
            .converter
            .as_ref()
            .is_none_or(|(r, _)| *r != chunk.rate)
        {
            let r = FftFixedIn::<f32>::new(chunk.rate as usize, SAMPLE_RATE as usize, 480, 1, 1)
                .map_err(|e| err(e.to_string()))?;
            self.converter = Some((chunk.rate, r));
            self.input.clear();
        }
        self.input.extend_from_slice(&chunk.samples);
        if let Some((_, r)) = self.converter.as_mut() {
            while self.input.len() >= r.input_frames_next() {
                let n = r.input_frames_next();
                let out = r
                    .process(&[&self.input[..n]], None)
                    .map_err(|e| err(e.to_string()))?;
                self.output.extend_from_slice(&out[0]);
                self.input.drain(..n);
            }
        }
        Ok(())
    }
}

impl Drop for CpalInput {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl AudioInput for CpalInput {
    fn read_frame(&mut self) -> Result<Option<Vec<f32>>, AudioError> {
        while self.output.len() < FRAME_SAMPLES {
            match self.rx.recv_timeout(Duration::from_secs(2)) {
                Ok(chunk) => self.convert(chunk)?,
                Err(RecvTimeoutError::Timeout) => {
                    let why = match self.state() {
                        DeviceState::Lost(why) => why,
                        _ => "no audio for 2 s".into(),
                    };
                    return Err(AudioError::Device {
                        device: self.name.clone(),
                        why,
                    });
                }
                Err(RecvTimeoutError::Disconnected) => return Ok(None),
            }
        }
        Ok(Some(self.output.drain(..FRAME_SAMPLES).collect()))
    }

    fn describe(&self) -> String {
        format!("device:{}", self.name)
    }
}

struct CaptureThread {
    name: Option<String>,
    tx: SyncSender<Chunk>,
    state: Arc<Mutex<DeviceState>>,
    dropped: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    retry_max: Duration,
}

impl CaptureThread {
    fn set(&self, s: DeviceState) {
        if let Ok(mut st) = self.state.lock() {
            *st = s;
        }
    }

    fn run(self) {
        let mut backoff = Backoff::new(Duration::from_millis(250), self.retry_max);
        while !self.stop.load(Ordering::Relaxed) {
            let failed = Arc::new(AtomicBool::new(false));
            match self.open_stream(failed.clone()) {
                Ok((stream, rate)) => {
                    tracing::info!(device = ?self.name, rate, "microphone open");
                    self.set(DeviceState::Capturing(rate));
                    backoff.reset();
                    while !failed.load(Ordering::Relaxed) && !self.stop.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    drop(stream);
                    if !self.stop.load(Ordering::Relaxed) {
                        tracing::error!(device = ?self.name, "microphone lost; reopening");
                        self.set(DeviceState::Lost("the device stopped".into()));
                    }
                }
                Err(e) => {
                    let wait = backoff.next_delay();
                    tracing::warn!(device = ?self.name, "cannot open microphone ({e}); retrying in {wait:?}");
                    self.set(DeviceState::Lost(e));
                    std::thread::sleep(wait);
                }
            }
        }
    }

    fn open_stream(&self, failed: Arc<AtomicBool>) -> Result<(Stream, u32), String> {
        use cpal::traits::StreamTrait;
        let host = cpal::default_host();
        let device = match &self.name {
            None => host
                .default_input_device()
                .ok_or("no default input device")?,
            Some(n) => host
                .input_devices()
                .map_err(|e| e.to_string())?
                .find(|d| d.name().is_ok_and(|x| x.contains(n.as_str())))
                .ok_or_else(|| {
                    format!("no input device named like {n:?} (see attune list-devices)")
                })?,
        };
        let supported = device.default_input_config().map_err(|e| e.to_string())?;
        let config: StreamConfig = supported.config();
        let stream = match supported.sample_format() {
            SampleFormat::F32 => self.build::<f32>(&device, &config, failed),
            SampleFormat::I16 => self.build::<i16>(&device, &config, failed),
            SampleFormat::U16 => self.build::<u16>(&device, &config, failed),
            other => Err(format!("unsupported sample format {other}")),
        }?;
        stream.play().map_err(|e| e.to_string())?;
        Ok((stream, config.sample_rate.0))
    }

    fn build<T>(
        &self,
        device: &cpal::Device,
        config: &StreamConfig,
        failed: Arc<AtomicBool>,
    ) -> Result<Stream, String>
    where
        T: SizedSample + Send + 'static,
        f32: cpal::FromSample<T>,
    {
        let channels = usize::from(config.channels.max(1));
        let rate = config.sample_rate.0;
        let tx = self.tx.clone();
        let dropped = self.dropped.clone();
        // The callback only mixes to mono and hands the copy over; it never blocks.
        let on_data = move |data: &[T], _: &cpal::InputCallbackInfo| {
            let samples: Vec<f32> = data
                .chunks(channels)
                .map(|f| {
                    f.iter()
                        .map(|&s| <f32 as cpal::FromSample<T>>::from_sample_(s))
                        .sum::<f32>()
                        / channels as f32
                })
                .collect();
            let n = samples.len() as u64;
            if let Err(TrySendError::Full(_)) = tx.try_send(Chunk { rate, samples }) {
                dropped.fetch_add(n, Ordering::Relaxed);
            }
        };
        // A dead stream reports its error on every poll (thousands a second) until it is
        // dropped: say it once.
        let on_error = move |e: cpal::StreamError| {
            if !failed.swap(true, Ordering::Relaxed) {
                tracing::error!("microphone stream error: {e}");
            }
        };
        device
            .build_input_stream(config, on_data, on_error, None)
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(min_rate: u32, max_rate: u32, channels: u16, sample: &'static str) -> Format {
        Format {
            min_rate,
            max_rate,
            channels,
            sample,
        }
    }

    #[test]
    fn a_plugin_offering_everything_is_one_line() {
        let all = (1..=32).flat_map(|c| ["f32", "i16"].map(|s| f(1, 384_000, c, s)));
        assert_eq!(summarise(all), vec!["1-384000 Hz x1-32 f32/i16"]);
    }

    #[test]
    fn a_usb_card_lists_its_rates_and_channels() {
        let card = [f(44_100, 48_000, 2, "i16"), f(16_000, 16_000, 1, "i16")];
        assert_eq!(
            summarise(card.into_iter()),
            vec!["44100-48000 Hz x2 i16", "16000 Hz x1 i16"]
        );
        assert_eq!(channel_list(&[1, 2]), "1,2");
    }
}
