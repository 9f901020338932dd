//! Intake on SQLite: the webhook's dedupe mark, history append, pause/mute check and
//! queue push for one message, in one writer-thread call (atomic without a savepoint of
//! its own: see `bare`). If that call has not committed within
//! [`StoreOptions::intake_ack_within`](crate::StoreOptions::intake_ack_within), the
//! message is made durable in the intake spool and the webhook answered (see `spool`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use inkdesk_domain::ConversationId;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::inbox::push_message;
use super::log::append_turn;
use super::spool::Spool;
use super::state::mark_seen;
use super::{Answer, Call, SqliteStore, Writer, bare, dur_ms};
use crate::StoreError;
use crate::model::{IncomingMessage, IntakeOutcome, NotQueued, ms};
use crate::ports::Intake;

/// How many times a spooled message's call is run again after its batch failed, and the
/// first wait between two tries (doubled each time): about 50 s in all. After that the
/// record stays in the spool and is applied again at the next start.
const RETRIES: u32 = 9;
const FIRST_RETRY: Duration = Duration::from_millis(100);

/// One message as the writer records it, and as the spool keeps it.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct IntakeRecord {
    conv: String,
    /// When the webhook recorded it (ms): a replay at open applies it as of then, so
    /// its dedupe mark and debounce are what they would have been.
    now: i64,
    event_key: String,
    dedupe_ttl_ms: i64,
    turn_body: String,
    turn_at: i64,
    message_id: String,
    pending_body: String,
    debounce_ms: i64,
    answerable: bool,
}

impl IntakeRecord {
    fn new(
        conversation: &ConversationId,
        message: IncomingMessage,
        now: i64,
    ) -> Result<Self, StoreError> {
        let pending_body = serde_json::to_string(&message.pending)?;
        Ok(Self {
            conv: conversation.as_str().to_owned(),
            now,
            event_key: message.event_key,
            dedupe_ttl_ms: dur_ms(message.dedupe_ttl),
            turn_body: serde_json::to_string(&message.turn)?,
            turn_at: ms(message.turn.at),
            message_id: message.pending.message_id,
            pending_body,
            debounce_ms: dur_ms(message.debounce),
            answerable: message.answerable,
        })
    }

    /// Records the message unless its event key was seen (a duplicate returns before
    /// writing anything).
    fn apply(
        &self,
        tx: &Connection,
        retention: i64,
        max_turns: i64,
    ) -> Result<IntakeOutcome, StoreError> {
        let now = self.now;
        if !mark_seen(tx, &self.event_key, now, self.dedupe_ttl_ms)? {
            return Ok(IntakeOutcome::Duplicate);
        }
        append_turn(
            tx,
            &self.conv,
            &self.turn_body,
            self.turn_at,
            now,
            retention,
            max_turns,
        )?;
        Ok(match held(tx, &self.conv, now, self.answerable)? {
            Some(reason) => IntakeOutcome::Recorded(reason),
            None => {
                push_message(
                    tx,
                    &self.conv,
                    &self.message_id,
                    &self.pending_body,
                    now,
                    self.debounce_ms,
                )?;
                IntakeOutcome::Queued
            }
        })
    }
}

/// What a queued intake call needs besides its record: the history's bounds.
#[derive(Debug, Clone, Copy)]
struct HistoryBounds {
    retention: i64,
    max_turns: i64,
}

impl HistoryBounds {
    fn call(self, record: Arc<IntakeRecord>) -> Call<IntakeOutcome> {
        bare(move |tx, _| record.apply(tx, self.retention, self.max_turns))
    }
}

impl SqliteStore {
    fn history_bounds(&self) -> HistoryBounds {
        HistoryBounds {
            retention: dur_ms(self.options.retention),
            max_turns: i64::try_from(self.options.max_turns).unwrap_or(i64::MAX),
        }
    }

    /// Makes `record` durable in the spool and answers [`IntakeOutcome::Spooled`], leaving
    /// its queued call to a task that settles the record once it commits. Waits for the
    /// commit instead if the spool is full or cannot be written.
    async fn spool(
        &self,
        record: Arc<IntakeRecord>,
        answer: Answer<IntakeOutcome>,
    ) -> Result<IntakeOutcome, StoreError> {
        let body = serde_json::to_vec(&*record)?;
        let seq = match self.spool.append(body).await {
            Ok(Some(seq)) => seq,
            Ok(None) => return self.writer.answer(answer).await,
            Err(error) => {
                tracing::warn!(%error, "intake spool not written; waiting for the commit");
                return self.writer.answer(answer).await;
            }
        };
        tokio::spawn(see_through(
            self.writer.clone(),
            self.spool.clone(),
            self.history_bounds(),
            seq,
            record,
            Ok(answer),
        ));
        Ok(IntakeOutcome::Spooled)
    }

