//! Embedded adapter: one SQLite file (WAL, `synchronous=NORMAL`), the default when no Redis
//! is configured.
//!
//! One connection is owned by a dedicated writer thread, so the async runtime never waits on
//! disk. Calls reach it over a channel; it runs every call that is waiting in one
//! transaction, each call inside its own savepoint (atomic on its own), and answers once the
//! commit is done — group commit, which is what carries a burst of pushes past 20,000/s.
//! The single connection also serialises every read-modify-write, which is what makes
//! claims and holds atomic. Expiry is checked against the injected clock on every read.
//!
//! A call waits for its batch's commit and nothing else: with `synchronous=NORMAL` a
//! commit writes the WAL into the OS page cache without an fsync, so an acknowledged call
//! survives a `kill -9`; a power loss can roll back the last commits, never corrupt the
//! file. The webhook's call waits for that commit only briefly: past
//! [`StoreOptions::intake_ack_within`] its message is written to the intake spool (same
//! guarantee) and answered from there (see `spool`), so no webhook waits for a WAL
//! restart. Expired rows are purged in small steps of their own while no call waits, and the
//! WAL is copied back into the database by a checkpointer thread of its own (see
//! `maintenance` for what each used to cost the callers).
//!
//! Bounds: at most 4,096 calls wait for the writer (one more fails at once as
//! `Unavailable`, which the webhook answers with 503 so Meta redelivers), and a call
//! whose answer takes longer than 10 s fails as `Unavailable` (a stalled disk, a lock held
//! by another process). Every call is atomic, so a call that timed out either happens
//! whole, later, or not at all.

mod inbox;
mod intake;
mod journal;
mod log;
mod maintenance;
mod schedule;
mod spool;
mod state;
mod usage;

use std::path::Path;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use inkdesk_domain::Clock;
use rusqlite::Connection;
use rusqlite::config::DbConfig;
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
CREATE TABLE IF NOT EXISTS keyed (conv TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (conv, key));
CREATE TABLE IF NOT EXISTS mutes (conv TEXT PRIMARY KEY, until INTEGER NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS holds (
    slot_start INTEGER NOT NULL,
    slot_end INTEGER NOT NULL,
    artist TEXT NOT NULL DEFAULT '',
    conv TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (slot_start, slot_end, artist, conv)
);
CREATE INDEX IF NOT EXISTS holds_by_conv ON holds(conv);
CREATE TABLE IF NOT EXISTS turn_journals (conv TEXT PRIMARY KEY, token INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (key TEXT PRIMARY KEY, due INTEGER NOT NULL, ready_at INTEGER NOT NULL, token INTEGER, attempts INTEGER NOT NULL DEFAULT 0, payload TEXT NOT NULL, done_until INTEGER, progress TEXT);
CREATE INDEX IF NOT EXISTS jobs_by_ready ON jobs(ready_at) WHERE done_until IS NULL;
CREATE INDEX IF NOT EXISTS jobs_by_done ON jobs(done_until) WHERE done_until IS NOT NULL;
CREATE TABLE IF NOT EXISTS usage_days (
    day TEXT NOT NULL, model TEXT NOT NULL,
    calls INTEGER NOT NULL, prompt INTEGER NOT NULL, cached INTEGER NOT NULL,
    completion INTEGER NOT NULL, audio_seconds INTEGER NOT NULL, cost_nanos INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (day, model)
);
CREATE TABLE IF NOT EXISTS usage_convs (
    conv TEXT NOT NULL, model TEXT NOT NULL,
    calls INTEGER NOT NULL, prompt INTEGER NOT NULL, cached INTEGER NOT NULL,
    completion INTEGER NOT NULL, audio_seconds INTEGER NOT NULL, cost_nanos INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (conv, model)
);
INSERT OR IGNORE INTO counters(name, value) VALUES ('token', 0), ('paused', 0);
INSERT OR IGNORE INTO counters(name, value) VALUES ('job_token', 0);
";

/// Most calls folded into one transaction by the writer thread.
const BATCH: usize = 256;

/// How many calls may wait for the writer, and how long one waits for its answer.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    queue: usize,
    call_timeout: Duration,
    /// WAL frames after which the log is started over ([`maintenance::RESET_FRAMES`]).
    reset_frames: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            queue: 4096,
            call_timeout: Duration::from_secs(10),
            reset_frames: maintenance::RESET_FRAMES,
        }
    }
}

