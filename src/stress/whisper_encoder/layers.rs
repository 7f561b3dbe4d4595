//! The encoder's building blocks on row-major matrices (one row per time step): linear maps,
//! layer norm, GELU, 1-D convolution and multi-head self-attention, as whisper defines them.

use ndarray::{Array1, Array2, ArrayView2, Axis, s};

/// Layer norm epsilon of whisper.
const EPS: f32 = 1e-5;

/// `y = x · Wᵀ + b`, with `W` stored `[out, in]` as in the model file.
#[derive(Debug)]
pub struct Linear {
    /// Weights, `[out, in]`.
    pub w: Array2<f32>,
    /// Bias per output, if the layer has one (whisper's key projection has none).
    pub b: Option<Array1<f32>>,
}

impl Linear {
    /// Applies the map to every row of `x`.
    pub fn apply(&self, x: &ArrayView2<f32>) -> Array2<f32> {
        let mut y = x.dot(&self.w.t());
        if let Some(b) = &self.b {
            y += b;
        }
        y
    }
}

/// Layer norm with a learned gain and bias.
#[derive(Debug)]
pub struct Norm {
    /// Gain per feature.
    pub w: Array1<f32>,
    /// Bias per feature.
    pub b: Array1<f32>,
}

impl Norm {
    /// Normalises every row of `x` to zero mean and unit variance, then scales and shifts.
    pub fn apply(&self, x: &Array2<f32>) -> Array2<f32> {
        let mut y = x.clone();
        for mut row in y.rows_mut() {
            let n = row.len() as f32;
            let mean = row.sum() / n;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
            let inv = 1.0 / (var + EPS).sqrt();
            row.mapv_inplace(|v| (v - mean) * inv);
            row *= &self.w;
            row += &self.b;
        }
        y
    }
}

/// GELU, tanh form (what whisper.cpp computes).
pub fn gelu(x: &mut Array2<f32>) {
    const C: f32 = 0.797_884_6; // sqrt(2 / pi)
    x.mapv_inplace(|v| 0.5 * v * (1.0 + (C * (v + 0.044_715 * v * v * v)).tanh()));
}

/// 1-D convolution, kernel 3, padding 1, over time; weights `[out, in * 3]` (in-channel major,
/// tap minor, as stored). Input `[time, in]`; output `[time_out, out]`.
#[derive(Debug)]
pub struct Conv3 {
    /// The convolution as a linear map of the three stacked taps.
    pub map: Linear,
    /// Step between output positions (1 or 2).
    pub stride: usize,
}

impl Conv3 {
    /// Convolves `x` (`[time, in]`), zero-padded by one step at each end.
    pub fn apply(&self, x: &ArrayView2<f32>) -> Array2<f32> {
        let (t_in, c_in) = x.dim();
        let t_out = (t_in + 2 - 3) / self.stride + 1;
        let mut cols = Array2::<f32>::zeros((t_out, c_in * 3));
        for (t, mut col) in cols.rows_mut().into_iter().enumerate() {
            for k in 0..3 {
                // Input position t * stride + k - 1; outside the input it is padding (0).
                let Some(src) = (t * self.stride + k).checked_sub(1) else {
                    continue;
                };
                if src >= t_in {
                    continue;
                }
                for (c, v) in x.row(src).iter().enumerate() {
                    col[c * 3 + k] = *v;
                }
            }
        }
        self.map.apply(&cols.view())
    }
}

/// Multi-head self-attention without a mask (the encoder sees the whole utterance).
#[derive(Debug)]
pub struct Attention {
    /// Query projection.
    pub q: Linear,
    /// Key projection (no bias).
    pub k: Linear,
    /// Value projection.
    pub v: Linear,
    /// Output projection.
    pub out: Linear,
    /// Heads.
    pub heads: usize,
}

impl Attention {
    /// Attends every row of `x` to all rows.
    pub fn apply(&self, x: &ArrayView2<f32>) -> Array2<f32> {
        let (q, k, v) = (self.q.apply(x), self.k.apply(x), self.v.apply(x));
        let (t, d) = q.dim();
        let dh = d / self.heads;
        let scale = 1.0 / (dh as f32).sqrt();
        let mut merged = Array2::<f32>::zeros((t, d));
        for h in 0..self.heads {
            let cols = s![.., h * dh..(h + 1) * dh];
            let mut scores = q.slice(cols).dot(&k.slice(cols).t());
            scores *= scale;
            softmax_rows(&mut scores);
            merged.slice_mut(cols).assign(&scores.dot(&v.slice(cols)));
        }
        self.out.apply(&merged.view())
    }
}

fn softmax_rows(x: &mut Array2<f32>) {
    for mut row in x.axis_iter_mut(Axis(0)) {
        let max = row.fold(f32::MIN, |m, &v| m.max(v));
        row.mapv_inplace(|v| (v - max).exp());
        let sum = row.sum();
        row /= sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn a_convolution_with_a_centre_tap_copies_and_strides() {
        // One channel in, one out: weight taps [0, 1, 0] → identity; stride 2 keeps 0, 2, 4.
        let conv = Conv3 {
            map: Linear {
                w: array![[0.0, 1.0, 0.0]],
                b: Some(array![0.5]),
            },
            stride: 2,
        };
        let x = array![[1.0], [2.0], [3.0], [4.0], [5.0]];
        let y = conv.apply(&x.view());
        assert_eq!(y, array![[1.5], [3.5], [5.5]]);
    }

    #[test]
    fn layer_norm_rows_have_zero_mean_and_unit_variance() {
        let n = Norm {
            w: array![1.0, 1.0, 1.0, 1.0],
            b: array![0.0, 0.0, 0.0, 0.0],
        };
        let y = n.apply(&array![[1.0, 2.0, 3.0, 4.0]]);
        assert!(y.sum().abs() < 1e-5);
        assert!((y.mapv(|v| v * v).sum() / 4.0 - 1.0).abs() < 1e-3);
    }

    #[test]
    fn attention_over_identical_rows_returns_their_value() {
        let eye = || Linear {
            w: Array2::eye(2),
            b: None,
        };
        let att = Attention {
            q: eye(),
            k: eye(),
            v: eye(),
            out: eye(),
            heads: 1,
        };
        let x = array![[1.0, -1.0], [1.0, -1.0]];
        assert_eq!(att.apply(&x.view()), x);
    }
}
