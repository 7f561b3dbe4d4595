//! The whisper.cpp ggml model file: writer primitives and a structural inspector.
//!
//! Layout (all integers i32 little-endian):
//!
//! ```text
//! magic 0x67676d6c ("ggml")
//! hparams: n_vocab n_audio_ctx n_audio_state n_audio_head n_audio_layer
//!          n_text_ctx n_text_state n_text_head n_text_layer n_mels ftype
//! mel filters: n_mel n_fft, then n_mel*n_fft f32
//! vocabulary: count, then per token: length, bytes
//! tensors until end of file: n_dims, name length, type, ne[n_dims] (innermost first), name, data
//! ```
//!
//! `ftype` is 1 for f16 files; quantised files carry `GGML_QNT_VERSION * 1000 + ggml_ftype`
//! (2 * 1000 + 7 for q8_0), which whisper.cpp splits back with `% 1000`. Tensor types are
//! ggml_type ids: 0 f32, 1 f16, 8 q8_0.

use super::half::{Q8_0_BLOCK, Q8_0_BLOCK_BYTES};
use super::plan::{Hparams, Storage, whisper_tensors};
use crate::manifest::Quant;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;

/// "ggml" as a little-endian u32.
pub const MAGIC: u32 = 0x6767_6d6c;
/// ggml_type id of f32.
pub const TYPE_F32: i32 = 0;
/// ggml_type id of f16.
pub const TYPE_F16: i32 = 1;
/// ggml_type id of q8_0.
pub const TYPE_Q8_0: i32 = 8;
/// Header ftype of an f16 file (ggml_ftype MOSTLY_F16, no quantisation version).
pub const FTYPE_F16: i32 = 1;
/// Header ftype of a q8_0 file: quantisation version 2 * 1000 + ggml_ftype MOSTLY_Q8_0 (7).
pub const FTYPE_Q8_0: i32 = 2007;

/// The header ftype for an output precision.
pub fn ftype_for(quant: Quant) -> i32 {
    match quant {
        Quant::F16 => FTYPE_F16,
        Quant::Q8_0 => FTYPE_Q8_0,
    }
}

/// The ggml tensor type for a storage class at an output precision.
pub fn tensor_type(storage: Storage, quant: Quant) -> i32 {
    match (storage, quant) {
        (Storage::F32, _) => TYPE_F32,
        (Storage::Conv, _) | (Storage::Matrix, Quant::F16) => TYPE_F16,
        (Storage::Matrix, Quant::Q8_0) => TYPE_Q8_0,
    }
}

/// Bytes of data for a tensor of `ttype` with `ne` (ggml order); `None` for unknown types or
/// rows that do not fill whole quantisation blocks.
pub fn data_len(ttype: i32, ne: &[usize]) -> Option<u64> {
    let n: u64 = ne.iter().map(|&d| d as u64).product();
    match ttype {
        TYPE_F32 => Some(n * 4),
        TYPE_F16 => Some(n * 2),
        TYPE_Q8_0 if ne.first().is_some_and(|d| d % Q8_0_BLOCK == 0) => {
            Some(n / Q8_0_BLOCK as u64 * Q8_0_BLOCK_BYTES as u64)
        }
        _ => None,
    }
}

/// Writes one i32.
pub fn put_i32(w: &mut dyn Write, v: i32) -> io::Result<()> {
    w.write_all(&v.to_le_bytes())
}

/// Writes a count or dimension as i32 (every Whisper dimension fits).
pub fn put_len(w: &mut dyn Write, v: usize) -> io::Result<()> {
    let v = i32::try_from(v).map_err(|_| io::Error::other(format!("{v} does not fit in i32")))?;
    put_i32(w, v)
}

/// Writes magic, hyper-parameters and ftype.
pub fn write_header(w: &mut dyn Write, h: &Hparams, quant: Quant) -> io::Result<()> {
    w.write_all(&MAGIC.to_le_bytes())?;
    for v in h.as_array() {
        put_len(w, v)?;
    }
    put_i32(w, ftype_for(quant))
}

/// Writes the mel filterbank (`rows` bands by `cols` FFT bins, row-major).
pub fn write_mel_filters(
    w: &mut dyn Write,
    rows: usize,
    cols: usize,
    data: &[f32],
) -> io::Result<()> {
    put_len(w, rows)?;
    put_len(w, cols)?;
    for v in data {
        w.write_all(&v.to_le_bytes())?;
    }
    Ok(())
}

