//! UsageTotals on SQLite: one row per (day, model) and per (conversation, model), each
//! counter added with an upsert in the same savepoint.

use async_trait::async_trait;
use chrono::NaiveDate;
use inkdesk_domain::ConversationId;
use rusqlite::{Connection, params};

use super::{SqliteStore, dur_ms};
use crate::StoreError;
use crate::model::{ModelUsage, USAGE_DAYS_KEPT};
use crate::ports::UsageTotals;

const COLUMNS: &str = "calls, prompt, cached, completion, audio_seconds, cost_nanos";

fn as_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn read_rows(
    conn: &mut Connection,
    sql: &str,
    key: &str,
    now: i64,
) -> Result<Vec<(String, ModelUsage)>, StoreError> {
    let mut statement = conn.prepare_cached(sql)?;
    let rows = statement.query_map(params![key, now], |r| {
        let n = |i: usize| r.get::<_, i64>(i).map(|v| u64::try_from(v).unwrap_or(0));
        Ok((
            r.get::<_, String>(0)?,
            ModelUsage {
                calls: n(1)?,
                prompt_tokens: n(2)?,
                cached_tokens: n(3)?,
                completion_tokens: n(4)?,
                audio_seconds: n(5)?,
                cost_nanos: n(6)?,
            },
        ))
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

#[async_trait]
impl UsageTotals for SqliteStore {
    async fn add_usage(
        &self,
        conversation: &ConversationId,
        day: NaiveDate,
        model: &str,
        usage: ModelUsage,
    ) -> Result<(), StoreError> {
        let conv = conversation.as_str().to_owned();
        let model = model.to_owned();
        let retention = dur_ms(self.options.retention);
        let day_ttl = dur_ms(std::time::Duration::from_secs(USAGE_DAYS_KEPT * 86_400));
        self.run(move |conn, now| {
            let tx = conn.savepoint()?;
            let values = params![
                as_i64(usage.calls),
                as_i64(usage.prompt_tokens),
                as_i64(usage.cached_tokens),
                as_i64(usage.completion_tokens),
                as_i64(usage.audio_seconds),
                as_i64(usage.cost_nanos),
            ];
            let update = "calls = calls + excluded.calls, prompt = prompt + excluded.prompt, \
                 cached = cached + excluded.cached, completion = completion + excluded.completion, \
                 audio_seconds = audio_seconds + excluded.audio_seconds, \
                 cost_nanos = cost_nanos + excluded.cost_nanos, expires_at = excluded.expires_at";
            tx.prepare_cached(&format!(
                "INSERT INTO usage_days(day, model, {COLUMNS}, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                 ON CONFLICT(day, model) DO UPDATE SET {update}"
            ))?
            .execute(params![
                day.to_string(),
                model,
                values[0],
                values[1],
                values[2],
                values[3],
                values[4],
                values[5],
                now.saturating_add(day_ttl)
            ])?;
            tx.prepare_cached(&format!(
                "INSERT INTO usage_convs(conv, model, {COLUMNS}, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                 ON CONFLICT(conv, model) DO UPDATE SET {update}"
            ))?
            .execute(params![
                conv,
                model,
                values[0],
                values[1],
                values[2],
                values[3],
                values[4],
                values[5],
                now.saturating_add(retention)
            ])?;
            // A conversation's totals share one expiry: the latest call refreshes them all.
            tx.prepare_cached("UPDATE usage_convs SET expires_at = ?2 WHERE conv = ?1")?
                .execute(params![conv, now.saturating_add(retention)])?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn day_usage(&self, day: NaiveDate) -> Result<Vec<(String, ModelUsage)>, StoreError> {
        let day = day.to_string();
        self.run(move |conn, now| {
            read_rows(
                conn,
                &format!(
                    "SELECT model, {COLUMNS} FROM usage_days \
                     WHERE day = ?1 AND expires_at > ?2 ORDER BY model"
                ),
                &day,
                now,
            )
        })
        .await
    }

    async fn conversation_usage(
        &self,
        conversation: &ConversationId,
    ) -> Result<Vec<(String, ModelUsage)>, StoreError> {
        let conv = conversation.as_str().to_owned();
        self.run(move |conn, now| {
            read_rows(
                conn,
                &format!(
                    "SELECT model, {COLUMNS} FROM usage_convs \
                     WHERE conv = ?1 AND expires_at > ?2 ORDER BY model"
                ),
                &conv,
                now,
            )
        })
        .await
    }
}