/// What the writer thread hands back once the batch's commit is known.
type Finish = Box<dyn FnOnce(Result<(), String>) + Send>;
/// One call: runs against the connection, returns how to report its result and whether
/// it left the batch's transaction unusable (see [`Ran`]).
type Job = Box<dyn FnOnce(&mut Connection) -> (Finish, Ran) + Send>;

/// How a call left the batch's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ran {
    /// Whatever it wrote is whole (or it wrote nothing): the batch goes on.
    Clean,
    /// A call without a savepoint of its own failed part-way: what it wrote cannot be
    /// undone on its own, so the whole transaction must be rolled back.
    Poisoned,
}

/// Every port in one SQLite file.
///
/// One writer thread owns the connection. It takes calls from a channel and runs all that
/// are waiting (up to `BATCH`, 256) in one transaction, each inside its own savepoint, so each
/// call stays atomic and isolated while a burst of calls shares one commit (group commit).
/// Results are reported only after the commit succeeded.
#[derive(Debug)]
pub struct SqliteStore {
    writer: Writer,
    /// Where a message the writer cannot commit promptly is made durable (see `spool`).
    spool: spool::Spool,
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
    let mut conn = inkdesk_sqlite::open_gathering(path)?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(mode, "SQLite did not switch to WAL");
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // The writer meets no other writer (the checkpointer never takes the writer lock:
    // see `maintenance::Handoff`); another process or a test's connection might. Wait
    // in short steps (SQLite's own handler backs off to 100 ms sleeps, which turned a
    // 60 ms checkpoint into a 400 ms stall of every waiting call).
    conn.busy_handler(Some(wait_briefly))?;
    // The checkpointer thread copies the WAL back (see `maintenance`), never a commit.
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    // Each call runs in a savepoint, whose sub-journal is a temp file by default: in
    // memory it saves a file write per page per call.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // 16 MiB of page cache (default 2 MiB): after a burst the database is large and the
    // pages every message touches would no longer fit (about 16 MB more RSS).
    conn.pragma_update(None, "cache_size", -16_384)?;
    conn.set_prepared_statement_cache_capacity(64);
    // Without the query planner stability guarantee SQLite recompiles a cached statement
    // on its next step whenever a parameter its plan looked at is bound again: a `LIMIT ?`
    // or `OFFSET ?` (the turn trim had one, on every message), or an `x = ?` whose value
    // moves into or out of -1..=1. That was 15 % of the writer's time on a grown database,
    // for plans that never change: there are no statistics (no ANALYZE) for a bound value
    // to steer them by.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.execute_batch(SCHEMA)?;
    migrate(&conn)?;
    Ok(conn)
}

/// Makes every conversation row satisfy what the purge relies on (see
/// `maintenance::purge`): `last_at` no later than the row's `expires_at` minus the
/// retention in force. Rows written by this version already do (`append_turn` clamps);
/// rows of an older version, or written under a shorter retention, are brought down to it.
fn bound_last_activity(conn: &Connection, retention: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE conversations SET last_at = expires_at - ?1 WHERE last_at > expires_at - ?1",
        [retention],
    )?;
    Ok(())
}

/// Brings a database made by an older version up to the current schema.
fn migrate(conn: &Connection) -> Result<(), StoreError> {
    // Conversations are purged through their last-activity index now: one index less
    // to update per message (2 of the ~19 pages a one-message commit writes).
    conn.execute_batch("DROP INDEX IF EXISTS conversations_by_expiry")?;
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
    let has_progress: bool = conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM pragma_table_info('jobs') WHERE name = 'progress')",
        [],
        |r| r.get(0),
    )?;
    if !has_progress {
        conn.execute_batch("ALTER TABLE jobs ADD COLUMN progress TEXT")?;
    }
    // Holds gained the artist in their key. They last minutes, so an older table is
    // replaced rather than converted: at worst an offer made just before the upgrade is
    // no longer held, and booking re-checks the calendar anyway.
    let holds_have_artist: bool = conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM pragma_table_info('holds') WHERE name = 'artist')",
        [],
        |r| r.get(0),
    )?;
    if !holds_have_artist {
        conn.execute_batch(
            "DROP TABLE holds;
             CREATE TABLE holds (
                 slot_start INTEGER NOT NULL,
                 slot_end INTEGER NOT NULL,
                 artist TEXT NOT NULL DEFAULT '',
                 conv TEXT NOT NULL,
                 expires_at INTEGER NOT NULL,
                 PRIMARY KEY (slot_start, slot_end, artist, conv)
             );
             CREATE INDEX IF NOT EXISTS holds_by_conv ON holds(conv);",
        )?;
    }
    Ok(())
}

