//! Round-trip tests on a small synthetic CTranslate2 Whisper model.

use super::ct2::testing::{Data, write};
use super::ggml::{GgmlCheckError, TYPE_F16, TYPE_F32, TYPE_Q8_0, inspect};
use super::half::{Q8_0_BLOCK, Q8_0_BLOCK_BYTES, dequantize_q8_0, f16_to_f32};
use super::npy::tests::npz;
use super::*;
use std::path::Path;

const S: usize = 64; // width: the smallest that fills q8_0 blocks
const MELS: usize = 4;
const AUDIO_CTX: usize = 6;
const TEXT_CTX: usize = 5;
const VOCAB: usize = 40;
const DEC_LAYERS: usize = 2;

/// Exactly representable in f16, distinct per (seed, index).
fn pattern(seed: usize, n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (((i * 7 + seed * 13) % 97) as f32 - 48.0) / 64.0)
        .collect()
}

fn var(name: &str, dims: Vec<usize>, seed: usize) -> (String, Vec<usize>, Data) {
    let n = dims.iter().product();
    (name.to_string(), dims, Data::F16(pattern(seed, n)))
}

fn linear(
    prefix: &str,
    n_out: usize,
    n_in: usize,
    seed: usize,
    vars: &mut Vec<(String, Vec<usize>, Data)>,
) {
    vars.push(var(&format!("{prefix}/weight"), vec![n_out, n_in], seed));
    vars.push(var(&format!("{prefix}/bias"), vec![n_out], seed + 1));
}

fn norm(prefix: &str, seed: usize, vars: &mut Vec<(String, Vec<usize>, Data)>) {
    vars.push(var(&format!("{prefix}/gamma"), vec![S], seed));
    vars.push(var(&format!("{prefix}/beta"), vec![S], seed + 1));
}

/// Fused q/k/v with recognisable thirds: q rows 0.25, k rows 0.5, v rows 0.75; bias q 1, k 2, v 3.
fn fused_qkv(prefix: &str, vars: &mut Vec<(String, Vec<usize>, Data)>) {
    let w: Vec<f32> = (0..3 * S * S)
        .map(|i| [0.25, 0.5, 0.75][i / (S * S)])
        .collect();
    let b: Vec<f32> = (0..3 * S).map(|i| [1.0, 2.0, 3.0][i / S]).collect();
    vars.push((
        format!("{prefix}/linear_0/weight"),
        vec![3 * S, S],
        Data::F16(w),
    ));
    vars.push((format!("{prefix}/linear_0/bias"), vec![3 * S], Data::F16(b)));
}

/// A complete tiny Whisper in CTranslate2 layout. The token embedding is stored under
/// `decoder/projection/weight` with `decoder/embeddings/weight` as an alias, to exercise alias
/// resolution; one FFN weight is int8 with a per-row scale.
pub(crate) fn synthetic_model() -> Vec<u8> {
    let mut v = vec![
        var("encoder/conv1/weight", vec![S, MELS, 3], 1),
        var("encoder/conv1/bias", vec![S], 2),
        var("encoder/conv2/weight", vec![S, S, 3], 3),
        var("encoder/conv2/bias", vec![S], 4),
        var(
            "encoder/position_encodings/encodings",
            vec![AUDIO_CTX, S],
            5,
        ),
        ("encoder/num_heads".into(), vec![], Data::I16(1)),
    ];
    fused_qkv("encoder/layer_0/self_attention", &mut v);
    linear("encoder/layer_0/self_attention/linear_1", S, S, 10, &mut v);
    norm("encoder/layer_0/self_attention/layer_norm", 12, &mut v);
    let q: Vec<i8> = (0..4 * S * S)
        .map(|i| ((i % 200) as i32 - 100) as i8)
        .collect();
    v.push((
        "encoder/layer_0/ffn/linear_0/weight".into(),
        vec![4 * S, S],
        Data::I8(q),
    ));
    v.push((
        "encoder/layer_0/ffn/linear_0/weight_scale".into(),
        vec![4 * S],
        Data::F32(vec![64.0; 4 * S]),
    ));
    v.push(var("encoder/layer_0/ffn/linear_0/bias", vec![4 * S], 15));
    linear("encoder/layer_0/ffn/linear_1", S, 4 * S, 16, &mut v);
    norm("encoder/layer_0/ffn/layer_norm", 18, &mut v);
    norm("encoder/layer_norm", 20, &mut v);
    v.push(var("decoder/projection/weight", vec![VOCAB, S], 30));
    v.push(var(
        "decoder/position_encodings/encodings",
        vec![TEXT_CTX, S],
        31,
    ));
    v.push(("decoder/num_heads".into(), vec![], Data::I16(1)));
    for l in 0..DEC_LAYERS {
        let p = format!("decoder/layer_{l}");
        fused_qkv(&format!("{p}/self_attention"), &mut v);
        linear(
            &format!("{p}/self_attention/linear_1"),
            S,
            S,
            40 + l,
            &mut v,
        );
        norm(&format!("{p}/self_attention/layer_norm"), 42, &mut v);
        linear(&format!("{p}/attention/linear_0"), S, S, 44, &mut v);
        let kv: Vec<f32> = (0..2 * S * S)
            .map(|i| if i < S * S { -0.5 } else { 0.125 })
            .collect();
        v.push((
            format!("{p}/attention/linear_1/weight"),
            vec![2 * S, S],
            Data::F16(kv),
        ));
        let kvb: Vec<f32> = (0..2 * S).map(|i| if i < S { -1.0 } else { 4.0 }).collect();
        v.push((
            format!("{p}/attention/linear_1/bias"),
            vec![2 * S],
            Data::F16(kvb),
        ));
        linear(&format!("{p}/attention/linear_2"), S, S, 46, &mut v);
        norm(&format!("{p}/attention/layer_norm"), 48, &mut v);
        linear(&format!("{p}/ffn/linear_0"), 4 * S, S, 50, &mut v);
        linear(&format!("{p}/ffn/linear_1"), S, 4 * S, 52, &mut v);
        norm(&format!("{p}/ffn/layer_norm"), 54, &mut v);
    }
    norm("decoder/layer_norm", 60, &mut v);
    write(
        &v,
        &[("decoder/embeddings/weight", "decoder/projection/weight")],
    )
}

