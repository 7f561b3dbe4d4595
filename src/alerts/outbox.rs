//! The durable alert outbox: one SQLite file in the state directory, in WAL mode with
//! `synchronous=FULL`, so an alert that [`Outbox::commit`] accepted survives a crash or a power
//! cut. The broker's PUBACK is not durability (mosquitto persists only on its autosave
//! interval), so an alert stays `pending` here, and is re-sent after every reconnect, until a
//! member of staff acknowledges it.
//!
//! An alert's life: `pending` (re-sent) until staff acknowledge it (`acked`), then `closed`
//! when its customer has left, when staff report an outcome, or when nobody acknowledged it
//! within the maximum age (`closed_why`: customer_gone, resolved, expired). Finished alerts
//! are pruned after a week, at start and hourly while running.
//!
//! The file is created readable by the service user only (it holds what customers said, as
//! the privacy setting allows). A file SQLite cannot read is moved aside
//! (`outbox.sqlite3.corrupt-<unix seconds>`) and a fresh outbox is started: a kiosk that
//! cannot call staff at all is worse than one that lost the alerts of a damaged file.

use super::{Alert, AlertError};
use crate::conversation::Reason;
use crate::wallclock::now_ms;
use rusqlite::{Connection, ErrorCode, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Name of the outbox file inside the state directory.
pub const OUTBOX_FILE: &str = "outbox.sqlite3";

/// Acknowledged and closed alerts are kept this long (for inspection), then pruned at start.
const KEEP_FINISHED: Duration = Duration::from_secs(7 * 24 * 3600);

/// Another connection (a previous instance still shutting down) may hold the write lock briefly.
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

// AUTOINCREMENT: `seq` never reuses a value, so it orders alerts even when the wall clock
// jumps (a Pi has no real-time clock).
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS alerts (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id         TEXT    NOT NULL UNIQUE,
    payload          TEXT    NOT NULL,
    created_ms       INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    state            TEXT    NOT NULL DEFAULT 'pending'
                             CHECK (state IN ('pending', 'acked', 'closed')),
    broker_confirmed INTEGER NOT NULL DEFAULT 0,
    acked_by         TEXT,
    finished_ms      INTEGER
);
CREATE INDEX IF NOT EXISTS alerts_state ON alerts (state, seq);
";

/// Columns added since the first schema, added to older files on open.
const ADDED_COLUMNS: [(&str, &str); 3] = [
    ("closed_why", "TEXT"),
    ("outcome", "TEXT"),
    ("outcome_by", "TEXT"),
];

/// An alert still waiting for staff, as listed on the retained `alerts/active` topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenAlert {
    /// The alert's id.
    pub alert_id: String,
    /// Why staff were called.
    pub reason: Reason,
    /// When it was raised, ms since the Unix epoch (informational).
    pub raised_at_ms: u64,
}

impl OpenAlert {
    /// The listing of `alert`.
    pub fn of(alert: &Alert) -> Self {
        Self {
            alert_id: alert.alert_id.clone(),
            reason: alert.reason,
            raised_at_ms: alert.raised_at_ms,
        }
    }
}

/// The durable queue of alerts (see the module documentation).
#[derive(Debug)]
pub struct Outbox {
    conn: Connection,
    path: PathBuf,
}

/// Why opening failed: a damaged file is quarantined, anything else is reported.
enum OpenFailure {
    Corrupt(String),
    Other(String),
}

