//! The conversation state machine: `step(state, event, now) -> (state, actions)`.

use super::compose::{List, Phrases, Reply, Rotation, opening};
use super::hints::{HintInput, staff_hints};
use super::policy::{Policy, judge, usable_answer};
use super::session::{Session, SessionAlert};
use super::{
    Action, AlertRequest, Event, Now, Pace, Reason, Say, StaffAck, StressLevel, Trend, Turn,
};

/// Where the conversation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Nobody is at the kiosk.
    Idle,
    /// A customer is there; the kiosk is listening.
    Listening,
    /// The customer finished speaking; the kiosk is working out a reply.
    Thinking,
    /// The kiosk is speaking.
    Speaking,
    /// Staff have been called; the kiosk listens and stays with the customer.
    WaitingForStaff,
}

/// The whole conversation state. Cheap to clone; owned by one thread.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    policy: Policy,
    phrases: Phrases,
    tag: String,
    phase: Phase,
    next_seq: u64,
    rotation: Rotation,
    session: Option<Session>,
}

impl Conversation {
    /// A new, idle conversation. `alert_tag` prefixes alert ids; it must be unique per daemon
    /// start (kiosk id plus a random boot tag), so ids stay unique across restarts.
    pub fn new(policy: Policy, phrases: Phrases, alert_tag: impl Into<String>) -> Self {
        Self {
            policy,
            phrases,
            tag: alert_tag.into(),
            phase: Phase::Idle,
            next_seq: 1,
            rotation: Rotation::default(),
            session: None,
        }
    }

    /// Current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Id of the present customer's latest alert that is not yet acknowledged, if any.
    pub fn pending_alert(&self) -> Option<&str> {
        self.session
            .as_ref()?
            .alerts
            .iter()
            .rev()
            .find(|a| a.ack.is_none())
            .map(|a| a.id.as_str())
    }

    /// Knowledge-base matches below this confidence are not used as answers.
    pub fn min_answer_confidence(&self) -> f32 {
        self.policy.min_answer_confidence
    }

    /// Applies one event at time `now`; returns the new state and the actions, in order.
    pub fn step(mut self, event: &Event, now: Now) -> (Self, Vec<Action>) {
        let actions = self.apply(event, now);
        (self, actions)
    }

    /// [`Conversation::step`] in place, for owners that keep the state in a field.
    pub fn apply(&mut self, event: &Event, now: Now) -> Vec<Action> {
        let mut actions = Vec::new();
        match event {
            Event::Approached => self.on_approached(now, &mut actions),
            Event::SpeechStarted => self.on_speech_started(now, &mut actions),
            Event::SpeechEnded => self.on_speech_ended(now),
            Event::Heard(turn) => self.on_heard(turn, now, &mut actions),
            Event::NotHeard => self.on_not_heard(now),
            Event::PlaybackFinished => self.on_playback_finished(now),
            Event::StaffAcknowledged(ack) => self.on_ack(ack, &mut actions),
            Event::Tick => self.on_tick(now, &mut actions),
        }
        actions
    }

    fn session_mut(&mut self, now: Now) -> &mut Session {
        self.session.get_or_insert_with(|| Session::new(now))
    }

    fn say(&mut self, text: String, pace: Pace, actions: &mut Vec<Action>) {
        actions.push(Action::Say(Say { text, pace }));
        self.phase = Phase::Speaking;
    }

    /// The phase to return to when the kiosk is not speaking or thinking.
    fn resting_phase(&self) -> Phase {
        match &self.session {
            None => Phase::Idle,
            Some(s) if s.escalated => Phase::WaitingForStaff,
            Some(_) => Phase::Listening,
        }
    }

    fn on_approached(&mut self, now: Now, actions: &mut Vec<Action>) {
        if self.phase != Phase::Idle {
            return;
        }
        let session = self.session_mut(now);
        session.greeted = true;
        let greeting = self.phrases.greeting.clone();
        self.say(greeting, Pace::Normal, actions);
    }

    fn on_speech_started(&mut self, now: Now, actions: &mut Vec<Action>) {
        self.session_mut(now).last_activity = now;
        match self.phase {
            Phase::Speaking => {
                actions.push(Action::StopSpeaking);
                self.phase = self.resting_phase();
            }
            Phase::Idle => self.phase = Phase::Listening,
            _ => {}
        }
    }

