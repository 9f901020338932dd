//! Inbox (the debounce queue) on SQLite.
//!
//! `inbox_queue.ready_at` is when a conversation may be claimed: its due time, or the end
//! of its lease while one is live. Claims look only at `ready_at <= now`.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use inkdesk_domain::ConversationId;
use rusqlite::{Connection, OptionalExtension, params};

use super::log::parse_conv;
use super::{SqliteStore, dur_ms};
use crate::StoreError;
use crate::change::edit_payload;
use crate::model::{Claim, PendingMessage, from_ms, ms};
use crate::ports::Inbox;

/// The conversation's token if the queue row exists.
fn current_token(tx: &Connection, conv: &str) -> Result<Option<Option<i64>>, StoreError> {
    Ok(tx
        .prepare_cached("SELECT token FROM inbox_queue WHERE conv = ?1")?
        .query_row([conv], |r| r.get::<_, Option<i64>>(0))
        .optional()?)
}

fn has_messages(tx: &Connection, conv: &str) -> Result<bool, StoreError> {
    Ok(tx
        .prepare_cached("SELECT EXISTS(SELECT 1 FROM inbox_messages WHERE conv = ?1)")?
        .query_row([conv], |r| r.get(0))?)
}

fn drop_queue_row(tx: &Connection, conv: &str) -> Result<(), StoreError> {
    tx.prepare_cached("DELETE FROM inbox_queue WHERE conv = ?1")?
        .execute([conv])?;
    Ok(())
}

/// Checks the fencing token of `claim`; refuses with `StaleLease` on mismatch.
fn check_token(tx: &Connection, claim: &Claim) -> Result<(), StoreError> {
    match current_token(tx, claim.conversation.as_str())? {
        Some(Some(token)) if u64::try_from(token).ok() == Some(claim.token) => Ok(()),
        _ => Err(StoreError::StaleLease),
    }
}

/// Queues one message (already JSON) and moves the conversation's due time; a message id
/// already pending changes nothing. The caller owns the transaction.
pub(super) fn push_message(
    tx: &Connection,
    conv: &str,
    message_id: &str,
    body: &str,
    now: i64,
    debounce: i64,
) -> Result<(), StoreError> {
    let added = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO inbox_messages(conv, message_id, body) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![conv, message_id, body])?;
    if added == 1 {
        tx.prepare_cached(
            "INSERT INTO inbox_queue(conv, due, ready_at) VALUES (?1, ?2, ?2) \
             ON CONFLICT(conv) DO UPDATE SET due = excluded.due, ready_at = CASE \
             WHEN lease_until > ?3 THEN max(excluded.due, lease_until) ELSE excluded.due END",
        )?
        .execute(params![conv, now.saturating_add(debounce), now])?;
    }
    Ok(())
}

