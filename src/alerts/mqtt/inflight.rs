//! Messages on their way to the broker and the packet ids that carry them, until the
//! broker's PUBACK.

use std::collections::{HashMap, HashSet};

/// What a message is, which decides what happens to it when the session is lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A sending of this alert; the ledger re-sends open alerts itself.
    Alert(String),
    /// A one-shot message (customer left, supervisor copy): re-queued if lost.
    Event,
    /// Retained state (status, active list, Home Assistant): regenerated after reconnecting.
    Retained,
}

/// A message to publish with QoS 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outgoing {
    /// Topic.
    pub topic: String,
    /// Payload.
    pub payload: Vec<u8>,
    /// Retain flag.
    pub retain: bool,
    /// What it is.
    pub kind: Kind,
}

/// A retained message (regenerated after a reconnect, never re-queued).
pub(crate) fn retained(topic: String, payload: Vec<u8>) -> Outgoing {
    Outgoing {
        topic,
        payload,
        retain: true,
        kind: Kind::Retained,
    }
}

/// Packet ids in use, each with what it carries. The kiosk picks its own ids (rather than
/// letting the client number them) so every PUBACK maps to exactly one alert.
#[derive(Debug)]
pub(crate) struct InFlight {
    max: u16,
    next: u16,
    slots: HashMap<u16, (u64, Outgoing)>,
    order: u64,
}

impl InFlight {
    /// Ids `1..=max` (the client's in-flight window).
    pub fn new(max: u16) -> Self {
        Self {
            max: max.max(1),
            next: 1,
            slots: HashMap::new(),
            order: 0,
        }
    }

    /// How many more messages can be put in flight.
    pub fn free(&self) -> usize {
        usize::from(self.max) - self.slots.len()
    }

    /// Assigns a free packet id to `msg`; `None` if the window is full.
    pub fn insert(&mut self, msg: Outgoing) -> Option<u16> {
        if self.free() == 0 {
            return None;
        }
        // Round-robin, so a just-freed id is not reused while a late duplicate ack may be
        // on its way.
        for _ in 0..self.max {
            let id = self.next;
            self.next = if self.next >= self.max {
                1
            } else {
                self.next + 1
            };
            if !self.slots.contains_key(&id) {
                self.order += 1;
                self.slots.insert(id, (self.order, msg));
                return Some(id);
            }
        }
        None
    }

    /// Whether `pkid` awaits its PUBACK.
    pub fn contains(&self, pkid: u16) -> bool {
        self.slots.contains_key(&pkid)
    }

    /// The broker acknowledged `pkid`: what it carried.
    pub fn remove(&mut self, pkid: u16) -> Option<Outgoing> {
        self.slots.remove(&pkid).map(|(_, msg)| msg)
    }

    /// Forgets everything (the session is gone), oldest first.
    pub fn take_all(&mut self) -> Vec<Outgoing> {
        let mut all: Vec<_> = self.slots.drain().map(|(_, v)| v).collect();
        all.sort_by_key(|(order, _)| *order);
        all.into_iter().map(|(_, msg)| msg).collect()
    }

    /// Alert ids with a sending in flight.
    pub fn alert_ids(&self) -> HashSet<String> {
        self.slots
            .values()
            .filter_map(|(_, m)| match &m.kind {
                Kind::Alert(id) => Some(id.clone()),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflight_ids_stay_in_window_and_are_unique() {
        let mut f = InFlight::new(3);
        let msg = |id: &str| Outgoing {
            topic: "t".into(),
            payload: vec![],
            retain: false,
            kind: Kind::Alert(id.into()),
        };
        let ids: Vec<u16> = (0..3)
            .map(|i| f.insert(msg(&i.to_string())).unwrap())
            .collect();
        assert_eq!(ids, [1, 2, 3]);
        assert!(f.insert(msg("x")).is_none());
        assert_eq!(f.remove(2).unwrap().kind, Kind::Alert("1".into()));
        assert_eq!(f.insert(msg("y")), Some(2));
        assert_eq!(f.alert_ids().len(), 3);
        let all = f.take_all();
        assert_eq!(all.len(), 3);
        assert_eq!(all[2].kind, Kind::Alert("y".into()));
        assert_eq!(f.free(), 3);
    }
}
