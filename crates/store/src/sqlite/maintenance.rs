//! Housekeeping kept off the request path: expired rows are purged by the writer thread
//! in small steps of their own while nothing waits, and the WAL is copied back into the
//! database by a checkpointer thread on a second connection.
//!
//! An acknowledged call has waited for one thing only: its batch's `COMMIT`, which in WAL
//! mode with `synchronous=NORMAL` is a `write()` of the batch's pages into the `-wal` file
//! (the OS page cache; a `kill -9` cannot lose it), no fsync. What used to make it wait
//! longer, measured with timestamps around each slow batch and `perf` off-CPU stacks of
//! the writer thread (docs/PERFORMANCE.md):
//!
//! - **RESTART checkpoints** (40–225 ms): with the log past its limit, the checkpointer
//!   took the writer lock and, holding it, copied and fsynced everything written during
//!   the half-second PASSIVE that preceded it (tens of MB). Repeating PASSIVE first until
//!   one found almost nothing new shortened that, until a faster writer outran the
//!   rounds (up to 166 ms again). Now the checkpointer never takes the writer lock: it
//!   catches up and leaves the last copy to the writer itself ([`Handoff`]).
//! - **TRUNCATE when quiet** (an `ftruncate` of a 256 MiB log: 210 ms, writer lock held,
//!   so the first call after a pause waited for it): gone. The log file keeps its size
//!   (about [`RESET_FRAMES`] pages at most) and is reused from its start.
//! - **Purges inside a batch** (up to 2,000 rows per table, every 10 s): the batch's
//!   callers waited for them. Now a purge step is its own transaction of at most
//!   [`PURGE_STEP`] rows per table, run only when the writer's queue is empty (or, under
//!   constant load, at most once per [`PURGE_INTERVAL`] between two batches).
//!
//! What is left is inherent to one SQLite log. Starting it over needs a moment with no
//! writes between the last copy and the fsync that makes the database hold it, and the
//! first commit into the fresh log fsyncs its header (SQLite does that in `NORMAL` so a
//! power loss cannot mix old and new frames). When writes pause, that is one fsync paid
//! by the next commit; under constant writes it is the writer's own last copy (a few
//! milliseconds of writes and two fsyncs, after a batch has been answered) plus that
//! fsync, once per [`RESET_FRAMES`] pages written. The webhook does not wait for either:
//! past a short wait its message goes to the intake spool (`spool`).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rusqlite::{Connection, params};

use crate::StoreError;

/// How often a purge looks for expired rows when the last look found none.
pub(super) const PURGE_INTERVAL: Duration = Duration::from_secs(10);
/// Most expired rows of one table deleted by one purge step (so a step stays around a
/// millisecond); the rest go in the next steps.
pub(super) const PURGE_STEP: i64 = 100;
/// Most expired conversations deleted by one purge step: each takes its turns along
/// (up to `max_turns` plus [`super::log::TRIM_SLACK`], 215 by default).
const PURGE_CONVERSATIONS: i64 = 5;
/// How often the checkpointer copies the WAL back into the database. Short, so each
/// PASSIVE checkpoint (and its fsync of the log) has little to write.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(100);
/// WAL frames (4 KiB pages) after which the checkpointer starts the log over while
/// writes go on (32 MiB). Under constant writes SQLite never finds the moment itself.
///
/// Small on purpose: a log that is reused from its start while its pages are still in
/// the OS page cache is written in place. A long log is mostly fresh file: on ext4 with
/// large folios (Linux 6.16 on) each 24-byte frame header and 4 KiB page written into a
/// fresh folio zeroes the rest of the folio again (`zero_user_segments`), which took 36 %
/// of the writer thread's time with a 256 MiB log (docs/PERFORMANCE.md).
pub(super) const RESET_FRAMES: i64 = 8_192;
/// A PASSIVE checkpoint shorter than this found little written since the previous one:
/// the moment to start the log over.
const CONVERGED: Duration = Duration::from_millis(5);
/// Most PASSIVE rounds spent waiting for that moment before handing over anyway.
const MAX_CONVERGE_ROUNDS: usize = 8;
/// Ticks after which a request the writer has not acted on is withdrawn.
const WITHDRAW_AFTER: u32 = 3;