impl Outbox {
    /// Opens (creating if needed) `state_dir/outbox.sqlite3`. A file that is not a readable
    /// SQLite database is quarantined and replaced by an empty outbox; a directory or file that
    /// cannot be written (read-only, disk full) is an [`AlertError::Outbox`] naming the file.
    pub fn open(state_dir: &Path) -> Result<Outbox, AlertError> {
        let path = state_dir.join(OUTBOX_FILE);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(state_dir)
            .map_err(|e| {
                failure(
                    &path,
                    format!(
                        "cannot create the state directory {}: {e}",
                        state_dir.display()
                    ),
                )
            })?;
        create_private(&path).map_err(|e| failure(&path, e))?;
        match Self::open_checked(&path) {
            Ok(outbox) => Ok(outbox),
            Err(OpenFailure::Other(why)) => Err(failure(&path, why)),
            Err(OpenFailure::Corrupt(why)) => {
                let moved_to = quarantine(&path)?;
                tracing::error!(
                    outbox = %path.display(),
                    quarantined = %moved_to.display(),
                    "alert outbox is damaged ({why}); moved aside, starting an empty outbox"
                );
                Self::open_checked(&path).map_err(|e| match e {
                    OpenFailure::Corrupt(why) | OpenFailure::Other(why) => failure(&path, why),
                })
            }
        }
    }

