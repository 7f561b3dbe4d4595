//! Escalation policy: the thresholds that decide when a person is called.

use super::{Reason, StressLevel, Turn};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Thresholds and timings of the conversation and its escalation (the `[escalation]` section).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Policy {
    /// Knowledge-base matches below this confidence are not used as answers (set from the
    /// knowledge base's `[matching] threshold`).
    #[serde(skip)]
    pub min_answer_confidence: f32,
    /// Consecutive distressed turns that call staff (hysteresis against one loud moment).
    pub sustained_turns: u32,
    /// A single turn with a stress score at or above this calls staff at once.
    pub very_high_score: f32,
    /// Consecutive turns the kiosk could not answer before it calls staff (the turns before
    /// that get a request to rephrase).
    pub unresolved_turns: u32,
    /// How many times an unacknowledged alert is repeated (to the supervisor too).
    pub max_realerts: u32,
    /// After an alert, no new non-safety alert for the same customer for this long (one
    /// customer, one alert, not a storm). A new customer, and a safety matter not already
    /// waiting for staff, always raise their own.
    pub cooldown_s: u64,
    /// Re-alert (and tell the supervisor) when no member of staff acknowledges in this time.
    pub ack_timeout_s: u64,
    /// Silence after which the customer is taken to have left and the conversation resets.
    pub leave_after_s: u64,
    /// Say "one moment" when understanding a turn takes longer than this.
    pub one_moment_after_ms: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            min_answer_confidence: 0.4,
            sustained_turns: 2,
            very_high_score: 0.9,
            unresolved_turns: 2,
            max_realerts: 3,
            cooldown_s: 300,
            ack_timeout_s: 90,
            leave_after_s: 45,
            one_moment_after_ms: 1500,
        }
    }
}

impl Policy {
    /// Cooldown as a duration.
    pub fn cooldown(&self) -> Duration {
        Duration::from_secs(self.cooldown_s)
    }

    /// Acknowledgement timeout as a duration.
    pub fn ack_timeout(&self) -> Duration {
        Duration::from_secs(self.ack_timeout_s)
    }

    /// Leave-detection silence as a duration.
    pub fn leave_after(&self) -> Duration {
        Duration::from_secs(self.leave_after_s)
    }

    /// Delay before "one moment" as a duration.
    pub fn one_moment_after(&self) -> Duration {
        Duration::from_millis(self.one_moment_after_ms)
    }

    /// Lists every out-of-range value, each with its key.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(0.0..=1.0).contains(&self.very_high_score) {
            out.push(format!(
                "escalation.very_high_score = {} is out of range 0..=1",
                self.very_high_score
            ));
        }
        if !(1..=10).contains(&self.sustained_turns) {
            out.push(format!(
                "escalation.sustained_turns = {} is out of range 1..=10",
                self.sustained_turns
            ));
        }
        if !(1..=10).contains(&self.unresolved_turns) {
            out.push(format!(
                "escalation.unresolved_turns = {} is out of range 1..=10",
                self.unresolved_turns
            ));
        }
        if self.max_realerts > 20 {
            out.push(format!(
                "escalation.max_realerts = {} is out of range 0..=20",
                self.max_realerts
            ));
        }
        if !(10..=3600).contains(&self.ack_timeout_s) {
            out.push(format!(
                "escalation.ack_timeout_s = {} is out of range 10..=3600",
                self.ack_timeout_s
            ));
        }
        if !(5..=3600).contains(&self.leave_after_s) {
            out.push(format!(
                "escalation.leave_after_s = {} is out of range 5..=3600",
                self.leave_after_s
            ));
        }
        if self.cooldown_s > 86_400 {
            out.push(format!(
                "escalation.cooldown_s = {} is out of range 0..=86400",
                self.cooldown_s
            ));
        }
        out
    }
}

/// What one turn means for escalation, before cooldown is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Verdict {
    /// Why staff should be called, if they should.
    pub reason: Option<Reason>,
    /// The turn was understood and has an answer worth giving.
    pub answered: bool,
}

/// Counters the policy needs from the dialogue so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Counters {
    /// Consecutive distressed turns.
    pub distressed_run: u32,
    /// Consecutive turns not understood or not answered.
    pub unresolved_run: u32,
}

/// Decides what a turn calls for, given the counters before it; returns the verdict and the
/// counters including this turn. Priority: safety, a request for a person, staff-only topics,
/// distress, then unresolved turns.
pub(super) fn judge(policy: &Policy, turn: &Turn, before: Counters) -> (Verdict, Counters) {
    let answer = usable_answer(policy, turn);
    // A repeated request means the last answer did not help, so it counts as unresolved.
    let answered = answer.is_some() && !turn.repeated_request;
    let counters = Counters {
        distressed_run: if turn.stress.level == StressLevel::Distressed {
            before.distressed_run + 1
        } else {
            0
        },
        unresolved_run: if answered {
            0
        } else {
            before.unresolved_run + 1
        },
    };
    let reason = if turn.safety_phrase.is_some() || answer.is_some_and(|a| a.safety) {
        Some(Reason::Safety)
    } else if turn.asked_for_person.is_some() {
        Some(Reason::AskedForPerson)
    } else if answer.is_some_and(|a| a.staff_only) {
        Some(Reason::StaffOnly)
    } else if is_distress(policy, turn, counters) {
        Some(Reason::Distress)
    } else if !answered && counters.unresolved_run >= policy.unresolved_turns {
        Some(Reason::Unresolved)
    } else {
        None
    };
    (Verdict { reason, answered }, counters)
}

/// The turn's answer when it is confident enough to be used.
pub(super) fn usable_answer<'a>(policy: &Policy, turn: &'a Turn) -> Option<&'a super::Answer> {
    turn.answer
        .as_ref()
        .filter(|a| a.confidence >= policy.min_answer_confidence)
}

fn is_distress(policy: &Policy, turn: &Turn, counters: Counters) -> bool {
    turn.stress.score >= policy.very_high_score
        || (turn.stress.level == StressLevel::Distressed
            && counters.distressed_run >= policy.sustained_turns)
}