/// Deletes expired rows, at most `limit` per table (and [`PURGE_CONVERSATIONS`]
/// conversations with their turns), in one savepoint. Returns whether some table had
/// more than that, i.e. another step has work.
///
/// Expired conversations are found through their last-activity index, which the webhook
/// updates anyway, rather than an expiry index of their own: every row has
/// `last_at <= expires_at - retention` (`append_turn` clamps `last_at` to the time of
/// writing, and opening the store brings older rows down to that), so every row with
/// `expires_at <= now` has `last_at <= now - retention` and none is missed.
pub(super) fn purge(
    conn: &mut Connection,
    now: i64,
    limit: i64,
    retention: i64,
) -> Result<bool, StoreError> {
    let tx = conn.savepoint()?;
    let mut more = false;
    // Conversations past their retention: their turns first, then the conversation.
    tx.execute(
        "CREATE TEMP TABLE IF NOT EXISTS expired_convs(conv TEXT PRIMARY KEY)",
        [],
    )?;
    tx.execute("DELETE FROM expired_convs", [])?;
    let convs = tx.execute(
        "INSERT INTO expired_convs SELECT conv FROM conversations \
         WHERE last_at <= ?1 AND expires_at <= ?2 LIMIT ?3",
        params![
            now.saturating_sub(retention),
            now,
            limit.min(PURGE_CONVERSATIONS)
        ],
    )?;
    more |= i64::try_from(convs).unwrap_or(i64::MAX) >= limit.min(PURGE_CONVERSATIONS);
    tx.execute(
        "DELETE FROM turns WHERE conv IN (SELECT conv FROM expired_convs)",
        [],
    )?;
    tx.execute(
        "DELETE FROM conversations WHERE conv IN (SELECT conv FROM expired_convs)",
        [],
    )?;
    for (table, column) in [
        ("dedupe", "expires_at"),
        ("outbox", "expires_at"),
        ("mutes", "until"),
        ("holds", "expires_at"),
        ("keyed", "expires_at"),
        ("usage_days", "expires_at"),
        ("usage_convs", "expires_at"),
    ] {
        let deleted = tx.execute(
            &format!(
                "DELETE FROM {table} WHERE rowid IN \
                 (SELECT rowid FROM {table} WHERE {column} <= ?1 LIMIT ?2)"
            ),
            params![now, limit],
        )?;
        more |= i64::try_from(deleted).unwrap_or(i64::MAX) >= limit;
    }
    tx.commit()?;
    Ok(more)
}

/// When the writer thread purges next.
#[derive(Debug)]
pub(super) struct Purger {
    /// The next step is due at this instant.
    next: Instant,
    /// The conversations' retention (ms), which bounds their last activity (see [`purge`]).
    retention: i64,
}

impl Purger {
    /// Due at once: what the bounded purge at start-up left goes while the writer idles.
    pub(super) fn new(retention: i64) -> Self {
        Self {
            next: Instant::now(),
            retention,
        }
    }

    /// Whether a step is due (the writer runs it only while no call waits).
    pub(super) fn due(&self) -> bool {
        Instant::now() >= self.next
    }

    /// Whether a step has been due for a whole interval: under constant load the queue
    /// is never empty, so the writer then runs one between two batches.
    pub(super) fn overdue(&self) -> bool {
        Instant::now() >= self.next + PURGE_INTERVAL
    }

    /// How long an idle writer may sleep before a step is due.
    pub(super) fn until_due(&self) -> Duration {
        self.next.saturating_duration_since(Instant::now())
    }