impl SqliteStore {
    /// Ends the lease without handling anything; the conversation is claimable again at
    /// `at` (now when `None`).
    async fn give_back(&self, claim: &Claim, at: Option<i64>) -> Result<(), StoreError> {
        let claim = claim.clone();
        self.run(move |conn, now| {
            let tx = conn.savepoint()?;
            check_token(&tx, &claim)?;
            let conv = claim.conversation.as_str();
            if has_messages(&tx, conv)? {
                tx.prepare_cached(
                    "UPDATE inbox_queue SET token = NULL, lease_until = NULL, due = ?2, ready_at = ?2 \
                     WHERE conv = ?1",
                )?
                .execute(params![conv, at.unwrap_or(now)])?;
            } else {
                drop_queue_row(&tx, conv)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl Inbox for SqliteStore {
    async fn push(
        &self,
        conversation: &ConversationId,
        message: PendingMessage,
        debounce: Duration,
    ) -> Result<(), StoreError> {
        let conv = conversation.as_str().to_owned();
        let body = serde_json::to_string(&message)?;
        let debounce = dur_ms(debounce);
        self.run(move |conn, now| {
            let tx = conn.savepoint()?;
            push_message(&tx, &conv, &message.message_id, &body, now, debounce)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn claim_due(&self, max: usize, lease: Duration) -> Result<Vec<Claim>, StoreError> {
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        let lease = dur_ms(lease);
        let raw = self
            .run(move |conn, now| {
                let tx = conn.savepoint()?;
                let candidates: Vec<String> = {
                    let mut stmt = tx.prepare_cached(
                        "SELECT conv FROM inbox_queue WHERE ready_at <= ?1 ORDER BY ready_at, conv LIMIT ?2",
                    )?;
                    let rows = stmt.query_map(params![now, max], |r| r.get(0))?;
                    rows.collect::<Result<_, _>>()?
                };
                let lease_until = now.saturating_add(lease);
                let mut claims = Vec::with_capacity(candidates.len());
                for conv in candidates {
                    let bodies: Vec<String> = {
                        let mut stmt = tx.prepare_cached(
                            "SELECT body FROM inbox_messages WHERE conv = ?1 ORDER BY seq",
                        )?;
                        let rows = stmt.query_map([&conv], |r| r.get(0))?;
                        rows.collect::<Result<_, _>>()?
                    };
                    if bodies.is_empty() {
                        drop_queue_row(&tx, &conv)?;
                        continue;
                    }
                    let token: i64 = tx
                        .prepare_cached(
                            "UPDATE counters SET value = value + 1 WHERE name = 'token' RETURNING value",
                        )?
                        .query_row([], |r| r.get(0))?;
                    let attempt: i64 = tx
                        .prepare_cached(
                            "UPDATE inbox_queue SET token = ?1, lease_until = ?2, ready_at = ?2, \
                             attempts = attempts + 1 WHERE conv = ?3 RETURNING attempts",
                        )?
                        .query_row(params![token, lease_until, conv], |r| r.get(0))?;
                    claims.push((
                        conv,
                        u64::try_from(token).unwrap_or(0),
                        u32::try_from(attempt).unwrap_or(u32::MAX),
                        bodies,
                    ));
                }
                tx.commit()?;
                Ok((claims, lease_until))
            })
            .await?;
        let (claims, lease_until) = raw;
        let lease_until = from_ms(lease_until)?;
        claims
            .into_iter()
            .map(|(conv, token, attempt, bodies)| {
                Ok(Claim {
                    conversation: parse_conv(conv)?,
                    token,
                    lease_until,
                    attempt,
                    messages: bodies
                        .iter()
                        .map(|b| serde_json::from_str(b))
                        .collect::<Result<_, _>>()?,
                })
            })
            .collect()
    }

    async fn ack(&self, claim: &Claim, handled: &[String]) -> Result<(), StoreError> {
        let claim = claim.clone();
        let handled = handled.to_vec();
        self.run(move |conn, _| {
            let tx = conn.savepoint()?;
            check_token(&tx, &claim)?;
            let conv = claim.conversation.as_str();
            {
                let mut del = tx.prepare_cached(
                    "DELETE FROM inbox_messages WHERE conv = ?1 AND message_id = ?2",
                )?;
                for id in &handled {
                    del.execute(params![conv, id])?;
                }
            }
            if has_messages(&tx, conv)? {
                tx.prepare_cached(
                    "UPDATE inbox_queue SET token = NULL, lease_until = NULL, ready_at = due, \
                     attempts = 0 WHERE conv = ?1",
                )?
                .execute([conv])?;
            } else {
                drop_queue_row(&tx, conv)?;
            }
            tx.prepare_cached("DELETE FROM turn_journals WHERE conv = ?1")?
                .execute([conv])?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn release(&self, claim: &Claim) -> Result<(), StoreError> {
        self.give_back(claim, None).await
    }

    async fn postpone(&self, claim: &Claim, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.give_back(claim, Some(ms(at))).await
    }

    async fn renew(&self, claim: &Claim, lease: Duration) -> Result<DateTime<Utc>, StoreError> {
        let claim = claim.clone();
        let lease = dur_ms(lease);
        let until = self
            .run(move |conn, now| {
                let until = now.saturating_add(lease);
                let renewed = conn
                    .prepare_cached(
                        "UPDATE inbox_queue SET lease_until = ?3, ready_at = max(due, ?3) \
                         WHERE conv = ?1 AND token = ?2 AND lease_until > ?4",
                    )?
                    .execute(params![
                        claim.conversation.as_str(),
                        i64::try_from(claim.token).unwrap_or(i64::MAX),
                        until,
                        now
                    ])?;
                if renewed == 1 {
                    Ok(until)
                } else {
                    Err(StoreError::StaleLease)
                }
            })
            .await?;
        from_ms(until)
    }

    async fn remove_message(
        &self,
        conversation: &ConversationId,
        message_id: &str,
    ) -> Result<(), StoreError> {
        let conv = conversation.as_str().to_owned();
        let mid = message_id.to_owned();
        self.run(move |conn, now| {
            let tx = conn.savepoint()?;
            tx.prepare_cached("DELETE FROM inbox_messages WHERE conv = ?1 AND message_id = ?2")?
                .execute(params![conv, mid])?;
            if !has_messages(&tx, &conv)? {
                // Keep a live lease's row: its holder will ack or it will expire.
                tx.prepare_cached(
                    "DELETE FROM inbox_queue WHERE conv = ?1 AND (lease_until IS NULL OR lease_until <= ?2)",
                )?
                .execute(params![conv, now])?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn edit_message(
        &self,
        conversation: &ConversationId,
        message_id: &str,
        text: &str,
    ) -> Result<bool, StoreError> {
        let conv = conversation.as_str().to_owned();
        let mid = message_id.to_owned();
        let text = text.to_owned();
        self.run(move |conn, _| {
            let tx = conn.savepoint()?;
            let body: Option<String> = tx
                .prepare_cached(
                    "SELECT body FROM inbox_messages WHERE conv = ?1 AND message_id = ?2",
                )?
                .query_row(params![conv, mid], |r| r.get(0))
                .optional()?;
            let Some(body) = body else {
                return Ok(false);
            };
            let mut message: PendingMessage = serde_json::from_str(&body)?;
            let Some(payload) = edit_payload(&message.payload, &text) else {
                return Ok(false);
            };
            message.payload = payload;
            tx.prepare_cached(
                "UPDATE inbox_messages SET body = ?3 WHERE conv = ?1 AND message_id = ?2",
            )?
            .execute(params![conv, mid, serde_json::to_string(&message)?])?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let next: Option<i64> = self
            .run(|conn, _| {
                Ok(conn
                    .prepare_cached("SELECT min(ready_at) FROM inbox_queue")?
                    .query_row([], |r| r.get(0))?)
            })
            .await?;
        next.map(from_ms).transpose()
    }
}
