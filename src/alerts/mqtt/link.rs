//! The connection task: connects with backoff, hands the ledger's due messages to the
//! client, maps PUBACKs to alerts, and acts on what staff send back. A bad message on a
//! subscribed topic is dropped (and a retained one cleared), never allowed to break the link.

use super::acks::{self, AckRules};
use super::inflight::{InFlight, Kind, Outgoing};
use super::topics::{self, Topics};
use super::{
    CONNECT_TIMEOUT_S, GOODBYE, PRUNE_EVERY, Shared, SharedOutbox, WINDOW, finish_in_outbox,
    lock_outbox,
};
use crate::alerts::MqttConfig;
use crate::backoff::Backoff;
use crate::conversation::StaffAck;
use rumqttc::mqttbytes::Error as CodecError;
use rumqttc::{
    ConnectionError, Disconnect, Event, EventLoop, Incoming, MqttOptions, NetworkOptions, PubAck,
    Publish, QoS, Request, StateError, Subscribe, SubscribeFilter, SubscribeReasonCode,
};
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::time::{Duration, Instant};

/// The connection task's state.
pub(super) struct Link {
    eventloop: EventLoop,
    shared: Arc<Shared>,
    outbox: SharedOutbox,
    topics: Topics,
    rules: AckRules,
    inflight: InFlight,
    acks: SyncSender<StaffAck>,
    /// The last link dropped on an oversized incoming message: the next connection is made
    /// with a clean session (discarding whatever the broker queued) and clears the retained
    /// messages on the subscribed topics.
    clean_next: bool,
    last_prune: Instant,
    backoff: Backoff,
    url: String,
    /// A connection that lived this long was healthy: the next retry starts quickly again.
    stable_after: Duration,
    connected_since: Option<Instant>,
    retry_at: Instant,
}

/// What woke the connected loop.
enum Step {
    Event(Result<Event, ConnectionError>),
    Wake,
}

/// Marks the task finished however it ends (return, panic or abort).
struct DoneGuard(Arc<Shared>);

impl Drop for DoneGuard {
    fn drop(&mut self) {
        self.0.lock().set_task_done();
        self.0.changed.notify_all();
    }
}

impl Link {
    /// The task for `options`; it does nothing until [`Link::run`] is spawned.
    pub fn new(
        options: MqttOptions,
        cfg: &MqttConfig,
        topics: Topics,
        rules: AckRules,
        shared: Arc<Shared>,
        outbox: SharedOutbox,
        acks: SyncSender<StaffAck>,
    ) -> Self {
        let mut eventloop = EventLoop::new(options, 1);
        let mut net = NetworkOptions::new();
        net.set_connection_timeout(CONNECT_TIMEOUT_S);
        // Alerts are small and urgent: Nagle's delay (with the peer's delayed ACK) added up to
        // tens of milliseconds per alert on loopback.
        net.set_tcp_nodelay(true);
        eventloop.set_network_options(net);
        Self {
            eventloop,
            shared,
            outbox,
            topics,
            rules,
            inflight: InFlight::new(WINDOW),
            acks,
            clean_next: false,
            last_prune: Instant::now(),
            // 0.5 s doubling to 30 s, ±20 % so a site's kiosks do not reconnect in lockstep.
            backoff: Backoff::new(Duration::from_millis(500), Duration::from_secs(30))
                .with_jitter(0.2),
            url: cfg.url.clone(),
            stable_after: Duration::from_secs(cfg.keep_alive_s.max(1)),
            connected_since: None,
            retry_at: Instant::now(),
        }
    }

    /// Runs until the publisher asks it to say goodbye.
    pub async fn run(mut self) {
        let _done = DoneGuard(self.shared.clone());
        loop {
            self.housekeeping();
            if self.shared.lock().shutdown_requested() {
                if self.connected_since.is_some() {
                    self.goodbye().await;
                }
                return;
            }
            if self.connected_since.is_some() {
                self.serve().await;
            } else {
                self.connect().await;
            }
        }
    }

    /// Expires alerts nobody acknowledged in time, and prunes the outbox now and then.
    fn housekeeping(&mut self) {
        let expired = self.shared.lock().take_expired(Instant::now());
        for id in expired {
            tracing::error!(alert_id = ?id, "nobody acknowledged this alert within mqtt.alert_max_age_s; closing it as expired");
            self.closed(&id, "expired", None);
        }
        if self.last_prune.elapsed() >= PRUNE_EVERY {
            self.last_prune = Instant::now();
            let outbox = self.outbox.clone();
            tokio::task::spawn_blocking(move || {
                if let Some(Err(e)) = lock_outbox(&outbox).as_mut().map(|o| o.prune()) {
                    tracing::warn!("{e}");
                }
            });
        }
    }

