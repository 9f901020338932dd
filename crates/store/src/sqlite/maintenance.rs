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
/// can start over. The writer restarts the log by itself whenever a PASSIVE checkpoint has
/// caught up (any quiet moment); only hours of uninterrupted writes get this far (1 GiB),
/// and then a stall is the lesser evil.
const RESTART_FRAMES: i64 = 262_144;

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
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "busy_timeout", 5000)?;
    std::thread::Builder::new()
        .name("inkdesk-sqlite-checkpoint".into())
        .spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_INTERVAL)
            {
                if let Err(e) = checkpoint(&conn) {
                    tracing::warn!(error = %e, "WAL checkpoint failed");
                }
            }
        })
        .map_err(StoreError::unavailable)?;
    Ok(())
}

/// One checkpoint: PASSIVE, or RESTART once the log has grown past [`RESTART_FRAMES`].
/// Returns (log frames, frames checkpointed) as SQLite reports them.
pub(super) fn checkpoint(conn: &Connection) -> Result<(i64, i64), StoreError> {
    let passive = run_checkpoint(conn, "PASSIVE")?;
    if passive.0 < RESTART_FRAMES {
        return Ok(passive);
    }
    run_checkpoint(conn, "RESTART")
}

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
    fn checkpoint_copies_the_log_back_while_the_writer_skips_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let writer = super::super::open_connection(&path).unwrap();
        let auto: i64 = writer
            .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
            .unwrap();
        assert_eq!(auto, 0, "the writer must never checkpoint");
        for i in 0..2_000 {
            writer
                .execute("INSERT INTO dedupe VALUES (?1, 1)", [format!("{i:0>200}")])
                .unwrap();
        }
        let other = Connection::open(&path).unwrap();
        let (log, done) = checkpoint(&other).unwrap();
        assert!(log > 1_000, "the writer left {log} frames in the WAL");
        assert_eq!(log, done, "a quiet database is checkpointed completely");
    }
}