/// Busy handler: retry every 100 µs for up to five seconds.
pub(super) fn wait_briefly(attempts: i32) -> bool {
    if attempts >= 50_000 {
        return false;
    }
    std::thread::sleep(Duration::from_micros(100));
    true
}

/// How long the writer keeps looking for the next call before it parks.
const STAY_AWAKE: Duration = Duration::from_micros(200);

/// A batch slower than this is logged (at debug) with where its time went.
const SLOW_BATCH: Duration = Duration::from_millis(10);

/// The next call, or `None` once every sender is gone. While none waits, a due purge
/// step runs first (one bounded transaction), so housekeeping never delays a waiting call.
fn next_job(
    conn: &mut Connection,
    jobs: &mpsc::Receiver<Job>,
    purger: &mut maintenance::Purger,
    handoff: &maintenance::Handoff,
    clock: &dyn Clock,
) -> Option<Job> {
    loop {
        match jobs.try_recv() {
            Ok(job) => return Some(job),
            Err(mpsc::TryRecvError::Disconnected) => return None,
            Err(mpsc::TryRecvError::Empty) => {}
        }
        if handoff.finish(conn) {
            continue;
        }
        if purger.due() {
            purger.step(conn, ms(clock.now()));
            continue;
        }
        // A turn makes its calls one after another, each a few tens of microseconds
        // after the last one's answer: stay awake that long (yielding the core) rather
        // than park and pay the wake-up on every call.
        let awake_until = Instant::now() + STAY_AWAKE;
        while Instant::now() < awake_until {
            match jobs.try_recv() {
                Ok(job) => return Some(job),
                Err(mpsc::TryRecvError::Disconnected) => return None,
                Err(mpsc::TryRecvError::Empty) => std::thread::yield_now(),
            }
        }
        match jobs.recv_timeout(purger.until_due()) {
            Ok(job) => return Some(job),
            Err(mpsc::RecvTimeoutError::Disconnected) => return None,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
}

/// The writer thread: batches waiting calls into one transaction until every sender is gone.
fn writer(
    mut conn: Connection,
    jobs: mpsc::Receiver<Job>,
    clock: Arc<dyn Clock>,
    retention: i64,
    handoff: maintenance::Handoff,
) {
    let mut purger = maintenance::Purger::new(retention);
    while let Some(first) = next_job(&mut conn, &jobs, &mut purger, &handoff, clock.as_ref()) {
        let started = Instant::now();
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let calls = batch.len();
        let mut outer = conn.execute_batch("BEGIN IMMEDIATE").is_ok();
        let begun = Instant::now();
        let mut finishers: Vec<Finish> = Vec::with_capacity(calls);
        for job in batch {
            let (finish, ran) = job(&mut conn);
            finishers.push(finish);
            if ran == Ran::Poisoned && outer {
                // None of the calls so far happened: each is told so, and the rest of
                // the batch goes on in a transaction of its own. (SQLite may already
                // have rolled back on its own after the error; that ROLLBACK then fails
                // harmlessly.)
                let _ = conn.execute_batch("ROLLBACK");
                for finish in finishers.drain(..) {
                    finish(Err(
                        "rolled back with a call of the same batch that failed".to_owned()
                    ));
                }
                outer = conn.execute_batch("BEGIN IMMEDIATE").is_ok();
            }
        }
        let ran = Instant::now();
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
        let done = Instant::now();
        if done - started >= SLOW_BATCH {
            tracing::debug!(
                calls,
                begin_us = (begun - started).as_micros(),
                run_us = (ran - begun).as_micros(),
                commit_us = (done - ran).as_micros(),
                "slow SQLite batch"
            );
        }
        // Under constant load the queue is never empty: the last copy of a log to be
        // started over, and an overdue purge step, run here, between two batches.
        handoff.finish(&conn);
        if purger.overdue() {
            purger.step(&mut conn, ms(clock.now()));
        }
    }
}

/// A call as the writer thread runs it: its result, and how it left the transaction.
type Call<T> = Box<dyn FnOnce(&mut Connection, i64) -> (Result<T, StoreError>, Ran) + Send>;

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and starts its writer thread.
    pub async fn open(
        path: impl AsRef<Path>,
        clock: Arc<dyn Clock>,
        options: StoreOptions,
    ) -> Result<Self, StoreError> {
        Self::open_with(path.as_ref(), clock, options, Limits::default()).await
    }

    async fn open_with(
        path: &Path,
        clock: Arc<dyn Clock>,
        options: StoreOptions,
        limits: Limits,
    ) -> Result<Self, StoreError> {
        let db_path = path.to_owned();
        let writer_clock = clock.clone();
        let retention = dur_ms(options.retention);
        let (jobs_tx, jobs_rx) = mpsc::sync_channel::<Job>(limits.queue);
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let (ready_tx, ready_rx) = oneshot::channel();
        let reset_frames = limits.reset_frames;
        std::thread::Builder::new()
            .name("inkdesk-sqlite".into())
            .spawn(move || {
                let handoff = maintenance::Handoff::default();
                let started = open_connection(&db_path).and_then(|mut conn| {
                    bound_last_activity(&conn, retention)?;
                    let now = ms(writer_clock.now());
                    maintenance::purge(&mut conn, now, maintenance::PURGE_STEP, retention)?;
                    maintenance::spawn_checkpointer(
                        &db_path,
                        stop_rx,
                        maintenance::Checkpointer::new(reset_frames, handoff.clone()),
                    )?;
                    Ok(conn)
                });
                match started {
                    Ok(conn) => {
                        let _ = ready_tx.send(Ok(()));
                        writer(conn, jobs_rx, writer_clock, retention, handoff);
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            })
            .map_err(StoreError::unavailable)?;
        ready_rx.await.map_err(StoreError::unavailable)??;
        let spool_path = spool::path_for(path);
        let (spool, left) = tokio::task::spawn_blocking(move || spool::Spool::start(&spool_path))
            .await
            .map_err(StoreError::unavailable)?
            .map_err(StoreError::unavailable)?;
        let store = Self {
            writer: Writer {
                jobs: jobs_tx,
                call_timeout: limits.call_timeout,
            },
            spool,
            _checkpoints: stop_tx,
            clock,
            options,
        };
        // Queued before any other call can be: whatever is made after `open` sees them.
        store.replay_spool(left);
        Ok(store)
    }

    /// Runs `f` on the writer thread with the connection and the clock's now (ms); the
    /// result arrives once the batch it ran in has committed.
    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, i64) -> Result<T, StoreError> + Send + 'static,
    {
        self.submit(Box::new(move |conn, now| (f(conn, now), Ran::Clean)))
            .await
    }

    /// Queues one call for the writer thread and waits for its answer.
    async fn submit<T>(&self, call: Call<T>) -> Result<T, StoreError>
    where
        T: Send + 'static,
    {
        let answer = self.writer.enqueue(ms(self.clock.now()), call)?;
        self.writer.answer(answer).await
    }
}

/// `f` as a call that writes straight into the batch's transaction, without a savepoint
/// of its own, which saves the savepoint's copy of every page the batch had already
/// changed (a fifth of the writer's time on a burst of webhooks, docs/PERFORMANCE.md).
/// If `f` fails, what it wrote cannot be undone on its own, so the batch's transaction
/// is rolled back and every call in it fails as `Unavailable` — each still whole or not
/// at all. Outside a transaction (the batch's `BEGIN` failed) `f` gets a savepoint after
/// all.
fn bare<T, F>(f: F) -> Call<T>
where
    T: Send + 'static,
    F: FnOnce(&Connection, i64) -> Result<T, StoreError> + Send + 'static,
{
    Box::new(move |conn, now| {
        if conn.is_autocommit() {
            let result = conn.savepoint().map_err(StoreError::from).and_then(|sp| {
                let value = f(&sp, now)?;
                sp.commit()?;
                Ok(value)
            });
            return (result, Ran::Clean);
        }
        let result = f(conn, now);
        let ran = if result.is_ok() {
            Ran::Clean
        } else {
            Ran::Poisoned
        };
        (result, ran)
    })
}

/// A call's answer, once its batch has committed (or failed).
type Answer<T> = oneshot::Receiver<Result<T, StoreError>>;

/// The way to the writer thread: cloned into the tasks that see a spooled message
/// through, so they can outlive a call (never the thread: it stops once every clone and
/// the store are gone).
#[derive(Debug, Clone)]
struct Writer {
    jobs: mpsc::SyncSender<Job>,
    call_timeout: Duration,
}

impl Writer {
    /// Queues one call, run as of `now` (ms); fails at once if the queue is full.
    fn enqueue<T>(&self, now: i64, call: Call<T>) -> Result<Answer<T>, StoreError>
    where
        T: Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let (result, ran) = call(conn, now);
            let finish: Finish = Box::new(move |commit: Result<(), String>| {
                let _ = tx.send(match (result, commit) {
                    // A call's own error says more than the batch's.
                    (Err(e), _) => Err(e),
                    (Ok(value), Ok(())) => Ok(value),
                    (Ok(_), Err(e)) => Err(StoreError::unavailable(e)),
                });
            });
            (finish, ran)
        });
        self.jobs.try_send(job).map_err(|e| match e {
            mpsc::TrySendError::Full(_) => {
                StoreError::unavailable("the embedded store is overloaded (too many waiting calls)")
            }
            mpsc::TrySendError::Disconnected(_) => {
                StoreError::unavailable("the SQLite writer thread stopped")
            }
        })?;
        Ok(rx)
    }

    /// Waits for a queued call's answer, at most the call timeout.
    async fn answer<T>(&self, answer: Answer<T>) -> Result<T, StoreError> {
        match tokio::time::timeout(self.call_timeout, answer).await {
            Ok(answer) => answer_of(answer),
            Err(_) => Err(StoreError::unavailable(format!(
                "the embedded store did not answer within {:?}",
                self.call_timeout
            ))),
        }
    }
}

