//! One intent of the knowledge base: a customer need, the ways people ask for it, and the
//! answer.

/// A customer need the kiosk can answer, with the ways people ask for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Intent {
    pub(super) id: String,
    pub(super) phrasings: Vec<String>,
    pub(super) keywords: Vec<String>,
    pub(super) answer: String,
    pub(super) follow_up: Option<String>,
    pub(super) staff_only: bool,
    pub(super) safety: bool,
    pub(super) line: usize,
}

impl Intent {
    /// Stable identifier, e.g. `toilets`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Example customer utterances for this intent.
    pub fn phrasings(&self) -> &[String] {
        &self.phrasings
    }

    /// Extra single words that point at this intent (optional in the file).
    pub fn keywords(&self) -> &[String] {
        &self.keywords
    }

    /// What the kiosk says.
    pub fn answer(&self) -> &str {
        &self.answer
    }

    /// Optional question the kiosk asks after answering.
    pub fn follow_up(&self) -> Option<&str> {
        self.follow_up.as_deref()
    }

    /// Only staff can resolve this; the daemon should hand over.
    pub fn staff_only(&self) -> bool {
        self.staff_only
    }

    /// A possible emergency; the daemon should alert staff at once.
    pub fn safety(&self) -> bool {
        self.safety
    }

    /// Line of the `[[intent]]` header, for diagnostics.
    pub fn line(&self) -> usize {
        self.line
    }
}