    /// The outbox file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open_checked(path: &Path) -> Result<Outbox, OpenFailure> {
        let conn = Connection::open(path).map_err(classify)?;
        if conn
            .is_readonly(rusqlite::DatabaseName::Main)
            .unwrap_or(true)
        {
            return Err(OpenFailure::Other("the file is read-only".into()));
        }
        conn.busy_timeout(BUSY_TIMEOUT).map_err(classify)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(classify)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(OpenFailure::Other(format!(
                "cannot use write-ahead logging (journal mode stays {mode})"
            )));
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(classify)?;
        check_integrity(&conn)?;
        conn.execute_batch(SCHEMA).map_err(classify)?;
        add_columns(&conn).map_err(classify)?;
        let outbox = Outbox {
            conn,
            path: path.to_path_buf(),
        };
        outbox.prune_finished().map_err(classify)?;
        Ok(outbox)
    }

    /// Deletes alerts finished more than a week ago.
    pub fn prune(&self) -> Result<(), AlertError> {
        self.prune_finished()
            .map_err(|e| self.error("cannot prune finished alerts", e))
    }

    fn prune_finished(&self) -> rusqlite::Result<()> {
        let cutoff = now_ms().saturating_sub(KEEP_FINISHED.as_millis() as u64);
        self.conn.execute(
            "DELETE FROM alerts WHERE state != 'pending' AND finished_ms < ?1",
            params![cutoff as i64],
        )?;
        Ok(())
    }

    /// Commits `alert` as pending; returns once it is on disk. Committing an id that is
    /// already in the outbox changes nothing (returns `false`).
    pub fn commit(&mut self, alert: &Alert) -> Result<bool, AlertError> {
        let payload = serde_json::to_string(alert)
            .map_err(|e| failure(&self.path, format!("cannot encode alert: {e}")))?;
        let inserted = self
            .conn
            .execute(
                "INSERT INTO alerts (alert_id, payload, created_ms, attempts)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (alert_id) DO NOTHING",
                params![alert.alert_id, payload, now_ms() as i64, alert.attempt],
            )
            .map_err(|e| self.error("cannot commit alert", e))?;
        Ok(inserted == 1)
    }

    /// Alerts not yet acknowledged by staff, oldest first, with their current attempt number.
    /// A row whose payload cannot be decoded is logged and skipped.
    pub fn pending(&self) -> Result<Vec<Alert>, AlertError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT alert_id, payload, attempts FROM alerts
                 WHERE state = 'pending' ORDER BY seq",
            )
            .map_err(|e| self.error("cannot list pending alerts", e))?;
        let rows = stmt
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, u32>(2)?,
                ))
            })
            .map_err(|e| self.error("cannot list pending alerts", e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, payload, attempts) =
                row.map_err(|e| self.error("cannot list pending alerts", e))?;
            match serde_json::from_str::<Alert>(&payload) {
                Ok(mut alert) => {
                    alert.attempt = attempts;
                    out.push(alert);
                }
                Err(e) => tracing::error!(
                    alert_id = %id,
                    outbox = %self.path.display(),
                    "skipping an outbox entry that cannot be decoded: {e}"
                ),
            }
        }
        Ok(out)
    }

    /// Records that the broker acknowledged (PUBACK) a sending of the alert. Informational:
    /// it does not stop re-sending, only a staff acknowledgement does. Returns whether the id
    /// is known.
    pub fn mark_broker_confirmed(&mut self, alert_id: &str) -> Result<bool, AlertError> {
        // The flag changes nothing about re-sending, so it skips the fsync (losing it in a
        // power cut is harmless) and does not hold up the next alert's commit.
        let relaxed = self.conn.pragma_update(None, "synchronous", "NORMAL");
        let changed = self.conn.execute(
            "UPDATE alerts SET broker_confirmed = 1 WHERE alert_id = ?1",
            params![alert_id],
        );
        let restored = self.conn.pragma_update(None, "synchronous", "FULL");
        let changed = relaxed
            .and(changed)
            .and_then(|n| restored.map(|_| n))
            .map_err(|e| self.error("cannot record broker confirmation", e))?;
        Ok(changed == 1)
    }

    /// Records a staff acknowledgement: the alert is no longer re-sent. Returns whether the id
    /// is known (acknowledging an already acknowledged alert keeps the first `by`).
    pub fn mark_acked(&mut self, alert_id: &str, by: Option<&str>) -> Result<bool, AlertError> {
        let changed = self
            .conn
            .execute(
                "UPDATE alerts SET state = 'acked', acked_by = ?2, finished_ms = ?3
                 WHERE alert_id = ?1 AND state = 'pending'",
                params![alert_id, by, now_ms() as i64],
            )
            .map_err(|e| self.error("cannot record acknowledgement", e))?;
        if changed == 1 {
            return Ok(true);
        }
        self.contains(alert_id)
    }

    /// Finishes an alert that is pending or acknowledged: it is no longer re-sent, and is
    /// pruned after a week. `why`: customer_gone, resolved or expired. Returns whether it was
    /// still open.
    pub fn finish(
        &mut self,
        alert_id: &str,
        why: &str,
        outcome: Option<&str>,
    ) -> Result<bool, AlertError> {
        let changed = self
            .conn
            .execute(
                "UPDATE alerts SET state = 'closed', closed_why = ?2,
                        outcome = COALESCE(?3, outcome), finished_ms = ?4
                 WHERE alert_id = ?1 AND state IN ('pending', 'acked')",
                params![alert_id, why, outcome, now_ms() as i64],
            )
            .map_err(|e| self.error("cannot close alert", e))?;
        Ok(changed == 1)
    }

    /// Records how staff say an alert ended, and closes it if it is still open (an alert
    /// already closed keeps why it closed). Returns whether the id is known.
    pub fn record_outcome(
        &mut self,
        alert_id: &str,
        outcome: &str,
        by: Option<&str>,
    ) -> Result<bool, AlertError> {
        let changed = self
            .conn
            .execute(
                "UPDATE alerts SET outcome = ?2, outcome_by = ?3,
                        closed_why = CASE WHEN state = 'closed' THEN closed_why ELSE 'resolved' END,
                        state = 'closed', finished_ms = COALESCE(finished_ms, ?4)
                 WHERE alert_id = ?1",
                params![alert_id, outcome, by, now_ms() as i64],
            )
            .map_err(|e| self.error("cannot record the outcome", e))?;
        Ok(changed == 1)
    }

    /// The state and closing reason of an alert, for inspection and tests.
    pub fn state_of(&self, alert_id: &str) -> Result<Option<(String, Option<String>)>, AlertError> {
        self.conn
            .query_row(
                "SELECT state, closed_why FROM alerts WHERE alert_id = ?1",
                params![alert_id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(|e| self.error("cannot look up alert", e))
    }

    /// Records that the alert is being sent again as re-alert number `attempt` (the stored
    /// count never goes down) and returns it as it will be published. Unknown ids are
    /// [`AlertError::Unknown`].
    pub fn bump_attempt(&mut self, alert_id: &str, attempt: u32) -> Result<Alert, AlertError> {
        let changed = self
            .conn
            .execute(
                "UPDATE alerts SET attempts = MAX(attempts, ?2) WHERE alert_id = ?1",
                params![alert_id, attempt],
            )
            .map_err(|e| self.error("cannot record re-alert", e))?;
        if changed == 0 {
            return Err(AlertError::Unknown(alert_id.to_string()));
        }
        let (payload, attempts): (String, u32) = self
            .conn
            .query_row(
                "SELECT payload, attempts FROM alerts WHERE alert_id = ?1",
                params![alert_id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(|e| self.error("cannot read alert", e))?;
        let mut alert: Alert = serde_json::from_str(&payload).map_err(|e| {
            failure(
                &self.path,
                format!("alert {alert_id} cannot be decoded: {e}"),
            )
        })?;
        alert.attempt = attempts;
        Ok(alert)
    }

    /// Whether the outbox has ever held this id (in any state).
    pub fn contains(&self, alert_id: &str) -> Result<bool, AlertError> {
        self.conn
            .query_row(
                "SELECT 1 FROM alerts WHERE alert_id = ?1",
                params![alert_id],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
            .map_err(|e| self.error("cannot look up alert", e))
    }

    fn error(&self, what: &str, e: rusqlite::Error) -> AlertError {
        failure(&self.path, format!("{what}: {e}"))
    }
}

fn failure(path: &Path, why: String) -> AlertError {
    AlertError::Outbox {
        path: path.to_path_buf(),
        why,
    }
}

/// Damage shows up as "not a database" or "malformed" on the first read, or in the check.
fn classify(e: rusqlite::Error) -> OpenFailure {
    let corrupt = matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt)
    );
    if corrupt {
        OpenFailure::Corrupt(e.to_string())
    } else {
        OpenFailure::Other(e.to_string())
    }
}

fn check_integrity(conn: &Connection) -> Result<(), OpenFailure> {
    // quick_check reads every page (cheap for a small outbox) but skips index cross-checks.
    let verdict: String = conn
        .query_row("PRAGMA quick_check", [], |row| row.get(0))
        .map_err(classify)?;
    if verdict == "ok" {
        Ok(())
    } else {
        Err(OpenFailure::Corrupt(format!("integrity check: {verdict}")))
    }
}

/// Moves the damaged file and its WAL/shared-memory companions aside; a stale WAL left next to
/// a fresh database could be replayed into it.
fn quarantine(path: &Path) -> Result<PathBuf, AlertError> {
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let target = free_name(path, stamp);
    std::fs::rename(path, &target).map_err(|e| {
        failure(
            path,
            format!("damaged and cannot be moved to {}: {e}", target.display()),
        )
    })?;
    for suffix in ["-wal", "-shm"] {
        let side = with_suffix(path, suffix);
        if side.exists() {
            let to = with_suffix(&target, suffix);
            if let Err(e) = std::fs::rename(&side, &to) {
                tracing::warn!(file = %side.display(), "cannot move aside: {e}; removing it");
                let _ = std::fs::remove_file(&side);
            }
        }
    }
    Ok(target)
}

fn free_name(path: &Path, stamp: u64) -> PathBuf {
    let base = with_suffix(path, &format!(".corrupt-{stamp}"));
    let mut candidate = base.clone();
    // Two quarantines within one second must not overwrite each other.
    for n in 1..1000 {
        if !candidate.exists() {
            break;
        }
        candidate = with_suffix(&base, &format!(".{n}"));
    }
    candidate
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// Creates the file (if missing) readable and writable by its owner only, before SQLite
/// opens it with the process umask; an existing file is made private too.
fn create_private(path: &Path) -> Result<(), String> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| e.to_string())?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(|e| e.to_string())
}

fn add_columns(conn: &Connection) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('alerts')")?;
    let have: Vec<String> = stmt
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    for (name, kind) in ADDED_COLUMNS {
        if !have.iter().any(|h| h == name) {
            conn.execute_batch(&format!("ALTER TABLE alerts ADD COLUMN {name} {kind}"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::{ALERT_SCHEMA, AlertStress, KioskIdentity};
    use crate::conversation::{StaffHints, StressLevel, Trend};

    fn alert(id: &str) -> Alert {
        Alert {
            schema: ALERT_SCHEMA.into(),
            alert_id: id.into(),
            kiosk: KioskIdentity {
                site: "s1".into(),
                id: "k1".into(),
                location: "hall".into(),
            },
            reason: Reason::AskedForPerson,
            stress: AlertStress {
                level: StressLevel::Tense,
                score: 0.5,
                trend: Trend::Rising,
            },
            customer_said: Some(vec!["I need a person".into()]),
            topic: None,
            hints: StaffHints {
                sounds: "tense".into(),
                needs: "a person".into(),
                first_sentence: "Hello".into(),
            },
            raised_at_ms: 1_700_000_000_000,
            attempt: 0,
        }
    }

    #[test]
    fn commit_is_idempotent_and_pending_keeps_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut ob = Outbox::open(&dir.path().join("state")).unwrap();
        assert!(ob.commit(&alert("b")).unwrap());
        assert!(ob.commit(&alert("a")).unwrap());
        assert!(!ob.commit(&alert("b")).unwrap());
        let ids: Vec<_> = ob
            .pending()
            .unwrap()
            .into_iter()
            .map(|a| a.alert_id)
            .collect();
        assert_eq!(ids, ["b", "a"]);
    }

    #[test]
    fn survives_reopen_and_tracks_acks_and_attempts() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut ob = Outbox::open(dir.path()).unwrap();
            ob.commit(&alert("x")).unwrap();
            ob.commit(&alert("y")).unwrap();
            assert!(ob.mark_broker_confirmed("x").unwrap());
            let sync: i64 = ob
                .conn
                .query_row("PRAGMA synchronous", [], |r| r.get(0))
                .unwrap();
            assert_eq!(sync, 2, "back to FULL for commits");
            assert_eq!(ob.bump_attempt("y", 2).unwrap().attempt, 2);
            assert_eq!(ob.bump_attempt("y", 1).unwrap().attempt, 2);
            assert!(matches!(
                ob.bump_attempt("nope", 1),
                Err(AlertError::Unknown(_))
            ));
        }
        let mut ob = Outbox::open(dir.path()).unwrap();
        let pending = ob.pending().unwrap();
        assert_eq!(pending.len(), 2);
        assert_eq!(pending[1].attempt, 2);
        assert!(ob.mark_acked("x", Some("Sam")).unwrap());
        assert!(ob.mark_acked("x", Some("Kim")).unwrap(), "still known");
        assert!(!ob.mark_acked("nope", None).unwrap());
        let open = ob.pending().unwrap();
        assert_eq!(open.len(), 1, "an acknowledged alert is no longer pending");
        assert_eq!(open[0].alert_id, "y");
        assert_eq!(open[0].reason, Reason::AskedForPerson);
        assert!(ob.finish("y", "expired", None).unwrap());
        assert!(!ob.finish("y", "expired", None).unwrap(), "already closed");
        assert!(ob.pending().unwrap().is_empty());
        assert_eq!(
            ob.state_of("y").unwrap(),
            Some(("closed".into(), Some("expired".into())))
        );
        let by: Option<String> = ob
            .conn
            .query_row("SELECT acked_by FROM alerts WHERE alert_id='x'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(by.as_deref(), Some("Sam"));
    }

    #[test]
    fn uses_wal_and_full_sync() {
        let dir = tempfile::tempdir().unwrap();
        let ob = Outbox::open(dir.path()).unwrap();
        let mode: String = ob
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        let sync: i64 = ob
            .conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(sync, 2, "FULL");
    }

    fn quarantined(dir: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().contains(".corrupt-"))
            .collect()
    }

    #[test]
    fn garbage_file_is_quarantined_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(OUTBOX_FILE);
        std::fs::write(&file, vec![0x5a; 8192]).unwrap();
        let mut ob = Outbox::open(dir.path()).unwrap();
        assert!(ob.pending().unwrap().is_empty());
        ob.commit(&alert("after")).unwrap();
        let q = quarantined(dir.path());
        assert_eq!(q.len(), 1, "{q:?}");
        assert_eq!(std::fs::read(&q[0]).unwrap(), vec![0x5a; 8192]);
    }

    #[test]
    fn damaged_pages_are_quarantined() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut ob = Outbox::open(dir.path()).unwrap();
            for i in 0..200 {
                ob.commit(&alert(&format!("a{i}"))).unwrap();
            }
            // Fold the WAL into the main file so the damage below hits real pages.
            ob.conn
                .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
                .unwrap();
        }
        let file = dir.path().join(OUTBOX_FILE);
        let mut bytes = std::fs::read(&file).unwrap();
        assert!(bytes.len() > 4 * 4096);
        for b in &mut bytes[4096 + 100..3 * 4096] {
            *b = 0xff;
        }
        std::fs::write(&file, bytes).unwrap();
        let ob = Outbox::open(dir.path()).unwrap();
        assert!(ob.pending().unwrap().is_empty());
        assert_eq!(quarantined(dir.path()).len(), 1);
    }

    #[test]
    fn unwritable_state_dir_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("not-a-dir");
        std::fs::write(&blocker, b"x").unwrap();
        let err = Outbox::open(&blocker.join("state")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(OUTBOX_FILE), "{text}");
        assert!(matches!(err, AlertError::Outbox { .. }));
    }
    #[test]
    fn acknowledged_then_gone_then_resolved_keeps_why_it_closed() {
        let dir = tempfile::tempdir().unwrap();
        let mut ob = Outbox::open(dir.path()).unwrap();
        ob.commit(&alert("a")).unwrap();
        ob.mark_acked("a", Some("Sam")).unwrap();
        assert!(ob.finish("a", "customer_gone", None).unwrap());
        assert!(ob.record_outcome("a", "helped", Some("Sam")).unwrap());
        assert_eq!(
            ob.state_of("a").unwrap(),
            Some(("closed".into(), Some("customer_gone".into())))
        );
        ob.commit(&alert("b")).unwrap();
        assert!(ob.record_outcome("b", "not_needed", None).unwrap());
        assert_eq!(
            ob.state_of("b").unwrap(),
            Some(("closed".into(), Some("resolved".into())))
        );
        assert!(!ob.record_outcome("nope", "helped", None).unwrap());
        let outcome: String = ob
            .conn
            .query_row("SELECT outcome FROM alerts WHERE alert_id='b'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(outcome, "not_needed");
    }

    #[test]
    fn the_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let ob = Outbox::open(&state).unwrap();
        let mode = std::fs::metadata(ob.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = std::fs::metadata(&state).unwrap().permissions().mode() & 0o777;
        assert_eq!(dir_mode, 0o700);
    }

    #[test]
    fn an_outbox_of_the_first_schema_gains_the_new_columns() {
        let dir = tempfile::tempdir().unwrap();
        {
            let conn = Connection::open(dir.path().join(OUTBOX_FILE)).unwrap();
            conn.execute_batch(SCHEMA).unwrap();
            conn.execute(
                "INSERT INTO alerts (alert_id, payload, created_ms) VALUES ('old', ?1, 1)",
                params![serde_json::to_string(&alert("old")).unwrap()],
            )
            .unwrap();
        }
        let mut ob = Outbox::open(dir.path()).unwrap();
        assert_eq!(ob.pending().unwrap().len(), 1);
        assert!(ob.finish("old", "expired", None).unwrap());
    }
}
