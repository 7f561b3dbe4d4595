//! The brain thread: owns the conversation core, turns engine results into core events, and
//! executes the core's actions (speech, alerts) in order.

use super::speak::{SayCmd, TurnTiming};
use super::understand::Understood;
use super::{Activity, BrainMsg, RunReport, TurnRecord};
use crate::alerts::{Alert, AlertPublisher, KioskIdentity, StatusUpdate};
use crate::audio::Clock;
use crate::config::PrivacyConfig;
use crate::conversation::{Action, Answer, Conversation, Event, StaffAck, Turn};
use crate::knowledge::{IntentMatch, KnowledgeBase};
use crate::latency::TurnLatency;
use crate::shutdown::Shutdown;
use crate::stress::cues::{CuePhrases, DialogueCues, analyse};
use crate::stress::{StressConfig, StressInputs, fuse};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

/// How often time-driven events (timeouts, leaving) are checked.
const TICK: Duration = Duration::from_millis(100);
/// Earlier utterances of the present customer kept to spot repeated requests.
const HISTORY: usize = 16;
/// Acknowledged alert ids remembered to ignore repeated deliveries (QoS 1 is at least once).
const RECENT_ACKS: usize = 64;

/// What a run recorded, when it records (see [`Components::keep_report`](super::Components)).
pub(super) struct Recorder {
    keep: bool,
    report: RunReport,
}

impl Recorder {
    pub fn new(keep: bool) -> Self {
        Self {
            keep,
            report: RunReport::default(),
        }
    }

    fn turn(&mut self, t: TurnRecord) {
        if self.keep {
            self.report.turns.push(t);
        }
    }

    fn said(&mut self, text: &str) {
        if self.keep {
            self.report.said.push(text.to_string());
            if let Some(t) = self.report.turns.last_mut() {
                t.replies.push(text.to_string());
            }
        }
    }

    fn alert(&mut self, alert: &Alert) {
        if self.keep {
            if let Some(t) = self.report.turns.last_mut() {
                t.alert = Some((alert.alert_id.clone(), alert.reason));
            }
            self.report.alerts.push(alert.clone());
        }
    }

    fn ack(&mut self, ack: &StaffAck) {
        if self.keep {
            self.report.acks.push(ack.clone());
        }
    }

    fn latency(&mut self, l: TurnLatency) {
        if self.keep {
            self.report.latencies.push(l);
        }
    }

    /// What was recorded (empty for a live kiosk).
    pub fn into_report(self) -> RunReport {
        self.report
    }
}

/// What the brain thread owns.
pub(super) struct Brain {
    pub conversation: Conversation,
    pub knowledge: KnowledgeBase,
    pub stress_cfg: StressConfig,
    pub cues: CuePhrases,
    pub privacy: PrivacyConfig,
    pub kiosk: KioskIdentity,
    pub alerts: Box<dyn AlertPublisher>,
    pub acks: Receiver<StaffAck>,
    pub inbox: Receiver<BrainMsg>,
    pub to_tts: SyncSender<SayCmd>,
    pub activity: Activity,
    pub clock: Clock,
    pub shutdown: Shutdown,
    pub history: Vec<String>,
    pub unanswered_run: u32,
    pub report: Recorder,
    /// Alerts already acknowledged (bounded).
    pub recent_acks: std::collections::VecDeque<String>,
    /// After the input ends, how long an unacknowledged alert may still be acknowledged, so
    /// the customer hears who is coming.
    pub ack_grace: Duration,
    /// systemd notifications; the watchdog is pinged only from this loop.
    pub systemd: crate::shutdown::Systemd,
    /// Silence waited for before a turn ends (counted in its latency).
    pub hangover: Duration,
    /// The timing of the turn being handled, until its first reply is sent.
    pub timing: Option<TurnTiming>,
}

impl Brain {
    /// Runs until the input has ended and the last turn is finished, or shutdown.
    pub fn run(mut self) -> (RunReport, Box<dyn AlertPublisher>) {
        let mut drained_at: Option<Instant> = None;
        loop {
            if self.shutdown.is_triggered() || drained_at.is_some_and(|t| self.finished(t)) {
                break;
            }
            match self.inbox.recv_timeout(TICK) {
                Ok(BrainMsg::InputEnded) | Err(RecvTimeoutError::Disconnected) => {
                    drained_at.get_or_insert_with(Instant::now);
                }
                Ok(msg) => self.handle(msg),
                Err(RecvTimeoutError::Timeout) => {}
            }
            self.poll_acks();
            self.apply(&Event::Tick);
            self.systemd.alive();
        }
        self.systemd.stopping();
        (self.report.into_report(), self.alerts)
    }

