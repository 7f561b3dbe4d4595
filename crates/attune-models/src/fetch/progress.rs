//! Progress of a fetch, and its printing as one line per step.

use std::io::Write;

/// Progress reported while fetching. [`StderrProgress`] prints it as lines such as
/// `[2/7] whisper tiny.en: converting to ggml q8_0 ... ok (43.6 MB, 0.9 s)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgressEvent {
    /// A numbered step starts (or is checked).
    Step {
        /// 1-based step number.
        step: usize,
        /// Number of steps.
        total: usize,
        /// What is being done.
        text: String,
    },
    /// The current step finished; `text` is the outcome ("ok (31.2 MB)").
    Done {
        /// Outcome.
        text: String,
    },
    /// A detail inside a step (a fallback taken, a source fetched).
    Note {
        /// The detail.
        text: String,
    },
}

/// Prints progress events to stderr, keeping a step and its outcome on one line when nothing
/// comes in between.
#[derive(Debug, Default)]
pub struct StderrProgress {
    open: bool,
}

impl StderrProgress {
    /// Prints one event.
    pub fn print(&mut self, event: &ProgressEvent) {
        let mut err = std::io::stderr().lock();
        let _ = match event {
            ProgressEvent::Step { step, total, text } => {
                self.open = true;
                write!(err, "[{step}/{total}] {text} ...")
            }
            ProgressEvent::Done { text } if self.open => {
                self.open = false;
                writeln!(err, " {text}")
            }
            ProgressEvent::Done { text } => writeln!(err, "      ... {text}"),
            ProgressEvent::Note { text } => {
                let nl = if std::mem::take(&mut self.open) {
                    "\n"
                } else {
                    ""
                };
                writeln!(err, "{nl}      {text}")
            }
        };
        let _ = err.flush();
    }
}
