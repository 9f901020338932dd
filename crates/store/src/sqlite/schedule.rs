//! `Schedule` on SQLite: one `jobs` row per key. `ready_at` is when the job may be claimed
//! (its due time, or its lease's end while leased); `done_until` marks a completed job and
//! when its marker is forgotten.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, dur_ms};
use crate::StoreError;
use crate::model::{from_ms, ms};
use crate::schedule::{DONE_RETENTION, JobClaim, JobInfo, JobState, Schedule, check_key};

fn forget_done(tx: &Connection, now: i64) -> Result<(), StoreError> {
    tx.prepare_cached("DELETE FROM jobs WHERE done_until IS NOT NULL AND done_until <= ?1")?
        .execute([now])?;
    Ok(())
}

/// Checks that `claim` still holds its job's lease.
fn check_token(tx: &Connection, claim: &JobClaim) -> Result<(), StoreError> {
    let token: Option<Option<i64>> = tx
        .prepare_cached("SELECT token FROM jobs WHERE key = ?1 AND done_until IS NULL")?
        .query_row([&claim.key], |r| r.get(0))
        .optional()?;
    match token {
        Some(Some(t)) if u64::try_from(t).ok() == Some(claim.token) => Ok(()),
        _ => Err(StoreError::StaleLease),
    }
}

fn attempts(raw: i64) -> u32 {
    u32::try_from(raw).unwrap_or(u32::MAX)
}

#[async_trait]
impl Schedule for SqliteStore {
    async fn schedule_job(
        &self,
        key: &str,
        due: DateTime<Utc>,
        payload: serde_json::Value,
    ) -> Result<bool, StoreError> {
        check_key(key)?;
        let key = key.to_owned();
        let body = serde_json::to_string(&payload)?;
        let due = ms(due);
        self.run(move |conn, now| {
            let tx = conn.savepoint()?;
            forget_done(&tx, now)?;
            let added = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO jobs(key, due, ready_at, payload) VALUES (?1, ?2, ?2, ?3)",
                )?
                .execute(params![key, due, body])?;
            tx.commit()?;
            Ok(added == 1)
        })
        .await
    }

    async fn claim_jobs(&self, max: usize, lease: Duration) -> Result<Vec<JobClaim>, StoreError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let lease = dur_ms(lease);
        self.run(move |conn, now| {
            let tx = conn.savepoint()?;
            let lease_until = now.saturating_add(lease);
            let due: Vec<(String, i64, i64, String, Option<String>)> = tx
                .prepare_cached(
                    "SELECT key, due, attempts, payload, progress FROM jobs \
                     WHERE done_until IS NULL AND ready_at <= ?1 \
                     ORDER BY ready_at, key LIMIT ?2",
                )?
                .query_map(params![now, i64::try_from(max).unwrap_or(i64::MAX)], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect::<Result<_, _>>()?;
            let mut claims = Vec::with_capacity(due.len());
            for (key, due, tries, payload, progress) in due {
                let token: i64 = tx
                    .prepare_cached(
                        "UPDATE counters SET value = value + 1 WHERE name = 'job_token' \
                         RETURNING value",
                    )?
                    .query_row([], |r| r.get(0))?;
                tx.prepare_cached(
                    "UPDATE jobs SET token = ?2, ready_at = ?3, attempts = attempts + 1 \
                     WHERE key = ?1",
                )?
                .execute(params![key, token, lease_until])?;
                claims.push(JobClaim {
                    key,
                    token: u64::try_from(token).unwrap_or(0),
                    lease_until: from_ms(lease_until)?,
                    attempt: attempts(tries).saturating_add(1),
                    due: from_ms(due)?,
                    payload: serde_json::from_str(&payload)?,
                    progress: progress.as_deref().map(serde_json::from_str).transpose()?,
                });
            }
            tx.commit()?;
            Ok(claims)
        })
        .await
    }

    async fn complete_job(&self, claim: &JobClaim) -> Result<(), StoreError> {
        let claim = claim.clone();
        let retention = dur_ms(DONE_RETENTION);
        self.run(move |conn, now| {
            let tx = conn.savepoint()?;
            check_token(&tx, &claim)?;
            tx.prepare_cached("UPDATE jobs SET token = NULL, done_until = ?2 WHERE key = ?1")?
                .execute(params![claim.key, now.saturating_add(retention)])?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn retry_job(&self, claim: &JobClaim, at: DateTime<Utc>) -> Result<(), StoreError> {
        let claim = claim.clone();
        let at = ms(at);
        self.run(move |conn, _| {
            let tx = conn.savepoint()?;
            check_token(&tx, &claim)?;
            tx.prepare_cached(
                "UPDATE jobs SET token = NULL, due = ?2, ready_at = ?2 WHERE key = ?1",
            )?
            .execute(params![claim.key, at])?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn record_job(
        &self,
        claim: &JobClaim,
        progress: serde_json::Value,
        lease: Duration,
    ) -> Result<(), StoreError> {
        let claim = claim.clone();
        let body = serde_json::to_string(&progress)?;
        let lease = dur_ms(lease);
        self.run(move |conn, now| {
            let tx = conn.savepoint()?;
            let changed = tx
                .prepare_cached(
                    "UPDATE jobs SET progress = ?3, ready_at = ?4 \
                     WHERE key = ?1 AND token = ?2 AND done_until IS NULL AND ready_at > ?5",
                )?
                .execute(params![
                    claim.key,
                    i64::try_from(claim.token).unwrap_or(-1),
                    body,
                    now.saturating_add(lease),
                    now
                ])?;
            if changed != 1 {
                return Err(StoreError::StaleLease);
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn cancel_job(&self, key: &str) -> Result<bool, StoreError> {
        let key = key.to_owned();
        self.run(move |conn, now| {
            let tx = conn.savepoint()?;
            forget_done(&tx, now)?;
            let removed = tx
                .prepare_cached("DELETE FROM jobs WHERE key = ?1 RETURNING done_until IS NULL")?
                .query_row([&key], |r| r.get::<_, bool>(0))
                .optional()?;
            tx.commit()?;
            Ok(removed.unwrap_or(false))
        })
        .await
    }

    async fn job(&self, key: &str) -> Result<Option<JobInfo>, StoreError> {
        let key = key.to_owned();
        self.run(move |conn, now| {
            type Row = (i64, i64, Option<i64>, i64, String, Option<i64>, Option<String>);
            let row: Option<Row> = conn
                .prepare_cached(
                    "SELECT due, ready_at, token, attempts, payload, done_until, progress FROM jobs \
                     WHERE key = ?1",
                )?
                .query_row([&key], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                })
                .optional()?;
            let Some((due, ready, token, tries, payload, done_until, progress)) = row else {
                return Ok(None);
            };
            let state = match (done_until, token) {
                (Some(until), _) if until <= now => return Ok(None),
                (Some(_), _) => JobState::Done,
                (None, Some(_)) if ready > now => JobState::Leased {
                    until: from_ms(ready)?,
                },
                _ => JobState::Waiting,
            };
            Ok(Some(JobInfo {
                key,
                due: from_ms(due)?,
                state,
                attempts: attempts(tries),
                payload: serde_json::from_str(&payload)?,
                progress: progress.as_deref().map(serde_json::from_str).transpose()?,
            }))
        })
        .await
    }

    async fn next_job_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.run(|conn, _| {
            let next: Option<i64> = conn
                .prepare_cached("SELECT min(ready_at) FROM jobs WHERE done_until IS NULL")?
                .query_row([], |r| r.get(0))?;
            next.map(from_ms).transpose()
        })
        .await
    }
}
