//! One client connection of the embedded broker: MQTT 3.1.1 packets in and out (rumqttc's
//! codec), CONNECT within a deadline, keep-alive, and every write bounded in time, so a
//! client that stops reading cannot stall the broker or grow it.

use super::router::{ConnectRequest, Message, Outgoing, Refused, Router};
use bytes::BytesMut;
use rumqttc::mqttbytes::v4::{
    ConnAck, ConnectReturnCode, Packet, PubAck, PubComp, PubRec, Publish, SubAck,
    SubscribeReasonCode, UnsubAck,
};
use rumqttc::mqttbytes::{Error as CodecError, QoS};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};

/// Largest packet a client may send (alerts are at most 64 KiB).
pub(crate) const MAX_PACKET: usize = 256 * 1024;
/// CONNECT must arrive this soon after the TCP connection.
const CONNECT_WITHIN: Duration = Duration::from_secs(10);
/// A write that takes longer means the client stopped reading: it is dropped.
const WRITE_WITHIN: Duration = Duration::from_secs(10);
/// Keep-alive 0 ("none") still ends a silent connection after this long.
const MAX_IDLE: Duration = Duration::from_secs(3600);

pub(crate) type SharedRouter = Arc<Mutex<Router>>;

fn lock(router: &SharedRouter) -> MutexGuard<'_, Router> {
    router.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Why a connection ended.
enum End {
    /// DISCONNECT: the will is discarded.
    Graceful,
    /// Anything else: the will is published.
    Dropped(String),
    /// Another connection took the session over.
    TakenOver,
}

/// Serves one client until it leaves, misbehaves or is taken over.
pub(crate) async fn serve(mut stream: TcpStream, router: SharedRouter) {
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let _ = stream.set_nodelay(true);
    let mut buf = BytesMut::with_capacity(4096);
    let connect = match timeout(CONNECT_WITHIN, read_packet(&mut stream, &mut buf)).await {
        Ok(Ok(Packet::Connect(c))) => c,
        Ok(Ok(_)) | Ok(Err(_)) | Err(_) => {
            tracing::debug!(%peer, "embedded broker: no valid CONNECT; closing");
            return;
        }
    };
    let will = connect.last_will.as_ref().map(|w| Message {
        topic: w.topic.clone(),
        payload: w.message.clone(),
        qos: qos_level(w.qos),
        retain: w.retain,
    });
    let login = connect
        .login
        .as_ref()
        .map(|l| (l.username.as_str(), l.password.as_str()));
    let accepted = lock(&router).connect(ConnectRequest {
        client_id: &connect.client_id,
        login,
        clean: connect.clean_session,
        will,
    });
    let accepted = match accepted {
        Ok(a) => a,
        Err(refused) => {
            let code = match refused {
                Refused::BadCredentials => ConnectReturnCode::BadUserNamePassword,
                Refused::IdentifierRejected => ConnectReturnCode::BadClientId,
                Refused::Unavailable => ConnectReturnCode::ServiceUnavailable,
            };
            tracing::warn!(%peer, client = ?connect.client_id, ?refused, "embedded broker: connection refused");
            let _ = write(&mut stream, &[Packet::ConnAck(ConnAck::new(code, false))]).await;
            return;
        }
    };
    let client = accepted.client_id.clone();
    tracing::debug!(%peer, client = ?client, "embedded broker: client connected");
    let ack = Packet::ConnAck(ConnAck::new(
        ConnectReturnCode::Success,
        accepted.session_present,
    ));
    let idle = match connect.keep_alive {
        0 => MAX_IDLE,
        s => Duration::from_millis(u64::from(s) * 1500),
    };
    let mut conn = Conn {
        stream,
        buf,
        router,
        client,
        id: accepted.conn,
        idle,
    };
    let end = match write(&mut conn.stream, &[ack]).await {
        Ok(()) => conn.run(accepted.notify).await,
        Err(e) => End::Dropped(e),
    };
    let graceful = match &end {
        End::Graceful => true,
        End::TakenOver => return,
        End::Dropped(why) => {
            tracing::debug!(client = ?conn.client, "embedded broker: connection dropped: {why}");
            false
        }
    };
    lock(&conn.router).disconnect(&conn.client, conn.id, graceful);
}

struct Conn {
    stream: TcpStream,
    buf: BytesMut,
    router: SharedRouter,
    client: String,
    id: u64,
    idle: Duration,
}

impl Conn {
    async fn run(&mut self, notify: Arc<tokio::sync::Notify>) -> End {
        let mut deadline = Instant::now() + self.idle;
        loop {
            if let Err(e) = self.send_due().await {
                return End::Dropped(e);
            }
            // read_buf is cancel-safe: when the session is woken, nothing read is lost.
            let read = tokio::select! {
                r = self.stream.read_buf(&mut self.buf) => r,
                _ = notify.notified() => {
                    if !lock(&self.router).is_current(&self.client, self.id) {
                        return End::TakenOver;
                    }
                    continue;
                }
                _ = tokio::time::sleep_until(deadline) => {
                    return End::Dropped("keep-alive expired".into());
                }
            };
            match read {
                Ok(0) => return End::Dropped("closed by the client".into()),
                Err(e) => return End::Dropped(e.to_string()),
                Ok(_) => {}
            }
            deadline = Instant::now() + self.idle;
            let mut replies = Vec::new();
            loop {
                match Packet::read(&mut self.buf, MAX_PACKET) {
                    Ok(packet) => {
                        if let Some(end) = self.handle(packet, &mut replies) {
                            return end;
                        }
                    }
                    Err(CodecError::InsufficientBytes(_)) => break,
                    Err(e) => return End::Dropped(format!("bad packet: {e}")),
                }
            }
            if let Err(e) = write(&mut self.stream, &replies).await {
                return End::Dropped(e);
            }
        }
    }

