//! The brain thread: owns the conversation core and the turn assessment, turns engine results
//! into core events, and executes the core's actions (speech, alerts) in order.

use super::activity::{Activity, TurnGuard};
use super::messages::{BrainMsg, SayCmd, TurnTiming, Understood};
use super::report::{Recorder, RunReport, TurnRecord};
use crate::alerts::{Alert, AlertPublisher, KioskIdentity, StatusUpdate, TranscriptPolicy};
use crate::assessment::Assessor;
use crate::audio::Clock;
use crate::conversation::{Action, Conversation, Event, StaffAck};
use crate::latency::{TurnLatency, clamp_ms};
use crate::shutdown::{Shutdown, Systemd};
use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

/// How often time-driven events (timeouts, leaving) are checked.
const TICK: Duration = Duration::from_millis(100);
/// Acknowledged alert ids remembered to ignore repeated deliveries (QoS 1 is at least once).
const RECENT_ACKS: usize = 64;

/// How the brain works.
pub(super) struct BrainSettings {
    /// The kiosk as named in alerts.
    pub kiosk: KioskIdentity,
    /// What alerts carry of the customer's words.
    pub transcript_policy: TranscriptPolicy,
    /// Write transcripts to the log.
    pub log_transcripts: bool,
    /// Silence waited for before a turn ends (counted in its latency).
    pub hangover: Duration,
    /// After the input ends, how long an unacknowledged alert may still be acknowledged, so
    /// the customer hears who is coming (`[mqtt] flush_grace_s`, the same wait that pending
    /// alerts get to leave).
    pub ack_grace: Duration,
    /// Keep a [`RunReport`] (a recording's run).
    pub keep_report: bool,
}

/// What the pipeline's threads share with the brain.
pub(super) struct BrainLinks {
    /// Everything the other threads tell the brain.
    pub inbox: Receiver<BrainMsg>,
    /// Replies to the synthesis thread.
    pub to_tts: SyncSender<SayCmd>,
    /// What the pipeline is busy with.
    pub activity: Activity,
    /// The pipeline clock.
    pub clock: Clock,
    /// Stops the run.
    pub shutdown: Shutdown,
}

/// What the brain thread owns.
pub(super) struct Brain {
    conversation: Conversation,
    assessor: Assessor,
    alerts: Box<dyn AlertPublisher>,
    acks: Receiver<StaffAck>,
    settings: BrainSettings,
    links: BrainLinks,
    report: Recorder,
    recent_acks: VecDeque<String>,
    /// systemd notifications; the watchdog is pinged only from this loop.
    systemd: Systemd,
    /// The timing of the turn being handled, until its first reply is sent.
    timing: Option<TurnTiming>,
}

impl Brain {
    /// The thread's state: the core, the assessment, alert delivery with its
    /// acknowledgements, and the links to the other threads.
    pub fn new(
        conversation: Conversation,
        assessor: Assessor,
        (alerts, acks): (Box<dyn AlertPublisher>, Receiver<StaffAck>),
        settings: BrainSettings,
        links: BrainLinks,
    ) -> Self {
        let report = Recorder::new(settings.keep_report);
        Self {
            conversation,
            assessor,
            alerts,
            acks,
            settings,
            links,
            report,
            recent_acks: VecDeque::new(),
            systemd: Systemd::new(),
            timing: None,
        }
    }

    /// Tells systemd the kiosk is ready, listening on `input`.
    pub fn ready(&self, input: &str) {
        self.systemd.ready(&format!("listening on {input}"));
    }

