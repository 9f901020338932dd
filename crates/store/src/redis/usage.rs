//! UsageTotals on Redis: a hash per day (`{P:usage}:day:YYYY-MM-DD`) and one in the
//! conversation's own keys (`{P:conv:ID}:usage`), fields `model|counter`, each counter
//! added with HINCRBY; both hashes in one MULTI (the adapter targets one shard).

use async_trait::async_trait;
use chrono::NaiveDate;
use deadpool_redis::redis;
use inkdesk_domain::ConversationId;

use super::{RedisStore, ttl_ms};
use crate::StoreError;
use crate::model::{ModelUsage, USAGE_DAYS_KEPT};
use crate::ports::UsageTotals;

/// The model as a field prefix: `|` separates model and counter.
fn model_field(model: &str) -> String {
    model.replace('|', "_")
}

fn totals(fields: Vec<(String, u64)>) -> Vec<(String, ModelUsage)> {
    let mut out: std::collections::BTreeMap<String, ModelUsage> = Default::default();
    for (field, value) in fields {
        if let Some((model, counter)) = field.rsplit_once('|') {
            out.entry(model.to_owned()).or_default().set(counter, value);
        }
    }
    out.into_iter().collect()
}

impl RedisStore {
    fn usage_day_key(&self, day: NaiveDate) -> String {
        format!("{{{}:usage}}:day:{day}", self.prefix())
    }
}

#[async_trait]
impl UsageTotals for RedisStore {
    async fn add_usage(
        &self,
        conversation: &ConversationId,
        day: NaiveDate,
        model: &str,
        usage: ModelUsage,
    ) -> Result<(), StoreError> {
        let day_key = self.usage_day_key(day);
        let conv_key = self.conv_key(conversation, "usage");
        let model = model_field(model);
        let mut pipe = redis::pipe();
        pipe.atomic();
        for key in [&day_key, &conv_key] {
            for (name, value) in usage.fields() {
                pipe.hincr(key, format!("{model}|{name}"), value).ignore();
            }
        }
        pipe.pexpire(
            &day_key,
            i64::try_from(USAGE_DAYS_KEPT * 86_400_000).unwrap_or(i64::MAX),
        )
        .ignore()
        .pexpire(
            &conv_key,
            i64::try_from(ttl_ms(self.options.retention)).unwrap_or(i64::MAX),
        )
        .ignore();
        self.with_conn(|mut c| async move { pipe.query_async::<()>(&mut c).await })
            .await
    }

    async fn day_usage(&self, day: NaiveDate) -> Result<Vec<(String, ModelUsage)>, StoreError> {
        let key = self.usage_day_key(day);
        let fields: Vec<(String, u64)> = self
            .with_conn(
                |mut c| async move { redis::cmd("HGETALL").arg(&key).query_async(&mut c).await },
            )
            .await?;
        Ok(totals(fields))
    }

    async fn conversation_usage(
        &self,
        conversation: &ConversationId,
    ) -> Result<Vec<(String, ModelUsage)>, StoreError> {
        let key = self.conv_key(conversation, "usage");
        let fields: Vec<(String, u64)> = self
            .with_conn(
                |mut c| async move { redis::cmd("HGETALL").arg(&key).query_async(&mut c).await },
            )
            .await?;
        Ok(totals(fields))
    }
}
