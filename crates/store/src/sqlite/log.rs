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

/// How many turns past `max_turns` a conversation may hold before its oldest are deleted.
///
/// Trimming one turn on every message rewrote the same index and table pages on every
/// message: on a grown database the trim was the largest share of the WAL written per
/// message (2.1 of 5.6 frames, docs/PERFORMANCE.md). Deleting 16 neighbours at once costs
/// about what deleting one does. The turns held past the cap are out of reach: every
/// reader stops at the newest `max_turns` ([`visible`]), so the history the model, the
/// console and an export see is exactly the one the other adapters keep. They go with
/// the conversation, by its retention or a customer's delete, like every other turn.
pub(super) const TRIM_SLACK: i64 = 15;

/// The most turns of a conversation any reader is given: the newest `max_turns`.
pub(super) fn visible(held: i64, max_turns: i64) -> i64 {
    held.min(max_turns)
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
    // the cap are exactly the oldest `count - max_turns`. They are deleted once there
    // are more than `TRIM_SLACK` of them, all at once however many that is (a lowered
    // cap can leave many).
    let mut count = live.unwrap_or(0) + 1;
    if count > max_turns.saturating_add(TRIM_SLACK) {
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
        let max_turns = i64::try_from(self.options.max_turns).unwrap_or(i64::MAX);
        let n = visible(i64::try_from(n).unwrap_or(i64::MAX), max_turns);
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
        let max_turns = i64::try_from(self.options.max_turns).unwrap_or(i64::MAX);
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
                    turns: u64::try_from(visible(turns, max_turns)).unwrap_or(0),
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
            // Every turn held, those past the cap too ([`TRIM_SLACK`]): an unsent
            // message's text must not stay behind in a turn no reader sees.
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
        // Up to TRIM_SLACK turns past the cap of 20 are held; the next deletes 16.
        for i in 0..35 {
            append_turn(&conn, "c", &body(i), i, 1_000, 10_000, 20).unwrap();
        }
        assert_eq!(kept(&conn), bodies(0..35));
        append_turn(&conn, "c", &body(35), 35, 1_000, 10_000, 20).unwrap();
        assert_eq!(kept(&conn), bodies(16..36));
        for i in 36..50 {
            append_turn(&conn, "c", &body(i), i, 1_000, 10_000, 20).unwrap();
        }
        assert_eq!(kept(&conn), bodies(16..50));
        // A lower cap (a changed setting) takes the conversation down to it at once.
        append_turn(&conn, "c", &body(50), 50, 1_000, 10_000, 5).unwrap();
        assert_eq!(kept(&conn), bodies(46..51));
        // SQLite recompiles a statement on the next step whenever a parameter its plan
        // read (a LIMIT or OFFSET among them) is bound again, unless the connection has
        // the query planner stability guarantee: the trim's LIMIT, bound anew on every trim.
        let trim = conn.prepare_cached(TRIM_TURNS).unwrap();
        assert_eq!(trim.get_status(StatementStatus::RePrepare), 0);
        assert_eq!(trim.get_status(StatementStatus::Run), 2);
    }

    /// Turns held past the cap (up to [`TRIM_SLACK`]) are out of every reader's reach,
    /// but an unsend still takes the text out of them.
    #[tokio::test]
    async fn turns_past_the_cap_are_not_read_but_are_changed() {
        use crate::change::{MessageChange, UNSENT_TEXT};
        use crate::model::{Role, StoreOptions};

        let dir = tempfile::tempdir().unwrap();
        let options = StoreOptions {
            max_turns: 3,
            intake_ack_within: None,
            ..StoreOptions::default()
        };
        let store =
            super::super::tests::store_with(dir.path(), super::super::Limits::default(), options)
                .await;
        let c = ConversationId::parse("capped".to_owned()).unwrap();
        for i in 0..5 {
            let turn = Turn {
                role: Role::Customer,
                text: format!("secret {i}"),
                message_id: Some(format!("m{i}")),
                at: chrono::Utc::now(),
                data: None,
            };
            store.append(&c, turn).await.unwrap();
        }
        let texts: Vec<String> = store
            .recent(&c, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.text)
            .collect();
        assert_eq!(texts, ["secret 2", "secret 3", "secret 4"]);
        assert_eq!(store.conversations(10).await.unwrap()[0].turns, 3);

        let changed = store
            .change_message(&c, "m0", &MessageChange::Unsent)
            .await
            .unwrap();
        assert_eq!(changed, 1);
        let held: Vec<String> = store
            .run(|conn, _| {
                let mut stmt = conn.prepare("SELECT body FROM turns ORDER BY seq")?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<Result<Vec<String>, _>>()?)
            })
            .await
            .unwrap();
        assert_eq!(held.len(), 5, "{held:?}");
        assert!(!held[0].contains("secret 0"), "{held:?}");
        assert!(held[0].contains(UNSENT_TEXT), "{held:?}");
    }
}
