//! The reply composer: short, warm sentences chosen by stress level.
//!
//! Wording lives in configuration (`[replies]`) with the defaults below. Lists are rotated so
//! the same empathy line is never used twice in a row.

use super::{Answer, Reason, StressLevel};
use serde::{Deserialize, Serialize};

/// Everything the kiosk can say that is not a knowledge-base answer (the `[replies]` section).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Phrases {
    /// First words to a new customer: discloses that this is an automated assistant and that
    /// staff can be called.
    pub greeting: String,
    /// Asked once when a turn is not understood.
    pub rephrase: Vec<String>,
    /// Said before the answer to a tense customer.
    pub acknowledge: Vec<String>,
    /// Said first to a distressed customer.
    pub validate: Vec<String>,
    /// Said to a distressed customer after validation.
    pub reassure: Vec<String>,
    /// Why a person is coming, for a safety matter.
    pub calling_safety: String,
    /// Why a person is coming, when the customer asked for one.
    pub calling_asked: String,
    /// Why a person is coming, for a staff-only topic.
    pub calling_staff_only: String,
    /// Why a person is coming, for a distressed customer.
    pub calling_distress: String,
    /// Why a person is coming, when the kiosk could not help.
    pub calling_unresolved: String,
    /// Added for safety matters only.
    pub emergency_hint: String,
    /// Said after a person has been called.
    pub stay_with_you: String,
    /// A member of staff is already on their way or being called.
    pub already_called: String,
    /// Staff acknowledged; `{name}` is replaced by who is coming.
    pub staff_coming_named: String,
    /// Staff acknowledged without giving a name.
    pub staff_coming: String,
    /// Arrival estimate; `{minutes}` is replaced.
    pub eta_minutes: String,
    /// Arrival estimate under a minute and a half.
    pub eta_soon: String,
    /// Nobody acknowledged in time and the alert was repeated.
    pub still_waiting: Vec<String>,
    /// Said when understanding a turn takes a while.
    pub one_moment: String,
}

impl Default for Phrases {
    fn default() -> Self {
        let v = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Self {
            greeting:
                "Hello, I'm the automated help point. I can answer questions, and I can call \
                       a member of staff for you at any time."
                    .into(),
            rephrase: v(&[
                "Sorry, I didn't quite catch that. Could you say it another way?",
                "I'm sorry, I missed that. Could you tell me again in a few words?",
            ]),
            acknowledge: v(&[
                "I can see this has been frustrating.",
                "I'm sorry this has been difficult.",
                "That sounds annoying. Let me help.",
            ]),
            validate: v(&[
                "I'm sorry you're going through this.",
                "That sounds really stressful.",
                "I can hear this is upsetting.",
            ]),
            reassure: v(&["You're not on your own.", "Take your time. I'm listening."]),
            calling_safety: "I'm calling a member of staff to you right now.".into(),
            calling_asked: "Of course. I'm asking a member of staff to come to you now.".into(),
            calling_staff_only: "A member of staff needs to help with that, so I'm asking \
                                 someone to come to you now."
                .into(),
            calling_distress: "I'm asking a member of staff to come and help you.".into(),
            calling_unresolved: "I'm sorry I couldn't help with that myself. I'm asking a \
                                 member of staff to come to you."
                .into(),
            emergency_hint: "If anyone is in immediate danger, call 999.".into(),
            stay_with_you: "Please stay here. I'll stay with you until they arrive.".into(),
            already_called: "I've asked a member of staff to come to you.".into(),
            staff_coming_named: "{name} is on the way.".into(),
            staff_coming: "A member of staff is on the way.".into(),
            eta_minutes: "They should be with you in about {minutes} minutes.".into(),
            eta_soon: "They should be with you in about a minute.".into(),
            still_waiting: v(&[
                "I'm still getting someone for you. Thank you for waiting.",
                "I've asked again for a member of staff to come to you.",
            ]),
            one_moment: "One moment.".into(),
        }
    }
}

