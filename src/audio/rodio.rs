//! The speaker through rodio, which resamples to the device's rate itself.
//!
//! rodio's output stream may not move between threads, so it lives on its own thread
//! ("attune-speaker") for the life of the stream; the `Sink` it feeds is shared and can be
//! stopped from the playback thread at once (barge-in).
//!
//! The device stream is attune's own (rodio's `Sink` feeds it): rodio's stream would print
//! its error to stderr on every callback of a vanished device (thousands of lines a second).
//! Here the error only raises a flag, and the output reports the loss once. A device that
//! stops taking audio without an error is caught too: queued audio whose play position has not
//! moved for [`STALL`]. What was queued is then dropped (the conversation goes on rather than
//! waiting for a reply nobody can hear), and the stream is reopened every [`RETRY`] until the
//! device is back.

use super::{AudioError, AudioOutput, Pcm};
use rodio::buffer::SamplesBuffer;
use rodio::cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use rodio::cpal::{self, FromSample, SampleFormat, SizedSample};
use rodio::source::UniformSourceIterator;
use rodio::{Sink, Source};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::time::{Duration, Instant};

/// Queued audio whose play position has not moved for this long: the device is gone.
const STALL: Duration = Duration::from_secs(2);
/// How often a lost speaker is reopened.
const RETRY: Duration = Duration::from_secs(2);

/// An open stream: its sink, its error flag, and the thread holding the stream.
struct Stream {
    sink: Arc<Sink>,
    /// Raised by the device's error callback.
    failed: Arc<AtomicBool>,
    /// Dropping this ends the speaker thread and closes the stream.
    _keep: SyncSender<()>,
}

/// Where playback was last seen, to notice a stalled device.
struct Progress {
    /// Sources still queued and the position in the current one.
    at: (usize, Duration),
    since: Instant,
}

/// A speaker, reopened when it vanishes.
pub struct RodioOutput {
    /// Part of the device's name; `None` for the default device.
    name: Option<String>,
    stream: Option<Stream>,
    progress: Progress,
    /// Why the speaker is lost, and when to try it again.
    lost: Option<(String, Instant)>,
}

impl RodioOutput {
    /// Opens the device whose name contains `name`, or the default output device.
    pub fn open(name: Option<String>) -> Result<Self, AudioError> {
        let label = name.clone().unwrap_or_else(|| "default".into());
        let stream = Stream::open(name.clone(), &label).map_err(|why| AudioError::Device {
            device: label.clone(),
            why,
        })?;
        tracing::info!("speaker open: {label}");
        Ok(Self {
            name,
            stream: Some(stream),
            progress: Progress {
                at: (0, Duration::ZERO),
                since: Instant::now(),
            },
            lost: None,
        })
    }

    /// The device as named in logs and errors.
    fn label(&self) -> &str {
        self.name.as_deref().unwrap_or("default")
    }

    /// The speaker stopped taking audio: drop the stream and what was queued.
    fn mark_lost(&mut self, why: String) {
        tracing::warn!("speaker {} lost: {why}; retrying", self.label());
        self.stream = None;
        self.lost = Some((why, Instant::now() + RETRY));
    }

    /// Reopens a lost speaker when its retry is due.
    fn reopen_if_due(&mut self) {
        if self
            .lost
            .as_ref()
            .is_none_or(|(_, due)| Instant::now() < *due)
        {
            return;
        }
        match Stream::open(self.name.clone(), self.label()) {
            Ok(stream) => {
                tracing::info!("speaker open: {} (again)", self.label());
                self.stream = Some(stream);
                self.lost = None;
            }
            Err(why) => self.lost = Some((why, Instant::now() + RETRY)),
        }
    }

    /// Whether queued audio is moving; marks the speaker lost when it has stalled.
    fn check_progress(&mut self) {
        let Some(stream) = &self.stream else {
            return;
        };
        if stream.failed.load(Ordering::Relaxed) {
            self.mark_lost("the device reported an error".into());
            return;
        }
        let at = (stream.sink.len(), stream.sink.get_pos());
        if stream.sink.empty() || at != self.progress.at {
            self.progress = Progress {
                at,
                since: Instant::now(),
            };
        } else if self.progress.since.elapsed() >= STALL {
            self.mark_lost(format!("it took no audio for {} s", STALL.as_secs_f32()));
        }
    }
}

