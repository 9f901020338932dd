//! Takeover and SlotHolds on Redis.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_redis::redis;
use inkdesk_domain::{ArtistKey, ConversationId};
use serde::{Deserialize, Serialize};

use super::inbox::parse_conv;
use super::{RedisStore, ttl_ms};
use crate::StoreError;
use crate::model::{Hold, HoldOutcome, Mute, SlotKey, from_ms};
use crate::ports::{SlotHolds, Takeover};

#[derive(Serialize, Deserialize)]
struct StoredMute {
    until: i64,
    reason: String,
}

impl StoredMute {
    fn live(self, now: i64) -> Result<Option<Mute>, StoreError> {
        if self.until <= now {
            return Ok(None);
        }
        Ok(Some(Mute {
            until: from_ms(self.until)?,
            reason: self.reason,
        }))
    }
}

#[async_trait]
impl Takeover for RedisStore {
    async fn mute(
        &self,
        conversation: &ConversationId,
        until: DateTime<Utc>,
        reason: String,
    ) -> Result<(), StoreError> {
        let now = self.now_ms();
        let until = until.timestamp_millis();
        if until <= now {
            return self.unmute(conversation).await;
        }
        let body = serde_json::to_string(&StoredMute { until, reason })?;
        let key = self.conv_key(conversation, "mute");
        let index = self.index_key("muted");
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(&key)
            .arg(body)
            .arg("PX")
            .arg(until - now)
            .ignore()
            .zadd(&index, conversation.as_str(), until)
            .ignore()
            .zrembyscore(&index, "-inf", now)
            .ignore();
        self.with_conn(|mut c| async move { pipe.query_async::<()>(&mut c).await })
            .await
    }

    async fn unmute(&self, conversation: &ConversationId) -> Result<(), StoreError> {
        let mut pipe = redis::pipe();
        pipe.del(self.conv_key(conversation, "mute"))
            .ignore()
            .zrem(self.index_key("muted"), conversation.as_str())
            .ignore();
        self.with_conn(|mut c| async move { pipe.query_async::<()>(&mut c).await })
            .await
    }

    async fn muted(&self, conversation: &ConversationId) -> Result<Option<Mute>, StoreError> {
        let key = self.conv_key(conversation, "mute");
        let body: Option<String> = self
            .with_conn(|mut c| async move { redis::cmd("GET").arg(&key).query_async(&mut c).await })
            .await?;
        match body {
            Some(b) => serde_json::from_str::<StoredMute>(&b)?.live(self.now_ms()),
            None => Ok(None),
        }
    }

    async fn list_muted(&self) -> Result<Vec<(ConversationId, Mute)>, StoreError> {
        let now = self.now_ms();
        let index = self.index_key("muted");
        let ids: Vec<String> = self
            .with_conn(|mut c| async move {
                redis::cmd("ZRANGE")
                    .arg(&index)
                    .arg(format!("({now}"))
                    .arg("+inf")
                    .arg("BYSCORE")
                    .query_async(&mut c)
                    .await
            })
            .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let conv = parse_conv(id)?;
            if let Some(m) = self.muted(&conv).await? {
                out.push((conv, m));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    async fn set_paused(&self, paused: bool) -> Result<(), StoreError> {
        let key = self.plain_key("paused");
        self.with_conn(|mut c| async move {
            // A setting, not a cache entry: no TTL.
            if paused {
                redis::cmd("SET")
                    .arg(&key)
                    .arg(1)
                    .query_async::<()>(&mut c)
                    .await
            } else {
                redis::cmd("DEL").arg(&key).query_async::<()>(&mut c).await
            }
        })
        .await
    }

    async fn is_paused(&self) -> Result<bool, StoreError> {
        let key = self.plain_key("paused");
        self.with_conn(
            |mut c| async move { redis::cmd("EXISTS").arg(&key).query_async(&mut c).await },
        )
        .await
    }
}

/// `start:end` for the studio, `start:end:artist` for an artist (keys never hold `:`).
fn slot_member(slot: &SlotKey) -> String {
    let bounds = format!(
        "{}:{}",
        slot.start.timestamp_millis(),
        slot.end.timestamp_millis()
    );
    match &slot.artist {
        Some(artist) => format!("{bounds}:{artist}"),
        None => bounds,
    }
}

fn parse_member(member: &str) -> Result<SlotKey, StoreError> {
    let bad = || StoreError::Corrupt(format!("slot {member}"));
    let mut parts = member.splitn(3, ':');
    let (Some(s), Some(e)) = (parts.next(), parts.next()) else {
        return Err(bad());
    };
    let artist = parts
        .next()
        .map(|a| ArtistKey::parse(a).map_err(|_| bad()))
        .transpose()?;
    Ok(SlotKey {
        start: from_ms(s.parse().map_err(|_| bad())?)?,
        end: from_ms(e.parse().map_err(|_| bad())?)?,
        artist,
    })
}

#[async_trait]
impl SlotHolds for RedisStore {
    async fn hold(
        &self,
        slot: SlotKey,
        conversation: &ConversationId,
        capacity: u32,
        ttl: Duration,
    ) -> Result<HoldOutcome, StoreError> {
        let member = slot_member(&slot);
        let now = self.now_ms();
        let expires = now.saturating_add(i64::try_from(ttl_ms(ttl)).unwrap_or(i64::MAX));
        let mut inv = self.scripts.hold.prepare_invoke();
        inv.key(format!("{}{member}", self.holds_head()))
            .key(self.holds_index())
            .arg(conversation.as_str())
            .arg(now)
            .arg(expires)
            .arg(capacity)
            .arg(&member)
            .arg(slot.end.timestamp_millis());
        let outcome: String = self
            .with_conn(|mut c| async move { inv.invoke_async(&mut c).await })
            .await?;
        match outcome.as_str() {
            "held" => Ok(HoldOutcome::Held),
            "refreshed" => Ok(HoldOutcome::Refreshed),
            "full" => Ok(HoldOutcome::Full),
            other => Err(StoreError::Corrupt(format!("hold outcome {other}"))),
        }
    }

    async fn release(
        &self,
        slot: &SlotKey,
        conversation: &ConversationId,
    ) -> Result<(), StoreError> {
        let key = format!("{}{}", self.holds_head(), slot_member(slot));
        let id = conversation.as_str().to_owned();
        self.with_conn(|mut c| async move {
            redis::cmd("ZREM")
                .arg(&key)
                .arg(&id)
                .query_async::<()>(&mut c)
                .await
        })
        .await
    }

    async fn release_all(&self, conversation: &ConversationId) -> Result<(), StoreError> {
        let mut inv = self.scripts.release_all.prepare_invoke();
        inv.key(self.holds_index())
            .arg(conversation.as_str())
            .arg(self.holds_head());
        self.with_conn(|mut c| async move { inv.invoke_async::<i64>(&mut c).await })
            .await
            .map(|_| ())
    }

    async fn active(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Hold>, StoreError> {
        let mut inv = self.scripts.active.prepare_invoke();
        inv.key(self.holds_index())
            .arg(from.timestamp_millis())
            .arg(to.timestamp_millis())
            .arg(self.now_ms())
            .arg(self.holds_head());
        let flat: Vec<String> = self
            .with_conn(|mut c| async move { inv.invoke_async(&mut c).await })
            .await?;
        let mut out = flat
            .chunks_exact(2)
            .map(|pair| {
                Ok(Hold {
                    slot: parse_member(&pair[0])?,
                    conversation: parse_conv(pair[1].clone())?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.sort_by(|a, b| (&a.slot, &a.conversation).cmp(&(&b.slot, &b.conversation)));
        Ok(out)
    }
}
