//! CTranslate2 (faster-whisper) Whisper → whisper.cpp ggml conversion, in Rust, so a site can
//! build its STT model from registry packages or a Home Assistant / faster-whisper model
//! directory without Python or PyTorch.
//!
//! Hyper-parameters come from tensor shapes (no config file needed): `n_vocab` = token
//! embedding rows, `n_audio_ctx`/`n_audio_state` = encoder positional shape, `n_text_ctx` =
//! decoder positional rows, `n_mels` = conv1 input channels, layer counts from the
//! `layer_N` groups, heads from `encoder/num_heads` and `decoder/num_heads` (else width / 64).
//! English-only models (n_vocab 51864) get `gpt2.tiktoken`, multilingual ones (51865+)
//! `multilingual.tiktoken`; the mel filterbank is `mel_{n_mels}` from openai-whisper's
//! `mel_filters.npz`. Output is written tensor by tensor in a fixed order, so the same input
//! always gives the same bytes, and at most one source tensor is held in memory at a time.

mod ct2;
mod error;
pub mod ggml;
pub mod half;
mod npy;
pub mod plan;
mod tiktoken;

pub use error::ConvertError;
pub use plan::Hparams;

use crate::fsutil::{AtomicFile, HashingWriter};
use crate::manifest::Quant;
use ct2::Ct2Model;
use plan::{Storage, TensorSpec, whisper_tensors};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// openai-whisper's conversion inputs: the mel filterbank and the vocabularies.
#[derive(Debug, Clone, Default)]
pub struct WhisperAssets {
    /// `mel_filters.npz` bytes (arrays `mel_80` and `mel_128`).
    pub mel_filters_npz: Vec<u8>,
    /// `gpt2.tiktoken` bytes, needed for English-only models.
    pub gpt2_tiktoken: Option<Vec<u8>>,
    /// `multilingual.tiktoken` bytes, needed for multilingual models.
    pub multilingual_tiktoken: Option<Vec<u8>>,
}

impl WhisperAssets {
    /// File name of the mel filterbank archive.
    pub const MEL_FILTERS: &'static str = "mel_filters.npz";
    /// File name of the English vocabulary.
    pub const GPT2: &'static str = "gpt2.tiktoken";
    /// File name of the multilingual vocabulary.
    pub const MULTILINGUAL: &'static str = "multilingual.tiktoken";

    /// Reads the assets from a directory laid out like openai-whisper's `whisper/assets/`
    /// (or the installed `sources/whisper-assets/`). Missing vocabularies are allowed; the
    /// converter complains only if the model needs one.
    pub fn from_dir(dir: &Path) -> Result<WhisperAssets, ConvertError> {
        let mel_path = dir.join(Self::MEL_FILTERS);
        let mel_filters_npz = std::fs::read(&mel_path).map_err(|e| ConvertError::MelFilters {
            file: mel_path.display().to_string(),
            detail: e.to_string(),
        })?;
        Ok(WhisperAssets {
            mel_filters_npz,
            gpt2_tiktoken: read_optional(&dir.join(Self::GPT2))?,
            multilingual_tiktoken: read_optional(&dir.join(Self::MULTILINGUAL))?,
        })
    }
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, ConvertError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConvertError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// What a conversion produced.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvertReport {
    /// The file written.
    pub out: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its lowercase hex sha256.
    pub sha256: String,
    /// The hyper-parameters written.
    pub hparams: Hparams,
    /// Output precision.
    pub quant: Quant,
    /// Number of tensors written.
    pub tensors: usize,
    /// Wall-clock seconds spent.
    pub seconds: f64,
}

/// Summary of a conversion into an arbitrary writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Converted {
    /// The hyper-parameters written.
    pub hparams: Hparams,
    /// Number of tensors written.
    pub tensors: usize,
}

/// The `model.bin` of a faster-whisper directory (or `src` itself if it is a file).
pub fn model_bin_path(src: &Path) -> PathBuf {
    if src.is_file() {
        src.to_path_buf()
    } else {
        src.join("model.bin")
    }
}

