//! Who may do what on the embedded broker. Two accounts exist: the kiosk itself, and staff.
//! Staff may read everything under the prefix (and Home Assistant discovery) but publish only
//! acknowledgements and outcomes; the kiosk may publish only its own topics. Nobody may
//! publish to `$` topics, and anonymous clients are refused at CONNECT.

/// The role an account has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The kiosk's own alert publisher.
    Kiosk,
    /// Members of staff (pagers, the staff console, `attune demo`'s simulated staff).
    Staff,
}

/// Topic permissions, built from the kiosk's prefix, site and id.
#[derive(Debug, Clone)]
pub(crate) struct Acl {
    kiosk_publish: Vec<String>,
    staff_publish: Vec<String>,
    kiosk_subscribe: Vec<String>,
    staff_subscribe: Vec<String>,
}

impl Acl {
    /// Permissions for the kiosk `kiosk` of `site` under `prefix`.
    pub fn new(prefix: &str, site: &str, kiosk: &str) -> Self {
        let own = format!("{prefix}/{site}/{kiosk}/#");
        Self {
            kiosk_publish: vec![
                own.clone(),
                format!("{prefix}/{site}/supervisor/alert"),
                "homeassistant/#".into(),
            ],
            staff_publish: vec![
                format!("{prefix}/{site}/+/ack"),
                format!("{prefix}/{site}/+/outcome"),
            ],
            kiosk_subscribe: vec![own],
            staff_subscribe: vec![format!("{prefix}/#"), "homeassistant/#".into()],
        }
    }

    /// Whether `role` may publish to the topic name `topic`.
    pub fn may_publish(&self, role: Role, topic: &str) -> bool {
        if !valid_topic_name(topic) {
            return false;
        }
        let allowed = match role {
            Role::Kiosk => &self.kiosk_publish,
            Role::Staff => &self.staff_publish,
        };
        allowed.iter().any(|f| matches(f, topic))
    }

    /// Whether `role` may subscribe to `filter`: it must lie inside one of the role's
    /// filters (a wider filter would reach topics the role may not read).
    pub fn may_subscribe(&self, role: Role, filter: &str) -> bool {
        if !valid_filter(filter) {
            return false;
        }
        let allowed = match role {
            Role::Kiosk => &self.kiosk_subscribe,
            Role::Staff => &self.staff_subscribe,
        };
        allowed.iter().any(|a| filter_within(filter, a))
    }
}

/// A topic name one may publish to: non-empty, no wildcards, no NUL, not a `$` topic.
pub(crate) fn valid_topic_name(topic: &str) -> bool {
    !topic.is_empty()
        && !topic.starts_with('$')
        && !topic.contains(['+', '#', '\0'])
        && topic.len() <= u16::MAX as usize
}

/// A well-formed subscription filter (`#` only last and alone in its level, `+` alone).
pub(crate) fn valid_filter(filter: &str) -> bool {
    if filter.is_empty() || filter.contains('\0') || filter.starts_with('$') {
        return false;
    }
    let levels: Vec<&str> = filter.split('/').collect();
    levels.iter().enumerate().all(|(i, level)| match *level {
        "#" => i == levels.len() - 1,
        "+" => true,
        l => !l.contains(['#', '+']),
    })
}

/// Whether the topic name `topic` matches `filter`.
pub(crate) fn matches(filter: &str, topic: &str) -> bool {
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Whether every topic `inner` can match is also matched by `outer`.
fn filter_within(inner: &str, outer: &str) -> bool {
    let mut i = inner.split('/');
    let mut o = outer.split('/');
    loop {
        match (i.next(), o.next()) {
            (_, Some("#")) => return true,
            (Some("#"), _) => return false,
            (Some(_), Some("+")) => {}
            (Some(a), Some(b)) if a == b && a != "+" => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl() -> Acl {
        Acl::new("attune", "s1", "k1")
    }

    #[test]
    fn matching_follows_mqtt_wildcards() {
        assert!(matches("a/+/c", "a/b/c"));
        assert!(matches("a/#", "a"));
        assert!(matches("a/#", "a/b/c"));
        assert!(matches("#", "x/y"));
        assert!(!matches("a/+", "a/b/c"));
        assert!(!matches("a/b", "a/b/c"));
        assert!(!matches("a/+/c", "a/b/d"));
    }

    #[test]
    fn staff_may_only_acknowledge_and_report_outcomes() {
        let acl = acl();
        assert!(acl.may_publish(Role::Staff, "attune/s1/k1/ack"));
        assert!(acl.may_publish(Role::Staff, "attune/s1/k9/outcome"));
        for t in [
            "attune/s1/k1/alert",
            "attune/s1/k1/status",
            "attune/s2/k1/ack",
            "junk/x",
            "$SYS/broker",
            "attune/s1/k1/ack/x",
        ] {
            assert!(!acl.may_publish(Role::Staff, t), "{t}");
        }
        assert!(acl.may_subscribe(Role::Staff, "attune/s1/+/alert"));
        assert!(acl.may_subscribe(Role::Staff, "attune/#"));
        assert!(acl.may_subscribe(Role::Staff, "homeassistant/sensor/#"));
        for f in [
            "#",
            "+/s1/k1/alert",
            "junk/#",
            "$SYS/#",
            "attune/#/x",
            "a+b",
        ] {
            assert!(!acl.may_subscribe(Role::Staff, f), "{f}");
        }
    }

    #[test]
    fn the_kiosk_publishes_only_its_own_topics() {
        let acl = acl();
        for t in [
            "attune/s1/k1/alert",
            "attune/s1/k1/alerts/active",
            "attune/s1/supervisor/alert",
            "homeassistant/sensor/attune_s1_k1/stress/config",
            "attune/s1/k1/ack",
        ] {
            assert!(acl.may_publish(Role::Kiosk, t), "{t}");
        }
        assert!(!acl.may_publish(Role::Kiosk, "attune/s1/k2/alert"));
        assert!(acl.may_subscribe(Role::Kiosk, "attune/s1/k1/ack"));
        assert!(!acl.may_subscribe(Role::Kiosk, "attune/s1/+/ack"));
    }

    #[test]
    fn malformed_names_and_filters_are_refused() {
        for t in ["", "a/+", "a/#", "a\0b", "$x"] {
            assert!(!valid_topic_name(t), "{t:?}");
        }
        for f in ["", "a/#/b", "a#", "a/b+", "x\0"] {
            assert!(!valid_filter(f), "{f:?}");
        }
        assert!(valid_filter("a/+/#"));
    }
}