    /// The input has ended: done once the last turn is spoken and no alert is still waiting
    /// for a member of staff within the grace period.
    fn finished(&self, drained_at: Instant) -> bool {
        let waiting_for_staff =
            self.conversation.pending_alert().is_some() && drained_at.elapsed() < self.ack_grace;
        self.activity.idle() && !waiting_for_staff
    }

    fn handle(&mut self, msg: BrainMsg) {
        match msg {
            BrainMsg::SpeechStarted => self.apply(&Event::SpeechStarted),
            BrainMsg::SpeechEnded => self.apply(&Event::SpeechEnded),
            BrainMsg::Discarded => self.apply(&Event::NotHeard),
            BrainMsg::PlaybackFinished => self.apply(&Event::PlaybackFinished),
            BrainMsg::Understood(u) => self.on_understood(*u),
            BrainMsg::FirstAudio(latency) => self.on_first_audio(latency),
            BrainMsg::InputTrouble(why) => {
                tracing::warn!("input trouble: {why}");
                self.alerts
                    .report(StatusUpdate::Audio(format!("input lost: {why}")));
            }
            // The status shows the input's name while it works, as it did at start-up.
            BrainMsg::InputRecovered(input) => self.alerts.report(StatusUpdate::Audio(input)),
            BrainMsg::InputEnded => {}
        }
    }

    fn on_first_audio(&mut self, l: TurnLatency) {
        tracing::debug!(
            voice_to_voice_ms = l.voice_to_voice_ms,
            hangover_ms = l.hangover_ms,
            stt_wait_ms = l.stt_wait_ms,
            stt_ms = l.stt_ms,
            stt_early = l.stt_early,
            stress_ms = l.stress_ms,
            think_ms = l.think_ms,
            tts_first_ms = l.tts_first_ms,
            "turn latency"
        );
        self.report.latency(l);
        self.alerts.report(StatusUpdate::Turn(l));
    }

    fn poll_acks(&mut self) {
        while let Ok(ack) = self.acks.try_recv() {
            // QoS 1 delivers at least once: a repeated acknowledgement is not news.
            if self.recent_acks.contains(&ack.alert_id) {
                continue;
            }
            if self.recent_acks.len() >= RECENT_ACKS {
                self.recent_acks.pop_front();
            }
            self.recent_acks.push_back(ack.alert_id.clone());
            tracing::info!(alert_id = ?ack.alert_id, by = ?ack.by.as_deref().unwrap_or("-"), "staff acknowledged");
            self.report.ack(&ack);
            self.apply(&Event::StaffAcknowledged(ack));
        }
    }

    fn on_understood(&mut self, u: Understood) {
        let think_from = Instant::now();
        let text = u.text.trim().to_string();
        if text.is_empty() {
            drop(u.guard);
            self.apply(&Event::NotHeard);
            return;
        }
        let turn = self.assess(&text, u.acoustic);
        self.alerts.report(StatusUpdate::Stress(turn.stress.score));
        if self.privacy.log_transcripts {
            tracing::info!(transcript = %text, "heard");
        }
        tracing::info!(
            seconds = u.seconds,
            stt_ms = u.stt_ms as u64,
            stress_ms = u.stress_ms as u64,
            score = turn.stress.score,
            level = ?turn.stress.level,
            intent = turn.answer.as_ref().map(|a| a.intent.as_str()).unwrap_or("-"),
            "turn"
        );
        self.report.turn(TurnRecord {
            transcript: text,
            acoustic: u.acoustic,
            stress: turn.stress.clone(),
            intent: turn
                .answer
                .as_ref()
                .map(|a| (a.intent.clone(), a.confidence)),
            replies: Vec::new(),
            alert: None,
        });
        let timing = TurnTiming {
            latency: TurnLatency {
                hangover_ms: ms(self.hangover),
                stt_wait_ms: clamp_ms(u.stt_wait_ms),
                stt_ms: clamp_ms(u.stt_ms),
                stt_early: u.stt_early,
                stress_ms: clamp_ms(u.stress_ms),
                ..Default::default()
            },
            ended_at: u.ended_at,
            think_from,
        };
        self.timing = Some(timing);
        self.apply_with_guard(&Event::Heard(Box::new(turn)), Some(u.guard));
        self.timing = None;
    }

