//! Embedded adapter: one SQLite file (WAL, `synchronous=NORMAL`), the default when no Redis
//! is configured.
//!
//! One connection sits behind a std mutex and every call runs on tokio's blocking pool, so
//! the async runtime never waits on disk. Each read-modify-write is one transaction; the
//! single connection also serialises writers, which is what makes claims and holds atomic.
//! Expiry is checked against the injected clock on every read; expired rows are purged now
//! and then.

mod inbox;
mod log;
mod state;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use inkdesk_domain::Clock;
use rusqlite::Connection;

use crate::StoreError;
use crate::model::{StoreOptions, ms};
use crate::ports::Health;

/// Purge expired rows once per this many calls.
const PURGE_EVERY: u64 = 1024;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS turns (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    conv TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS turns_by_conv ON turns(conv, seq);
CREATE TABLE IF NOT EXISTS conversations (
    conv TEXT PRIMARY KEY,
    last_at INTEGER NOT NULL,
    last_body TEXT NOT NULL,
    turns INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_by_last ON conversations(last_at);
CREATE TABLE IF NOT EXISTS inbox_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    conv TEXT NOT NULL,
    message_id TEXT NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (conv, message_id)
);
CREATE TABLE IF NOT EXISTS inbox_queue (
    conv TEXT PRIMARY KEY,
    due INTEGER NOT NULL,
    ready_at INTEGER NOT NULL,
    token INTEGER,
    lease_until INTEGER
);
CREATE INDEX IF NOT EXISTS inbox_by_ready ON inbox_queue(ready_at);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dedupe (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS mutes (conv TEXT PRIMARY KEY, until INTEGER NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS holds (
    slot_start INTEGER NOT NULL,
    slot_end INTEGER NOT NULL,
    conv TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (slot_start, slot_end, conv)
);
CREATE INDEX IF NOT EXISTS holds_by_conv ON holds(conv);
INSERT OR IGNORE INTO counters(name, value) VALUES ('token', 0), ('paused', 0);
";

/// Every port in one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    clock: Arc<dyn Clock>,
    options: StoreOptions,
    calls: AtomicU64,
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        match err {
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..) => Self::Corrupt(err.to_string()),
            other => Self::Unavailable(Box::new(other)),
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`.
    pub async fn open(
        path: impl AsRef<Path>,
        clock: Arc<dyn Clock>,
        options: StoreOptions,
    ) -> Result<Self, StoreError> {
        let path = path.as_ref().to_owned();
        let conn = tokio::task::spawn_blocking(move || -> Result<Connection, StoreError> {
            let conn = Connection::open(path)?;
            let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                tracing::warn!(mode, "SQLite did not switch to WAL");
            }
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.pragma_update(None, "busy_timeout", 5000)?;
            conn.set_prepared_statement_cache_capacity(64);
            conn.execute_batch(SCHEMA)?;
            Ok(conn)
        })
        .await
        .map_err(StoreError::unavailable)??;
        let store = Self {
            conn: Arc::new(Mutex::new(conn)),
            clock,
            options,
            calls: AtomicU64::new(0),
        };
        store.run(purge).await?;
        Ok(store)
    }

    /// Runs `f` with the connection and the clock's now (ms) on the blocking pool.
    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, i64) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        let now = ms(self.clock.now());
        let purge_now = self.calls.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY == PURGE_EVERY - 1;
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            if purge_now {
                purge(&mut conn, now)?;
            }
            f(&mut conn, now)
        })
        .await
        .map_err(StoreError::unavailable)?
    }
}

/// Deletes every expired row.
fn purge(conn: &mut Connection, now: i64) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    tx.execute(
        "DELETE FROM turns WHERE conv IN (SELECT conv FROM conversations WHERE expires_at <= ?1)",
        [now],
    )?;
    tx.execute("DELETE FROM conversations WHERE expires_at <= ?1", [now])?;
    tx.execute("DELETE FROM dedupe WHERE expires_at <= ?1", [now])?;
    tx.execute("DELETE FROM outbox WHERE expires_at <= ?1", [now])?;
    tx.execute("DELETE FROM mutes WHERE until <= ?1", [now])?;
    tx.execute("DELETE FROM holds WHERE expires_at <= ?1", [now])?;
    tx.commit()?;
    Ok(())
}

/// Milliseconds of a std duration, saturating.
fn dur_ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[async_trait]
impl Health for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.run(|conn, _| Ok(conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
            .await
            .map(|_| ())
    }
}