pub(crate) fn assets() -> WhisperAssets {
    WhisperAssets {
        mel_filters_npz: npz(&format!("mel_{MELS}"), MELS, 9, &pattern(99, MELS * 9)),
        gpt2_tiktoken: Some(b"IQ== 0\nIg== 1\nIw== 2\n".to_vec()),
        multilingual_tiktoken: None,
    }
}

fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("ct2");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("model.bin"), synthetic_model()).unwrap();
    (dir, src)
}

/// Reads a tensor's values back from a converted file, whatever its storage type.
fn tensor_values(path: &Path, name: &str) -> (i32, Vec<usize>, Vec<f32>) {
    let layout = inspect(path).unwrap();
    let t = layout.tensors.iter().find(|t| t.name == name).unwrap();
    let bytes = std::fs::read(path).unwrap();
    let n: usize = t.ne.iter().product();
    let start = t.offset as usize;
    let values = match t.ttype {
        TYPE_F32 => bytes[start..start + 4 * n]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect(),
        TYPE_F16 => bytes[start..start + 2 * n]
            .chunks_exact(2)
            .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
            .collect(),
        TYPE_Q8_0 => dequantize_q8_0(&bytes[start..start + n / Q8_0_BLOCK * Q8_0_BLOCK_BYTES]),
        other => panic!("type {other}"),
    };
    (t.ttype, t.ne.clone(), values)
}

#[test]
fn reader_sees_variables_aliases_and_layers() {
    let (_d, src) = setup();
    let mut m = Ct2Model::open(&src.join("model.bin")).unwrap();
    assert_eq!(m.spec, "WhisperSpec");
    assert_eq!(m.version, 6);
    assert_eq!(m.layer_count("encoder"), 1);
    assert_eq!(m.layer_count("decoder"), DEC_LAYERS);
    assert_eq!(
        m.require("decoder/embeddings/weight").unwrap().dims,
        vec![VOCAB, S]
    );
    assert_eq!(m.read_int("encoder/num_heads").unwrap(), Some(1));
    let w = m.read_f32("encoder/layer_0/ffn/linear_0/weight").unwrap();
    assert_eq!(w[0], -100.0 / 64.0); // int8 divided by its row scale
    assert!(matches!(
        m.read_f32("nope"),
        Err(ConvertError::MissingVariable { .. })
    ));
}

#[test]
fn f16_conversion_round_trips_and_splits_fused_attention() {
    let (d, src) = setup();
    let out = d.path().join("ggml-f16.bin");
    let report = convert(&src, &assets(), &out, Quant::F16).unwrap();
    assert_eq!(report.bytes, std::fs::metadata(&out).unwrap().len());
    let layout = inspect(&out).unwrap();
    assert_eq!(layout.ftype, 1);
    assert_eq!(layout.hparams, report.hparams);
    assert_eq!(layout.hparams.n_vocab, VOCAB);
    assert_eq!(layout.hparams.n_mels, MELS);
    assert_eq!(
        (layout.hparams.n_audio_layer, layout.hparams.n_text_layer),
        (1, DEC_LAYERS)
    );
    assert_eq!(layout.n_tokens, 3);
    assert_eq!(layout.mel_shape, (MELS, 9));
    assert_eq!(layout.tensors.len(), 7 + 15 + 4 + 24 * DEC_LAYERS);

    let (t, ne, q) = tensor_values(&out, "encoder.blocks.0.attn.query.weight");
    assert_eq!((t, ne), (TYPE_F16, vec![S, S]));
    assert!(q.iter().all(|&x| x == 0.25));
    let (_, _, k) = tensor_values(&out, "encoder.blocks.0.attn.key.weight");
    assert!(k.iter().all(|&x| x == 0.5));
    let (_, _, v) = tensor_values(&out, "decoder.blocks.1.attn.value.weight");
    assert!(v.iter().all(|&x| x == 0.75));
    let (t, _, vb) = tensor_values(&out, "decoder.blocks.0.attn.value.bias");
    assert_eq!(t, TYPE_F32);
    assert!(vb.iter().all(|&x| x == 3.0));
    assert!(!layout.tensors.iter().any(|t| t.name.contains("key.bias")));
    let (_, _, ck) = tensor_values(&out, "decoder.blocks.1.cross_attn.key.weight");
    assert!(ck.iter().all(|&x| x == -0.5));
    let (_, _, cvb) = tensor_values(&out, "decoder.blocks.1.cross_attn.value.bias");
    assert!(cvb.iter().all(|&x| x == 4.0));

    let (t, ne, bias) = tensor_values(&out, "encoder.conv1.bias");
    assert_eq!((t, ne), (TYPE_F32, vec![1, S]));
    assert_eq!(bias, pattern(2, S));
    let (_, ne, emb) = tensor_values(&out, "decoder.token_embedding.weight");
    assert_eq!(ne, vec![S, VOCAB]);
    assert_eq!(emb, pattern(30, VOCAB * S));
    let (_, ne, _) = tensor_values(&out, "encoder.conv1.weight");
    assert_eq!(ne, vec![3, MELS, S]);
}

