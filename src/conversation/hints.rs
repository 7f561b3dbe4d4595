//! Hints for the member of staff who answers an alert: how the customer sounds, what they
//! need, and a first sentence that starts the conversation well.

use super::{Reason, StaffHints, StressLevel, Trend};

/// What the hints are made from.
pub(super) struct HintInput<'a> {
    pub reason: Reason,
    pub level: StressLevel,
    pub trend: Trend,
    pub stress_reasons: &'a [String],
    pub topic: Option<&'a str>,
    pub safety_phrase: Option<&'a str>,
}

/// Builds the hints; wording is for staff, so plain and short.
pub(super) fn staff_hints(input: &HintInput<'_>) -> StaffHints {
    StaffHints {
        sounds: sounds(input),
        needs: needs(input),
        first_sentence: first_sentence(input).to_string(),
    }
}

fn sounds(input: &HintInput<'_>) -> String {
    let base = match input.level {
        StressLevel::Calm => "calm",
        StressLevel::Tense => "frustrated",
        StressLevel::Distressed => "distressed",
    };
    let mut out = base.to_string();
    if input.trend == Trend::Rising && input.level != StressLevel::Calm {
        out.push_str(", and getting more upset");
    }
    if !input.stress_reasons.is_empty() {
        out.push_str(&format!(" ({})", input.stress_reasons.join(", ")));
    }
    out
}

fn needs(input: &HintInput<'_>) -> String {
    let topic = input.topic.map(|t| t.replace('_', " "));
    match input.reason {
        Reason::Safety => match (input.safety_phrase, topic) {
            (Some(p), _) => format!("may need urgent help: said \"{p}\""),
            (None, Some(t)) => format!("may need urgent help: asked about {t}"),
            (None, None) => "may need urgent help".into(),
        },
        Reason::AskedForPerson => "asked to speak to a person".into(),
        Reason::StaffOnly => format!(
            "help with {} (a staff-only topic)",
            topic.as_deref().unwrap_or("their request")
        ),
        Reason::Distress => match topic {
            Some(t) => format!("reassurance and help; asked about {t}"),
            None => "reassurance and help".into(),
        },
        Reason::Unresolved => "an answer the help point could not give".into(),
    }
}

fn first_sentence(input: &HintInput<'_>) -> &'static str {
    match input.reason {
        Reason::Safety => "Hello, I'm from the station team. Are you hurt, or is anyone in danger?",
        Reason::Distress => {
            "Hello, I'm here to help. I'm sorry it's been a hard time. Can you tell me what's happened?"
        }
        Reason::AskedForPerson => "Hello, I'm from the station team. How can I help?",
        Reason::StaffOnly => {
            "Hello, I'm from the station team. I hear you need some help I can sort out for you."
        }
        Reason::Unresolved => {
            "Hello, the help point couldn't answer your question. I'm here to help: what do you need?"
        }
    }
}