/// Converts the CTranslate2 Whisper model in `src_dir` (a faster-whisper directory, or its
/// `model.bin`) to a ggml file at `out`, written atomically.
pub fn convert(
    src_dir: &Path,
    assets: &WhisperAssets,
    out: &Path,
    quant: Quant,
) -> Result<ConvertReport, ConvertError> {
    let started = Instant::now();
    let io_err = |source| ConvertError::Io {
        path: out.to_path_buf(),
        source,
    };
    let mut file = AtomicFile::create(out).map_err(io_err)?;
    let mut hashing = HashingWriter::new(file.writer().map_err(io_err)?);
    let done = convert_to_writer(&model_bin_path(src_dir), assets, quant, &mut hashing)?;
    let (_, bytes, sha256) = hashing.finish();
    file.commit().map_err(io_err)?;
    Ok(ConvertReport {
        out: out.to_path_buf(),
        bytes,
        sha256,
        hparams: done.hparams,
        quant,
        tensors: done.tensors,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Streams the converted model into `w`. Write errors are reported against `model_bin`'s
/// output only by the caller, which knows the destination; here they name "output".
pub fn convert_to_writer(
    model_bin: &Path,
    assets: &WhisperAssets,
    quant: Quant,
    w: &mut dyn Write,
) -> Result<Converted, ConvertError> {
    let mut model = Ct2Model::open(model_bin)?;
    if model.spec != "WhisperSpec" {
        return Err(ConvertError::Ct2Format {
            path: model_bin.to_path_buf(),
            detail: format!("spec is `{}`, not WhisperSpec", model.spec),
        });
    }
    let hparams = infer_hparams(&mut model)?;
    let out_err = |source| ConvertError::Io {
        path: PathBuf::from("(ggml output)"),
        source,
    };
    ggml::write_header(w, &hparams, quant).map_err(out_err)?;
    write_filters(w, assets, hparams.n_mels)?;
    let tokens = vocabulary(assets, &hparams)?;
    ggml::write_vocab(w, &tokens).map_err(out_err)?;
    let specs = whisper_tensors(&hparams);
    let mut cache = SourceCache::default();
    let mut buf = Vec::new();
    for spec in &specs {
        let values = cache.values(&mut model, spec)?;
        encode_tensor(spec, values, quant, &mut buf)?;
        w.write_all(&buf).map_err(out_err)?;
    }
    Ok(Converted {
        hparams,
        tensors: specs.len(),
    })
}

/// Reads hyper-parameters from tensor shapes.
fn infer_hparams(model: &mut Ct2Model) -> Result<Hparams, ConvertError> {
    let emb = model.require("decoder/embeddings/weight")?;
    let enc_pos = model.require("encoder/position_encodings/encodings")?;
    let dec_pos = model.require("decoder/position_encodings/encodings")?;
    let conv1 = model.require("encoder/conv1/weight")?;
    let bad = |detail: String| ConvertError::Hparams {
        path: model.path().to_path_buf(),
        detail,
    };
    let two = |v: &ct2::VarInfo, what: &str| match v.dims[..] {
        [a, b] => Ok((a, b)),
        _ => Err(bad(format!("{what} has shape {:?}, expected 2-D", v.dims))),
    };
    let (n_vocab, n_text_state) = two(&emb, "decoder/embeddings/weight")?;
    let (n_audio_ctx, n_audio_state) = two(&enc_pos, "encoder/position_encodings/encodings")?;
    let (n_text_ctx, _) = two(&dec_pos, "decoder/position_encodings/encodings")?;
    let n_mels = match conv1.dims[..] {
        [_, mels, 3] => mels,
        _ => {
            return Err(bad(format!(
                "encoder/conv1/weight has shape {:?}, expected [state, mels, 3]",
                conv1.dims
            )));
        }
    };
    if n_audio_state != n_text_state {
        return Err(bad(format!(
            "encoder width {n_audio_state} differs from decoder width {n_text_state}"
        )));
    }
    let h = Hparams {
        n_vocab,
        n_audio_ctx,
        n_audio_state,
        n_audio_head: heads(model, "encoder/num_heads", n_audio_state)?,
        n_audio_layer: model.layer_count("encoder"),
        n_text_ctx,
        n_text_state,
        n_text_head: heads(model, "decoder/num_heads", n_text_state)?,
        n_text_layer: model.layer_count("decoder"),
        n_mels,
    };
    if h.n_audio_layer == 0 || h.n_text_layer == 0 {
        return Err(ConvertError::Hparams {
            path: model.path().to_path_buf(),
            detail: "no encoder or decoder layers found".into(),
        });
    }
    Ok(h)
}

/// Whisper heads are 64 wide; CTranslate2 records the count, older exports may not.
fn heads(model: &mut Ct2Model, name: &str, state: usize) -> Result<usize, ConvertError> {
    match model.read_int(name)? {
        Some(n) if n > 0 => Ok(n as usize),
        _ => Ok((state / 64).max(1)),
    }
}

fn write_filters(
    w: &mut dyn Write,
    assets: &WhisperAssets,
    n_mels: usize,
) -> Result<(), ConvertError> {
    let key = format!("mel_{n_mels}");
    let mel_err = |detail: String| ConvertError::MelFilters {
        file: WhisperAssets::MEL_FILTERS.into(),
        detail,
    };
    let filters = npy::read_npz_2d(&assets.mel_filters_npz, &key).map_err(mel_err)?;
    if filters.rows != n_mels {
        return Err(mel_err(format!("{key} has {} rows", filters.rows)));
    }
    ggml::write_mel_filters(w, filters.rows, filters.cols, &filters.data).map_err(|source| {
        ConvertError::Io {
            path: PathBuf::from("(ggml output)"),
            source,
        }
    })
}

fn vocabulary(assets: &WhisperAssets, h: &Hparams) -> Result<Vec<Vec<u8>>, ConvertError> {
    let (file, bytes) = if h.is_multilingual() {
        (WhisperAssets::MULTILINGUAL, &assets.multilingual_tiktoken)
    } else {
        (WhisperAssets::GPT2, &assets.gpt2_tiktoken)
    };
    let bytes = bytes.as_ref().ok_or_else(|| ConvertError::Tokenizer {
        file,
        detail: format!(
            "not supplied, and this model (n_vocab {}) needs it",
            h.n_vocab
        ),
    })?;
    let tokens =
        tiktoken::parse(bytes).map_err(|detail| ConvertError::Tokenizer { file, detail })?;
    if tokens.len() >= h.n_vocab {
        return Err(ConvertError::Tokenizer {
            file,
            detail: format!(
                "{} tokens do not fit a model with n_vocab {}",
                tokens.len(),
                h.n_vocab
            ),
        });
    }
    Ok(tokens)
}

/// Holds the most recently read variable, because q, k and v are three slices of one fused
/// variable read back to back.
#[derive(Default)]
struct SourceCache {
    name: String,
    dims: Vec<usize>,
    values: Vec<f32>,
}

impl SourceCache {
    fn values<'a>(
        &'a mut self,
        model: &mut Ct2Model,
        spec: &TensorSpec,
    ) -> Result<&'a [f32], ConvertError> {
        if self.name != spec.source.var || self.values.is_empty() {
            self.values = Vec::new(); // release the previous tensor before reading the next
            self.dims = model.require(&spec.source.var)?.dims;
            self.values = model.read_f32(&spec.source.var)?;
            self.name = spec.source.var.clone();
        }
        let (first, count) = spec
            .source
            .rows
            .unwrap_or((0, self.dims.first().copied().unwrap_or(1)));
        let mut found = self.dims.clone();
        if let Some(rows) = found.first_mut() {
            *rows = count;
        }
        check_shape(model.path(), spec, &self.dims, &found, first + count)?;
        let row_len: usize = self.dims.iter().skip(1).product();
        Ok(&self.values[first * row_len..(first + count) * row_len])
    }
}

/// Compares shapes ignoring unit dimensions (conv biases are [n] in CTranslate2 but [n, 1]
/// in ggml).
fn check_shape(
    path: &Path,
    spec: &TensorSpec,
    full: &[usize],
    sliced: &[usize],
    rows_end: usize,
) -> Result<(), ConvertError> {
    let squeeze = |d: &mut dyn Iterator<Item = usize>| d.filter(|&x| x != 1).collect::<Vec<_>>();
    let expected: Vec<usize> = spec.ne.iter().rev().copied().collect();
    let rows_fit = full.first().is_some_and(|&r| rows_end <= r);
    if !rows_fit || squeeze(&mut sliced.iter().copied()) != squeeze(&mut expected.iter().copied()) {
        return Err(ConvertError::Shape {
            path: path.to_path_buf(),
            tensor: spec.name.clone(),
            var: spec.source.var.clone(),
            expected,
            found: full.to_vec(),
        });
    }
    Ok(())
}

/// Serialises one tensor record (header and data) into `buf`.
fn encode_tensor(
    spec: &TensorSpec,
    values: &[f32],
    quant: Quant,
    buf: &mut Vec<u8>,
) -> Result<(), ConvertError> {
    buf.clear();
    let ttype = ggml::tensor_type(spec.storage, quant);
    ggml::write_tensor_header(buf, &spec.name, &spec.ne, ttype).map_err(|source| {
        ConvertError::Io {
            path: PathBuf::from("(ggml output)"),
            source,
        }
    })?;
    match ttype {
        ggml::TYPE_F32 => buf.extend(values.iter().flat_map(|v| v.to_le_bytes())),
        ggml::TYPE_F16 => buf.extend(
            values
                .iter()
                .flat_map(|v| half::f32_to_f16(*v).to_le_bytes()),
        ),
        _ => quantize_rows(spec, values, buf)?,
    }
    debug_assert!(spec.storage != Storage::F32 || ttype == ggml::TYPE_F32);
    Ok(())
}

fn quantize_rows(spec: &TensorSpec, values: &[f32], buf: &mut Vec<u8>) -> Result<(), ConvertError> {
    let ne0 = spec.ne.first().copied().unwrap_or(0);
    if ne0 == 0 || ne0 % half::Q8_0_BLOCK != 0 {
        return Err(ConvertError::NotQuantizable {
            tensor: spec.name.clone(),
            ne0,
        });
    }
    for row in values.chunks_exact(ne0) {
        half::quantize_q8_0_row(row, buf);
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