    /// Runs one bounded step in a transaction of its own; the next one is due at once
    /// if this one left work, else after [`PURGE_INTERVAL`].
    pub(super) fn step(&mut self, conn: &mut Connection, now: i64) {
        // IMMEDIATE: take the write lock first (waiting out any other writer), rather than
        // read, then find the snapshot stale when upgrading (SQLITE_BUSY at once).
        let step = |conn: &mut Connection| -> Result<bool, StoreError> {
            conn.execute_batch("BEGIN IMMEDIATE")?;
            match purge(conn, now, PURGE_STEP, self.retention) {
                Ok(more) => {
                    conn.execute_batch("COMMIT")?;
                    Ok(more)
                }
                Err(e) => {
                    let _ = conn.execute_batch("ROLLBACK");
                    Err(e)
                }
            }
        };
        let more = match step(conn) {
            Ok(more) => more,
            Err(e) => {
                tracing::warn!(error = %e, "purging expired rows failed");
                false
            }
        };
        self.next = Instant::now() + if more { Duration::ZERO } else { PURGE_INTERVAL };
    }
}

/// Starts `checkpointer` on a thread of its own with its own connection to `path`; it
/// stops when `stop`'s sender is dropped (with the store).
pub(super) fn spawn_checkpointer(
    path: &Path,
    stop: mpsc::Receiver<()>,
    mut checkpointer: Checkpointer,
) -> Result<(), StoreError> {
    let mut conn = inkdesk_sqlite::open(path)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // A PASSIVE checkpoint never calls the busy handler (a checkpoint lock held by the
    // writer's own last copy just makes it return busy). It covers reading the schema
    // or recovering the log while another connection holds a lock.
    conn.busy_handler(Some(super::wait_briefly))?;
    std::thread::Builder::new()
        .name("inkdesk-sqlite-checkpoint".into())
        .spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_INTERVAL)
            {
                let started = Instant::now();
                match checkpointer.tick(&conn) {
                    Ok(Checkpoint::HandedOver) => tracing::debug!(
                        ms = started.elapsed().as_millis(),
                        "WAL caught up; the writer copies the rest"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
                }
            }
        })
        .map_err(StoreError::unavailable)?;
    Ok(())
}

/// The checkpointer's request that the writer copy the last of the log back itself.
///
/// Starting the log over needs a moment when everything in it has been copied back and
/// no write is under way. Under constant writes the checkpointer never sees one; the
/// writer has one after every batch. So once the log is past [`RESET_FRAMES`] and the
/// checkpointer has caught up, it hands the last copy to the writer, which runs it after
/// a batch has committed and its callers have their answers (what a few milliseconds of
/// writes left, and two fsyncs). The writer's next transaction then finds the log fully
/// copied and writes from its start. Nothing waits for a lock another thread holds: a
/// RESTART checkpoint held the writer lock while it caught up, and once the writer
/// outran its catch-up rounds (faster writes, a slow fsync) every call waited for the
/// whole copy (up to 166 ms, docs/PERFORMANCE.md).
#[derive(Debug, Clone, Default)]
pub(super) struct Handoff(Arc<HandoffState>);

#[derive(Debug, Default)]
struct HandoffState {
    /// Whether the writer has yet to make the last copy.
    asked: AtomicBool,
    /// The log's length in frames when the writer's last copy left it wholly copied
    /// (0: none did).
    left: AtomicI64,
}

impl Handoff {
    /// Asks the writer for the last copy.
    fn request(&self) {
        self.0.asked.store(true, Ordering::Release);
    }

    /// Whether the writer has yet to make the last copy (the checkpointer keeps off the
    /// log meanwhile, so the two never contend for the checkpoint lock).
    fn pending(&self) -> bool {
        self.0.asked.load(Ordering::Acquire)
    }

    /// Takes a request back the writer has not acted on (it went idle before it saw it).
    fn withdraw(&self) {
        self.0.asked.store(false, Ordering::Release);
    }

    /// Whether a log of `frames` frames, all copied, is the one the writer's last copy
    /// left: nothing was written since, and the writer's next transaction starts the log
    /// over by itself. (Under writes, a checkpoint that copied every frame it saw says
    /// nothing of the frames added meanwhile; only an unchanged length does.)
    fn left_as_copied(&self, frames: i64) -> bool {
        frames > 0 && self.0.left.load(Ordering::Acquire) == frames
    }

