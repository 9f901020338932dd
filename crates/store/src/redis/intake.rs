//! Intake on Redis: the webhook's whole fast path for one message in one script
//! (`scripts/record.lua`), so one round trip and nothing half done.

use async_trait::async_trait;
use inkdesk_domain::ConversationId;

use super::{PENDING_TTL, RedisStore, ttl_ms};
use crate::StoreError;
use crate::model::{IncomingMessage, IntakeOutcome, NotQueued};
use crate::ports::Intake;

#[async_trait]
impl Intake for RedisStore {
    async fn record_message(
        &self,
        conversation: &ConversationId,
        message: IncomingMessage,
    ) -> Result<IntakeOutcome, StoreError> {
        let now = self.now_ms();
        let debounce = i64::try_from(message.debounce.as_millis()).unwrap_or(i64::MAX);
        let [msgs, order, meta, due] = self.inbox_keys(conversation);
        let mut inv = self.scripts.record.prepare_invoke();
        inv.key(self.plain_key(&format!("seen:{}", message.event_key)))
            .key(self.conv_key(conversation, "log"))
            .key(self.index_key("convs"))
            .key(self.conv_key(conversation, "mute"))
            .key(self.plain_key("paused"))
            .key(msgs)
            .key(order)
            .key(meta)
            .key(due)
            .arg(ttl_ms(message.dedupe_ttl))
            .arg(serde_json::to_string(&message.turn)?)
            .arg(self.options.max_turns.max(1))
            .arg(ttl_ms(self.options.retention))
            .arg(message.turn.at.timestamp_millis())
            .arg(conversation.as_str())
            .arg(&message.pending.message_id)
            .arg(serde_json::to_string(&message.pending)?)
            .arg(now)
            .arg(now.saturating_add(debounce))
            .arg(ttl_ms(PENDING_TTL))
            .arg(u8::from(message.answerable));
        let code = self
            .with_conn(|mut c| async move { inv.invoke_async::<i64>(&mut c).await })
            .await?;
        match code {
            0 => Ok(IntakeOutcome::Duplicate),
            1 => Ok(IntakeOutcome::Queued),
            2 => Ok(IntakeOutcome::Recorded(NotQueued::NotAnswerable)),
            3 => Ok(IntakeOutcome::Recorded(NotQueued::Paused)),
            4 => Ok(IntakeOutcome::Recorded(NotQueued::Muted)),
            other => Err(StoreError::Corrupt(format!(
                "the record script answered {other}"
            ))),
        }
    }
}
