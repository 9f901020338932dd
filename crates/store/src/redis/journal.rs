//! Turn journals on Redis: one string per conversation (`{P:conv:ID}:journal`), written by
//! a script that checks the lease first, so a worker that lost its lease cannot write.

use async_trait::async_trait;
use inkdesk_domain::ConversationId;
use serde::{Deserialize, Serialize};

use super::{PENDING_TTL, RedisStore, ttl_ms};
use crate::StoreError;
use crate::model::{Claim, JournalEntry};
use crate::ports::TurnJournal;

/// The stored form: the writer's token next to the body.
#[derive(Serialize, Deserialize)]
struct Stored {
    token: u64,
    body: serde_json::Value,
}

#[async_trait]
impl TurnJournal for RedisStore {
    async fn write_journal(
        &self,
        claim: &Claim,
        body: serde_json::Value,
    ) -> Result<(), StoreError> {
        let stored = serde_json::to_string(&Stored {
            token: claim.token,
            body,
        })?;
        let mut inv = self.scripts.journal.prepare_invoke();
        inv.key(self.conv_key(&claim.conversation, "meta"))
            .key(self.conv_key(&claim.conversation, "journal"))
            .arg(claim.token)
            .arg(self.now_ms())
            .arg(stored)
            .arg(ttl_ms(PENDING_TTL));
        let result: i64 = self
            .with_conn(|mut c| async move { inv.invoke_async(&mut c).await })
            .await?;
        if result < 0 {
            return Err(StoreError::StaleLease);
        }
        Ok(())
    }

    async fn read_journal(
        &self,
        conversation: &ConversationId,
    ) -> Result<Option<JournalEntry>, StoreError> {
        let key = self.conv_key(conversation, "journal");
        let raw: Option<String> = self
            .with_conn(|mut c| async move {
                deadpool_redis::redis::cmd("GET")
                    .arg(&key)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        raw.map(|raw| {
            let stored: Stored = serde_json::from_str(&raw)?;
            Ok(JournalEntry {
                token: stored.token,
                body: stored.body,
            })
        })
        .transpose()
    }
}
