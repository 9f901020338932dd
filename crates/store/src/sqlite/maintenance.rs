//! Housekeeping that must not stall the writer thread: expired-row purges in small
//! bounded steps, and WAL checkpoints on a thread of their own.
//!
//! Why: with SQLite's defaults the committing connection copies the WAL back into the
//! database every 1,000 pages, inside a commit; every call waiting on that batch waits for
//! the copy and its fsync (the 7–8 ms p99 spikes measured on the webhook). Here the writer
//! never checkpoints (`wal_autocheckpoint=0`); a second connection does it twice a second
//! in `PASSIVE` mode, which runs alongside the writer instead of blocking it.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{Connection, params};

use crate::StoreError;

/// How often the writer purges expired rows (checked after each batch).
pub(super) const PURGE_INTERVAL: Duration = Duration::from_secs(10);
/// Most rows of one table deleted by one purge, so one purge stays short.
const PURGE_LIMIT: i64 = 2_000;
/// How often the checkpointer copies the WAL back into the database.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);
/// WAL frames (4 KiB pages) after which a checkpoint holds the writer back until the log
/// can start over (256 MiB). The writer restarts the log by itself after a PASSIVE
/// checkpoint has caught up with it, which needs a quiet moment; under constant writes
/// (a minute at 1,000 messages/s) the log would otherwise grow without end. Measured: a
/// 6–7 ms pause under steady load, 25–55 ms just after a 100,000-message burst.
const RESTART_FRAMES: i64 = 65_536;

/// Deletes expired rows, at most [`PURGE_LIMIT`] per table; the rest go next time.
pub(super) fn purge(conn: &mut Connection, now: i64) -> Result<(), StoreError> {
    let tx = conn.savepoint()?;
    // Conversations past their retention: their turns first, then the conversation.
    tx.execute(
        "CREATE TEMP TABLE IF NOT EXISTS expired_convs(conv TEXT PRIMARY KEY)",
        [],
    )?;
    tx.execute("DELETE FROM expired_convs", [])?;
    tx.execute(
        "INSERT INTO expired_convs SELECT conv FROM conversations WHERE expires_at <= ?1 LIMIT ?2",
        params![now, PURGE_LIMIT],
    )?;
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
    ] {
        tx.execute(
            &format!(
                "DELETE FROM {table} WHERE rowid IN \
                 (SELECT rowid FROM {table} WHERE {column} <= ?1 LIMIT ?2)"
            ),
            params![now, PURGE_LIMIT],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Starts the checkpointer thread on its own connection to `path`; it stops when
/// `stop`'s sender is dropped (with the store).
pub(super) fn spawn_checkpointer(path: &Path, stop: mpsc::Receiver<()>) -> Result<(), StoreError> {
    let mut conn = Connection::open(path)?;
    // Short steps here too: while a RESTART checkpoint waits, new writes wait behind it.
    conn.busy_handler(Some(super::wait_a_millisecond))?;
    std::thread::Builder::new()
        .name("inkdesk-sqlite-checkpoint".into())
        .spawn(move || {
            let mut checkpointer = Checkpointer::default();
            while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_INTERVAL)
            {
                let started = std::time::Instant::now();
                match checkpointer.tick(&conn) {
                    Ok(Checkpoint::Passive) => {}
                    Ok(done) => tracing::debug!(
                        ?done,
                        ms = started.elapsed().as_millis(),
                        "WAL started over"
                    ),
                    Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
                }
            }
        })
        .map_err(StoreError::unavailable)?;
    Ok(())
}

/// What one checkpoint did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Checkpoint {
    /// Copied what it could without waiting for anyone.
    Passive,
    /// The log was too long: waited for the writer, copied everything, started over.
    Restart,
    /// Nothing was written since the last tick: emptied the log file (disk space back).
    Truncate,
}

/// The checkpointer's memory between ticks.
#[derive(Debug)]
pub(super) struct Checkpointer {
    /// Log length that forces a RESTART ([`RESTART_FRAMES`] outside tests).
    restart_frames: i64,
    /// WAL frames at the previous tick.
    last_frames: i64,
}

impl Default for Checkpointer {
    fn default() -> Self {
        Self {
            restart_frames: RESTART_FRAMES,
            last_frames: 0,
        }
    }
}

impl Checkpointer {
    /// One tick: a PASSIVE checkpoint, then a RESTART if the log has grown past
    /// [`RESTART_FRAMES`] (constant writes never let it start over by itself), or a
    /// TRUNCATE if the store has been quiet since the last tick and the log is not empty.
    pub(super) fn tick(&mut self, conn: &Connection) -> Result<Checkpoint, StoreError> {
        let (frames, copied) = run_checkpoint(conn, "PASSIVE")?;
        let quiet = frames > 0 && frames == copied && frames == self.last_frames;
        let done = if frames >= self.restart_frames {
            run_checkpoint(conn, "RESTART")?;
            Checkpoint::Restart
        } else if quiet {
            run_checkpoint(conn, "TRUNCATE")?;
            Checkpoint::Truncate
        } else {
            Checkpoint::Passive
        };
        self.last_frames = if done == Checkpoint::Passive {
            frames
        } else {
            0
        };
        Ok(done)
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
        purge(&mut conn, 200).unwrap();
        for table in ["dedupe", "outbox", "conversations", "turns"] {
            assert_eq!(count(&conn, table), 1, "{table}");
        }
        let left: String = conn
            .query_row("SELECT conv FROM turns", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, "live");
    }

    #[test]
    fn purge_is_bounded_per_run() {
        let (_dir, mut conn) = fresh();
        let n = PURGE_LIMIT + 10;
        for i in 0..n {
            conn.execute("INSERT INTO dedupe VALUES (?1, 1)", [format!("id{i}")])
                .unwrap();
        }
        purge(&mut conn, 200).unwrap();
        assert_eq!(count(&conn, "dedupe"), 10);
        purge(&mut conn, 200).unwrap();
        assert_eq!(count(&conn, "dedupe"), 0);
    }

    #[test]
    fn checkpointer_copies_the_log_back_and_empties_it_once_quiet() {
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
        write(0);
        let other = Connection::open(&path).unwrap();
        let mut checkpointer = Checkpointer::default();
        assert_eq!(checkpointer.tick(&other).unwrap(), Checkpoint::Passive);
        write(500);
        // Written since the last tick: not quiet, the log stays.
        assert_eq!(checkpointer.tick(&other).unwrap(), Checkpoint::Passive);
        assert!(wal_len() > 500 * 4096, "the writer's frames are in the WAL");
        // Nothing written since: the log is emptied.
        assert_eq!(checkpointer.tick(&other).unwrap(), Checkpoint::Truncate);
        assert_eq!(wal_len(), 0);
        let rows: i64 = other
            .query_row("SELECT count(*) FROM dedupe", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 1_000, "every row is in the database file");
        // An empty log stays as it is.
        assert_eq!(checkpointer.tick(&other).unwrap(), Checkpoint::Passive);

        // A long log under constant writes is started over.
        let mut strict = Checkpointer {
            restart_frames: 100,
            last_frames: 0,
        };
        write(1_000);
        assert_eq!(strict.tick(&other).unwrap(), Checkpoint::Restart);
        let before = wal_len();
        write(1_500);
        // Without the restart the second round would have doubled the file.
        assert!(
            wal_len() < before + before / 2,
            "the writer did not reuse the log from its start"
        );
    }
}