/// Writes the vocabulary: count then length-prefixed raw token bytes.
pub fn write_vocab(w: &mut dyn Write, tokens: &[Vec<u8>]) -> io::Result<()> {
    put_len(w, tokens.len())?;
    for t in tokens {
        put_len(w, t.len())?;
        w.write_all(t)?;
    }
    Ok(())
}

/// Writes a tensor record header; the caller writes the data next.
pub fn write_tensor_header(
    w: &mut dyn Write,
    name: &str,
    ne: &[usize],
    ttype: i32,
) -> io::Result<()> {
    put_len(w, ne.len())?;
    put_len(w, name.len())?;
    put_i32(w, ttype)?;
    for &d in ne {
        put_len(w, d)?;
    }
    w.write_all(name.as_bytes())
}

/// One tensor record found by [`inspect`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorEntry {
    /// Tensor name.
    pub name: String,
    /// Dimensions, innermost first.
    pub ne: Vec<usize>,
    /// ggml_type id.
    pub ttype: i32,
    /// Offset of the data in the file.
    pub offset: u64,
}

/// What [`inspect`] learned about a ggml file.
#[derive(Debug, Clone, PartialEq)]
pub struct GgmlLayout {
    /// Hyper-parameters from the header.
    pub hparams: Hparams,
    /// Raw header ftype.
    pub ftype: i32,
    /// Mel filterbank shape (bands, bins).
    pub mel_shape: (usize, usize),
    /// Number of vocabulary entries stored.
    pub n_tokens: usize,
    /// Every tensor record in file order.
    pub tensors: Vec<TensorEntry>,
}

