//! ConversationLog on SQLite (and the privacy delete across every table).

use async_trait::async_trait;
use inkdesk_domain::ConversationId;
use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, dur_ms};
use crate::StoreError;
use crate::change::{MessageChange, plan};
use crate::model::{ConversationSummary, Turn, ms, preview};
use crate::ports::ConversationLog;

pub(super) fn parse_conv(raw: String) -> Result<ConversationId, StoreError> {
    ConversationId::parse(raw).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Drops a conversation's oldest `?2` turns. Found from the start of the conversation's
/// index range: finding the cut by stepping back over the newest `max_turns` (an
/// `OFFSET`) walked 200 index entries on every message once a conversation was full.
const TRIM_TURNS: &str = "DELETE FROM turns WHERE seq IN \
     (SELECT seq FROM turns WHERE conv = ?1 ORDER BY seq LIMIT ?2)";

/// Appends one turn (already JSON) and refreshes the conversation's retention; the caller
/// owns the transaction.
pub(super) fn append_turn(
    tx: &Connection,
    conv: &str,
    body: &str,
    last_at: i64,
    now: i64,
    retention: i64,
    max_turns: i64,
) -> Result<(), StoreError> {
    let live: Option<i64> = tx
        .prepare_cached("SELECT turns FROM conversations WHERE conv = ?1 AND expires_at > ?2")?
        .query_row(params![conv, now], |r| r.get(0))
        .optional()?;
    if live.is_none() {
        // Expired (or new): nothing older than the retention survives.
        tx.prepare_cached("DELETE FROM turns WHERE conv = ?1")?
            .execute([conv])?;
    }
    tx.prepare_cached("INSERT INTO turns(conv, body) VALUES (?1, ?2)")?
        .execute(params![conv, body])?;
    // `conversations.turns` is the number of the conversation's rows in `turns`: every
    // statement that adds or removes turns keeps it so in the same transaction (this
    // function, or a delete of the whole conversation with its row), so the rows past
    // the cap are exactly the oldest `count - max_turns`.
    let mut count = live.unwrap_or(0) + 1;
    if count > max_turns {
        tx.prepare_cached(TRIM_TURNS)?
            .execute(params![conv, count - max_turns])?;
        count = max_turns;
    }
    // Never later than now: the purge finds expired conversations through this column
    // (`last_at <= now - retention`), which is exact only if no row's last activity is
    // later than the time it was written (a message dated ahead of our clock).
    let last_at = last_at.min(now);
    tx.prepare_cached(
        "INSERT INTO conversations(conv, last_at, last_body, turns, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(conv) DO UPDATE SET \
         last_at = excluded.last_at, last_body = excluded.last_body, \
         turns = excluded.turns, expires_at = excluded.expires_at",
    )?
    .execute(params![
        conv,
        last_at,
        body,
        count,
        now.saturating_add(retention)
    ])?;
    Ok(())
}

#[async_trait]
impl ConversationLog for SqliteStore {
    async fn append(&self, conversation: &ConversationId, turn: Turn) -> Result<(), StoreError> {
        let conv = conversation.as_str().to_owned();
        let retention = dur_ms(self.options.retention);
        let max_turns = i64::try_from(self.options.max_turns).unwrap_or(i64::MAX);
        let body = serde_json::to_string(&turn)?;
        let last_at = ms(turn.at);
        self.run(move |conn, now| {
            let tx = conn.savepoint()?;
            append_turn(&tx, &conv, &body, last_at, now, retention, max_turns)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn recent(
        &self,
        conversation: &ConversationId,
        n: usize,
    ) -> Result<Vec<Turn>, StoreError> {
        let conv = conversation.as_str().to_owned();
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        let bodies = self
            .run(move |conn, now| {
                let tx = conn.savepoint()?;
                let live: bool = tx
                    .prepare_cached(
                        "SELECT EXISTS(SELECT 1 FROM conversations WHERE conv = ?1 AND expires_at > ?2)",
                    )?
                    .query_row(params![conv, now], |r| r.get(0))?;
                if !live {
                    return Ok(Vec::new());
                }
                let mut stmt = tx.prepare_cached(
                    "SELECT body FROM (SELECT seq, body FROM turns WHERE conv = ?1 \
                     ORDER BY seq DESC LIMIT ?2) ORDER BY seq",
                )?;
                let rows = stmt.query_map(params![conv, n], |r| r.get::<_, String>(0))?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await?;
        bodies
            .iter()
            .map(|b| serde_json::from_str(b).map_err(StoreError::from))
            .collect()
    }

    async fn conversations(&self, limit: usize) -> Result<Vec<ConversationSummary>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .run(move |conn, now| {
                let mut stmt = conn.prepare_cached(
                    "SELECT conv, last_body, turns FROM conversations WHERE expires_at > ?1 \
                     ORDER BY last_at DESC, conv LIMIT ?2",
                )?;
                let rows = stmt.query_map(params![now, limit], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await?;
        rows.into_iter()
            .map(|(conv, body, turns)| {
                let last: Turn = serde_json::from_str(&body)?;
                Ok(ConversationSummary {
                    conversation: parse_conv(conv)?,
                    last_at: last.at,
                    last_preview: preview(&last.text),
                    turns: u64::try_from(turns).unwrap_or(0),
                })
            })
            .collect()
    }

    async fn change_message(
        &self,
        conversation: &ConversationId,
        message_id: &str,
        change: &MessageChange,
    ) -> Result<usize, StoreError> {
        let conv = conversation.as_str().to_owned();
        let mid = message_id.to_owned();
        let change = change.clone();
        self.run(move |conn, now| {
            let tx = conn.savepoint()?;
            let live: bool = tx
                .prepare_cached(
                    "SELECT EXISTS(SELECT 1 FROM conversations WHERE conv = ?1 AND expires_at > ?2)",
                )?
                .query_row(params![conv, now], |r| r.get(0))?;
            if !live {
                return Ok(0);
            }
            let rows: Vec<(i64, String)> = tx
                .prepare_cached("SELECT seq, body FROM turns WHERE conv = ?1 ORDER BY seq")?
                .query_map([&conv], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            let turns: Vec<Turn> = rows
                .iter()
                .map(|(_, body)| serde_json::from_str(body))
                .collect::<Result<_, _>>()?;
            let changes = plan(&turns, &mid, &change);
            for (index, turn) in &changes {
                let body = serde_json::to_string(turn)?;
                tx.prepare_cached("UPDATE turns SET body = ?2 WHERE seq = ?1")?
                    .execute(params![rows[*index].0, body])?;
                if *index + 1 == rows.len() {
                    // The inbox preview is the latest turn's copy.
                    tx.prepare_cached("UPDATE conversations SET last_body = ?2 WHERE conv = ?1")?
                        .execute(params![conv, body])?;
                }
            }
            tx.commit()?;
            Ok(changes.len())
        })
        .await
    }

    async fn delete_conversation(&self, conversation: &ConversationId) -> Result<(), StoreError> {
        let conv = conversation.as_str().to_owned();
        self.run(move |conn, _| {
            let tx = conn.savepoint()?;
            for table in [
                "turns",
                "conversations",
                "inbox_messages",
                "inbox_queue",
                "mutes",
                "holds",
                "keyed",
                "turn_journals",
                "usage_convs",
            ] {
                tx.execute(&format!("DELETE FROM {table} WHERE conv = ?1"), [&conv])?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rusqlite::StatementStatus;

    use super::*;

    /// The body of the `i`th turn.
    fn body(i: i64) -> String {
        format!("{{\"n\":{i}}}")
    }

    fn bodies(range: std::ops::Range<i64>) -> Vec<String> {
        range.map(body).collect()
    }

    /// The conversation's turns, oldest first, after checking that its count agrees.
    fn kept(conn: &Connection) -> Vec<String> {
        let kept: Vec<String> = conn
            .prepare("SELECT body FROM turns WHERE conv = 'c' ORDER BY seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let counted: i64 = conn
            .query_row(
                "SELECT turns FROM conversations WHERE conv = 'c'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(usize::try_from(counted).unwrap(), kept.len());
        kept
    }

    #[test]
    fn trimming_keeps_the_newest_turns_without_re_preparing() {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::open_connection(&dir.path().join("t.db")).unwrap();
        for i in 0..50 {
            append_turn(&conn, "c", &body(i), i, 1_000, 10_000, 20).unwrap();
        }
        assert_eq!(kept(&conn), bodies(30..50));
        // A lower cap (a changed setting) takes the conversation down to it at once.
        append_turn(&conn, "c", &body(50), 50, 1_000, 10_000, 5).unwrap();
        assert_eq!(kept(&conn), bodies(46..51));
        // SQLite recompiles a statement on the next step whenever a parameter its plan
        // read (a LIMIT or OFFSET among them) is bound again, unless the connection has
        // the query planner stability guarantee: the trim's LIMIT, on every message.
        let trim = conn.prepare_cached(TRIM_TURNS).unwrap();
        assert_eq!(trim.get_status(StatementStatus::RePrepare), 0);
        assert!(trim.get_status(StatementStatus::Run) >= 30);
    }
}
