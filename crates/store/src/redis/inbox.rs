//! Inbox (the debounce queue) on Redis: one script per step.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_redis::redis;
use inkdesk_domain::ConversationId;

use super::{PENDING_TTL, REWRITE_ATTEMPTS, RedisStore, ttl_ms};
use crate::StoreError;
use crate::change::edit_payload;
use crate::model::{Claim, PendingMessage, from_ms};
use crate::ports::Inbox;

pub(super) fn parse_conv(raw: String) -> Result<ConversationId, StoreError> {
    ConversationId::parse(raw).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl RedisStore {
    /// The four keys every inbox script takes, in order.
    pub(super) fn inbox_keys(&self, conv: &ConversationId) -> [String; 4] {
        [
            self.conv_key(conv, "msgs"),
            self.conv_key(conv, "order"),
            self.conv_key(conv, "meta"),
            self.queue_key("due"),
        ]
    }
}

impl RedisStore {
    /// Ends the lease without handling anything; claimable again at `at_ms`.
    async fn give_back(&self, claim: &Claim, at_ms: i64) -> Result<(), StoreError> {
        let mut inv = self.scripts.release.prepare_invoke();
        inv.key(self.inbox_keys(&claim.conversation).as_slice())
            .arg(claim.conversation.as_str())
            .arg(claim.token)
            .arg(at_ms);
        let result: i64 = self
            .with_conn(|mut c| async move { inv.invoke_async(&mut c).await })
            .await?;
        if result < 0 {
            return Err(StoreError::StaleLease);
        }
        Ok(())
    }
}

#[async_trait]
impl Inbox for RedisStore {
    async fn push(
        &self,
        conversation: &ConversationId,
        message: PendingMessage,
        debounce: Duration,
    ) -> Result<(), StoreError> {
        let body = serde_json::to_string(&message)?;
        let now = self.now_ms();
        let due = now.saturating_add(i64::try_from(debounce.as_millis()).unwrap_or(i64::MAX));
        let mut inv = self.scripts.push.prepare_invoke();
        inv.key(self.inbox_keys(conversation).as_slice())
            .arg(conversation.as_str())
            .arg(&message.message_id)
            .arg(body)
            .arg(now)
            .arg(due)
            .arg(ttl_ms(PENDING_TTL));
        self.with_conn(|mut c| async move { inv.invoke_async::<i64>(&mut c).await })
            .await
            .map(|_| ())
    }

    async fn claim_due(&self, max: usize, lease: Duration) -> Result<Vec<Claim>, StoreError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let now = self.now_ms();
        let lease_until = now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        let mut inv = self.scripts.claim.prepare_invoke();
        inv.key(self.queue_key("due"))
            .key(self.queue_key("token"))
            .arg(now)
            .arg(lease_until)
            .arg(max)
            .arg(self.conv_head())
            .arg(ttl_ms(PENDING_TTL));
        let raw: Vec<Vec<String>> = self
            .with_conn(|mut c| async move { inv.invoke_async(&mut c).await })
            .await?;
        let lease_until = from_ms(lease_until)?;
        raw.into_iter()
            .map(|entry| {
                let mut parts = entry.into_iter();
                let conv = parts
                    .next()
                    .ok_or_else(|| StoreError::Corrupt("empty claim".into()))?;
                let token = parts
                    .next()
                    .and_then(|t| t.parse::<u64>().ok())
                    .ok_or_else(|| StoreError::Corrupt("claim without token".into()))?;
                let attempt = parts
                    .next()
                    .and_then(|t| t.parse::<u32>().ok())
                    .ok_or_else(|| StoreError::Corrupt("claim without attempt".into()))?;
                let messages = parts
                    .map(|b| serde_json::from_str(&b))
                    .collect::<Result<Vec<PendingMessage>, _>>()?;
                Ok(Claim {
                    conversation: parse_conv(conv)?,
                    token,
                    lease_until,
                    attempt,
                    messages,
                })
            })
            .collect()
    }

    async fn ack(&self, claim: &Claim, handled: &[String]) -> Result<(), StoreError> {
        let mut inv = self.scripts.ack.prepare_invoke();
        inv.key(self.inbox_keys(&claim.conversation).as_slice())
            .key(self.conv_key(&claim.conversation, "journal"))
            .arg(claim.conversation.as_str())
            .arg(claim.token)
            .arg(handled);
        let result: i64 = self
            .with_conn(|mut c| async move { inv.invoke_async(&mut c).await })
            .await?;
        if result < 0 {
            return Err(StoreError::StaleLease);
        }
        Ok(())
    }

    async fn release(&self, claim: &Claim) -> Result<(), StoreError> {
        self.give_back(claim, self.now_ms()).await
    }

    async fn postpone(&self, claim: &Claim, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.give_back(claim, at.timestamp_millis()).await
    }

    async fn renew(&self, claim: &Claim, lease: Duration) -> Result<DateTime<Utc>, StoreError> {
        let now = self.now_ms();
        let until = now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        let mut inv = self.scripts.renew.prepare_invoke();
        inv.key(self.inbox_keys(&claim.conversation).as_slice())
            .arg(claim.conversation.as_str())
            .arg(claim.token)
            .arg(now)
            .arg(until)
            .arg(ttl_ms(PENDING_TTL));
        let result: i64 = self
            .with_conn(|mut c| async move { inv.invoke_async(&mut c).await })
            .await?;
        if result < 0 {
            return Err(StoreError::StaleLease);
        }
        from_ms(until)
    }

    async fn remove_message(
        &self,
        conversation: &ConversationId,
        message_id: &str,
    ) -> Result<(), StoreError> {
        let mut inv = self.scripts.remove.prepare_invoke();
        inv.key(self.inbox_keys(conversation).as_slice())
            .arg(conversation.as_str())
            .arg(message_id)
            .arg(self.now_ms());
        self.with_conn(|mut c| async move { inv.invoke_async::<i64>(&mut c).await })
            .await
            .map(|_| ())
    }

    async fn edit_message(
        &self,
        conversation: &ConversationId,
        message_id: &str,
        text: &str,
    ) -> Result<bool, StoreError> {
        let msgs = self.conv_key(conversation, "msgs");
        for _ in 0..REWRITE_ATTEMPTS {
            let key = msgs.clone();
            let body: Option<String> = self
                .with_conn(|mut c| async move {
                    redis::cmd("HGET")
                        .arg(&key)
                        .arg(message_id)
                        .query_async(&mut c)
                        .await
                })
                .await?;
            let Some(body) = body else {
                return Ok(false);
            };
            let mut message: PendingMessage = serde_json::from_str(&body)?;
            let Some(payload) = edit_payload(&message.payload, text) else {
                return Ok(false);
            };
            message.payload = payload;
            let mut inv = self.scripts.replace_field.prepare_invoke();
            inv.key(&msgs)
                .arg(message_id)
                .arg(&body)
                .arg(serde_json::to_string(&message)?);
            let done: i64 = self
                .with_conn(|mut c| async move { inv.invoke_async(&mut c).await })
                .await?;
            if done == 1 {
                return Ok(true);
            }
        }
        Err(StoreError::unavailable(
            "a pending message kept changing while its edit was applied",
        ))
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let key = self.queue_key("due");
        self.earliest_score(key).await
    }
}