    fn on_speech_ended(&mut self, now: Now) {
        let session = self.session_mut(now);
        session.last_activity = now;
        session.thinking_since = Some(now);
        session.said_one_moment = false;
        self.phase = Phase::Thinking;
    }

    fn on_not_heard(&mut self, now: Now) {
        if let Some(s) = self.session.as_mut() {
            s.thinking_since = None;
            s.last_activity = now;
        }
        if self.phase == Phase::Thinking {
            self.phase = self.resting_phase();
        }
    }

    fn on_playback_finished(&mut self, now: Now) {
        if let Some(s) = self.session.as_mut() {
            s.last_activity = now;
        }
        if self.phase == Phase::Speaking {
            self.phase = self.resting_phase();
        }
    }

    fn on_heard(&mut self, turn: &Turn, now: Now, actions: &mut Vec<Action>) {
        let policy = self.policy.clone();
        let session = self.session_mut(now);
        session.last_activity = now;
        session.thinking_since = None;
        let (verdict, counters) = judge(&policy, turn, session.counters);
        session.counters = counters;
        let trend = session.trend(turn.stress.score);
        session.remember(turn);

        let mut reply = Reply::default();
        self.greet_once(&mut reply);
        let pace = match verdict.reason {
            Some(reason) => {
                self.escalate(reason, turn, trend, now, &mut reply, actions);
                if matches!(reason, Reason::Safety | Reason::Distress) {
                    Pace::Slow
                } else {
                    pace_for(turn.stress.level)
                }
            }
            None => {
                self.answer_or_rephrase(turn, verdict.answered, &mut reply);
                pace_for(turn.stress.level)
            }
        };
        if let Some(text) = reply.text() {
            self.say(text, pace, actions);
        } else {
            self.phase = self.resting_phase();
        }
    }

    fn greet_once(&mut self, reply: &mut Reply) {
        if let Some(s) = self.session.as_mut()
            && !s.greeted
        {
            s.greeted = true;
            reply.push(&self.phrases.greeting);
        }
    }

    fn answer_or_rephrase(&mut self, turn: &Turn, answered: bool, reply: &mut Reply) {
        opening(&self.phrases, &mut self.rotation, turn.stress.level, reply);
        match usable_answer(&self.policy, turn).filter(|_| answered) {
            Some(answer) => reply.push_answer(answer),
            None => reply.push(self.rotation.next(&self.phrases, List::Rephrase)),
        }
        if self.session.as_ref().is_some_and(|s| s.escalated) {
            self.push_staff_status(reply);
        }
    }

    /// "Sam is on the way" once acknowledged, otherwise "I've asked a member of staff".
    fn push_staff_status(&self, reply: &mut Reply) {
        match self.session.as_ref().and_then(Session::latest_ack) {
            Some(ack) => reply.push(&self.phrases.staff_coming_text(ack.by.as_deref(), ack.eta_s)),
            None => reply.push(&self.phrases.already_called),
        }
    }

    fn escalate(
        &mut self,
        reason: Reason,
        turn: &Turn,
        trend: Trend,
        now: Now,
        reply: &mut Reply,
        actions: &mut Vec<Action>,
    ) {
        let level = turn.stress.level.max(match reason {
            Reason::Distress => StressLevel::Distressed,
            _ => StressLevel::Calm,
        });
        opening(&self.phrases, &mut self.rotation, level, reply);
        let answer = usable_answer(&self.policy, turn);
        if let Some(a) = answer.filter(|a| a.staff_only || !a.safety)
            && reason == Reason::StaffOnly
        {
            reply.push(&a.text);
        }
        let cooldown = self.policy.cooldown();
        if self
            .session
            .as_ref()
            .is_some_and(|s| s.covers(reason, now, cooldown))
        {
            self.push_staff_status(reply);
            return;
        }
        let request = self.alert_request(reason, level, trend, turn);
        self.session_mut(now).add_alert(SessionAlert {
            id: request.alert_id.clone(),
            reason,
            raised_at: now,
            last_sent: now,
            realerts: 0,
            ack: None,
        });
        actions.push(Action::RaiseAlert(request));
        reply.push(self.phrases.calling(reason));
        if reason == Reason::Safety {
            reply.push(&self.phrases.emergency_hint);
        }
        if level == StressLevel::Distressed {
            reply.push(self.rotation.next(&self.phrases, List::Reassure));
        }
        reply.push(&self.phrases.stay_with_you);
    }

