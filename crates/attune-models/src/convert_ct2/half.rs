//! IEEE half-precision conversion and ggml's q8_0 block quantisation, written from the formats'
//! definitions. Both must round exactly as ggml does (round-to-nearest-even for f16, round half
//! away from zero for the int8 values) so converted files are byte-for-byte reproducible.

/// Values per q8_0 block.
pub const Q8_0_BLOCK: usize = 32;
/// Bytes per q8_0 block: an f16 scale then 32 signed bytes.
pub const Q8_0_BLOCK_BYTES: usize = 2 + Q8_0_BLOCK;

/// Widens an IEEE binary16 value (exact).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h as u32) & 0x8000) << 16;
    let exp = ((h >> 10) & 0x1f) as u32;
    let mant = (h & 0x3ff) as u32;
    let bits = match (exp, mant) {
        (0, 0) => sign,
        (0, _) => {
            // Subnormal: value is mant * 2^-24; normalise it for f32.
            let shift = mant.leading_zeros() - 21;
            let m = (mant << shift) & 0x3ff;
            let e = 127 - 15 + 1 - shift;
            sign | (e << 23) | (m << 13)
        }
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, _) => sign | 0x7fc0_0000 | (mant << 13),
        _ => sign | ((exp + 127 - 15) << 23) | (mant << 13),
    };
    f32::from_bits(bits)
}

/// Narrows to IEEE binary16 with round-to-nearest-even (what F16C and ggml's fallback do).
pub fn f32_to_f16(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32;
    let mant = bits & 0x7f_ffff;
    if exp == 0xff {
        let nan = if mant != 0 {
            0x0200 | (mant >> 13) as u16
        } else {
            0
        };
        return sign | 0x7c00 | nan;
    }
    let e = exp - 127 + 15;
    if e >= 0x1f {
        return sign | 0x7c00;
    }
    if e <= 0 {
        return sign | subnormal_f16(mant, e);
    }
    let half = ((e as u32) << 10) | (mant >> 13);
    sign | round_even(half, mant & 0x1fff, 0x1000) as u16
}

fn subnormal_f16(mant: u32, e: i32) -> u16 {
    if e < -10 {
        return 0;
    }
    let full = mant | 0x80_0000;
    let shift = (14 - e) as u32;
    let kept = full >> shift;
    let rest = full & ((1 << shift) - 1);
    round_even(kept, rest, 1 << (shift - 1)) as u16
}

/// Rounds `kept` up when the discarded bits `rest` exceed half, or equal half and `kept` is odd.
/// A carry out of the mantissa correctly bumps the exponent.
fn round_even(kept: u32, rest: u32, half: u32) -> u32 {
    if rest > half || (rest == half && kept & 1 == 1) {
        kept + 1
    } else {
        kept
    }
}

/// Widens a bfloat16 value (exact).
pub fn bf16_to_f32(b: u16) -> f32 {
    f32::from_bits((b as u32) << 16)
}

/// Quantises one row whose length is a multiple of [`Q8_0_BLOCK`] into q8_0 blocks appended to
/// `out`: per block, scale d = max|x| / 127 stored as f16, then round(x / d) as i8.
pub fn quantize_q8_0_row(row: &[f32], out: &mut Vec<u8>) {
    for block in row.chunks_exact(Q8_0_BLOCK) {
        let amax = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&f32_to_f16(d).to_le_bytes());
        // f32::round rounds half away from zero, as C's roundf does.
        out.extend(block.iter().map(|v| ((v * id).round() as i8) as u8));
    }
}

/// Reverses [`quantize_q8_0_row`] (used by tests and structural checks).
pub fn dequantize_q8_0(blocks: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(blocks.len() / Q8_0_BLOCK_BYTES * Q8_0_BLOCK);
    for block in blocks.chunks_exact(Q8_0_BLOCK_BYTES) {
        let d = f16_to_f32(u16::from_le_bytes([block[0], block[1]]));
        out.extend(block[2..].iter().map(|&q| q as i8 as f32 * d));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_known_values() {
        assert_eq!(f32_to_f16(1.0), 0x3c00);
        assert_eq!(f32_to_f16(-2.0), 0xc000);
        assert_eq!(f32_to_f16(65504.0), 0x7bff);
        assert_eq!(f32_to_f16(65520.0), 0x7c00); // rounds to infinity
        assert_eq!(f32_to_f16(5.960_464_5e-8), 0x0001); // smallest subnormal
        assert_eq!(f32_to_f16(0.0), 0);
        assert_eq!(f32_to_f16(f32::INFINITY), 0x7c00);
        assert!(f16_to_f32(f32_to_f16(f32::NAN)).is_nan());
        // 1 + 2^-11 is exactly halfway between 1.0 and the next half: ties go to even.
        assert_eq!(f32_to_f16(1.0 + 1.0 / 2048.0), 0x3c00);
        assert_eq!(f32_to_f16(1.0 + 3.0 / 2048.0), 0x3c02);
    }

    #[test]
    fn every_f16_round_trips() {
        for h in 0..=u16::MAX {
            let x = f16_to_f32(h);
            if x.is_nan() {
                continue;
            }
            assert_eq!(f32_to_f16(x), h, "h={h:#06x} x={x}");
        }
    }

    #[test]
    fn q8_0_block_layout() {
        let mut row: Vec<f32> = (0..32).map(|i| i as f32 - 16.0).collect();
        row[5] = 127.0;
        let mut out = Vec::new();
        quantize_q8_0_row(&row, &mut out);
        assert_eq!(out.len(), Q8_0_BLOCK_BYTES);
        assert_eq!(u16::from_le_bytes([out[0], out[1]]), 0x3c00); // scale 1.0
        assert_eq!(out[2] as i8, -16);
        assert_eq!(out[7] as i8, 127);
        let back = dequantize_q8_0(&out);
        assert_eq!(back[5], 127.0);
        assert_eq!(back[0], -16.0);
    }

    #[test]
    fn q8_0_zero_block_is_zero() {
        let mut out = Vec::new();
        quantize_q8_0_row(&[0.0; 32], &mut out);
        assert!(out.iter().all(|&b| b == 0));
    }
}