    /// Applies one packet; replies are collected. `Some` ends the connection.
    fn handle(&mut self, packet: Packet, replies: &mut Vec<Packet>) -> Option<End> {
        let mut router = lock(&self.router);
        if !router.is_current(&self.client, self.id) {
            return Some(End::TakenOver);
        }
        match packet {
            Packet::Publish(p) => {
                let qos = p.qos;
                let pkid = p.pkid;
                let message = Message {
                    qos: qos_level(qos),
                    retain: p.retain,
                    payload: p.payload,
                    topic: p.topic,
                };
                let topic = message.topic.clone();
                if !router.publish(&self.client, message) {
                    tracing::warn!(client = ?self.client, topic = ?topic, "embedded broker: publish not allowed; dropped");
                }
                match qos {
                    QoS::AtMostOnce => {}
                    QoS::AtLeastOnce => replies.push(Packet::PubAck(PubAck::new(pkid))),
                    QoS::ExactlyOnce => replies.push(Packet::PubRec(PubRec::new(pkid))),
                }
            }
            Packet::PubAck(a) => router.acked(&self.client, a.pkid),
            Packet::PubRel(r) => replies.push(Packet::PubComp(PubComp::new(r.pkid))),
            Packet::Subscribe(s) => {
                let filters: Vec<(String, u8)> = s
                    .filters
                    .iter()
                    .map(|f| (f.path.clone(), qos_level(f.qos)))
                    .collect();
                let granted = router.subscribe(&self.client, &filters);
                for ((f, _), g) in filters.iter().zip(&granted) {
                    if g.is_none() {
                        tracing::warn!(client = ?self.client, filter = ?f, "embedded broker: subscription not allowed");
                    }
                }
                let codes = granted
                    .into_iter()
                    .map(|g| match g {
                        Some(0) => SubscribeReasonCode::Success(QoS::AtMostOnce),
                        Some(_) => SubscribeReasonCode::Success(QoS::AtLeastOnce),
                        None => SubscribeReasonCode::Failure,
                    })
                    .collect();
                replies.push(Packet::SubAck(SubAck::new(s.pkid, codes)));
            }
            Packet::Unsubscribe(u) => {
                router.unsubscribe(&self.client, &u.topics);
                replies.push(Packet::UnsubAck(UnsubAck::new(u.pkid)));
            }
            Packet::PingReq => replies.push(Packet::PingResp),
            Packet::Disconnect => return Some(End::Graceful),
            Packet::Connect(_) => return Some(End::Dropped("a second CONNECT".into())),
            Packet::PubRec(_)
            | Packet::PubComp(_)
            | Packet::ConnAck(_)
            | Packet::SubAck(_)
            | Packet::UnsubAck(_)
            | Packet::PingResp => {
                return Some(End::Dropped("a packet only a broker sends".into()));
            }
        }
        None
    }

    /// Writes whatever the session has due.
    async fn send_due(&mut self) -> Result<(), String> {
        let out = lock(&self.router).take_outgoing(&self.client, self.id);
        if out.is_empty() {
            return Ok(());
        }
        let packets: Vec<Packet> = out.into_iter().map(to_publish).collect();
        write(&mut self.stream, &packets).await
    }
}

fn to_publish(o: Outgoing) -> Packet {
    let qos = if o.message.qos == 0 {
        QoS::AtMostOnce
    } else {
        QoS::AtLeastOnce
    };
    let mut p = Publish::from_bytes(o.message.topic, qos, o.message.payload);
    p.pkid = o.pkid;
    p.retain = o.message.retain;
    p.dup = o.dup;
    Packet::Publish(p)
}

fn qos_level(q: QoS) -> u8 {
    match q {
        QoS::AtMostOnce => 0,
        QoS::AtLeastOnce | QoS::ExactlyOnce => 1,
    }
}

async fn read_packet(stream: &mut TcpStream, buf: &mut BytesMut) -> Result<Packet, String> {
    loop {
        match Packet::read(buf, MAX_PACKET) {
            Ok(p) => return Ok(p),
            Err(CodecError::InsufficientBytes(_)) => {}
            Err(e) => return Err(e.to_string()),
        }
        match stream.read_buf(buf).await {
            Ok(0) => return Err("closed".into()),
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}

async fn write(stream: &mut TcpStream, packets: &[Packet]) -> Result<(), String> {
    if packets.is_empty() {
        return Ok(());
    }
    let mut out = BytesMut::new();
    for p in packets {
        p.write(&mut out, MAX_PACKET).map_err(|e| e.to_string())?;
    }
    let deadline = Instant::now() + WRITE_WITHIN;
    match timeout_at(deadline, stream.write_all(&out)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the client stopped reading".into()),
    }
}