    /// Queues every record an earlier process left in the spool, in their order, each
    /// seen through like a freshly spooled one.
    pub(super) fn replay_spool(&self, left: super::spool::Left) {
        if left.is_empty() {
            return;
        }
        tracing::info!(
            records = left.len(),
            "recording the messages left in the intake spool"
        );
        let bounds = self.history_bounds();
        for (seq, body) in left {
            let record = match serde_json::from_slice::<IntakeRecord>(&body) {
                Ok(record) => Arc::new(record),
                Err(error) => {
                    // Its checksum held, so this is a record of another version: say so
                    // rather than retry it forever.
                    tracing::error!(%error, "a spooled message cannot be read; dropped");
                    self.spool.settle(seq);
                    continue;
                }
            };
            let answer = self.writer.enqueue(record.now, bounds.call(record.clone()));
            tokio::spawn(see_through(
                self.writer.clone(),
                self.spool.clone(),
                bounds,
                seq,
                record,
                answer,
            ));
        }
    }
}

/// Waits for a spooled record's call to commit, running it again (with backoff) if its
/// batch failed, then settles the record.
async fn see_through(
    writer: Writer,
    spool: Spool,
    bounds: HistoryBounds,
    seq: u64,
    record: Arc<IntakeRecord>,
    mut answer: Result<Answer<IntakeOutcome>, StoreError>,
) {
    let mut wait = FIRST_RETRY;
    for attempt in 0..=RETRIES {
        let outcome = match answer {
            Ok(answer) => writer.answer(answer).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(outcome) => {
                tracing::debug!(?outcome, "spooled message recorded");
                spool.settle(seq);
                return;
            }
            Err(error) if attempt < RETRIES => {
                tracing::warn!(%error, attempt, "a spooled message's commit failed; trying again");
            }
            Err(error) => {
                tracing::error!(
                    %error,
                    "a spooled message could not be recorded; it stays in the spool until the next start"
                );
                return;
            }
        }
        tokio::time::sleep(wait).await;
        wait = wait.saturating_mul(2);
        answer = writer.enqueue(record.now, bounds.call(record.clone()));
    }
}

#[async_trait]
impl Intake for SqliteStore {
    async fn record_message(
        &self,
        conversation: &ConversationId,
        message: IncomingMessage,
    ) -> Result<IntakeOutcome, StoreError> {
        let now = ms(self.clock.now());
        let record = Arc::new(IntakeRecord::new(conversation, message, now)?);
        let mut answer = self
            .writer
            .enqueue(now, self.history_bounds().call(record.clone()))?;
        let Some(within) = self.options.intake_ack_within else {
            return self.writer.answer(answer).await;
        };
        match tokio::time::timeout(within, &mut answer).await {
            Ok(answer) => super::answer_of(answer),
            Err(_) => self.spool(record, answer).await,
        }
    }
}

