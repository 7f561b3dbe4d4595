//! The whisper.cpp tensor list for given hyper-parameters, and where each tensor comes from in
//! a CTranslate2 Whisper model. The order is fixed (openai-whisper's state-dict order, which is
//! also what upstream's converter emits), so output is deterministic.

/// Whisper hyper-parameters, in the order whisper.cpp reads them from a ggml header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hparams {
    /// Vocabulary size (token embedding rows): 51864 English-only, 51865+ multilingual.
    pub n_vocab: usize,
    /// Encoder positions (1500 for 30 s).
    pub n_audio_ctx: usize,
    /// Encoder width.
    pub n_audio_state: usize,
    /// Encoder attention heads.
    pub n_audio_head: usize,
    /// Encoder layers.
    pub n_audio_layer: usize,
    /// Decoder positions (448).
    pub n_text_ctx: usize,
    /// Decoder width (equals the encoder width in every Whisper).
    pub n_text_state: usize,
    /// Decoder attention heads.
    pub n_text_head: usize,
    /// Decoder layers.
    pub n_text_layer: usize,
    /// Mel bands (80, or 128 for large-v3).
    pub n_mels: usize,
}

impl Hparams {
    /// whisper.cpp treats vocabularies of 51865 or more as multilingual.
    pub fn is_multilingual(&self) -> bool {
        self.n_vocab >= 51865
    }

    /// The header values in file order (ftype excluded).
    pub fn as_array(&self) -> [usize; 10] {
        [
            self.n_vocab,
            self.n_audio_ctx,
            self.n_audio_state,
            self.n_audio_head,
            self.n_audio_layer,
            self.n_text_ctx,
            self.n_text_state,
            self.n_text_head,
            self.n_text_layer,
            self.n_mels,
        ]
    }
}

/// How a tensor is stored in the output, mirroring the types whisper.cpp allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// Always f32: 1-D tensors, conv biases, positional embeddings.
    F32,
    /// Convolution kernels: f16 in both f16 and quantised files.
    Conv,
    /// 2-D weight matrices: f16, or the quantised type.
    Matrix,
}

/// A contiguous run of rows (outermost dimension) of a CTranslate2 variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// CTranslate2 variable name (aliases resolved by the reader).
    pub var: String,
    /// `Some((first, count))` to take only those rows of a fused variable.
    pub rows: Option<(usize, usize)>,
}

/// One output tensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    /// whisper.cpp tensor name.
    pub name: String,
    /// Dimensions in ggml order (innermost first).
    pub ne: Vec<usize>,
    /// Output storage class.
    pub storage: Storage,
    /// Where the values come from.
    pub source: Source,
}

impl TensorSpec {
    /// Element count.
    pub fn numel(&self) -> usize {
        self.ne.iter().product()
    }
}

/// Every tensor whisper.cpp expects for `h`, in output order.
pub fn whisper_tensors(h: &Hparams) -> Vec<TensorSpec> {
    let mut out = Vec::new();
    encoder_tensors(h, &mut out);
    decoder_tensors(h, &mut out);
    out
}

fn encoder_tensors(h: &Hparams, out: &mut Vec<TensorSpec>) {
    let s = h.n_audio_state;
    out.push(whole(
        "encoder.positional_embedding",
        vec![s, h.n_audio_ctx],
        Storage::F32,
        "encoder/position_encodings/encodings",
    ));
    out.push(whole(
        "encoder.conv1.weight",
        vec![3, h.n_mels, s],
        Storage::Conv,
        "encoder/conv1/weight",
    ));
    out.push(whole(
        "encoder.conv1.bias",
        vec![1, s],
        Storage::F32,
        "encoder/conv1/bias",
    ));
    out.push(whole(
        "encoder.conv2.weight",
        vec![3, s, s],
        Storage::Conv,
        "encoder/conv2/weight",
    ));
    out.push(whole(
        "encoder.conv2.bias",
        vec![1, s],
        Storage::F32,
        "encoder/conv2/bias",
    ));
    for i in 0..h.n_audio_layer {
        let dst = format!("encoder.blocks.{i}");
        let src = format!("encoder/layer_{i}");
        self_attention(&dst, &src, s, out);
        mlp(&dst, &src, s, out);
    }
    out.push(whole(
        "encoder.ln_post.weight",
        vec![s],
        Storage::F32,
        "encoder/layer_norm/gamma",
    ));
    out.push(whole(
        "encoder.ln_post.bias",
        vec![s],
        Storage::F32,
        "encoder/layer_norm/beta",
    ));
}

