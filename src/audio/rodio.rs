//! The speaker through rodio, which resamples to the device's rate itself.
//!
//! rodio's output stream may not move between threads, so it lives on its own thread
//! ("attune-speaker") for the life of the output; the `Sink` it feeds is shared and can be
//! stopped from the playback thread at once (barge-in).

use super::{AudioError, AudioOutput, Pcm};
use rodio::buffer::SamplesBuffer;
use rodio::cpal::traits::{DeviceTrait, HostTrait};
use rodio::{OutputStream, Sink};
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, sync_channel};

/// A speaker.
pub struct RodioOutput {
    name: String,
    sink: Arc<Sink>,
    /// Dropping this ends the speaker thread and closes the stream.
    _keep: SyncSender<()>,
}

impl RodioOutput {
    /// Opens the device whose name contains `name`, or the default output device.
    pub fn open(name: Option<String>) -> Result<Self, AudioError> {
        let label = name.clone().unwrap_or_else(|| "default".into());
        let (ready_tx, ready_rx) = sync_channel(1);
        let (keep_tx, keep_rx) = sync_channel::<()>(0);
        std::thread::Builder::new()
            .name("attune-speaker".into())
            .spawn(move || {
                match open_stream(name.as_deref()) {
                    Ok((stream, sink)) => {
                        let _ = ready_tx.send(Ok(sink));
                        // Hold the stream until the output is dropped.
                        let _ = keep_rx.recv();
                        drop(stream);
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            })
            .map_err(|e| AudioError::Device {
                device: label.clone(),
                why: e.to_string(),
            })?;
        let sink = ready_rx
            .recv()
            .map_err(|e| AudioError::Device {
                device: label.clone(),
                why: e.to_string(),
            })?
            .map_err(|why| AudioError::Device {
                device: label.clone(),
                why,
            })?;
        Ok(Self {
            name: label,
            sink,
            _keep: keep_tx,
        })
    }
}

fn open_stream(name: Option<&str>) -> Result<(OutputStream, Arc<Sink>), String> {
    let (stream, handle) = match name {
        None => OutputStream::try_default().map_err(|e| e.to_string())?,
        Some(n) => {
            let host = rodio::cpal::default_host();
            let device = host
                .output_devices()
                .map_err(|e| e.to_string())?
                .find(|d| d.name().is_ok_and(|x| x.contains(n)))
                .ok_or_else(|| {
                    format!("no output device named like {n:?} (see attune list-devices)")
                })?;
            OutputStream::try_from_device(&device).map_err(|e| e.to_string())?
        }
    };
    let sink = Sink::try_new(&handle).map_err(|e| e.to_string())?;
    Ok((stream, Arc::new(sink)))
}

impl AudioOutput for RodioOutput {
    fn play(&mut self, pcm: &Pcm) -> Result<(), AudioError> {
        self.sink
            .append(SamplesBuffer::new(1, pcm.sample_rate, pcm.samples.clone()));
        self.sink.play();
        Ok(())
    }

    fn stop(&mut self) -> Result<(), AudioError> {
        self.sink.clear();
        Ok(())
    }

    fn is_playing(&mut self) -> bool {
        !self.sink.empty()
    }

    fn finish(&mut self) -> Result<(), AudioError> {
        self.sink.sleep_until_end();
        Ok(())
    }

    fn describe(&self) -> String {
        format!("device:{}", self.name)
    }
}