/// Why the message must not be queued, if it must not.
fn held(
    tx: &Connection,
    conv: &str,
    now: i64,
    answerable: bool,
) -> Result<Option<NotQueued>, StoreError> {
    if !answerable {
        return Ok(Some(NotQueued::NotAnswerable));
    }
    let paused: i64 = tx
        .prepare_cached("SELECT value FROM counters WHERE name = 'paused'")?
        .query_row([], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    if paused != 0 {
        return Ok(Some(NotQueued::Paused));
    }
    let muted: bool = tx
        .prepare_cached("SELECT EXISTS(SELECT 1 FROM mutes WHERE conv = ?1 AND until > ?2)")?
        .query_row(params![conv, now], |r| r.get(0))?;
    Ok(muted.then_some(NotQueued::Muted))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::Path;
    use std::time::{Duration, Instant};

    use inkdesk_domain::ConversationId;

    use super::super::tests::{hold_write_lock, incoming, store_with, traces};
    use super::super::{Limits, spool};
    use super::*;
    use crate::StoreOptions;

    const SENDER: &str = "1700000000000042";

    fn spooling() -> StoreOptions {
        StoreOptions {
            intake_ack_within: Some(Duration::from_millis(2)),
            ..StoreOptions::default()
        }
    }

    fn spool_len(dir: &Path) -> u64 {
        std::fs::metadata(spool::path_for(&dir.join("store.sqlite3")))
            .map(|m| m.len())
            .unwrap_or(0)
    }

    /// Waits (up to 10 s) until the spool file is empty again.
    async fn until_spool_empty(dir: &Path) {
        let started = Instant::now();
        while spool_len(dir) > 0 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "spool never emptied"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A WAL restart, or another process, holds the write lock: the webhook is answered
    /// from the spool at once, and the message is recorded, once, when the lock goes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_message_the_writer_cannot_commit_in_time_is_spooled_then_recorded_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with(dir.path(), Limits::default(), spooling()).await;
        let id = ConversationId::parse(SENDER).unwrap();
        let lock = hold_write_lock(&dir.path().join("store.sqlite3"));
        let started = Instant::now();
        let outcome = store.record_message(&id, incoming(SENDER)).await.unwrap();
        assert_eq!(outcome, IntakeOutcome::Spooled);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        assert!(spool_len(dir.path()) > 0, "durable before the answer");
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(lock);
        // A call made after the answer runs after the message's own.
        assert_eq!(traces(&store, SENDER).await, (true, 1, 1));
        until_spool_empty(dir.path()).await;
        let again = store.record_message(&id, incoming(SENDER)).await.unwrap();
        assert_eq!(again, IntakeOutcome::Duplicate);
        assert_eq!(traces(&store, SENDER).await, (true, 1, 1));
    }

    /// Fault injection: the spooled message's first commit fails (its batch is rolled
    /// back); it is run again and recorded once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_spooled_message_whose_commit_fails_is_run_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with(dir.path(), Limits::default(), spooling()).await;
        store
            .run(|conn, _| {
                conn.execute_batch(&format!(
                    "CREATE TEMP TRIGGER broken_disk BEFORE INSERT ON turns \
                     WHEN NEW.conv = '{SENDER}' BEGIN SELECT RAISE(ABORT, 'injected'); END"
                ))?;
                Ok(())
            })
            .await
            .unwrap();
        let id = ConversationId::parse(SENDER).unwrap();
        let lock = hold_write_lock(&dir.path().join("store.sqlite3"));
        let outcome = store.record_message(&id, incoming(SENDER)).await.unwrap();
        assert_eq!(outcome, IntakeOutcome::Spooled);
        // Queued behind the message: runs once its first try has failed.
        let repaired = tokio::spawn({
            let store = store.clone();
            async move {
                store
                    .run(|conn, _| Ok(conn.execute_batch("DROP TRIGGER broken_disk")?))
                    .await
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(lock);
        repaired.await.unwrap().unwrap();
        assert_eq!(
            traces(&store, SENDER).await,
            (false, 0, 0),
            "first try failed"
        );
        until_spool_empty(dir.path()).await;
        assert_eq!(traces(&store, SENDER).await, (true, 1, 1));
    }

    /// A record whose call had committed before the process died (the spool not yet
    /// emptied) is applied again at open and changes nothing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_spooled_record_already_committed_changes_nothing_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let id = ConversationId::parse(SENDER).unwrap();
        let now = chrono::Utc::now().timestamp_millis();
        {
            let store = store_with(dir.path(), Limits::default(), spooling()).await;
            let outcome = store.record_message(&id, incoming(SENDER)).await.unwrap();
            assert_ne!(outcome, IntakeOutcome::Spooled, "the writer was free");
        }
        let record = IntakeRecord::new(&id, incoming(SENDER), now).unwrap();
        let (mut spool, _) =
            spool::SpoolFile::open(&spool::path_for(&dir.path().join("store.sqlite3"))).unwrap();
        spool
            .append(&serde_json::to_vec(&record).unwrap())
            .unwrap()
            .unwrap();
        drop(spool);
        let store = store_with(dir.path(), Limits::default(), spooling()).await;
        assert_eq!(traces(&store, SENDER).await, (true, 1, 1));
        until_spool_empty(dir.path()).await;
    }

    /// Where the crash test's child process works, when this test binary is that child.
    const CHILD_DIR: &str = "INKDESK_SPOOL_CRASH_DIR";

    /// Not a test on its own: the child of the next one, which runs this test binary
    /// again with only this test selected and `CHILD_DIR` set.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "run by a_spooled_message_survives_kill_9 as its child process"]
    async fn spooling_child_process() {
        let Some(dir) = std::env::var_os(CHILD_DIR) else {
            return;
        };
        let dir = std::path::PathBuf::from(dir);
        let store = store_with(&dir, Limits::default(), spooling()).await;
        let _lock = hold_write_lock(&dir.join("store.sqlite3"));
        let id = ConversationId::parse(SENDER).unwrap();
        let outcome = store.record_message(&id, incoming(SENDER)).await.unwrap();
        assert_eq!(outcome, IntakeOutcome::Spooled);
        std::fs::write(dir.join("acknowledged"), b"").unwrap();
        tokio::time::sleep(Duration::from_secs(120)).await;
    }

    /// The durability promise through the spool: a message acknowledged from it survives
    /// `kill -9` of the process before its commit, and is recorded at the next open.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_spooled_message_survives_kill_9() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "sqlite::intake::tests::spooling_child_process",
                "--exact",
                "--ignored",
                "--nocapture",
            ])
            .env(CHILD_DIR, dir.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while !dir.path().join("acknowledged").exists() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the child ended before acknowledging: {status}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "no acknowledgement"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert!(spool_len(dir.path()) > 0);
        let store = store_with(dir.path(), Limits::default(), spooling()).await;
        assert_eq!(traces(&store, SENDER).await, (true, 1, 1));
        until_spool_empty(dir.path()).await;
        let id = ConversationId::parse(SENDER).unwrap();
        let again = store.record_message(&id, incoming(SENDER)).await.unwrap();
        assert_eq!(again, IntakeOutcome::Duplicate);
    }
}
