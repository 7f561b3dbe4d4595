//! Reader for CTranslate2's `model.bin` (binary version 5 and 6), written from the format:
//!
//! ```text
//! u32 binary version | string spec name | u32 spec revision | u32 variable count
//! per variable: string name | u8 rank | u32 dims[rank] | u8 dtype | u32 byte count | data
//! u32 alias count | per alias: string alias | string target
//! string = u16 length (including a trailing NUL) + bytes
//! dtype: 0 f32, 1 i8, 2 i16, 3 i32, 4 f16, 5 bf16
//! ```
//!
//! Only the variable table is read up front; tensor data is read on demand by offset, so a
//! 500 MB model is never held in memory whole.

use super::ConvertError;
use super::half::{bf16_to_f32, f16_to_f32};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Element types CTranslate2 stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    /// 32-bit float.
    F32,
    /// Signed byte (int8 quantised weights, with a `weight_scale` companion).
    I8,
    /// 16-bit integer (scalars such as `num_heads`).
    I16,
    /// 32-bit integer.
    I32,
    /// IEEE half.
    F16,
    /// bfloat16.
    Bf16,
}

impl Dtype {
    fn from_id(id: u8) -> Option<Dtype> {
        Some(match id {
            0 => Dtype::F32,
            1 => Dtype::I8,
            2 => Dtype::I16,
            3 => Dtype::I32,
            4 => Dtype::F16,
            5 => Dtype::Bf16,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Dtype::I8 => 1,
            Dtype::I16 | Dtype::F16 | Dtype::Bf16 => 2,
            Dtype::F32 | Dtype::I32 => 4,
        }
    }
}

/// Where one variable lives in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarInfo {
    /// Dimensions, outermost first (numpy order).
    pub dims: Vec<usize>,
    /// Element type.
    pub dtype: Dtype,
    /// Byte offset of the data.
    pub offset: u64,
    /// Byte length of the data.
    pub len: u64,
}

impl VarInfo {
    /// Element count.
    pub fn numel(&self) -> usize {
        self.dims.iter().product()
    }
}

/// An opened CTranslate2 model: its variable table plus a reader for the data.
pub struct Ct2Model {
    path: PathBuf,
    reader: BufReader<File>,
    /// Binary format version.
    pub version: u32,
    /// Spec name, e.g. `WhisperSpec`.
    pub spec: String,
    vars: BTreeMap<String, VarInfo>,
    aliases: BTreeMap<String, String>,
}

/// The binary versions whose layout this reader knows.
const SUPPORTED_VERSIONS: std::ops::RangeInclusive<u32> = 5..=6;

impl Ct2Model {
    /// Opens `path` and reads the variable table (seeking over the data).
    pub fn open(path: &Path) -> Result<Ct2Model, ConvertError> {
        let file = File::open(path).map_err(|source| ConvertError::SourceUnreadable {
            path: path.to_path_buf(),
            source,
        })?;
        let file_len = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
        let mut model = Ct2Model {
            path: path.to_path_buf(),
            reader: BufReader::with_capacity(1 << 16, file),
            version: 0,
            spec: String::new(),
            vars: BTreeMap::new(),
            aliases: BTreeMap::new(),
        };
        model.read_table(file_len)?;
        Ok(model)
    }

    fn read_table(&mut self, file_len: u64) -> Result<(), ConvertError> {
        self.version = self.u32()?;
        if !SUPPORTED_VERSIONS.contains(&self.version) {
            return Err(ConvertError::UnsupportedCt2Version {
                path: self.path.clone(),
                version: self.version,
            });
        }
        self.spec = self.string()?;
        let _revision = self.u32()?;
        let count = self.u32()?;
        for _ in 0..count {
            let (name, info) = self.variable_header()?;
            if info.offset + info.len > file_len {
                return Err(self.format_error(format!(
                    "variable {name} runs past the end of the file (truncated?)"
                )));
            }
            self.reader
                .seek(SeekFrom::Current(info.len as i64))
                .map_err(|e| self.io(e))?;
            self.vars.insert(name, info);
        }
        let aliases = self.u32()?;
        for _ in 0..aliases {
            let alias = self.string()?;
            let target = self.string()?;
            self.aliases.insert(alias, target);
        }
        Ok(())
    }

