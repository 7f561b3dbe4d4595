//! Sound devices through cpal (ALSA on Linux): listing, and microphone capture.

use super::AudioError;
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
            .map(|cs| {
                cs.map(|c| describe(c.min_sample_rate().0, c.max_sample_rate().0, c.channels()))
                    .collect()
            })
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
            .map(|cs| {
                cs.map(|c| describe(c.min_sample_rate().0, c.max_sample_rate().0, c.channels()))
                    .collect()
            })
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

fn describe(min: u32, max: u32, channels: u16) -> String {
    if min == max {
        format!("{min} Hz x{channels}")
    } else {
        format!("{min}-{max} Hz x{channels}")
    }
}