    /// Records that an alert is over and tells staff on the event topic.
    fn closed(&mut self, alert_id: &str, why: &str, outcome: Option<&str>) {
        finish_in_outbox(&self.outbox, &self.shared, alert_id, why, outcome);
        let mut ledger = self.shared.lock();
        let event = ledger.topics().event.clone();
        let body = topics::alert_closed_json(alert_id, why, outcome, crate::wallclock::now_ms());
        ledger.queue_event(event, body);
        drop(ledger);
        self.shared.poke();
    }

    /// The earliest of `at` and the next alert expiry.
    fn or_expiry(&self, at: Instant) -> Instant {
        self.shared.lock().next_expiry().map_or(at, |e| e.min(at))
    }

    /// Waits out the backoff (or a wake-up), then makes one connection attempt.
    async fn connect(&mut self) {
        let shared = self.shared.clone();
        let expiry = self.or_expiry(self.retry_at);
        tokio::select! {
            _ = tokio::time::sleep_until(self.retry_at.into()) => {}
            _ = tokio::time::sleep_until(expiry.into()), if expiry < self.retry_at => return,
            _ = shared.wake.notified() => return,
        }
        self.shared.lock().count_attempt();
        // Not raced against anything: abandoning a half-done TLS handshake would waste it.
        match self.eventloop.poll().await {
            Ok(Event::Incoming(Incoming::ConnAck(ack))) => self.on_connack(ack.session_present),
            Ok(other) => {
                tracing::debug!(?other, "unexpected event while connecting");
                self.retry_at = Instant::now() + self.backoff.next_delay();
            }
            Err(e) => self.on_link_error(&e),
        }
    }