    /// Words, dialogue and voice → the turn the core decides on.
    fn assess(&mut self, text: &str, acoustic: Option<f32>) -> Turn {
        let cues = analyse(text, &self.cues);
        let kb = &self.knowledge;
        let repeated_request =
            DialogueCues::assess_with(&self.history, text, |s| kb.content_terms(s))
                .repeated_request;
        let answer = self.knowledge.match_intent(text).as_ref().map(answer_from);
        let stress = fuse(
            &self.stress_cfg,
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
            .is_some_and(|a| a.confidence >= self.knowledge_threshold());
        self.unanswered_run = if answered && !repeated_request {
            0
        } else {
            self.unanswered_run + 1
        };
        if self.history.len() >= HISTORY {
            self.history.remove(0);
        }
        self.history.push(text.to_string());
        Turn {
            transcript: text.to_string(),
            stress,
            safety_phrase: cues.safety,
            asked_for_person: cues.asked_for_person,
            repeated_request,
            answer,
        }
    }

    fn knowledge_threshold(&self) -> f32 {
        self.conversation.min_answer_confidence()
    }

    fn apply(&mut self, event: &Event) {
        self.apply_with_guard(event, None);
    }

    fn apply_with_guard(&mut self, event: &Event, mut guard: Option<super::TurnGuard>) {
        let actions = self.conversation.apply(event, self.clock.now());
        let last_say = actions.iter().rposition(|a| matches!(a, Action::Say(_)));
        for (i, action) in actions.into_iter().enumerate() {
            // The turn counts as handled once its (last) reply is synthesised.
            let g = if Some(i) == last_say {
                guard.take()
            } else {
                None
            };
            self.execute(action, g);
        }
    }

    fn execute(&mut self, action: Action, guard: Option<super::TurnGuard>) {
        match action {
            Action::Say(say) => {
                self.report.said(&say.text);
                self.activity.reply_started();
                let cmd = SayCmd {
                    say,
                    generation: self.activity.generation(),
                    guard,
                    // The turn's first reply carries its timing to the speaker.
                    timing: self.timing.take().map(TurnTiming::thought),
                };
                if self.to_tts.send(cmd).is_err() {
                    tracing::error!("speech thread is gone; reply not spoken");
                    self.activity.reply_done();
                }
            }
            Action::StopSpeaking => self.activity.cancel_speech(),
            Action::RaiseAlert(request) => {
                let alert = Alert::new(
                    &request,
                    &self.kiosk,
                    self.privacy.alert_transcript,
                    crate::wallclock::now_ms(),
                );
                tracing::warn!(alert_id = %alert.alert_id, reason = alert.reason.code(), "alerting staff");
                if let Err(e) = self.alerts.raise(&alert) {
                    tracing::error!(alert_id = %alert.alert_id, "alert not committed: {e}");
                }
                self.report.alert(&alert);
            }
            Action::Realert { alert_id, attempt } => {
                tracing::warn!(%alert_id, attempt, "no acknowledgement: alerting again");
                if let Err(e) = self.alerts.realert(&alert_id, attempt) {
                    tracing::error!(%alert_id, "re-alert failed: {e}");
                }
            }
            Action::SessionEnded { alerts } => {
                self.history.clear();
                self.unanswered_run = 0;
                for id in alerts {
                    if let Err(e) = self.alerts.customer_left(&id) {
                        tracing::error!(alert_id = %id, "cannot report that the customer left: {e}");
                    }
                }
            }
        }
    }
}

fn ms(d: Duration) -> u32 {
    clamp_ms(d.as_millis())
}

/// Milliseconds as reported (a turn never takes 49 days, but no cast may wrap).
pub(super) fn clamp_ms(v: u128) -> u32 {
    v.min(u128::from(u32::MAX)) as u32
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