impl Stream {
    /// Opens the stream on its own thread and waits for its sink.
    fn open(name: Option<String>, label: &str) -> Result<Self, String> {
        let (ready_tx, ready_rx) = sync_channel(1);
        let (keep_tx, keep_rx) = sync_channel::<()>(0);
        std::thread::Builder::new()
            .name("attune-speaker".into())
            .spawn(move || match open_stream(name.as_deref()) {
                Ok((stream, sink, failed)) => {
                    let _ = ready_tx.send(Ok((sink, failed)));
                    // Hold the stream until the output is dropped.
                    let _ = keep_rx.recv();
                    drop(stream);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .map_err(|e| e.to_string())?;
        let (sink, failed) = ready_rx
            .recv()
            .map_err(|_| format!("the thread opening {label} stopped"))??;
        Ok(Self {
            sink,
            failed,
            _keep: keep_tx,
        })
    }
}

/// The device's stream, fed from a new sink; the flag is raised when the device fails.
type Opened = (cpal::Stream, Arc<Sink>, Arc<AtomicBool>);

fn open_stream(name: Option<&str>) -> Result<Opened, String> {
    let host = cpal::default_host();
    let device = match name {
        None => host
            .default_output_device()
            .ok_or("there is no default output device")?,
        Some(n) => host
            .output_devices()
            .map_err(|e| e.to_string())?
            .find(|d| d.name().is_ok_and(|x| x.contains(n)))
            .ok_or_else(|| {
                format!("no output device named like {n:?} (see attune list-devices)")
            })?,
    };
    let supported = device.default_output_config().map_err(|e| e.to_string())?;
    let (sink, queue) = Sink::new_idle();
    // The queue plays silence while empty, so the stream runs from the start.
    let source = UniformSourceIterator::<_, f32>::new(
        queue,
        supported.channels(),
        supported.sample_rate().0,
    );
    let failed = Arc::new(AtomicBool::new(false));
    let config = supported.config();
    let stream = match supported.sample_format() {
        SampleFormat::F32 => build::<f32>(&device, &config, source, failed.clone()),
        SampleFormat::I16 => build::<i16>(&device, &config, source, failed.clone()),
        SampleFormat::I32 => build::<i32>(&device, &config, source, failed.clone()),
        SampleFormat::U16 => build::<u16>(&device, &config, source, failed.clone()),
        other => {
            return Err(format!(
                "the device wants {other} samples, which attune does not write"
            ));
        }
    }?;
    stream.play().map_err(|e| e.to_string())?;
    Ok((stream, Arc::new(sink), failed))
}

/// A stream of samples of type `T`; the callback only copies converted samples.
fn build<T: SizedSample + FromSample<f32>>(
    device: &cpal::Device,
    config: &cpal::StreamConfig,
    mut source: impl Source<Item = f32> + Send + 'static,
    failed: Arc<AtomicBool>,
) -> Result<cpal::Stream, String> {
    device
        .build_output_stream(
            config,
            move |data: &mut [T], _| {
                for out in data.iter_mut() {
                    *out = T::from_sample(source.next().unwrap_or(0.0));
                }
            },
            move |_| failed.store(true, Ordering::Relaxed),
            None,
        )
        .map_err(|e| e.to_string())
}

impl AudioOutput for RodioOutput {
    fn play(&mut self, pcm: &Pcm) -> Result<(), AudioError> {
        self.check_progress();
        self.reopen_if_due();
        let Some(stream) = &self.stream else {
            let why = self
                .lost
                .as_ref()
                .map_or_else(String::new, |(w, _)| w.clone());
            return Err(AudioError::Device {
                device: self.label().to_string(),
                why: format!("lost ({why}); audio dropped"),
            });
        };
        if stream.sink.empty() {
            self.progress.since = Instant::now();
        }
        stream
            .sink
            .append(SamplesBuffer::new(1, pcm.sample_rate, pcm.samples.clone()));
        stream.sink.play();
        Ok(())
    }

    fn stop(&mut self) -> Result<(), AudioError> {
        if let Some(stream) = &self.stream {
            stream.sink.clear();
        }
        Ok(())
    }

    fn is_playing(&mut self) -> bool {
        self.check_progress();
        self.stream.as_ref().is_some_and(|s| !s.sink.empty())
    }

    fn finish(&mut self) -> Result<(), AudioError> {
        while self.is_playing() {
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    fn trouble(&mut self) -> Option<String> {
        self.check_progress();
        self.reopen_if_due();
        self.lost.as_ref().map(|(why, _)| why.clone())
    }

    fn describe(&self) -> String {
        format!("device:{}", self.label())
    }
}
