//! Silero VAD (the `openvino_16k` export, which tract can run) through tract-onnx.
//!
//! Each call takes a 32 ms frame (512 samples) and prepends the last 64 samples of the
//! previous frame as context, as the model was trained; the recurrent state is carried from
//! frame to frame and reset between conversations.

use super::{VadError, VoiceDetector};
use crate::audio::FRAME_SAMPLES;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tract_onnx::prelude::*;

const CONTEXT: usize = 64;
const STATE_SHAPE: [usize; 3] = [2, 1, 128];

type Plan = TypedRunnableModel;

/// The Silero voice detector with its carried state.
pub struct SileroVad {
    plan: Arc<Plan>,
    /// Index of the `state` input (the other is the audio).
    state_input: usize,
    context: Vec<f32>,
    state: Tensor,
    path: PathBuf,
}

impl SileroVad {
    /// Loads the model at `path`.
    pub fn load(path: &Path) -> Result<Self, VadError> {
        let fail = |why: String| VadError::Load {
            path: path.to_path_buf(),
            why,
        };
        if !path.is_file() {
            return Err(fail("the file does not exist".into()));
        }
        let model = tract_onnx::onnx()
            .model_for_path(path)
            .map_err(|e| fail(format!("not a readable ONNX model: {e}")))?;
        let names: Vec<String> = model
            .input_outlets()
            .map_err(|e| fail(e.to_string()))?
            .iter()
            .map(|o| model.node(o.node).name.clone())
            .collect();
        let state_input = names
            .iter()
            .position(|n| n.contains("state"))
            .ok_or_else(|| fail(format!("expected inputs `input` and `state`, found {names:?} (use silero_vad_openvino_16k.onnx)")))?;
        let audio_input = 1 - state_input;
        let model = model
            .with_input_fact(audio_input, f32::fact([1, CONTEXT + FRAME_SAMPLES]).into())
            .and_then(|m| m.with_input_fact(state_input, f32::fact(STATE_SHAPE).into()))
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(|e| fail(format!("tract cannot run it: {e}")))?;
        let mut me = Self {
            plan: model,
            state_input,
            context: vec![0.0; CONTEXT],
            state: Tensor::zero::<f32>(&STATE_SHAPE).map_err(|e| fail(e.to_string()))?,
            path: path.to_path_buf(),
        };
        // One silent frame proves the graph runs end to end before the kiosk relies on it.
        me.speech_probability(&[0.0; FRAME_SAMPLES])
            .map_err(|e| fail(e.to_string()))?;
        me.reset();
        Ok(me)
    }
}

impl VoiceDetector for SileroVad {
    fn speech_probability(&mut self, frame: &[f32]) -> Result<f32, VadError> {
        let err = |e: TractError| VadError::Inference(format!("{}: {e}", self.path.display()));
        let mut input = Vec::with_capacity(CONTEXT + FRAME_SAMPLES);
        input.extend_from_slice(&self.context);
        input.extend_from_slice(frame);
        input.resize(CONTEXT + FRAME_SAMPLES, 0.0);
        let audio: TValue = Tensor::from_shape(&[1, CONTEXT + FRAME_SAMPLES], &input)
            .map_err(err)?
            .into();
        let state: TValue = self.state.clone().into();
        let inputs = if self.state_input == 1 {
            tvec![audio, state]
        } else {
            tvec![state, audio]
        };
        let out = self.plan.run(inputs).map_err(err)?;
        let prob = out
            .first()
            .and_then(|t| t.to_plain_array_view::<f32>().ok()?.iter().next().copied())
            .ok_or_else(|| VadError::Inference("the model gave no probability".into()))?;
        if let Some(state) = out.get(1) {
            self.state = state.clone().into_tensor();
        }
        self.context
            .copy_from_slice(&input[input.len() - CONTEXT..]);
        Ok(prob.clamp(0.0, 1.0))
    }

    fn reset(&mut self) {
        self.context.iter_mut().for_each(|s| *s = 0.0);
        if let Ok(z) = Tensor::zero::<f32>(&STATE_SHAPE) {
            self.state = z;
        }
    }
}