/// The answer the writer sent, or why none came.
fn answer_of<T>(
    answer: Result<Result<T, StoreError>, oneshot::error::RecvError>,
) -> Result<T, StoreError> {
    answer.map_err(|_| StoreError::unavailable("the SQLite writer thread stopped"))?
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use inkdesk_domain::{ConversationId, SystemClock};

    use super::*;

    /// A second connection holding the write lock, as another process could.
    pub(super) fn hold_write_lock(path: &Path) -> Connection {
        let other = inkdesk_sqlite::open(path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        other
    }

    async fn store(dir: &tempfile::TempDir, limits: Limits) -> Arc<SqliteStore> {
        let options = StoreOptions {
            intake_ack_within: None,
            ..StoreOptions::default()
        };
        store_with(dir.path(), limits, options).await
    }

    /// A store in `dir` (`store.sqlite3`) on the system clock.
    pub(super) async fn store_with(
        dir: &Path,
        limits: Limits,
        options: StoreOptions,
    ) -> Arc<SqliteStore> {
        let path = dir.join("store.sqlite3");
        Arc::new(
            SqliteStore::open_with(&path, Arc::new(SystemClock), options, limits)
                .await
                .unwrap(),
        )
    }

    #[tokio::test]
    async fn a_call_the_writer_cannot_answer_in_time_fails_as_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let limits = Limits {
            queue: 16,
            call_timeout: Duration::from_millis(200),
            ..Limits::default()
        };
        let store = store(&dir, limits).await;
        let lock = hold_write_lock(&dir.path().join("store.sqlite3"));
        let started = Instant::now();
        let err = store.ping().await.unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        assert!(format!("{err:?}").contains("did not answer"), "{err:?}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        drop(lock);
    }

    /// A message from `sender` (a conversation id), event key `mid:mid.<sender>`.
    pub(super) fn incoming(sender: &str) -> crate::IncomingMessage {
        let at = chrono::Utc::now();
        let mid = format!("mid.{sender}");
        crate::IncomingMessage {
            event_key: format!("mid:{mid}"),
            dedupe_ttl: Duration::from_secs(3600),
            turn: crate::Turn {
                role: crate::Role::Customer,
                text: "γεια".into(),
                message_id: Some(mid.clone()),
                at,
                data: None,
            },
            pending: crate::PendingMessage {
                message_id: mid,
                received_at: at,
                payload: serde_json::json!({"text": "γεια"}),
            },
            debounce: Duration::from_secs(3),
            answerable: true,
        }
    }

    /// What a message left behind: (dedupe mark, turns, queued messages).
    pub(super) async fn traces(store: &SqliteStore, sender: &str) -> (bool, i64, i64) {
        let sender = sender.to_owned();
        store
            .run(move |conn, _| {
                let marked = conn.query_row(
                    "SELECT EXISTS(SELECT 1 FROM dedupe WHERE id = ?1)",
                    [format!("mid:mid.{sender}")],
                    |r| r.get(0),
                )?;
                let turns = conn.query_row(
                    "SELECT count(*) FROM turns WHERE conv = ?1",
                    [&sender],
                    |r| r.get(0),
                )?;
                let queued = conn.query_row(
                    "SELECT count(*) FROM inbox_messages WHERE conv = ?1",
                    [&sender],
                    |r| r.get(0),
                )?;
                Ok((marked, turns, queued))
            })
            .await
            .unwrap()
    }

    /// Fault injection for the savepoint-free hot path: a webhook message whose history
    /// insert fails half-way (after its dedupe mark was written) in the middle of a batch.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_message_failing_half_way_rolls_back_its_batch_and_only_that() {
        use crate::Intake;
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir, Limits::default()).await;
        // The writer's own connection gets a trigger that fails the turn of one sender.
        store
            .run(|conn, _| {
                conn.execute_batch(
                    "CREATE TEMP TRIGGER broken_disk BEFORE INSERT ON turns \
                     WHEN NEW.conv = '1700000000000009' BEGIN SELECT RAISE(ABORT, 'injected'); END",
                )?;
                Ok(())
            })
            .await
            .unwrap();
        let conv = |s: &str| ConversationId::parse(s).unwrap();
        let senders: Vec<String> = (1..=9).map(|i| format!("170000000000000{i}")).collect();
        // Hold the lock so that every message queues up and the writer takes them as one
        // batch, in the order sent: four before the broken one, four after.
        let lock = hold_write_lock(&dir.path().join("store.sqlite3"));
        let first = tokio::spawn({
            let store = store.clone();
            async move { store.ping().await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut calls = Vec::new();
        for sender in senders
            .iter()
            .take(4)
            .chain(senders.iter().skip(8))
            .chain(senders.iter().skip(4).take(4))
        {
            let store = store.clone();
            let id = conv(sender);
            calls.push(tokio::spawn(async move {
                store.record_message(&id, incoming(id.as_str())).await
            }));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        drop(lock);
        // The ping went alone, or, if the writer was still in a maintenance step
        // waiting on the same lock, in the batch with the rest (and was rolled back too).
        let _ = first.await.unwrap();
        let mut results = Vec::new();
        for call in calls {
            results.push(call.await.unwrap());
        }
        // The broken message and the four that shared its transaction before it failed;
        // the four after it went on in a transaction of their own.
        for (i, result) in results.iter().enumerate() {
            match i {
                0..=4 => assert!(
                    matches!(result, Err(StoreError::Unavailable(_))),
                    "{i}: {result:?}"
                ),
                _ => assert_eq!(
                    result.as_ref().unwrap(),
                    &crate::IntakeOutcome::Queued,
                    "{i}"
                ),
            }
        }
        assert!(
            format!("{:?}", results[4]).contains("injected"),
            "{:?}",
            results[4]
        );
        assert!(
            format!("{:?}", results[0]).contains("rolled back"),
            "{:?}",
            results[0]
        );
        // Failed means not at all: no dedupe mark (Meta's redelivery goes through), no
        // turn, nothing queued; succeeded means all of it.
        for sender in &senders[..4] {
            assert_eq!(traces(&store, sender).await, (false, 0, 0), "{sender}");
        }
        assert_eq!(traces(&store, &senders[8]).await, (false, 0, 0));
        for sender in &senders[4..8] {
            assert_eq!(traces(&store, sender).await, (true, 1, 1), "{sender}");
        }
        // The redeliveries are recorded once the disk is well again.
        store
            .run(|conn, _| Ok(conn.execute_batch("DROP TRIGGER broken_disk")?))
            .await
            .unwrap();
        for sender in senders.iter().take(4).chain(senders.iter().skip(8)) {
            let id = conv(sender);
            let outcome = store.record_message(&id, incoming(sender)).await.unwrap();
            assert_eq!(outcome, crate::IntakeOutcome::Queued, "{sender}");
            assert_eq!(traces(&store, sender).await, (true, 1, 1), "{sender}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn calls_beyond_the_queue_fail_at_once_and_the_queued_ones_complete() {
        let dir = tempfile::tempdir().unwrap();
        let limits = Limits {
            queue: 2,
            call_timeout: Duration::from_secs(20),
            ..Limits::default()
        };
        let store = store(&dir, limits).await;
        let lock = hold_write_lock(&dir.path().join("store.sqlite3"));
        // The writer takes the first call and waits on the lock; two more fill the queue.
        let first = tokio::spawn({
            let store = store.clone();
            async move { store.ping().await }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        let queued: Vec<_> = (0..2)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.ping().await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = Instant::now();
        let err = store.ping().await.unwrap_err();
        assert!(format!("{err:?}").contains("overloaded"), "{err:?}");
        assert!(started.elapsed() < Duration::from_millis(100));
        drop(lock);
        first.await.unwrap().unwrap();
        // Every call the queue accepted completes once the lock is gone. (Whether the
        // writer had taken the first call off the queue before the others came depends on
        // what it was doing — a maintenance step may have been waiting on the same lock —
        // so a queued call may itself have been the one refused.)
        let mut completed = 0;
        for call in queued {
            match call.await.unwrap() {
                Ok(()) => completed += 1,
                Err(err) => assert!(format!("{err:?}").contains("overloaded"), "{err:?}"),
            }
        }
        assert!(completed >= 1, "no queued call completed");
    }

    /// Salt-1 of the WAL's header, which SQLite bumps each time it starts the log over.
    fn wal_salt(path: &Path) -> Option<u32> {
        use std::io::Read;
        let mut header = [0u8; 20];
        let mut wal = std::fs::File::open(path).ok()?;
        wal.read_exact(&mut header).ok()?;
        Some(u32::from_be_bytes([
            header[16], header[17], header[18], header[19],
        ]))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_is_started_over_while_writes_go_on() {
        use crate::ports::Intake;
        let dir = tempfile::tempdir().unwrap();
        let limits = Limits {
            reset_frames: 64,
            ..Limits::default()
        };
        let store = store(&dir, limits).await;
        let wal = dir.path().join("store.sqlite3-wal");
        let until = Instant::now() + Duration::from_millis(1_500);
        // Sixteen senders, each sending its next message as soon as the last is
        // recorded: the writer's queue is rarely empty.
        let writers: Vec<_> = (0..16)
            .map(|w| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut n = 0u64;
                    while Instant::now() < until {
                        let sender = format!("{w}x{n}");
                        let id = ConversationId::parse(sender.clone()).unwrap();
                        store.record_message(&id, incoming(&sender)).await.unwrap();
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        let mut salts = std::collections::BTreeSet::new();
        let mut largest = 0u64;
        while Instant::now() < until {
            salts.extend(wal_salt(&wal));
            largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let mut sent = 0;
        for writer in writers {
            sent += writer.await.unwrap();
        }
        // The checkpointer looks every 100 ms: with the log past its limit at nearly
        // every look, it is started over several times while the senders never pause.
        // (Were the last copy never made, the checkpointer would stay off the log and
        // the log would grow with every message from the first handoff on.)
        assert!(sent > 500, "only {sent} messages in 1.5 s");
        assert!(
            salts.len() >= 5,
            "the log was started over {} times for {sent} messages (up to {largest} bytes)",
            salts.len().saturating_sub(1)
        );
        // Nothing was lost across the restarts: every message is in the file as another
        // process reads it (the platform's own VFS, its own look at the log).
        let other = inkdesk_sqlite::open(dir.path().join("store.sqlite3")).unwrap();
        let count = |table: &str| -> u64 {
            let n: i64 = other
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .unwrap();
            u64::try_from(n).unwrap()
        };
        assert_eq!(count("dedupe"), sent);
        assert_eq!(count("turns"), sent);
        assert_eq!(count("inbox_messages"), sent);
        let check: String = other
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }
}