    /// Runs until the input has ended and the last turn is finished, or shutdown.
    pub fn run(mut self) -> (RunReport, Box<dyn AlertPublisher>) {
        let mut drained_at: Option<Instant> = None;
        loop {
            let done = drained_at.is_some_and(|t| self.finished(t));
            if self.links.shutdown.is_triggered() || done {
                break;
            }
            let input_ended = match self.links.inbox.recv_timeout(TICK) {
                Ok(msg) => self.handle(msg),
                Err(RecvTimeoutError::Disconnected) => true,
                Err(RecvTimeoutError::Timeout) => false,
            };
            if input_ended {
                drained_at.get_or_insert_with(Instant::now);
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
        let waiting_for_staff = self.conversation.pending_alert().is_some()
            && drained_at.elapsed() < self.settings.ack_grace;
        self.links.activity.idle() && !waiting_for_staff
    }

    /// Acts on a message; true when it says the input has ended (the run then ends once the
    /// last turn is done).
    fn handle(&mut self, msg: BrainMsg) -> bool {
        match msg {
            BrainMsg::SpeechStarted => self.apply(&Event::SpeechStarted),
            BrainMsg::SpeechEnded => self.apply(&Event::SpeechEnded),
            BrainMsg::Discarded => self.apply(&Event::NotHeard),
            BrainMsg::PlaybackFinished => self.apply(&Event::PlaybackFinished),
            BrainMsg::Understood(u) => self.on_understood(*u),
            BrainMsg::FirstAudio(latency) => self.on_first_audio(latency),
            BrainMsg::InputTrouble(why) => {
                tracing::warn!("input trouble: {why}");
                let state = format!("input lost: {why}");
                self.systemd.status(&state);
                self.alerts.report(StatusUpdate::Audio(state));
            }
            // The status (MQTT and `systemctl status`) shows the input's name while it works, as
            // it did at start-up.
            BrainMsg::InputRecovered(input) => {
                self.systemd.status(&format!("listening on {input}"));
                self.alerts.report(StatusUpdate::Audio(input));
            }
            BrainMsg::InputEnded => return true,
            BrainMsg::OutputTrouble(why) => {
                tracing::warn!("output trouble: {why}");
                self.systemd.status(&format!("speaker lost: {why}"));
                self.alerts
                    .report(StatusUpdate::Speaker(format!("output lost: {why}")));
            }
            BrainMsg::OutputRecovered(output) => {
                self.systemd.status(&format!("speaking on {output}"));
                self.alerts.report(StatusUpdate::Speaker(output));
            }
        }
        false
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
        let turn = self.assessor.assess(&text, u.acoustic).turn;
        self.alerts.report(StatusUpdate::Stress(turn.stress.score));
        if self.settings.log_transcripts {
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
        self.timing = Some(TurnTiming {
            latency: TurnLatency {
                hangover_ms: clamp_ms(self.settings.hangover.as_millis()),
                stt_wait_ms: clamp_ms(u.stt_wait_ms),
                stt_ms: clamp_ms(u.stt_ms),
                stt_early: u.stt_early,
                stress_ms: clamp_ms(u.stress_ms),
                ..Default::default()
            },
            ended_at: u.ended_at,
            think_from,
        });
        self.apply_with_guard(&Event::Heard(Box::new(turn)), Some(u.guard));
        self.timing = None;
    }

    fn apply(&mut self, event: &Event) {
        self.apply_with_guard(event, None);
    }

    fn apply_with_guard(&mut self, event: &Event, mut guard: Option<TurnGuard>) {
        let actions = self.conversation.apply(event, self.links.clock.now());
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

    fn execute(&mut self, action: Action, guard: Option<TurnGuard>) {
        match action {
            Action::Say(say) => {
                self.report.said(&say.text);
                self.links.activity.reply_started();
                let cmd = SayCmd {
                    say,
                    generation: self.links.activity.generation(),
                    guard,
                    // The turn's first reply carries its timing to the speaker.
                    timing: self.timing.take().map(TurnTiming::thought),
                };
                if self.links.to_tts.send(cmd).is_err() {
                    tracing::error!("speech thread is gone; reply not spoken");
                    self.links.activity.reply_done();
                }
            }
            Action::StopSpeaking => self.links.activity.cancel_speech(),
            Action::RaiseAlert(request) => {
                let alert = Alert::new(
                    &request,
                    &self.settings.kiosk,
                    self.settings.transcript_policy,
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
                self.assessor.customer_left();
                for id in alerts {
                    if let Err(e) = self.alerts.customer_left(&id) {
                        tracing::error!(alert_id = %id, "cannot report that the customer left: {e}");
                    }
                }
            }
        }
    }
}
