//! Deterministic noise mixing for training-data augmentation.
//!
//! The noise file and the segment offset come from a SplitMix64 hash of (seed, row,
//! variant), so a run is reproducible without a random-number crate and independent of
//! processing order.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::audio::{AudioError, Pcm, read_wav_mono, resample};

/// One noise recording, mono.
#[derive(Debug, Clone)]
pub struct Noise {
    /// File stem, e.g. `cafe`.
    pub name: String,
    /// The audio at its own rate.
    pub audio: Pcm,
}

/// All noises of a directory, with copies resampled to each speech rate on demand.
#[derive(Debug, Default)]
pub struct NoiseBank {
    noises: Vec<Noise>,
    resampled: HashMap<(usize, u32), Vec<f32>>,
}

/// What was mixed into an utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct MixInfo {
    /// Noise file stem.
    pub noise: String,
    /// Start of the noise segment in samples at the speech rate.
    pub offset: usize,
}

/// SplitMix64 (Steele et al. 2014): a tiny, well-mixed deterministic hash.
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform draw in `lo..hi` from 24 bits of `h` starting at bit `shift`.
pub fn uniform(h: u64, shift: u32, lo: f32, hi: f32) -> f32 {
    let unit = ((h >> shift) & 0xFF_FFFF) as f32 / 16_777_216.0;
    lo + unit * (hi - lo)
}

fn mean_power(x: &[f32]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / x.len() as f64
}

/// Adds `noise` (same length or longer) to `speech` scaled so that the ratio of the
/// speech's mean power (whole utterance) to the noise's is `snr_db`.
pub fn mix_at_snr(speech: &[f32], noise: &[f32], snr_db: f32) -> Vec<f32> {
    let ps = mean_power(speech);
    let pn = mean_power(&noise[..speech.len().min(noise.len())]);
    let gain = if pn > 0.0 {
        (ps / (pn * 10f64.powf(f64::from(snr_db) / 10.0))).sqrt() as f32
    } else {
        0.0
    };
    speech
        .iter()
        .zip(noise.iter().chain(std::iter::repeat(&0.0)))
        .map(|(&s, &n)| s + gain * n)
        .collect()
}

impl NoiseBank {
    /// Loads every `*.wav` in `dir`, sorted by file name for a stable order.
    pub fn load(dir: &Path) -> Result<Self, AudioError> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|source| AudioError::ReadDir {
                path: dir.to_path_buf(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("wav")))
            .collect();
        paths.sort();
        let noises = paths
            .iter()
            .map(|p| {
                Ok(Noise {
                    name: p
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    audio: read_wav_mono(p)?,
                })
            })
            .collect::<Result<Vec<_>, AudioError>>()?;
        Ok(Self {
            noises,
            resampled: HashMap::new(),
        })
    }

    /// Number of noises loaded.
    pub fn len(&self) -> usize {
        self.noises.len()
    }

    /// Whether no noise was found.
    pub fn is_empty(&self) -> bool {
        self.noises.is_empty()
    }

    /// Mixes a noise segment chosen from (seed, row, variant) into `speech` at `snr_db`.
    /// Returns `Ok(None)` when the bank is empty.
    pub fn mix(
        &mut self,
        speech: &[f32],
        rate: u32,
        snr_db: f32,
        key: (u64, u64, u64),
    ) -> Result<Option<(Vec<f32>, MixInfo)>, AudioError> {
        Ok(self
            .segment(speech.len(), rate, key)?
            .map(|(segment, info)| (mix_at_snr(speech, &segment, snr_db), info)))
    }

    /// `len` samples of noise at `rate`, the file and offset chosen from (seed, row,
    /// variant), at the file's own level. `Ok(None)` when the bank is empty.
    pub fn segment(
        &mut self,
        len: usize,
        rate: u32,
        key: (u64, u64, u64),
    ) -> Result<Option<(Vec<f32>, MixInfo)>, AudioError> {
        if self.noises.is_empty() {
            return Ok(None);
        }
        let (seed, row, variant) = key;
        let h = splitmix64(splitmix64(splitmix64(seed) ^ row) ^ variant);
        let which = (h % self.noises.len() as u64) as usize;
        let noise = self.at_rate(which, rate)?;
        let offset = if noise.len() > len {
            ((h >> 32) % (noise.len() - len) as u64) as usize
        } else {
            0
        };
        let segment: Vec<f32> = noise
            .iter()
            .cycle()
            .skip(offset)
            .take(len)
            .copied()
            .collect();
        let info = MixInfo {
            noise: self.noises[which].name.clone(),
            offset,
        };
        Ok(Some((segment, info)))
    }

    fn at_rate(&mut self, which: usize, rate: u32) -> Result<&[f32], AudioError> {
        let audio = &self.noises[which].audio;
        if let std::collections::hash_map::Entry::Vacant(e) = self.resampled.entry((which, rate)) {
            let converted = resample(&audio.samples, audio.sample_rate, rate)?;
            e.insert(converted);
        }
        Ok(self
            .resampled
            .get(&(which, rate))
            .map(Vec::as_slice)
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snr_is_respected() {
        let speech: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.1).sin()).collect();
        let noise: Vec<f32> = (0..1000)
            .map(|i| if i % 2 == 0 { 0.3 } else { -0.3 })
            .collect();
        let mixed = mix_at_snr(&speech, &noise, 10.0);
        let added: Vec<f32> = mixed.iter().zip(&speech).map(|(m, s)| m - s).collect();
        let snr = 10.0 * (mean_power(&speech) / mean_power(&added)).log10();
        assert!((snr - 10.0).abs() < 0.01, "{snr}");
    }

    #[test]
    fn hash_is_stable() {
        assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
    }
}
