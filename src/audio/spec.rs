//! `--input` / `--output` specifications: `default`, `device:NAME`, `wav:PATH`, `null`.

use super::AudioError;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Where audio comes from or goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioSpec {
    /// The system's default device.
    Default,
    /// A sound device by (part of) its name.
    Device(String),
    /// A WAV file.
    Wav(PathBuf),
    /// Nothing: silence in, discard out.
    Null,
}

impl FromStr for AudioSpec {
    type Err = AudioError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || AudioError::BadSpec {
            spec: s.to_string(),
        };
        match s.split_once(':') {
            None if s == "default" => Ok(Self::Default),
            None if s == "null" => Ok(Self::Null),
            Some(("device", name)) if !name.is_empty() => Ok(Self::Device(name.to_string())),
            Some(("wav", path)) if !path.is_empty() => Ok(Self::Wav(PathBuf::from(path))),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for AudioSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => write!(f, "default"),
            Self::Device(n) => write!(f, "device:{n}"),
            Self::Wav(p) => write!(f, "wav:{}", p.display()),
            Self::Null => write!(f, "null"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form_and_rejects_the_rest() {
        assert_eq!(
            "default".parse::<AudioSpec>().ok(),
            Some(AudioSpec::Default)
        );
        assert_eq!("null".parse::<AudioSpec>().ok(), Some(AudioSpec::Null));
        assert_eq!(
            "device:USB Mic".parse::<AudioSpec>().ok(),
            Some(AudioSpec::Device("USB Mic".into()))
        );
        assert_eq!(
            "wav:/tmp/a:b.wav".parse::<AudioSpec>().ok(),
            Some(AudioSpec::Wav("/tmp/a:b.wav".into()))
        );
        for bad in ["", "wav:", "device:", "file:x", "mic"] {
            assert!(bad.parse::<AudioSpec>().is_err(), "{bad:?} accepted");
        }
    }
}
