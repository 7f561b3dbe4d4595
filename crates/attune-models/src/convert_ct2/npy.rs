//! Minimal reader for numpy's `.npz` (a zip of `.npy` files) as used by openai-whisper's
//! `mel_filters.npz`: little-endian f32 arrays in C order. Written from the `.npy` format
//! description (magic, version, header length, Python-literal header dict, raw data).

use std::io::{Cursor, Read};

/// A 2-D f32 array.
#[derive(Debug, Clone, PartialEq)]
pub struct Array2 {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Row-major values.
    pub data: Vec<f32>,
}

/// Reads member `key` (`key.npy` inside the zip) of an `.npz` as a 2-D f32 array.
pub fn read_npz_2d(npz: &[u8], key: &str) -> Result<Array2, String> {
    let mut zip =
        zip::ZipArchive::new(Cursor::new(npz)).map_err(|e| format!("not a zip/npz file: {e}"))?;
    let member = format!("{key}.npy");
    let mut entry = zip
        .by_name(&member)
        .map_err(|_| format!("has no array `{key}`"))?;
    let mut bytes = Vec::with_capacity(entry.size() as usize);
    entry
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot inflate {member}: {e}"))?;
    parse_npy_2d(&bytes).map_err(|e| format!("{member}: {e}"))
}

/// Parses a `.npy` holding a 2-D little-endian f32 array in C order.
pub fn parse_npy_2d(bytes: &[u8]) -> Result<Array2, String> {
    let (header, data) = split_header(bytes)?;
    if !header.contains("'descr': '<f4'") {
        return Err(format!("dtype is not little-endian f32 (header {header})"));
    }
    if !header.contains("'fortran_order': False") {
        return Err("array is in Fortran order".into());
    }
    let (rows, cols) = parse_shape(header)?;
    if data.len() != rows * cols * 4 {
        return Err(format!(
            "{} data bytes for shape ({rows}, {cols})",
            data.len()
        ));
    }
    let data = data
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok(Array2 { rows, cols, data })
}

fn split_header(bytes: &[u8]) -> Result<(&str, &[u8]), String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("missing .npy magic".into());
    }
    let (len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let end = start + len;
    let header = bytes.get(start..end).ok_or("header runs past the end")?;
    let header = std::str::from_utf8(header).map_err(|_| "header is not text")?;
    Ok((header, &bytes[end..]))
}

fn parse_shape(header: &str) -> Result<(usize, usize), String> {
    let after = header
        .split("'shape':")
        .nth(1)
        .ok_or("header has no shape")?;
    let inner = after
        .trim_start()
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or("malformed shape")?;
    let dims: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| format!("bad dimension `{s}`"))
        })
        .collect::<Result<_, _>>()?;
    match dims[..] {
        [rows, cols] => Ok((rows, cols)),
        _ => Err(format!(
            "expected a 2-D array, shape has {} dims",
            dims.len()
        )),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// Builds a `.npy` v1 file for a 2-D f32 array.
    pub fn npy(rows: usize, cols: usize, data: &[f32]) -> Vec<u8> {
        let mut header =
            format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend((header.len() as u16).to_le_bytes());
        out.extend(header.as_bytes());
        out.extend(data.iter().flat_map(|x| x.to_le_bytes()));
        out
    }

    /// Builds an `.npz` with one deflated member.
    pub fn npz(key: &str, rows: usize, cols: usize, data: &[f32]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file(format!("{key}.npy"), opts).unwrap();
        zip.write_all(&npy(rows, cols, data)).unwrap();
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn reads_a_deflated_npz_member() {
        let data: Vec<f32> = (0..6).map(|i| i as f32 * 0.5).collect();
        let bytes = npz("mel_3", 2, 3, &data);
        let a = read_npz_2d(&bytes, "mel_3").unwrap();
        assert_eq!((a.rows, a.cols), (2, 3));
        assert_eq!(a.data, data);
        assert!(
            read_npz_2d(&bytes, "mel_80")
                .unwrap_err()
                .contains("no array")
        );
    }

    #[test]
    fn rejects_wrong_dtype() {
        let mut b = npy(1, 1, &[1.0]);
        let pos = b.windows(3).position(|w| w == b"<f4").unwrap();
        b[pos + 2] = b'8';
        assert!(parse_npy_2d(&b).unwrap_err().contains("f32"));
    }
}
