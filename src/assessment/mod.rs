//! The turn assessment: what the customer said, how their voice sounded, and the conversation
//! so far become the [`Turn`] the conversation core decides on. The daemon, `attune assess`
//! and `attune reply` all use this one [`Assessor`], so the tools print what the kiosk would
//! decide. Pure: no engines, no I/O, no clock; the phrase lists are compiled once.

use crate::conversation::{Answer, Turn};
use crate::knowledge::{IntentMatch, KnowledgeBase};
use crate::stress::cues::{CueMatcher, CuePhrases, DialogueCues, TextCues};
use crate::stress::{StressConfig, StressInputs, fuse};
use std::collections::VecDeque;

/// Earlier utterances of the present customer kept to spot repeated requests.
const HISTORY: usize = 16;

/// One turn as assessed: the core's [`Turn`], and the text cues behind it (for tools).
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// What the conversation core decides on.
    pub turn: Turn,
    /// The cues found in the words.
    pub cues: TextCues,
}

/// Assesses one customer's turns in order; [`Assessor::customer_left`] starts afresh.
pub struct Assessor {
    cues: CueMatcher,
    stress: StressConfig,
    knowledge: KnowledgeBase,
    history: VecDeque<String>,
    unanswered_run: u32,
}

impl Assessor {
    /// An assessor with the configured phrase lists, fusion weights and knowledge base.
    pub fn new(phrases: &CuePhrases, stress: StressConfig, knowledge: KnowledgeBase) -> Self {
        Self {
            cues: CueMatcher::new(phrases),
            stress,
            knowledge,
            history: VecDeque::new(),
            unanswered_run: 0,
        }
    }

    /// The knowledge base answers come from.
    pub fn knowledge(&self) -> &KnowledgeBase {
        &self.knowledge
    }

    /// Words, voice (`acoustic`: p(high arousal), when the classifier ran) and dialogue →
    /// the turn the core decides on.
    pub fn assess(&mut self, text: &str, acoustic: Option<f32>) -> Assessment {
        let cues = self.cues.analyse(text);
        let kb = &self.knowledge;
        let repeated_request =
            DialogueCues::assess_with(self.history.make_contiguous(), text, |s| {
                kb.content_terms(s)
            })
            .repeated_request;
        let answer = kb.match_intent(text).as_ref().map(answer_from);
        let stress = fuse(
            &self.stress,
            &StressInputs {
                acoustic,
                text: cues.score,
                sentiment: cues.sentiment,
                frustration: cues.frustration.clone(),
                repeated_request,
                unresolved_before: self.unanswered_run,
            },
        );
        let answered = answer
            .as_ref()
            .is_some_and(|a| a.confidence >= kb.threshold());
        self.unanswered_run = if answered && !repeated_request {
            0
        } else {
            self.unanswered_run.saturating_add(1)
        };
        if self.history.len() >= HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(text.to_string());
        let turn = Turn {
            transcript: text.to_string(),
            stress,
            safety_phrase: cues.safety.clone(),
            asked_for_person: cues.asked_for_person.clone(),
            repeated_request,
            answer,
        };
        Assessment { turn, cues }
    }

    /// The customer has gone: the next turn starts a new conversation.
    pub fn customer_left(&mut self) {
        self.history.clear();
        self.unanswered_run = 0;
    }
}

/// The conversation core's view of a knowledge-base match.
pub fn answer_from(m: &IntentMatch) -> Answer {
    Answer {
        intent: m.id.clone(),
        confidence: m.confidence,
        text: m.answer.clone(),
        follow_up: m.follow_up.clone(),
        staff_only: m.staff_only,
        safety: m.safety,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::StressLevel;

    fn assessor() -> Assessor {
        let kb: KnowledgeBase = crate::knowledge::EXAMPLE_KNOWLEDGE
            .parse()
            .expect("example knowledge base");
        Assessor::new(&CuePhrases::default(), StressConfig::default(), kb)
    }

    #[test]
    fn words_voice_and_dialogue_make_the_turn() {
        let mut a = assessor();
        let t = a.assess("where are the toilets", Some(0.1)).turn;
        assert_eq!(
            t.answer.as_ref().map(|x| x.intent.as_str()),
            Some("toilets")
        );
        assert_eq!(t.stress.level, StressLevel::Calm);
        let t = a.assess("help me, he has collapsed", Some(0.5)).turn;
        assert_eq!(t.safety_phrase.as_deref(), Some("help me"));
        assert_eq!(t.stress.level, StressLevel::Distressed);
        let t = a.assess("I said where are the toilets", Some(0.3)).turn;
        assert!(t.repeated_request, "asked again");
        a.customer_left();
        let t = a.assess("where are the toilets", Some(0.1)).turn;
        assert!(!t.repeated_request, "a new customer");
    }

    #[test]
    fn unanswered_turns_raise_the_dialogue_stress() {
        let mut a = assessor();
        let first = a.assess("blorp fizzle wobble", Some(0.2)).turn.stress.score;
        a.assess("quantum marmalade", Some(0.2));
        let third = a
            .assess("zebra crossing tango", Some(0.2))
            .turn
            .stress
            .score;
        assert!(third > first, "{first} -> {third}");
    }
}
