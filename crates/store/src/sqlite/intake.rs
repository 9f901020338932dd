//! Intake on SQLite: the webhook's dedupe mark, history append, pause/mute check and
//! queue push for one message, in one writer-thread call (atomic without a savepoint of
//! its own: see `SqliteStore::run_bare`).

use async_trait::async_trait;
use inkdesk_domain::ConversationId;
use rusqlite::{Connection, OptionalExtension, params};

use super::inbox::push_message;
use super::log::append_turn;
use super::state::mark_seen;
use super::{SqliteStore, dur_ms};
use crate::StoreError;
use crate::model::{IncomingMessage, IntakeOutcome, NotQueued, ms};
use crate::ports::Intake;

#[async_trait]
impl Intake for SqliteStore {
    async fn record_message(
        &self,
        conversation: &ConversationId,
        message: IncomingMessage,
    ) -> Result<IntakeOutcome, StoreError> {
        let conv = conversation.as_str().to_owned();
        let turn_body = serde_json::to_string(&message.turn)?;
        let turn_at = ms(message.turn.at);
        let pending_body = serde_json::to_string(&message.pending)?;
        let retention = dur_ms(self.options.retention);
        let max_turns = i64::try_from(self.options.max_turns).unwrap_or(i64::MAX);
        // The hot path: no savepoint of its own (see `run_bare`); a duplicate returns
        // before writing anything.
        self.run_bare(move |tx, now| {
            if !mark_seen(tx, &message.event_key, now, dur_ms(message.dedupe_ttl))? {
                return Ok(IntakeOutcome::Duplicate);
            }
            append_turn(tx, &conv, &turn_body, turn_at, now, retention, max_turns)?;
            Ok(match held(tx, &conv, now, message.answerable)? {
                Some(reason) => IntakeOutcome::Recorded(reason),
                None => {
                    let id = &message.pending.message_id;
                    push_message(tx, &conv, id, &pending_body, now, dur_ms(message.debounce))?;
                    IntakeOutcome::Queued
                }
            })
        })
        .await
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
