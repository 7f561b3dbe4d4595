//! The acoustic arousal classifier: features from [`super::acoustic`], followed by whisper's
//! encoder output when the model was trained with it ([`super::whisper_encoder`]), into a small
//! ONNX model (standardiser folded into a logistic regression) run by tract. The only file in
//! `stress` that imports tract.

use super::acoustic::{N_FEATURES, extract};
use super::whisper_encoder::WhisperEncoder;
use super::{StressClassifier, StressError};
use crate::audio::SAMPLE_RATE;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tract_onnx::prelude::*;

/// p(high arousal) from the voice, with the model loaded once.
pub struct TractArousal {
    plan: Arc<TypedRunnableModel>,
    path: PathBuf,
    width: usize,
    encoder: Option<WhisperEncoder>,
}

impl TractArousal {
    /// Loads the classifier at `path` (input `features` [1, N], output p(high)). N is
    /// [`N_FEATURES`], or [`N_FEATURES`] plus the encoder width for a model trained with
    /// whisper's encoder, which is then read from the whisper.cpp model file `encoder_model`.
    pub fn load(path: &Path, encoder_model: &Path) -> Result<Self, StressError> {
        let fail = |why: String| StressError::Load {
            path: path.to_path_buf(),
            why,
        };
        if !path.is_file() {
            return Err(fail("the file does not exist".into()));
        }
        let model = tract_onnx::onnx()
            .model_for_path(path)
            .map_err(|e| fail(format!("not an ONNX model: {e}")))?;
        let width = input_width(&model).map_err(&fail)?;
        let encoder = if width == N_FEATURES {
            None
        } else {
            let e = WhisperEncoder::load(encoder_model).map_err(|e| fail(e.to_string()))?;
            if width != N_FEATURES + e.width() {
                return Err(fail(format!(
                    "it takes {width} inputs, but {N_FEATURES} features and the encoder of {} \
                     ({} values) make {} (fix: set stress.encoder to the whisper model the \
                     stress model was trained with, or retrain it: models/training/README.md)",
                    encoder_model.display(),
                    e.width(),
                    N_FEATURES + e.width()
                )));
            }
            Some(e)
        };
        let plan = model
            .with_input_fact(0, f32::fact([1, width]).into())
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(|e| {
                fail(format!(
                    "not a usable ONNX classifier with {width} inputs: {e}"
                ))
            })?;
        let me = Self {
            plan,
            path: path.to_path_buf(),
            width,
            encoder,
        };
        me.predict(&vec![0.0; width])
            .map_err(|e| fail(e.to_string()))?;
        Ok(me)
    }

    /// Whether the model listens through whisper's encoder as well as the 51 features.
    pub fn uses_encoder(&self) -> bool {
        self.encoder.is_some()
    }

    /// The model's input for one utterance at 16 kHz: the features, then the encoder output.
    pub fn inputs(&self, audio: &[f32]) -> Result<Vec<f32>, StressError> {
        let inference = |e: String| StressError::Inference(e);
        let features = extract(audio, SAMPLE_RATE).map_err(|e| inference(e.to_string()))?;
        let mut x = features.as_slice().to_vec();
        if let Some(e) = &self.encoder {
            x.extend(e.embed(audio).map_err(|e| inference(e.to_string()))?);
        }
        Ok(x)
    }

    /// p(high arousal) for one input vector (see [`Self::inputs`]).
    pub fn predict(&self, inputs: &[f32]) -> Result<f32, StressError> {
        let err = |e: TractError| StressError::Inference(format!("{}: {e}", self.path.display()));
        if inputs.len() != self.width {
            return Err(StressError::Inference(format!(
                "{} takes {} inputs, given {}",
                self.path.display(),
                self.width,
                inputs.len()
            )));
        }
        let input = Tensor::from_shape(&[1, self.width], inputs).map_err(err)?;
        let out = self.plan.run(tvec![input.into()]).map_err(err)?;
        out.first()
            .and_then(|t| t.to_plain_array_view::<f32>().ok()?.iter().next().copied())
            .map(|p| p.clamp(0.0, 1.0))
            .ok_or_else(|| StressError::Inference("the model gave no probability".into()))
    }
}

/// The declared width of the model's input `[1, N]`.
fn input_width(model: &InferenceModel) -> Result<usize, String> {
    let shape = model
        .input_fact(0)
        .ok()
        .and_then(|f| f.shape.as_concrete_finite().ok().flatten());
    match shape.as_deref() {
        Some([1, n]) if *n > 0 => Ok(*n),
        other => Err(format!(
            "its input must be declared as [1, N] features, found {other:?}"
        )),
    }
}

impl StressClassifier for TractArousal {
    fn arousal(&mut self, audio: &[f32]) -> Result<f32, StressError> {
        let x = self.inputs(audio)?;
        self.predict(&x)
    }
}