/// Why a file is not a usable ggml Whisper model.
#[derive(Debug, thiserror::Error)]
pub enum GgmlCheckError {
    /// The file could not be read.
    #[error("cannot read: {0}")]
    Io(#[from] io::Error),
    /// Not a ggml file at all.
    #[error("bad magic {0:#010x} (not a whisper.cpp ggml model)")]
    BadMagic(u32),
    /// Shorter than its header says.
    #[error("truncated: its header implies at least {expected} bytes but the file has {found}")]
    Truncated {
        /// Minimum length implied by the header (exact for f16 and q8_0 files).
        expected: u64,
        /// Actual length.
        found: u64,
    },
    /// Structurally wrong in another way.
    #[error("malformed: {0}")]
    Malformed(String),
}

/// Reads the header, filters and vocabulary, walks every tensor record, and checks the file is
/// exactly as long as its hyper-parameters imply (so a copy cut at a tensor boundary is caught
/// too). Never reads tensor data.
pub fn inspect(path: &Path) -> Result<GgmlLayout, GgmlCheckError> {
    let file = File::open(path)?;
    let file_len = file.metadata()?.len();
    let mut r = Reader {
        inner: BufReader::with_capacity(1 << 16, file),
        pos: 0,
        file_len,
    };
    let magic = r.u32()?;
    if magic != MAGIC {
        return Err(GgmlCheckError::BadMagic(magic));
    }
    let (hparams, ftype) = read_hparams(&mut r)?;
    let mel_shape = skip_mel_filters(&mut r)?;
    let n_tokens = skip_vocab(&mut r)?;
    if let Some(expected) = expected_len(&hparams, ftype, r.pos) {
        if file_len < expected {
            return Err(GgmlCheckError::Truncated {
                expected,
                found: file_len,
            });
        }
        if file_len > expected {
            return Err(GgmlCheckError::Malformed(format!(
                "{} bytes after the last tensor",
                file_len - expected
            )));
        }
    }
    let tensors = walk_tensors(&mut r)?;
    Ok(GgmlLayout {
        hparams,
        ftype,
        mel_shape,
        n_tokens,
        tensors,
    })
}

/// Exact file length for f16/q8_0 files written with whisper.cpp's tensor set, given where
/// the tensor section starts; `None` for other ftypes (then only the walk applies).
fn expected_len(h: &Hparams, ftype: i32, tensors_start: u64) -> Option<u64> {
    let quant = match ftype % 1000 {
        1 => Quant::F16,
        7 => Quant::Q8_0,
        _ => return None,
    };
    let mut total = tensors_start;
    for t in whisper_tensors(h) {
        let header = 12 + 4 * t.ne.len() as u64 + t.name.len() as u64;
        total += header + data_len(tensor_type(t.storage, quant), &t.ne)?;
    }
    Some(total)
}

fn read_hparams(r: &mut Reader) -> Result<(Hparams, i32), GgmlCheckError> {
    let mut v = [0usize; 10];
    for slot in v.iter_mut() {
        *slot = r.dim("hyper-parameter")?;
    }
    let ftype = r.i32()?;
    let h = Hparams {
        n_vocab: v[0],
        n_audio_ctx: v[1],
        n_audio_state: v[2],
        n_audio_head: v[3],
        n_audio_layer: v[4],
        n_text_ctx: v[5],
        n_text_state: v[6],
        n_text_head: v[7],
        n_text_layer: v[8],
        n_mels: v[9],
    };
    if h.n_audio_state != h.n_text_state || h.n_audio_layer == 0 || h.n_text_layer == 0 {
        return Err(GgmlCheckError::Malformed(format!(
            "implausible hyper-parameters {h:?}"
        )));
    }
    Ok((h, ftype))
}

fn skip_mel_filters(r: &mut Reader) -> Result<(usize, usize), GgmlCheckError> {
    let n_mel = r.dim("mel band count")?;
    let n_fft = r.dim("mel bin count")?;
    r.skip((n_mel * n_fft * 4) as u64)?;
    Ok((n_mel, n_fft))
}

fn skip_vocab(r: &mut Reader) -> Result<usize, GgmlCheckError> {
    let n = r.dim("token count")?;
    for _ in 0..n {
        let len = r.dim("token length")?;
        r.skip(len as u64)?;
    }
    Ok(n)
}

fn walk_tensors(r: &mut Reader) -> Result<Vec<TensorEntry>, GgmlCheckError> {
    let mut tensors = Vec::new();
    while r.pos < r.file_len {
        let n_dims = r.dim("tensor rank")?;
        let name_len = r.dim("tensor name length")?;
        let ttype = r.i32()?;
        if !(1..=4).contains(&n_dims) || name_len == 0 || name_len > 256 {
            return Err(GgmlCheckError::Malformed(format!(
                "tensor record {} has rank {n_dims} and name length {name_len}",
                tensors.len()
            )));
        }
        let ne = (0..n_dims)
            .map(|_| r.dim("tensor dimension"))
            .collect::<Result<Vec<_>, _>>()?;
        let name = r.string(name_len)?;
        let len = data_len(ttype, &ne).ok_or_else(|| {
            GgmlCheckError::Malformed(format!("tensor {name} has unsupported type {ttype}"))
        })?;
        let offset = r.pos;
        r.skip(len)?;
        tensors.push(TensorEntry {
            name,
            ne,
            ttype,
            offset,
        });
    }
    Ok(tensors)
}

/// Position-tracking reader that turns a short read into [`GgmlCheckError::Truncated`].
struct Reader {
    inner: BufReader<File>,
    pos: u64,
    file_len: u64,
}

impl Reader {
    fn need(&self, n: u64) -> Result<(), GgmlCheckError> {
        if self.pos + n > self.file_len {
            return Err(GgmlCheckError::Truncated {
                expected: self.pos + n,
                found: self.file_len,
            });
        }
        Ok(())
    }

    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], GgmlCheckError> {
        self.need(N as u64)?;
        let mut b = [0u8; N];
        self.inner.read_exact(&mut b)?;
        self.pos += N as u64;
        Ok(b)
    }

    fn u32(&mut self) -> Result<u32, GgmlCheckError> {
        Ok(u32::from_le_bytes(self.bytes::<4>()?))
    }

    fn i32(&mut self) -> Result<i32, GgmlCheckError> {
        Ok(i32::from_le_bytes(self.bytes::<4>()?))
    }

    fn dim(&mut self, what: &str) -> Result<usize, GgmlCheckError> {
        let v = self.i32()?;
        usize::try_from(v).map_err(|_| GgmlCheckError::Malformed(format!("negative {what} {v}")))
    }

    fn string(&mut self, len: usize) -> Result<String, GgmlCheckError> {
        self.need(len as u64)?;
        let mut b = vec![0u8; len];
        self.inner.read_exact(&mut b)?;
        self.pos += len as u64;
        String::from_utf8(b)
            .map_err(|_| GgmlCheckError::Malformed("a tensor name is not UTF-8".into()))
    }

    fn skip(&mut self, n: u64) -> Result<(), GgmlCheckError> {
        self.need(n)?;
        self.inner.seek_relative(n as i64)?;
        self.pos += n;
        Ok(())
    }
}