    fn variable_header(&mut self) -> Result<(String, VarInfo), ConvertError> {
        let name = self.string()?;
        let rank = self.u8()? as usize;
        let mut dims = Vec::with_capacity(rank);
        for _ in 0..rank {
            dims.push(self.u32()? as usize);
        }
        let id = self.u8()?;
        let dtype = Dtype::from_id(id).ok_or_else(|| ConvertError::UnsupportedDtype {
            path: self.path.clone(),
            name: name.clone(),
            dtype: id,
        })?;
        let len = self.u32()? as u64;
        let offset = self.reader.stream_position().map_err(|e| self.io(e))?;
        let info = VarInfo {
            dims,
            dtype,
            offset,
            len,
        };
        if info.numel() * dtype.size() != len as usize {
            return Err(self.format_error(format!(
                "variable {name}: {len} bytes do not match shape {:?}",
                info.dims
            )));
        }
        Ok((name, info))
    }

    /// The model's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Looks a variable up by name, following aliases.
    pub fn info(&self, name: &str) -> Option<&VarInfo> {
        let target = self.aliases.get(name).map(String::as_str).unwrap_or(name);
        self.vars.get(target)
    }

    /// Like [`Ct2Model::info`] but a missing variable is an error naming it.
    pub fn require(&self, name: &str) -> Result<VarInfo, ConvertError> {
        self.info(name)
            .cloned()
            .ok_or_else(|| ConvertError::MissingVariable {
                path: self.path.clone(),
                name: name.to_string(),
            })
    }

    /// Number of consecutive `{prefix}/layer_{i}/` groups present.
    pub fn layer_count(&self, prefix: &str) -> usize {
        (0..)
            .take_while(|i| {
                let p = format!("{prefix}/layer_{i}/");
                self.vars
                    .range(p.clone()..)
                    .next()
                    .is_some_and(|(k, _)| k.starts_with(&p))
            })
            .count()
    }

    /// Reads a variable as f32, widening halves and dequantising int8 weights with their
    /// per-row `weight_scale` (CTranslate2 stores int8 as round(w * scale)).
    pub fn read_f32(&mut self, name: &str) -> Result<Vec<f32>, ConvertError> {
        let info = self.require(name)?;
        let raw = self.read_raw(&info)?;
        match info.dtype {
            Dtype::F32 => Ok(le_chunks::<4>(&raw).map(f32::from_le_bytes).collect()),
            Dtype::F16 => Ok(le_chunks::<2>(&raw)
                .map(|b| f16_to_f32(u16::from_le_bytes(b)))
                .collect()),
            Dtype::Bf16 => Ok(le_chunks::<2>(&raw)
                .map(|b| bf16_to_f32(u16::from_le_bytes(b)))
                .collect()),
            Dtype::I8 => self.dequantize_i8(name, &info, &raw),
            Dtype::I16 | Dtype::I32 => Err(ConvertError::UnsupportedDtype {
                path: self.path.clone(),
                name: name.to_string(),
                dtype: if info.dtype == Dtype::I16 { 2 } else { 3 },
            }),
        }
    }

    fn dequantize_i8(
        &mut self,
        name: &str,
        info: &VarInfo,
        raw: &[u8],
    ) -> Result<Vec<f32>, ConvertError> {
        let scale_name = match name.strip_suffix("weight") {
            Some(stem) => format!("{stem}weight_scale"),
            None => return Err(self.format_error(format!("int8 variable {name} is not a weight"))),
        };
        let scales = self.read_f32(&scale_name)?;
        let rows = info.dims.first().copied().unwrap_or(1).max(1);
        if scales.len() != rows && scales.len() != 1 {
            return Err(self.format_error(format!(
                "{scale_name} has {} values for {rows} rows",
                scales.len()
            )));
        }
        let cols = info.numel() / rows;
        Ok(raw
            .iter()
            .enumerate()
            .map(|(i, &q)| q as i8 as f32 / scales[if scales.len() == 1 { 0 } else { i / cols }])
            .collect())
    }

    /// Reads an integer scalar such as `encoder/num_heads`.
    pub fn read_int(&mut self, name: &str) -> Result<Option<i64>, ConvertError> {
        let Some(info) = self.info(name).cloned() else {
            return Ok(None);
        };
        let raw = self.read_raw(&info)?;
        let value = match info.dtype {
            Dtype::I8 => raw.first().map(|&b| b as i8 as i64),
            Dtype::I16 => le_chunks::<2>(&raw)
                .next()
                .map(|b| i16::from_le_bytes(b) as i64),
            Dtype::I32 => le_chunks::<4>(&raw)
                .next()
                .map(|b| i32::from_le_bytes(b) as i64),
            _ => None,
        };
        Ok(value)
    }

