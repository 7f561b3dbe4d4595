//! What an installer chooses: the Whisper model, its precision and the target architecture.

use serde::Deserialize;
use std::fmt;
use std::str::FromStr;

/// The Whisper model sizes attune can install.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
pub enum WhisperModel {
    /// tiny.en (39 M parameters, English only): the kiosk default.
    #[serde(rename = "tiny.en")]
    TinyEn,
    /// base (74 M, multilingual).
    #[serde(rename = "base")]
    Base,
    /// small (244 M, multilingual).
    #[serde(rename = "small")]
    Small,
}

impl WhisperModel {
    /// The name used in file names, the manifest and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            WhisperModel::TinyEn => "tiny.en",
            WhisperModel::Base => "base",
            WhisperModel::Small => "small",
        }
    }
}

impl fmt::Display for WhisperModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WhisperModel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "tiny.en" => Ok(WhisperModel::TinyEn),
            "base" => Ok(WhisperModel::Base),
            "small" => Ok(WhisperModel::Small),
            other => Err(format!(
                "unknown whisper model `{other}`; expected tiny.en, base or small"
            )),
        }
    }
}

/// CPU architectures with a prebuilt ONNX Runtime in the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    /// x86-64 (development machines, CI).
    X86_64,
    /// 64-bit ARM (Raspberry Pi 4/5 running 64-bit Raspberry Pi OS).
    Aarch64,
}

impl Arch {
    /// The architecture this binary was built for, if it is one the manifest covers.
    pub fn host() -> Option<Arch> {
        match std::env::consts::ARCH {
            "x86_64" => Some(Arch::X86_64),
            "aarch64" => Some(Arch::Aarch64),
            _ => None,
        }
    }

    /// The name used in the manifest and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Arch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "x86_64" | "amd64" => Ok(Arch::X86_64),
            "aarch64" | "arm64" => Ok(Arch::Aarch64),
            other => Err(format!(
                "unknown architecture `{other}`; expected x86_64 or aarch64"
            )),
        }
    }
}

/// Which files a site needs: one Whisper size and one architecture's runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    /// The Whisper model to install.
    pub whisper: WhisperModel,
    /// The architecture whose ONNX Runtime library to install.
    pub arch: Arch,
}

impl Selection {
    /// tiny.en for the architecture this binary runs on (x86_64 if it is neither).
    pub fn host_default() -> Selection {
        Selection {
            whisper: WhisperModel::TinyEn,
            arch: Arch::host().unwrap_or(Arch::X86_64),
        }
    }
}

/// Output precision of a converted Whisper model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub enum Quant {
    /// 16-bit float weights (as upstream's `ggml-<model>.bin`).
    #[serde(rename = "f16")]
    F16,
    /// 8-bit blocks of 32 with an f16 scale (as upstream's `ggml-<model>-q8_0.bin`).
    #[serde(rename = "q8_0")]
    Q8_0,
}

impl Quant {
    /// The name used in file names and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Quant::F16 => "f16",
            Quant::Q8_0 => "q8_0",
        }
    }
}

impl fmt::Display for Quant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Quant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "f16" => Ok(Quant::F16),
            "q8_0" => Ok(Quant::Q8_0),
            other => Err(format!(
                "unknown quantisation `{other}`; expected f16 or q8_0"
            )),
        }
    }
}