fn decoder_tensors(h: &Hparams, out: &mut Vec<TensorSpec>) {
    let s = h.n_text_state;
    out.push(whole(
        "decoder.positional_embedding",
        vec![s, h.n_text_ctx],
        Storage::F32,
        "decoder/position_encodings/encodings",
    ));
    out.push(whole(
        "decoder.token_embedding.weight",
        vec![s, h.n_vocab],
        Storage::Matrix,
        "decoder/embeddings/weight",
    ));
    for i in 0..h.n_text_layer {
        let dst = format!("decoder.blocks.{i}");
        let src = format!("decoder/layer_{i}");
        self_attention(&dst, &src, s, out);
        cross_attention(&dst, &src, s, out);
        mlp(&dst, &src, s, out);
    }
    out.push(whole(
        "decoder.ln.weight",
        vec![s],
        Storage::F32,
        "decoder/layer_norm/gamma",
    ));
    out.push(whole(
        "decoder.ln.bias",
        vec![s],
        Storage::F32,
        "decoder/layer_norm/beta",
    ));
}

/// CTranslate2 fuses q, k and v into `linear_0` ([3s, s]); whisper has no key bias, so the
/// middle third of the fused bias (zeros) is dropped.
fn self_attention(dst: &str, src: &str, s: usize, out: &mut Vec<TensorSpec>) {
    let fused = format!("{src}/self_attention/linear_0");
    out.push(rows(
        &format!("{dst}.attn.query.weight"),
        vec![s, s],
        Storage::Matrix,
        &format!("{fused}/weight"),
        0,
        s,
    ));
    out.push(rows(
        &format!("{dst}.attn.query.bias"),
        vec![s],
        Storage::F32,
        &format!("{fused}/bias"),
        0,
        s,
    ));
    out.push(rows(
        &format!("{dst}.attn.key.weight"),
        vec![s, s],
        Storage::Matrix,
        &format!("{fused}/weight"),
        s,
        s,
    ));
    out.push(rows(
        &format!("{dst}.attn.value.weight"),
        vec![s, s],
        Storage::Matrix,
        &format!("{fused}/weight"),
        2 * s,
        s,
    ));
    out.push(rows(
        &format!("{dst}.attn.value.bias"),
        vec![s],
        Storage::F32,
        &format!("{fused}/bias"),
        2 * s,
        s,
    ));
    linear(
        &format!("{dst}.attn.out"),
        &format!("{src}/self_attention/linear_1"),
        s,
        s,
        out,
    );
    norm(
        &format!("{dst}.attn_ln"),
        &format!("{src}/self_attention/layer_norm"),
        s,
        out,
    );
}

/// Cross-attention keeps the query separate (`linear_0`), fuses k and v in `linear_1`
/// ([2s, s], no key bias) and has the output projection in `linear_2`.
fn cross_attention(dst: &str, src: &str, s: usize, out: &mut Vec<TensorSpec>) {
    let kv = format!("{src}/attention/linear_1");
    linear(
        &format!("{dst}.cross_attn.query"),
        &format!("{src}/attention/linear_0"),
        s,
        s,
        out,
    );
    out.push(rows(
        &format!("{dst}.cross_attn.key.weight"),
        vec![s, s],
        Storage::Matrix,
        &format!("{kv}/weight"),
        0,
        s,
    ));
    out.push(rows(
        &format!("{dst}.cross_attn.value.weight"),
        vec![s, s],
        Storage::Matrix,
        &format!("{kv}/weight"),
        s,
        s,
    ));
    out.push(rows(
        &format!("{dst}.cross_attn.value.bias"),
        vec![s],
        Storage::F32,
        &format!("{kv}/bias"),
        s,
        s,
    ));
    linear(
        &format!("{dst}.cross_attn.out"),
        &format!("{src}/attention/linear_2"),
        s,
        s,
        out,
    );
    norm(
        &format!("{dst}.cross_attn_ln"),
        &format!("{src}/attention/layer_norm"),
        s,
        out,
    );
}