    /// Run by the writer outside any transaction: if asked, copies the rest of the log
    /// back (PASSIVE: it waits for nobody), so that its next transaction starts the log
    /// over. Returns whether it copied.
    pub(super) fn finish(&self, conn: &Connection) -> bool {
        if !self.pending() {
            return false;
        }
        let started = Instant::now();
        let copied = run_checkpoint(conn, "PASSIVE");
        if let Ok((frames, copied)) = copied {
            let left = if copied == frames { frames } else { 0 };
            self.0.left.store(left, Ordering::Release);
        }
        // Cleared only now: the checkpointer stayed off the log until the copy was done.
        self.0.asked.store(false, Ordering::Release);
        match copied {
            Ok((frames, copied)) => tracing::debug!(
                frames,
                copied,
                us = started.elapsed().as_micros(),
                "the writer copied the rest of the WAL"
            ),
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
        }
        true
    }
}

/// What one checkpointer tick did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Checkpoint {
    /// Copied what it could without waiting for anyone.
    Passive,
    /// The log was past [`RESET_FRAMES`]: caught up, and left the last copy to the
    /// writer.
    HandedOver,
    /// Nothing: the writer has yet to make the last copy asked for earlier.
    Waiting,
}

/// The checkpointer's state.
#[derive(Debug)]
pub(super) struct Checkpointer {
    /// Log length that starts it over ([`RESET_FRAMES`] outside tests).
    reset_frames: i64,
    handoff: Handoff,
    /// Ticks the current request has been waiting for the writer.
    waited: u32,
}

impl Checkpointer {
    /// A checkpointer that starts the log over past `reset_frames` ([`RESET_FRAMES`]
    /// outside tests) and hands the last copy to the writer through `handoff`.
    pub(super) fn new(reset_frames: i64, handoff: Handoff) -> Self {
        Self {
            reset_frames,
            handoff,
            waited: 0,
        }
    }

    /// One tick: a PASSIVE checkpoint (never waits for the writer), then, if the log has
    /// grown past [`RESET_FRAMES`], catch-up rounds and the handoff to the writer.
    ///
    /// When writes pause, nothing more is needed: once a PASSIVE checkpoint has copied
    /// everything, the writer's next commit starts the log over by itself.
    pub(super) fn tick(&mut self, conn: &Connection) -> Result<Checkpoint, StoreError> {
        let withdrawn = self.handoff.pending();
        if withdrawn {
            self.waited += 1;
            if self.waited < WITHDRAW_AFTER {
                return Ok(Checkpoint::Waiting);
            }
            // The writer went idle before it saw the request (it looks between batches
            // and before it parks): with no writes, a PASSIVE here copies everything and
            // the writer's next commit starts the log over by itself. Were the writer
            // copying after all, this PASSIVE finds the checkpoint lock taken and does
            // nothing.
            self.handoff.withdraw();
        }
        self.waited = 0;
        let (frames, copied) = run_checkpoint(conn, "PASSIVE")?;
        // All copied and nothing written since the writer went idle or made its last
        // copy: its next transaction starts the log over by itself. (Asking again after
        // the writer's copy would have it copy nothing on every tick until it writes.)
        let idle = withdrawn || self.handoff.left_as_copied(frames);
        if frames < self.reset_frames || (idle && copied == frames) {
            return Ok(Checkpoint::Passive);
        }
        // Catch up first: each round copies what the writer wrote during the last, until
        // a round finds next to nothing, so what the writer copies between two of its
        // batches is a few milliseconds of writes.
        for _ in 0..MAX_CONVERGE_ROUNDS {
            let started = Instant::now();
            run_checkpoint(conn, "PASSIVE")?;
            if started.elapsed() < CONVERGED {
                break;
            }
        }
        self.handoff.request();
        Ok(Checkpoint::HandedOver)
    }
}

