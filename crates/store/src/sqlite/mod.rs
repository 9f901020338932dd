//! Embedded adapter: one SQLite file (WAL, `synchronous=NORMAL`), the default when no Redis
//! is configured.
//!
//! One connection is owned by a dedicated writer thread, so the async runtime never waits on
//! disk. Calls reach it over a channel; it runs every call that is waiting in one
//! transaction, each call inside its own savepoint (atomic on its own), and answers once the
//! commit is done — group commit, which is what carries a burst of pushes past 20,000/s.
//! The single connection also serialises every read-modify-write, which is what makes
//! claims and holds atomic. Expiry is checked against the injected clock on every read;
//! expired rows are purged in bounded steps every few seconds, and the WAL is copied back
//! into the database by a checkpointer thread of its own (see `maintenance`).

mod inbox;
mod intake;
mod journal;
mod log;
mod maintenance;
mod state;

use std::path::Path;
use std::sync::{Arc, mpsc};
use std::time::Instant;

use async_trait::async_trait;
use inkdesk_domain::Clock;
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::StoreError;
use crate::model::{StoreOptions, ms};
use crate::ports::Health;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS turns (
    seq INTEGER PRIMARY KEY,
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
    seq INTEGER PRIMARY KEY,
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
    lease_until INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS inbox_by_ready ON inbox_queue(ready_at);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dedupe (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS dedupe_by_expiry ON dedupe(expires_at);
CREATE TABLE IF NOT EXISTS outbox (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS outbox_by_expiry ON outbox(expires_at);
CREATE INDEX IF NOT EXISTS conversations_by_expiry ON conversations(expires_at);
CREATE TABLE IF NOT EXISTS keyed (conv TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (conv, key));
CREATE TABLE IF NOT EXISTS mutes (conv TEXT PRIMARY KEY, until INTEGER NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS holds (
    slot_start INTEGER NOT NULL,
    slot_end INTEGER NOT NULL,
    conv TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (slot_start, slot_end, conv)
);
CREATE INDEX IF NOT EXISTS holds_by_conv ON holds(conv);
CREATE TABLE IF NOT EXISTS turn_journals (conv TEXT PRIMARY KEY, token INTEGER NOT NULL, body TEXT NOT NULL);
INSERT OR IGNORE INTO counters(name, value) VALUES ('token', 0), ('paused', 0);
";

/// Most calls folded into one transaction by the writer thread.
const BATCH: usize = 256;

/// What the writer thread hands back once the batch's commit is known.
type Finish = Box<dyn FnOnce(Result<(), String>) + Send>;
/// One call: runs against the connection, returns how to report its result.
type Job = Box<dyn FnOnce(&mut Connection) -> Finish + Send>;

/// Every port in one SQLite file.
///
/// One writer thread owns the connection. It takes calls from a channel and runs all that
/// are waiting (up to `BATCH`, 256) in one transaction, each inside its own savepoint, so each
/// call stays atomic and isolated while a burst of calls shares one commit (group commit).
/// Results are reported only after the commit succeeded.
#[derive(Debug)]
pub struct SqliteStore {
    jobs: mpsc::Sender<Job>,
    /// Dropped with the store, which stops the checkpointer thread.
    _checkpoints: mpsc::Sender<()>,
    clock: Arc<dyn Clock>,
    options: StoreOptions,
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

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let mut conn = Connection::open(path)?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(mode, "SQLite did not switch to WAL");
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // Wait out a lock in 1 ms steps (SQLite's own handler backs off to 100 ms sleeps, which
    // turned a 60 ms checkpoint into a 400 ms stall of every waiting call).
    conn.busy_handler(Some(wait_a_millisecond))?;
    // The checkpointer thread copies the WAL back (see `maintenance`), never a commit.
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    // Each call runs in a savepoint, whose sub-journal is a temp file by default: in
    // memory it saves a file write per page per call (webhook 10,800 → 12,900 req/s).
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // 16 MiB of page cache (default 2 MiB). Throughput is the same either way, but after a
    // burst the database is large and the pages every message touches no longer fit: p99
    // at 1,000 req/s right after 100,000 messages is 7.6 ms with 2 MiB, 5.4 ms with 8 MiB,
    // 2.2–3.8 ms with 16 MiB (about 16 MB more RSS).
    conn.pragma_update(None, "cache_size", -16_384)?;
    conn.set_prepared_statement_cache_capacity(64);
    conn.execute_batch(SCHEMA)?;
    migrate(&conn)?;
    Ok(conn)
}

/// Brings a database made by an older version up to the current schema.
fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let has_attempts: bool = conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM pragma_table_info('inbox_queue') WHERE name = 'attempts')",
        [],
        |r| r.get(0),
    )?;
    if !has_attempts {
        conn.execute_batch(
            "ALTER TABLE inbox_queue ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
        )?;
    }
    Ok(())
}

/// Busy handler: retry every millisecond for up to five seconds.
pub(super) fn wait_a_millisecond(attempts: i32) -> bool {
    if attempts >= 5_000 {
        return false;
    }
    std::thread::sleep(std::time::Duration::from_millis(1));
    true
}

/// The writer thread: batches waiting calls into one transaction until every sender is gone.
fn writer(mut conn: Connection, jobs: mpsc::Receiver<Job>, clock: Arc<dyn Clock>) {
    let mut last_purge = Instant::now();
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let outer = conn.execute_batch("BEGIN IMMEDIATE").is_ok();
        let finishers: Vec<Finish> = batch.into_iter().map(|job| job(&mut conn)).collect();
        if last_purge.elapsed() >= maintenance::PURGE_INTERVAL {
            last_purge = Instant::now();
            if let Err(e) = maintenance::purge(&mut conn, ms(clock.now())) {
                tracing::warn!(error = %e, "purging expired rows failed");
            }
        }
        let commit = if outer {
            conn.execute_batch("COMMIT").map_err(|e| {
                let _ = conn.execute_batch("ROLLBACK");
                e.to_string()
            })
        } else {
            Ok(())
        };
        for finish in finishers {
            finish(commit.clone());
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and starts its writer thread.
    pub async fn open(
        path: impl AsRef<Path>,
        clock: Arc<dyn Clock>,
        options: StoreOptions,
    ) -> Result<Self, StoreError> {
        let path = path.as_ref().to_owned();
        let writer_clock = clock.clone();
        let (jobs_tx, jobs_rx) = mpsc::channel::<Job>();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let (ready_tx, ready_rx) = oneshot::channel();
        std::thread::Builder::new()
            .name("inkdesk-sqlite".into())
            .spawn(move || {
                let started = open_connection(&path).and_then(|mut conn| {
                    maintenance::purge(&mut conn, ms(writer_clock.now()))?;
                    maintenance::spawn_checkpointer(&path, stop_rx)?;
                    Ok(conn)
                });
                match started {
                    Ok(conn) => {
                        let _ = ready_tx.send(Ok(()));
                        writer(conn, jobs_rx, writer_clock);
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            })
            .map_err(StoreError::unavailable)?;
        ready_rx.await.map_err(StoreError::unavailable)??;
        Ok(Self {
            jobs: jobs_tx,
            _checkpoints: stop_tx,
            clock,
            options,
        })
    }

    /// Runs `f` on the writer thread with the connection and the clock's now (ms); the
    /// result arrives once the batch it ran in has committed.
    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, i64) -> Result<T, StoreError> + Send + 'static,
    {
        let now = ms(self.clock.now());
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = f(conn, now);
            Box::new(move |commit: Result<(), String>| {
                let _ = tx.send(match commit {
                    Ok(()) => result,
                    Err(e) => Err(StoreError::unavailable(e)),
                });
            })
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::unavailable("the SQLite writer thread stopped"))?;
        rx.await
            .map_err(|_| StoreError::unavailable("the SQLite writer thread stopped"))?
    }
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