#[test]
fn q8_0_conversion_is_deterministic_and_keeps_small_tensors_exact() {
    let (d, src) = setup();
    let a = d.path().join("a.bin");
    let b = d.path().join("b.bin");
    let ra = convert(&src, &assets(), &a, Quant::Q8_0).unwrap();
    let rb = convert(&src, &assets(), &b, Quant::Q8_0).unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_eq!(ra.sha256, rb.sha256);
    assert_eq!(inspect(&a).unwrap().ftype, 2007);

    let (t, _, k) = tensor_values(&a, "encoder.blocks.0.attn.key.weight");
    assert_eq!(t, TYPE_Q8_0);
    assert!(k.iter().all(|&x| (x - 0.5).abs() < 1e-3));
    let (t, _, _) = tensor_values(&a, "encoder.conv2.weight");
    assert_eq!(t, TYPE_F16, "conv kernels stay f16 in quantised files");
    let (t, _, pe) = tensor_values(&a, "decoder.positional_embedding");
    assert_eq!(t, TYPE_F32);
    assert_eq!(pe, pattern(31, TEXT_CTX * S));
    let (_, _, emb) = tensor_values(&a, "decoder.token_embedding.weight");
    let max_err = emb
        .iter()
        .zip(pattern(30, VOCAB * S))
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    assert!(max_err < 0.75 / 127.0 + 1e-6, "q8_0 error {max_err}");
}

#[test]
fn truncated_output_is_detected_even_at_a_tensor_boundary() {
    let (d, src) = setup();
    let out = d.path().join("m.bin");
    convert(&src, &assets(), &out, Quant::F16).unwrap();
    let layout = inspect(&out).unwrap();
    let bytes = std::fs::read(&out).unwrap();
    let last = layout.tensors.last().unwrap();
    let boundary = last.offset as usize - (12 + 4 * last.ne.len() + last.name.len());
    for cut in [bytes.len() - 1, boundary, 100] {
        std::fs::write(&out, &bytes[..cut]).unwrap();
        match inspect(&out) {
            Err(GgmlCheckError::Truncated { expected, found }) => {
                assert_eq!(found, cut as u64);
                assert!(expected > found);
            }
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
    std::fs::write(&out, b"GGUF....").unwrap();
    assert!(matches!(inspect(&out), Err(GgmlCheckError::BadMagic(_))));
}

#[test]
fn missing_tokenizer_and_mel_size_are_named() {
    let (d, src) = setup();
    let mut a = assets();
    a.gpt2_tiktoken = None;
    let err = convert(&src, &a, &d.path().join("x.bin"), Quant::F16).unwrap_err();
    assert!(err.to_string().contains("gpt2.tiktoken"), "{err}");
    let mut a = assets();
    a.mel_filters_npz = npz("mel_80", 80, 2, &[0.0; 160]);
    let err = convert(&src, &a, &d.path().join("x.bin"), Quant::F16).unwrap_err();
    assert!(err.to_string().contains("mel_4"), "{err}");
    assert!(
        !d.path().join("x.bin").exists(),
        "failed conversions leave no output"
    );
}

#[test]
fn non_whisper_sources_are_rejected_with_the_path() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("model.bin");
    std::fs::write(
        &p,
        write(&[var("encoder/conv1/weight", vec![S, MELS, 3], 1)], &[]),
    )
    .unwrap();
    let err = convert(&p, &assets(), &d.path().join("o.bin"), Quant::F16).unwrap_err();
    assert!(matches!(err, ConvertError::MissingVariable { .. }), "{err}");
    assert!(err.to_string().contains("model.bin"));
    std::fs::write(&p, b"\x06\x00\x00\x00\x0c").unwrap();
    let err = convert(&p, &assets(), &d.path().join("o.bin"), Quant::F16).unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
}