/// Runs one checkpoint; (frames in the log, frames copied back) as SQLite reports them.
fn run_checkpoint(conn: &Connection, mode: &str) -> Result<(i64, i64), StoreError> {
    Ok(
        conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
            Ok((r.get(1)?, r.get(2)?))
        })?,
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn count(conn: &Connection, table: &str) -> i64 {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    fn fresh() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::open_connection(&dir.path().join("t.db")).unwrap();
        (dir, conn)
    }

    #[test]
    fn purge_drops_expired_rows_and_keeps_live_ones() {
        let (_dir, mut conn) = fresh();
        for (id, exp) in [("old", 100), ("live", 300)] {
            conn.execute("INSERT INTO dedupe VALUES (?1, ?2)", params![id, exp])
                .unwrap();
            conn.execute("INSERT INTO outbox VALUES (?1, ?2)", params![id, exp])
                .unwrap();
            conn.execute(
                "INSERT INTO conversations VALUES (?1, 0, '{}', 1, ?2)",
                params![id, exp],
            )
            .unwrap();
            conn.execute("INSERT INTO turns(conv, body) VALUES (?1, '{}')", [id])
                .unwrap();
        }
        assert!(
            !purge(&mut conn, 200, PURGE_STEP, 1).unwrap(),
            "nothing left"
        );
        for table in ["dedupe", "outbox", "conversations", "turns"] {
            assert_eq!(count(&conn, table), 1, "{table}");
        }
        let left: String = conn
            .query_row("SELECT conv FROM turns", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, "live");
    }

    #[test]
    fn a_conversation_dated_ahead_of_the_clock_is_purged_when_it_expires() {
        let (_dir, mut conn) = fresh();
        let retention = 1_000;
        // A message dated a day ahead of the clock, written at 0: it expires at 1,000.
        super::super::log::append_turn(&conn, "ahead", "{}", 86_400_000, 0, retention, 200)
            .unwrap();
        // The same row as an older version wrote it, before `last_at` was clamped.
        conn.execute(
            "INSERT INTO conversations VALUES ('legacy', 86400000, '{}', 1, 1000)",
            [],
        )
        .unwrap();
        conn.execute("INSERT INTO turns(conv, body) VALUES ('legacy', '{}')", [])
            .unwrap();
        // What opening the store does.
        super::super::bound_last_activity(&conn, retention).unwrap();
        assert!(!purge(&mut conn, 999, PURGE_STEP, retention).unwrap());
        assert_eq!(count(&conn, "conversations"), 2, "not expired yet");
        assert!(!purge(&mut conn, 1_000, PURGE_STEP, retention).unwrap());
        assert_eq!(count(&conn, "conversations"), 0, "both expired at 1,000");
        assert_eq!(count(&conn, "turns"), 0);
    }

    #[test]
    fn the_expiry_scan_uses_the_last_activity_index() {
        let (_dir, conn) = fresh();
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT conv FROM conversations \
                 WHERE last_at <= 1 AND expires_at <= 2 LIMIT 5",
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("conversations_by_last"), "{plan}");
    }

    #[test]
    fn purge_is_bounded_per_step_and_says_when_more_is_left() {
        let (_dir, mut conn) = fresh();
        let n = PURGE_STEP + 10;
        for i in 0..n {
            conn.execute("INSERT INTO dedupe VALUES (?1, 1)", [format!("id{i}")])
                .unwrap();
        }
        for i in 0..PURGE_CONVERSATIONS + 1 {
            conn.execute(
                "INSERT INTO conversations VALUES (?1, 0, '{}', 1, 1)",
                [format!("c{i}")],
            )
            .unwrap();
        }
        assert!(purge(&mut conn, 200, PURGE_STEP, 1).unwrap(), "more to do");
        assert_eq!(count(&conn, "dedupe"), 10);
        assert_eq!(count(&conn, "conversations"), 1);
        assert!(!purge(&mut conn, 200, PURGE_STEP, 1).unwrap(), "done");
        assert_eq!(count(&conn, "dedupe"), 0);
        assert_eq!(count(&conn, "conversations"), 0);
    }

    #[test]
    fn checkpointer_copies_the_log_back_and_starts_it_over_under_constant_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let writer = super::super::open_connection(&path).unwrap();
        let auto: i64 = writer
            .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
            .unwrap();
        assert_eq!(auto, 0, "the writer must never checkpoint");
        let write = |from: usize| {
            for i in from..from + 500 {
                writer
                    .execute("INSERT INTO dedupe VALUES (?1, 1)", [format!("{i:0>200}")])
                    .unwrap();
            }
        };
        let wal = dir.path().join("t.db-wal");
        let wal_len = || std::fs::metadata(&wal).unwrap().len();
        let other = inkdesk_sqlite::open(&path).unwrap();
        let log_frames = || run_checkpoint(&other, "PASSIVE").unwrap();
        let handoff = Handoff::default();
        let mut checkpointer = Checkpointer::new(RESET_FRAMES, handoff.clone());
        write(0);
        assert_eq!(checkpointer.tick(&other).unwrap(), Checkpoint::Passive);
        let (frames, copied) = log_frames();
        assert!(frames > 500, "the writer's frames are in the WAL");
        assert_eq!(frames, copied, "and all of them are copied back");
        let rows: i64 = other
            .query_row("SELECT count(*) FROM dedupe", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 500);
        // Everything was copied: the writer's next commit starts the log over by itself
        // (without that the log would hold both rounds, twice the frames).
        let before = wal_len();
        write(500);
        assert!(
            log_frames().0 < frames + frames / 2,
            "the log was reused from its start"
        );

        // A log past the limit is started over even though the writer never paused long
        // enough for the above: the next write goes to the start of the file. Under
        // constant writes the checkpointer never finds the log wholly copied, frames
        // being added while it copies; here a reader does that, by holding a snapshot
        // that keeps the checkpointer from copying anything (it may not change the
        // database under the reader). It lets go right after the checkpointer's rounds.
        let mut strict = Checkpointer::new(100, handoff.clone());
        let reader = inkdesk_sqlite::open(&path).unwrap();
        reader.execute_batch("BEGIN").unwrap();
        let _: i64 = reader
            .query_row("SELECT count(*) FROM dedupe", [], |r| r.get(0))
            .unwrap();
        write(1_000);
        assert!(!handoff.finish(&writer), "nothing asked yet");
        assert_eq!(strict.tick(&other).unwrap(), Checkpoint::HandedOver);
        let (frames, copied) = log_frames();
        assert!(copied < frames, "{copied} of {frames} frames copied");
        drop(reader);
        // The writer goes on after the checkpointer's last round, as it does under load:
        // the log now ends in frames nobody has copied.
        writer
            .execute("INSERT INTO dedupe VALUES ('during', 1)", [])
            .unwrap();
        assert_eq!(
            strict.tick(&other).unwrap(),
            Checkpoint::Waiting,
            "it keeps off the log until the writer has made the last copy"
        );
        assert!(handoff.finish(&writer), "the writer makes the last copy");
        assert!(!handoff.finish(&writer), "once");
        assert_eq!(
            strict.tick(&other).unwrap(),
            Checkpoint::Passive,
            "nothing was written since: nothing to hand over again"
        );
        assert!(!handoff.finish(&writer), "not asked again");
        writer
            .execute("INSERT INTO dedupe VALUES ('after', 1)", [])
            .unwrap();
        assert!(log_frames().0 < 10, "the writer began a fresh log");
        assert!(
            wal_len() < before + before / 2,
            "the file was reused, not grown"
        );
        let rows: i64 = writer
            .query_row("SELECT count(*) FROM dedupe", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 1_502);

        // A request the writer never acts on (it went idle) is taken back: the
        // checkpointer copies the log itself, and the next write starts it over.
        write(2_000);
        assert_eq!(strict.tick(&other).unwrap(), Checkpoint::HandedOver);
        for _ in 1..WITHDRAW_AFTER {
            assert_eq!(strict.tick(&other).unwrap(), Checkpoint::Waiting);
        }
        assert_eq!(strict.tick(&other).unwrap(), Checkpoint::Passive);
        assert!(!handoff.finish(&writer), "withdrawn");
        writer
            .execute("INSERT INTO dedupe VALUES ('idle', 1)", [])
            .unwrap();
        assert!(log_frames().0 < 10, "the writer began a fresh log");
    }
}