    fn alert_request(
        &mut self,
        reason: Reason,
        level: StressLevel,
        trend: Trend,
        turn: &Turn,
    ) -> AlertRequest {
        let alert_id = format!("{}-{}", self.tag, self.next_seq);
        self.next_seq += 1;
        let topic = usable_answer(&self.policy, turn).map(|a| a.intent.clone());
        let transcripts = self
            .session
            .as_ref()
            .map(|s| s.recent.iter().cloned().collect())
            .unwrap_or_default();
        let hints = staff_hints(&HintInput {
            reason,
            level,
            trend,
            stress_reasons: &turn.stress.reasons,
            topic: topic.as_deref(),
            safety_phrase: turn.safety_phrase.as_deref(),
        });
        AlertRequest {
            alert_id,
            reason,
            level,
            score: turn.stress.score,
            trend,
            transcripts,
            topic,
            hints,
        }
    }

    /// An acknowledgement of the present customer's alert is announced to them once; one of
    /// an earlier customer's alert concerns staff and the alert outbox only.
    fn on_ack(&mut self, ack: &StaffAck, actions: &mut Vec<Action>) {
        let Some(alert) = self
            .session
            .as_mut()
            .and_then(|s| s.alerts.iter_mut().find(|a| a.id == ack.alert_id))
        else {
            return;
        };
        if alert.ack.is_some() {
            return;
        }
        alert.ack = Some(ack.clone());
        let text = self.phrases.staff_coming_text(ack.by.as_deref(), ack.eta_s);
        self.say(text, Pace::Normal, actions);
    }

    fn on_tick(&mut self, now: Now, actions: &mut Vec<Action>) {
        self.maybe_one_moment(now, actions);
        self.maybe_realert(now, actions);
        self.maybe_end_session(now, actions);
    }

    fn maybe_one_moment(&mut self, now: Now, actions: &mut Vec<Action>) {
        if self.phase != Phase::Thinking {
            return;
        }
        let wait = self.policy.one_moment_after();
        let Some(s) = self.session.as_mut() else {
            return;
        };
        let due = s
            .thinking_since
            .is_some_and(|t| now.saturating_sub(t) >= wait);
        if due && !s.said_one_moment {
            s.said_one_moment = true;
            // Still thinking: the real reply follows, so the phase stays.
            actions.push(Action::Say(Say {
                text: self.phrases.one_moment.clone(),
                pace: Pace::Normal,
            }));
        }
    }

    fn maybe_realert(&mut self, now: Now, actions: &mut Vec<Action>) {
        let timeout = self.policy.ack_timeout();
        let max = self.policy.max_realerts;
        let Some(s) = self.session.as_mut() else {
            return;
        };
        let mut realerted = false;
        for a in s.alerts.iter_mut() {
            if !a.chased(max) || now.saturating_sub(a.last_sent) < timeout {
                continue;
            }
            a.realerts += 1;
            a.last_sent = now;
            realerted = true;
            actions.push(Action::Realert {
                alert_id: a.id.clone(),
                attempt: a.realerts,
            });
        }
        if realerted {
            let text = self
                .rotation
                .next(&self.phrases, List::StillWaiting)
                .to_string();
            let phase = self.phase;
            self.say(text, Pace::Normal, actions);
            if phase == Phase::Thinking {
                self.phase = phase;
            }
        }
    }

    fn maybe_end_session(&mut self, now: Now, actions: &mut Vec<Action>) {
        if !matches!(self.phase, Phase::Listening | Phase::WaitingForStaff) {
            return;
        }
        let Some(s) = &self.session else { return };
        // While staff are still being chased for this customer, silence does not mean they
        // left: people wait quietly.
        let max = self.policy.max_realerts;
        let awaiting = s.alerts.iter().any(|a| a.chased(max));
        if awaiting || now.saturating_sub(s.last_activity) < self.policy.leave_after() {
            return;
        }
        let alerts = s.alerts.iter().map(|a| a.id.clone()).collect();
        self.session = None;
        self.phase = Phase::Idle;
        actions.push(Action::SessionEnded { alerts });
    }
}

fn pace_for(level: StressLevel) -> Pace {
    match level {
        StressLevel::Distressed => Pace::Slow,
        _ => Pace::Normal,
    }
}
