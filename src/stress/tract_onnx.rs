//! The acoustic arousal classifier: features from [`super::acoustic`] into a small ONNX model
//! (standardiser folded into a logistic regression) run by tract. The only file in `stress`
//! that imports tract.

use super::acoustic::{N_FEATURES, extract};
use super::{StressClassifier, StressError};
use crate::audio::SAMPLE_RATE;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tract_onnx::prelude::*;

/// p(high arousal) from the voice, with the model loaded once.
pub struct TractArousal {
    plan: Arc<TypedRunnableModel>,
    path: PathBuf,
}

impl TractArousal {
    /// Loads the classifier at `path` (input `features` [1, N_FEATURES], output p(high)).
    pub fn load(path: &Path) -> Result<Self, StressError> {
        let fail = |why: String| StressError::Load {
            path: path.to_path_buf(),
            why,
        };
        if !path.is_file() {
            return Err(fail("the file does not exist".into()));
        }
        let plan = tract_onnx::onnx()
            .model_for_path(path)
            .and_then(|m| m.with_input_fact(0, f32::fact([1, N_FEATURES]).into()))
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(|e| {
                fail(format!(
                    "not a usable ONNX classifier with {N_FEATURES} features: {e}"
                ))
            })?;
        let me = Self {
            plan,
            path: path.to_path_buf(),
        };
        me.predict(&[0.0; N_FEATURES])
            .map_err(|e| fail(e.to_string()))?;
        Ok(me)
    }

    /// p(high arousal) for one feature vector.
    pub fn predict(&self, features: &[f32]) -> Result<f32, StressError> {
        let err = |e: TractError| StressError::Inference(format!("{}: {e}", self.path.display()));
        let input = Tensor::from_shape(&[1, N_FEATURES], features).map_err(err)?;
        let out = self.plan.run(tvec![input.into()]).map_err(err)?;
        out.first()
            .and_then(|t| t.to_plain_array_view::<f32>().ok()?.iter().next().copied())
            .map(|p| p.clamp(0.0, 1.0))
            .ok_or_else(|| StressError::Inference("the model gave no probability".into()))
    }
}

impl StressClassifier for TractArousal {
    fn arousal(&mut self, audio: &[f32]) -> Result<f32, StressError> {
        let features =
            extract(audio, SAMPLE_RATE).map_err(|e| StressError::Inference(e.to_string()))?;
        self.predict(features.as_slice())
    }
}