    fn read_raw(&mut self, info: &VarInfo) -> Result<Vec<u8>, ConvertError> {
        let mut buf = vec![0u8; info.len as usize];
        self.reader
            .seek(SeekFrom::Start(info.offset))
            .map_err(|e| self.io(e))?;
        self.reader.read_exact(&mut buf).map_err(|e| self.io(e))?;
        Ok(buf)
    }

    fn u8(&mut self) -> Result<u8, ConvertError> {
        let mut b = [0u8; 1];
        self.reader
            .read_exact(&mut b)
            .map_err(|e| self.truncated(e))?;
        Ok(b[0])
    }

    fn u32(&mut self) -> Result<u32, ConvertError> {
        let mut b = [0u8; 4];
        self.reader
            .read_exact(&mut b)
            .map_err(|e| self.truncated(e))?;
        Ok(u32::from_le_bytes(b))
    }

    fn string(&mut self) -> Result<String, ConvertError> {
        let mut b = [0u8; 2];
        self.reader
            .read_exact(&mut b)
            .map_err(|e| self.truncated(e))?;
        let mut bytes = vec![0u8; u16::from_le_bytes(b) as usize];
        self.reader
            .read_exact(&mut bytes)
            .map_err(|e| self.truncated(e))?;
        if bytes.last() == Some(&0) {
            bytes.pop();
        }
        String::from_utf8(bytes)
            .map_err(|_| self.format_error("a variable name is not UTF-8".into()))
    }

    fn io(&self, source: std::io::Error) -> ConvertError {
        ConvertError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn truncated(&self, e: std::io::Error) -> ConvertError {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            self.format_error("the file ends inside its header (truncated?)".into())
        } else {
            self.io(e)
        }
    }

    fn format_error(&self, detail: String) -> ConvertError {
        ConvertError::Ct2Format {
            path: self.path.clone(),
            detail,
        }
    }
}

fn le_chunks<const N: usize>(raw: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    raw.chunks_exact(N).map(|c| {
        let mut a = [0u8; N];
        a.copy_from_slice(c);
        a
    })
}

/// Writes a CTranslate2 `model.bin`, for tests that need a small synthetic model.
#[cfg(test)]
pub mod testing {
    use super::super::half::f32_to_f16;

    /// A variable to write.
    pub enum Data {
        /// Stored as f16.
        F16(Vec<f32>),
        /// Stored as f32.
        F32(Vec<f32>),
        /// Stored as i16 (scalars).
        I16(i16),
        /// Stored as i8 with a scale applied by the reader.
        I8(Vec<i8>),
    }

    /// Serialises variables and aliases in the binary version 6 layout.
    pub fn write(vars: &[(String, Vec<usize>, Data)], aliases: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(6u32.to_le_bytes());
        put_str(&mut out, "WhisperSpec");
        out.extend(3u32.to_le_bytes());
        out.extend((vars.len() as u32).to_le_bytes());
        for (name, dims, data) in vars {
            put_str(&mut out, name);
            out.push(dims.len() as u8);
            for d in dims {
                out.extend((*d as u32).to_le_bytes());
            }
            let (id, bytes): (u8, Vec<u8>) = match data {
                Data::F16(v) => (
                    4,
                    v.iter()
                        .flat_map(|x| f32_to_f16(*x).to_le_bytes())
                        .collect(),
                ),
                Data::F32(v) => (0, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
                Data::I16(v) => (2, v.to_le_bytes().to_vec()),
                Data::I8(v) => (1, v.iter().map(|&q| q as u8).collect()),
            };
            out.push(id);
            out.extend((bytes.len() as u32).to_le_bytes());
            out.extend(bytes);
        }
        out.extend((aliases.len() as u32).to_le_bytes());
        for (a, t) in aliases {
            put_str(&mut out, a);
            put_str(&mut out, t);
        }
        out
    }

    fn put_str(out: &mut Vec<u8>, s: &str) {
        out.extend(((s.len() + 1) as u16).to_le_bytes());
        out.extend(s.as_bytes());
        out.push(0);
    }
}