fn mlp(dst: &str, src: &str, s: usize, out: &mut Vec<TensorSpec>) {
    linear(
        &format!("{dst}.mlp.0"),
        &format!("{src}/ffn/linear_0"),
        s,
        4 * s,
        out,
    );
    linear(
        &format!("{dst}.mlp.2"),
        &format!("{src}/ffn/linear_1"),
        4 * s,
        s,
        out,
    );
    norm(
        &format!("{dst}.mlp_ln"),
        &format!("{src}/ffn/layer_norm"),
        s,
        out,
    );
}

/// A linear layer with `n_in` inputs and `n_out` outputs (CTranslate2 stores [n_out, n_in]).
fn linear(dst: &str, src: &str, n_in: usize, n_out: usize, out: &mut Vec<TensorSpec>) {
    out.push(whole(
        &format!("{dst}.weight"),
        vec![n_in, n_out],
        Storage::Matrix,
        &format!("{src}/weight"),
    ));
    out.push(whole(
        &format!("{dst}.bias"),
        vec![n_out],
        Storage::F32,
        &format!("{src}/bias"),
    ));
}

fn norm(dst: &str, src: &str, s: usize, out: &mut Vec<TensorSpec>) {
    out.push(whole(
        &format!("{dst}.weight"),
        vec![s],
        Storage::F32,
        &format!("{src}/gamma"),
    ));
    out.push(whole(
        &format!("{dst}.bias"),
        vec![s],
        Storage::F32,
        &format!("{src}/beta"),
    ));
}

fn whole(name: &str, ne: Vec<usize>, storage: Storage, var: &str) -> TensorSpec {
    TensorSpec {
        name: name.to_string(),
        ne,
        storage,
        source: Source {
            var: var.to_string(),
            rows: None,
        },
    }
}

fn rows(
    name: &str,
    ne: Vec<usize>,
    storage: Storage,
    var: &str,
    first: usize,
    count: usize,
) -> TensorSpec {
    TensorSpec {
        name: name.to_string(),
        ne,
        storage,
        source: Source {
            var: var.to_string(),
            rows: Some((first, count)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Hparams {
        Hparams {
            n_vocab: 51864,
            n_audio_ctx: 1500,
            n_audio_state: 384,
            n_audio_head: 6,
            n_audio_layer: 4,
            n_text_ctx: 448,
            n_text_state: 384,
            n_text_head: 6,
            n_text_layer: 4,
            n_mels: 80,
        }
    }

    #[test]
    fn tensor_count_matches_whisper_cpp() {
        // whisper.cpp allocates 7 fixed encoder tensors, 15 per encoder layer, 4 fixed decoder
        // tensors and 24 per decoder layer, and refuses a file that lacks any of them.
        let h = tiny();
        let n = whisper_tensors(&h).len();
        assert_eq!(n, 7 + 15 * 4 + 4 + 24 * 4);
        let names: std::collections::BTreeSet<_> =
            whisper_tensors(&h).into_iter().map(|t| t.name).collect();
        assert_eq!(names.len(), n, "names are unique");
        assert!(!names.iter().any(|n| n.contains("key.bias")));
    }

    #[test]
    fn fused_slices_cover_q_k_v() {
        let t = whisper_tensors(&tiny());
        let key = t
            .iter()
            .find(|t| t.name == "encoder.blocks.0.attn.key.weight")
            .unwrap();
        assert_eq!(key.source.rows, Some((384, 384)));
        let v = t
            .iter()
            .find(|t| t.name == "decoder.blocks.3.cross_attn.value.bias")
            .unwrap();
        assert_eq!(v.source.var, "decoder/layer_3/attention/linear_1/bias");
        assert_eq!(v.source.rows, Some((384, 384)));
    }
}