impl Phrases {
    /// Lists every empty phrase or list, each with its key.
    pub fn problems(&self) -> Vec<String> {
        let lists = [
            ("rephrase", &self.rephrase),
            ("acknowledge", &self.acknowledge),
            ("validate", &self.validate),
            ("reassure", &self.reassure),
            ("still_waiting", &self.still_waiting),
        ];
        let mut out: Vec<String> = lists
            .iter()
            .filter(|(_, l)| l.is_empty() || l.iter().any(|s| s.trim().is_empty()))
            .map(|(k, _)| format!("replies.{k} must be a list of non-empty phrases"))
            .collect();
        let texts = [
            ("greeting", &self.greeting),
            ("calling_safety", &self.calling_safety),
            ("calling_asked", &self.calling_asked),
            ("calling_staff_only", &self.calling_staff_only),
            ("calling_distress", &self.calling_distress),
            ("calling_unresolved", &self.calling_unresolved),
            ("staff_coming", &self.staff_coming),
            ("one_moment", &self.one_moment),
        ];
        out.extend(
            texts
                .iter()
                .filter(|(_, t)| t.trim().is_empty())
                .map(|(k, _)| format!("replies.{k} must not be empty")),
        );
        if !self.staff_coming_named.contains("{name}") {
            out.push("replies.staff_coming_named must contain {name}".into());
        }
        out
    }

    /// The reason-specific sentence said when staff are called.
    pub(super) fn calling(&self, reason: Reason) -> &str {
        match reason {
            Reason::Safety => &self.calling_safety,
            Reason::AskedForPerson => &self.calling_asked,
            Reason::StaffOnly => &self.calling_staff_only,
            Reason::Distress => &self.calling_distress,
            Reason::Unresolved => &self.calling_unresolved,
        }
    }

    /// "Sam is on the way. They should be with you in about 2 minutes."
    pub(super) fn staff_coming_text(&self, by: Option<&str>, eta_s: Option<u32>) -> String {
        let mut out = match by.map(str::trim).filter(|n| !n.is_empty()) {
            Some(name) => self.staff_coming_named.replace("{name}", name),
            None => self.staff_coming.clone(),
        };
        if let Some(eta) = eta_s {
            out.push(' ');
            if eta < 90 {
                out.push_str(&self.eta_soon);
            } else {
                let minutes = eta.saturating_add(30) / 60;
                out.push_str(&self.eta_minutes.replace("{minutes}", &minutes.to_string()));
            }
        }
        out
    }
}

/// Rotation state so that no list repeats its last line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Rotation {
    acknowledge: usize,
    validate: usize,
    reassure: usize,
    rephrase: usize,
    still_waiting: usize,
}

/// Which rotating list to draw from.
#[derive(Debug, Clone, Copy)]
pub(super) enum List {
    Acknowledge,
    Validate,
    Reassure,
    Rephrase,
    StillWaiting,
}

impl Rotation {
    /// The next line of `list`, never the one used last time (when the list has two or more).
    pub(super) fn next<'a>(&mut self, phrases: &'a Phrases, list: List) -> &'a str {
        let (items, cursor) = match list {
            List::Acknowledge => (&phrases.acknowledge, &mut self.acknowledge),
            List::Validate => (&phrases.validate, &mut self.validate),
            List::Reassure => (&phrases.reassure, &mut self.reassure),
            List::Rephrase => (&phrases.rephrase, &mut self.rephrase),
            List::StillWaiting => (&phrases.still_waiting, &mut self.still_waiting),
        };
        let Some(line) = items.get(*cursor % items.len().max(1)) else {
            return "";
        };
        *cursor = (*cursor + 1) % items.len();
        line
    }
}

/// Builds a reply from sentences, dropping empty ones.
#[derive(Debug, Default)]
pub(super) struct Reply(Vec<String>);

impl Reply {
    /// Appends a sentence (ignored when empty).
    pub(super) fn push(&mut self, s: &str) {
        let s = s.trim();
        if !s.is_empty() {
            self.0.push(s.to_string());
        }
    }

    /// Appends an answer and its follow-up.
    pub(super) fn push_answer(&mut self, answer: &Answer) {
        self.push(&answer.text);
        if let Some(f) = &answer.follow_up {
            self.push(f);
        }
    }

    /// The reply as one text, or `None` when nothing was added.
    pub(super) fn text(self) -> Option<String> {
        (!self.0.is_empty()).then(|| self.0.join(" "))
    }
}

/// The empathy opening for a level: nothing when calm.
pub(super) fn opening(phrases: &Phrases, rot: &mut Rotation, level: StressLevel, r: &mut Reply) {
    match level {
        StressLevel::Calm => {}
        StressLevel::Tense => r.push(rot.next(phrases, List::Acknowledge)),
        StressLevel::Distressed => r.push(rot.next(phrases, List::Validate)),
    }
}
