//! Reads the encoder half of a whisper.cpp model file (the legacy `ggml` format the recogniser
//! loads): the hyper-parameters, the mel filter bank and every `encoder.*` tensor, dequantised
//! to f32. The decoder's tensors are skipped without being kept.

use super::EncoderError;
use half::f16;
use std::collections::HashMap;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// "ggml" in the file's first four bytes, read as a little-endian u32.
const MAGIC: u32 = 0x6767_6d6c;
/// Values per q8_0 block, and its bytes (an f16 scale and 32 signed bytes).
const Q8_BLOCK: usize = 32;
const Q8_BLOCK_BYTES: usize = 2 + Q8_BLOCK;

/// The encoder's shape, from the file's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hparams {
    /// Positions of the positional embedding (1500: 30 s).
    pub n_audio_ctx: usize,
    /// Width of the encoder's output per position (384 for tiny).
    pub n_audio_state: usize,
    /// Attention heads per layer.
    pub n_audio_head: usize,
    /// Transformer layers.
    pub n_audio_layer: usize,
    /// Mel bands of the input.
    pub n_mels: usize,
}

/// One tensor as f32, with ggml's dimensions (`dims[0]` varies fastest).
#[derive(Debug, Clone)]
pub struct Tensor {
    /// ggml dimensions, innermost first.
    pub dims: Vec<usize>,
    /// Values, row-major with `dims[0]` the row length.
    pub data: Vec<f32>,
}

/// What the encoder needs from a model file.
#[derive(Debug)]
pub struct EncoderWeights {
    /// The encoder's shape.
    pub hparams: Hparams,
    /// Mel filter bank: `n_mel` rows of `n_fft` (= FFT bins) weights.
    pub filters: Vec<f32>,
    /// FFT bins per filter row.
    pub filter_bins: usize,
    /// `encoder.*` tensors by name.
    pub tensors: HashMap<String, Tensor>,
}

/// Reads `path`; errors name the file and what is wrong with it.
pub fn read(path: &Path) -> Result<EncoderWeights, EncoderError> {
    let file = std::fs::File::open(path).map_err(|e| bad(path, e.to_string()))?;
    let mut r = BufReader::new(file);
    let fail = |why: String| bad(path, why);
    if u32_le(&mut r).map_err(&fail)? != MAGIC {
        return Err(fail("not a whisper.cpp ggml model (bad magic)".into()));
    }
    let h: Vec<usize> = (0..11)
        .map(|_| i32_le(&mut r).map(|v| v.max(0) as usize))
        .collect::<Result<_, _>>()
        .map_err(&fail)?;
    let hparams = Hparams {
        n_audio_ctx: h[1],
        n_audio_state: h[2],
        n_audio_head: h[3],
        n_audio_layer: h[4],
        n_mels: h[9],
    };
    let n_mel = i32_le(&mut r).map_err(&fail)?.max(0) as usize;
    let filter_bins = i32_le(&mut r).map_err(&fail)?.max(0) as usize;
    let filters = f32s(&mut r, n_mel * filter_bins).map_err(&fail)?;
    skip_vocab(&mut r).map_err(&fail)?;
    let tensors = encoder_tensors(&mut r).map_err(&fail)?;
    Ok(EncoderWeights {
        hparams,
        filters,
        filter_bins,
        tensors,
    })
}

fn bad(path: &Path, why: String) -> EncoderError {
    EncoderError::Load {
        path: path.to_path_buf(),
        why,
    }
}

fn skip_vocab(r: &mut (impl Read + Seek)) -> Result<(), String> {
    let n = i32_le(r)?;
    for _ in 0..n.max(0) {
        let len = u32_le(r)?;
        r.seek(SeekFrom::Current(i64::from(len)))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Tensors until the end of the file; only the encoder's are decoded.
fn encoder_tensors(r: &mut (impl Read + Seek)) -> Result<HashMap<String, Tensor>, String> {
    let mut out = HashMap::new();
    loop {
        let n_dims = match i32_le(r) {
            Ok(n) => n,
            Err(_) => return Ok(out),
        };
        let name_len = i32_le(r)?;
        let ttype = i32_le(r)?;
        if !(1..=4).contains(&n_dims) || !(1..=256).contains(&name_len) {
            return Err(format!(
                "corrupt tensor header (dims {n_dims}, name {name_len})"
            ));
        }
        let dims: Vec<usize> = (0..n_dims)
            .map(|_| i32_le(r).map(|v| v.max(0) as usize))
            .collect::<Result<_, _>>()?;
        let mut name = vec![0u8; name_len as usize];
        r.read_exact(&mut name).map_err(|e| e.to_string())?;
        let name = String::from_utf8_lossy(&name).into_owned();
        let n: usize = dims.iter().product();
        let bytes = stored_bytes(ttype, n).ok_or_else(|| {
            format!("tensor {name}: type {ttype} is not f32, f16 or q8_0 (use one of those models)")
        })?;
        if name.starts_with("encoder.") {
            let mut raw = vec![0u8; bytes];
            r.read_exact(&mut raw)
                .map_err(|e| format!("tensor {name}: {e}"))?;
            let data = decode(ttype, &raw, n);
            out.insert(name, Tensor { dims, data });
        } else {
            r.seek(SeekFrom::Current(bytes as i64))
                .map_err(|e| e.to_string())?;
        }
    }
}

/// Bytes a tensor of `n` values takes on disk: ggml types 0 (f32), 1 (f16) and 8 (q8_0).
fn stored_bytes(ttype: i32, n: usize) -> Option<usize> {
    match ttype {
        0 => Some(4 * n),
        1 => Some(2 * n),
        8 if n.is_multiple_of(Q8_BLOCK) => Some(n / Q8_BLOCK * Q8_BLOCK_BYTES),
        _ => None,
    }
}

fn decode(ttype: i32, raw: &[u8], n: usize) -> Vec<f32> {
    match ttype {
        0 => raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        1 => raw
            .chunks_exact(2)
            .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        _ => {
            let mut out = Vec::with_capacity(n);
            for block in raw.chunks_exact(Q8_BLOCK_BYTES) {
                let d = f16::from_le_bytes([block[0], block[1]]).to_f32();
                out.extend(block[2..].iter().map(|&q| d * f32::from(q as i8)));
            }
            out
        }
    }
}

fn f32s(r: &mut impl Read, n: usize) -> Result<Vec<f32>, String> {
    let mut raw = vec![0u8; 4 * n];
    r.read_exact(&mut raw).map_err(|e| e.to_string())?;
    Ok(decode(0, &raw, n))
}

fn i32_le(r: &mut impl Read) -> Result<i32, String> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b).map_err(|e| e.to_string())?;
    Ok(i32::from_le_bytes(b))
}

fn u32_le(r: &mut impl Read) -> Result<u32, String> {
    i32_le(r).map(|v| v as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q8_0_blocks_scale_their_bytes() {
        let mut raw = f16::from_f32(0.5).to_le_bytes().to_vec();
        raw.extend((0..32).map(|i| (i as i8 - 16) as u8));
        let v = decode(8, &raw, 32);
        assert_eq!(v.len(), 32);
        assert_eq!(v[0], -8.0);
        assert_eq!(v[31], 7.5);
    }

    #[test]
    fn unsupported_types_are_named() {
        assert_eq!(stored_bytes(2, 64), None);
        assert_eq!(stored_bytes(8, 64), Some(68));
        assert_eq!(stored_bytes(8, 33), None);
    }
}
