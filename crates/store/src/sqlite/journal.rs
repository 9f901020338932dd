//! Turn journals on SQLite: one row per conversation, written only under the live lease.

use async_trait::async_trait;
use inkdesk_domain::ConversationId;
use rusqlite::{OptionalExtension, params};

use super::SqliteStore;
use crate::StoreError;
use crate::model::{Claim, JournalEntry};
use crate::ports::TurnJournal;

#[async_trait]
impl TurnJournal for SqliteStore {
    async fn write_journal(
        &self,
        claim: &Claim,
        body: serde_json::Value,
    ) -> Result<(), StoreError> {
        let conv = claim.conversation.as_str().to_owned();
        let token = i64::try_from(claim.token).unwrap_or(i64::MAX);
        let body = serde_json::to_string(&body)?;
        self.run(move |conn, now| {
            let tx = conn.savepoint()?;
            // Fenced: only the holder of the conversation's current, live lease may write.
            let current: bool = tx
                .prepare_cached(
                    "SELECT EXISTS(SELECT 1 FROM inbox_queue \
                     WHERE conv = ?1 AND token = ?2 AND lease_until > ?3)",
                )?
                .query_row(params![conv, token, now], |r| r.get(0))?;
            if !current {
                return Err(StoreError::StaleLease);
            }
            tx.prepare_cached(
                "INSERT INTO turn_journals(conv, token, body) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(conv) DO UPDATE SET token = excluded.token, body = excluded.body",
            )?
            .execute(params![conv, token, body])?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn read_journal(
        &self,
        conversation: &ConversationId,
    ) -> Result<Option<JournalEntry>, StoreError> {
        let conv = conversation.as_str().to_owned();
        let row: Option<(i64, String)> = self
            .run(move |conn, _| {
                Ok(conn
                    .prepare_cached("SELECT token, body FROM turn_journals WHERE conv = ?1")?
                    .query_row([conv], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?)
            })
            .await?;
        row.map(|(token, body)| {
            Ok(JournalEntry {
                token: u64::try_from(token).unwrap_or(0),
                body: serde_json::from_str(&body)?,
            })
        })
        .transpose()
    }
}
