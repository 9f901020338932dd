//! ConversationLog on Redis, and the privacy delete across every key of a conversation.

use async_trait::async_trait;
use deadpool_redis::redis;
use inkdesk_domain::ConversationId;

use super::inbox::parse_conv;
use super::{RedisStore, ttl_ms};
use crate::StoreError;
use crate::change::{MessageChange, plan};
use crate::model::{ConversationSummary, Turn, preview};
use crate::ports::{ConversationLog, SlotHolds};

#[async_trait]
impl ConversationLog for RedisStore {
    async fn append(&self, conversation: &ConversationId, turn: Turn) -> Result<(), StoreError> {
        let body = serde_json::to_string(&turn)?;
        let log = self.conv_key(conversation, "log");
        let index = self.index_key("convs");
        let retention = ttl_ms(self.options.retention);
        let keep = isize::try_from(self.options.max_turns).unwrap_or(isize::MAX);
        let mut pipe = redis::pipe();
        pipe.rpush(&log, body)
            .ignore()
            .ltrim(&log, -keep, -1)
            .ignore()
            .pexpire(&log, i64::try_from(retention).unwrap_or(i64::MAX))
            .ignore()
            .zadd(&index, conversation.as_str(), turn.at.timestamp_millis())
            .ignore()
            // The index outlives every history in it by at most the retention.
            .pexpire(&index, i64::try_from(retention).unwrap_or(i64::MAX))
            .ignore();
        self.with_conn(|mut c| async move { pipe.query_async::<()>(&mut c).await })
            .await
    }

    async fn recent(
        &self,
        conversation: &ConversationId,
        n: usize,
    ) -> Result<Vec<Turn>, StoreError> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let log = self.conv_key(conversation, "log");
        let from = -i64::try_from(n).unwrap_or(i64::MAX);
        let bodies: Vec<String> = self
            .with_conn(|mut c| async move {
                redis::cmd("LRANGE")
                    .arg(&log)
                    .arg(from)
                    .arg(-1)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        bodies
            .iter()
            .map(|b| serde_json::from_str(b).map_err(StoreError::from))
            .collect()
    }

    async fn conversations(&self, limit: usize) -> Result<Vec<ConversationSummary>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut inv = self.scripts.conversations.prepare_invoke();
        inv.key(self.index_key("convs"))
            .arg(limit)
            .arg(self.conv_head());
        let flat: Vec<String> = self
            .with_conn(|mut c| async move { inv.invoke_async(&mut c).await })
            .await?;
        flat.chunks_exact(3)
            .map(|row| {
                let last: Turn = serde_json::from_str(&row[1])?;
                Ok(ConversationSummary {
                    conversation: parse_conv(row[0].clone())?,
                    last_at: last.at,
                    last_preview: preview(&last.text),
                    turns: row[2]
                        .parse()
                        .map_err(|_| StoreError::Corrupt("turn count".into()))?,
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
        let log = self.conv_key(conversation, "log");
        // Read, plan in Rust, then replace each changed entry in one script that finds it
        // by its old body, so appends (which trim the head and shift indices) meanwhile do
        // not matter.
        let key = log.clone();
        let bodies: Vec<String> = self
            .with_conn(|mut c| async move {
                redis::cmd("LRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        let turns: Vec<Turn> = bodies
            .iter()
            .map(|b| serde_json::from_str(b))
            .collect::<Result<_, _>>()?;
        let changes = plan(&turns, message_id, change);
        if changes.is_empty() {
            return Ok(0);
        }
        let mut inv = self.scripts.replace_turns.prepare_invoke();
        inv.key(&log);
        for (index, turn) in &changes {
            inv.arg(&bodies[*index]).arg(serde_json::to_string(turn)?);
        }
        let replaced: usize = self
            .with_conn(|mut c| async move { inv.invoke_async(&mut c).await })
            .await?;
        Ok(replaced)
    }

    async fn delete_conversation(&self, conversation: &ConversationId) -> Result<(), StoreError> {
        let id = conversation.as_str();
        let keys: Vec<String> = [
            "log", "msgs", "order", "meta", "mute", "kv", "kvsweep", "journal", "usage",
        ]
        .iter()
        .map(|s| self.conv_key(conversation, s))
        .collect();
        let mut pipe = redis::pipe();
        pipe.del(keys)
            .ignore()
            .zrem(self.queue_key("due"), id)
            .ignore()
            .zrem(self.index_key("convs"), id)
            .ignore()
            .zrem(self.index_key("muted"), id)
            .ignore();
        self.with_conn(|mut c| async move { pipe.query_async::<()>(&mut c).await })
            .await?;
        self.release_all(conversation).await
    }
}