    /// One turn of the connected loop: hand over what is due, then wait for the broker, new
    /// work or the next re-send deadline.
    async fn serve(&mut self) {
        self.push_due();
        // With the window full nothing can be re-sent before a PUBACK frees an id, so the
        // re-send deadline must not wake us (it would spin).
        let resend_at = match self.inflight.free() {
            0 => None,
            _ => self.shared.lock().next_resend_at(),
        };
        let wake_at =
            self.or_expiry(resend_at.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600)));
        let shared = self.shared.clone();
        // Dropping a pending poll() is safe while connected: reads are buffered by the codec,
        // and a packet already taken from the queue is tracked as in flight and re-sent.
        let step = tokio::select! {
            biased;
            ev = self.eventloop.poll() => Step::Event(ev),
            _ = shared.wake.notified() => Step::Wake,
            _ = tokio::time::sleep_until(wake_at.into()) => Step::Wake,
        };
        match step {
            Step::Event(Ok(ev)) => self.on_event(ev).await,
            Step::Event(Err(e)) => self.on_link_error(&e),
            Step::Wake => {}
        }
    }

    fn push_due(&mut self) {
        let free = self.inflight.free();
        if free == 0 {
            return;
        }
        let due = self.shared.lock().take_due(Instant::now(), free);
        for msg in due {
            self.push(msg);
        }
    }

    /// Queues `msg` on the client with a packet id of our choosing; returns the id.
    fn push(&mut self, msg: Outgoing) -> Option<u16> {
        let mut publish = Publish::new(msg.topic.as_str(), QoS::AtLeastOnce, msg.payload.clone());
        publish.retain = msg.retain;
        let pkid = self.inflight.insert(msg)?;
        publish.pkid = pkid;
        self.eventloop.pending.push_back(Request::Publish(publish));
        Some(pkid)
    }

    fn on_connack(&mut self, session_present: bool) {
        tracing::info!(broker = %self.url, session_present, "connected to the MQTT broker");
        self.connected_since = Some(Instant::now());
        if std::mem::take(&mut self.clean_next) {
            // Whatever was too large is gone with the old session; clear a retained copy
            // before subscribing, then go back to a persistent session.
            self.eventloop.mqtt_options.set_clean_session(false);
            let mut ledger = self.shared.lock();
            ledger.queue_clear(self.topics.ack.clone());
            ledger.queue_clear(self.topics.outcome.clone());
            drop(ledger);
            self.push_due();
        }
        // Without a session the client dropped its queue, so everything we had in flight is
        // lost; with one, it retransmits them itself.
        let lost = if session_present {
            Vec::new()
        } else {
            self.inflight.take_all()
        };
        let in_flight = self.inflight.alert_ids();
        self.shared.lock().on_connected(lost, &in_flight);
        let filters = [&self.topics.ack, &self.topics.outcome]
            .map(|t| SubscribeFilter::new(t.clone(), QoS::AtLeastOnce));
        self.eventloop
            .pending
            .push_back(Request::Subscribe(Subscribe::new_many(filters)));
        self.shared.changed.notify_all();
    }

    fn on_link_error(&mut self, e: &ConnectionError) {
        if let ConnectionError::MqttState(StateError::Deserialization(
            CodecError::PayloadSizeLimitExceeded(size),
        )) = e
        {
            tracing::warn!(broker = %self.url, size,
                "the broker sent a message larger than any staff message can be; reconnecting with a clean session to drop it");
            self.clean_next = true;
            self.eventloop.mqtt_options.set_clean_session(true);
        }
        match self.connected_since.take() {
            Some(since) => {
                tracing::warn!(broker = %self.url, "lost the MQTT broker: {e}");
                if since.elapsed() >= self.stable_after {
                    self.backoff.reset();
                }
            }
            None => tracing::warn!(broker = %self.url, "cannot connect to the MQTT broker: {e}"),
        }
        let delay = self.backoff.next_delay();
        tracing::debug!(?delay, "next connection attempt");
        self.retry_at = Instant::now() + delay;
        self.shared.lock().on_disconnected();
        self.shared.changed.notify_all();
    }

    async fn on_event(&mut self, ev: Event) {
        match ev {
            Event::Incoming(Incoming::PubAck(ack)) => self.on_puback(ack.pkid),
            Event::Incoming(Incoming::Publish(p)) => self.on_publish(p).await,
            Event::Incoming(Incoming::SubAck(s))
                if s.return_codes.contains(&SubscribeReasonCode::Failure) =>
            {
                tracing::error!(topic = %self.topics.ack, broker = %self.url,
                    "the broker refused the subscription: staff acknowledgements will not arrive (check the broker's ACL)");
            }
            _ => {}
        }
    }

    fn on_puback(&mut self, pkid: u16) {
        match self.inflight.remove(pkid) {
            Some(Outgoing {
                kind: Kind::Alert(id),
                ..
            }) => {
                let news = self.shared.lock().confirm(&id);
                self.shared.changed.notify_all();
                if news {
                    self.record_confirmed(id);
                }
            }
            Some(_) => {}
            None => tracing::debug!(pkid, "PUBACK for a packet not in flight"),
        }
    }

    /// Informational, so it is not awaited: the flag only helps whoever inspects the outbox.
    fn record_confirmed(&self, alert_id: String) {
        let outbox = self.outbox.clone();
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || {
            let result = match lock_outbox(&outbox).as_mut() {
                Some(o) => o.mark_broker_confirmed(&alert_id).map(|_| ()),
                None => Ok(()),
            };
            if let Err(e) = result {
                tracing::error!("{e}");
                shared.lock().set_outbox_problem(Some(e.to_string()));
                shared.poke();
            }
        });
    }

    async fn on_publish(&mut self, publish: Publish) {
        let accepted = if publish.topic == self.topics.ack {
            self.on_ack(&publish.payload).await
        } else if publish.topic == self.topics.outcome {
            self.on_outcome(&publish.payload).await
        } else {
            tracing::debug!(topic = ?publish.topic, "ignoring a message on an unexpected topic");
            false
        };
        // Staff messages are not meant to be retained: a retained one would come back on
        // every reconnect, and a bad one would be rejected again each time. Clear it.
        if publish.retain && !publish.payload.is_empty() {
            if !accepted {
                tracing::warn!(topic = ?publish.topic, "clearing a retained message that is not a valid staff message");
            }
            self.shared.lock().queue_clear(publish.topic.clone());
            self.shared.poke();
        }
        // Acknowledged to the broker only now (manual acks), so an ack that arrived just
        // before a crash is delivered again rather than lost.
        if publish.qos != QoS::AtMostOnce {
            self.eventloop
                .pending
                .push_back(Request::PubAck(PubAck::new(publish.pkid)));
        }
    }

    /// Acts on an acknowledgement; `false` if it was rejected.
    async fn on_ack(&mut self, payload: &[u8]) -> bool {
        if payload.is_empty() {
            return false;
        }
        let ack = match acks::parse_ack(payload, &self.rules) {
            Ok(ack) => ack,
            Err(why) => {
                tracing::warn!(topic = ?self.topics.ack, "rejected an acknowledgement: {why}");
                return false;
            }
        };
        if !self.shared.lock().is_open(&ack.alert_id) {
            tracing::info!(alert_id = ?ack.alert_id, "ignoring an acknowledgement of an unknown or already acknowledged alert");
            return true;
        }
        self.store_ack(&ack).await;
        let closed = self.shared.lock().close(&ack.alert_id);
        self.shared.poke();
        if closed.is_some_and(|c| c.customer_gone) {
            self.closed(&ack.alert_id, "customer_gone", None);
        }
        let id = ack.alert_id.clone();
        match self.acks.try_send(ack) {
            Ok(()) => tracing::info!(alert_id = ?id, "staff acknowledged"),
            Err(TrySendError::Full(_)) => {
                tracing::error!(alert_id = ?id, "the acknowledgement queue is full; this acknowledgement is not passed on")
            }
            Err(TrySendError::Disconnected(_)) => {
                tracing::warn!(alert_id = ?id, "nobody receives acknowledgements any more")
            }
        }
        true
    }

    /// Acts on an outcome ("resolved"); `false` if it was rejected.
    async fn on_outcome(&mut self, payload: &[u8]) -> bool {
        if payload.is_empty() {
            return false;
        }
        let outcome = match acks::parse_outcome(payload) {
            Ok(o) => o,
            Err(why) => {
                tracing::warn!(topic = ?self.topics.outcome, "rejected an outcome: {why}");
                return false;
            }
        };
        let id = outcome.alert_id.clone();
        let known = {
            let mut ledger = self.shared.lock();
            let was_open = ledger.close(&id).is_some();
            was_open || ledger.knows(&id)
        };
        let outbox = self.outbox.clone();
        let code = outcome.outcome.code();
        let (oid, by) = (id.clone(), outcome.by.clone());
        let stored = tokio::task::spawn_blocking(move || match lock_outbox(&outbox).as_mut() {
            Some(o) => o.record_outcome(&oid, code, by.as_deref()),
            None => Ok(false),
        })
        .await;
        let in_outbox = matches!(stored, Ok(Ok(true)));
        if let Ok(Err(e)) = &stored {
            tracing::error!("{e}");
        }
        if !known && !in_outbox {
            tracing::info!(alert_id = ?id, "ignoring an outcome of an unknown alert");
            return true;
        }
        tracing::info!(alert_id = ?id, outcome = code, "staff resolved the alert");
        let mut ledger = self.shared.lock();
        let event = ledger.topics().event.clone();
        let body =
            topics::alert_closed_json(&id, "resolved", Some(code), crate::wallclock::now_ms());
        ledger.queue_event(event, body);
        drop(ledger);
        self.shared.poke();
        true
    }

    /// Records the acknowledgement durably before anything else acts on it.
    async fn store_ack(&mut self, ack: &StaffAck) {
        let outbox = self.outbox.clone();
        let (id, by) = (ack.alert_id.clone(), ack.by.clone());
        let stored = tokio::task::spawn_blocking(move || match lock_outbox(&outbox).as_mut() {
            Some(o) => o.mark_acked(&id, by.as_deref()).map(|_| ()),
            None => Ok(()),
        })
        .await;
        let problem = match stored {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e.to_string(),
            Err(join) => format!("recording an acknowledgement failed: {join}"),
        };
        tracing::error!("{problem}");
        self.shared.lock().set_outbox_problem(Some(problem));
    }

    /// Publishes the retained "offline" status and disconnects cleanly (so the broker does
    /// not also fire the last will), within [`GOODBYE`] each.
    async fn goodbye(&mut self) {
        let offline = self.shared.lock().status_message();
        if let Some(pkid) = self.push(offline) {
            let deadline = tokio::time::Instant::now() + GOODBYE;
            while self.inflight.contains(pkid) {
                match tokio::time::timeout_at(deadline, self.eventloop.poll()).await {
                    Ok(Ok(ev)) => self.on_event(ev).await,
                    Ok(Err(_)) | Err(_) => return,
                }
            }
        }
        self.eventloop
            .pending
            .push_back(Request::Disconnect(Disconnect));
        let deadline = tokio::time::Instant::now() + GOODBYE;
        loop {
            match tokio::time::timeout_at(deadline, self.eventloop.poll()).await {
                Ok(Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect))) => {
                    tracing::info!(broker = %self.url, "disconnected from the MQTT broker");
                    return;
                }
                Ok(Ok(ev)) => self.on_event(ev).await,
                Ok(Err(_)) | Err(_) => return,
            }
        }
    }
}
