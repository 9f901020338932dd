//! `Schedule` on Redis. Every key shares the hash tag `{P:schedule}`: a hash per job
//! (`…:job:<key>`: due, ready, token, attempts, payload, progress, done), the sorted set `…:ready` of
//! jobs not yet done scored by when they may be claimed, and the token counter `…:token`.
//! One script per step, so a claim, a fenced completion or a cancel is atomic.

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_redis::redis::{self, Script};

use super::{RedisStore, ttl_ms};
use crate::StoreError;
use crate::model::{from_ms, ms};
use crate::schedule::{DONE_RETENTION, JobClaim, JobInfo, JobState, Schedule, check_key};

static PUT: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("scripts/job_put.lua")));
static CLAIM: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/job_claim.lua")));
static FINISH: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/job_finish.lua")));
static RECORD: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/job_record.lua")));
static CANCEL: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/job_cancel.lua")));

impl RedisStore {
    fn schedule_key(&self, name: &str) -> String {
        format!("{{{}:schedule}}:{name}", self.prefix())
    }

    fn job_head(&self) -> String {
        self.schedule_key("job:")
    }

    fn job_key(&self, key: &str) -> String {
        format!("{}{key}", self.job_head())
    }

    async fn finish(&self, claim: &JobClaim, mode: &str, arg: i64) -> Result<(), StoreError> {
        let mut inv = FINISH.prepare_invoke();
        inv.key(self.job_key(&claim.key))
            .key(self.schedule_key("ready"))
            .arg(&claim.key)
            .arg(claim.token)
            .arg(mode)
            .arg(arg);
        let result: i64 = self
            .with_conn(|mut c| async move { inv.invoke_async(&mut c).await })
            .await?;
        if result < 0 {
            return Err(StoreError::StaleLease);
        }
        Ok(())
    }
}

fn field<'a>(fields: &'a HashMap<String, String>, name: &str) -> Result<&'a str, StoreError> {
    fields
        .get(name)
        .map(String::as_str)
        .ok_or_else(|| StoreError::Corrupt(format!("job without {name}")))
}

fn number(raw: &str) -> Result<i64, StoreError> {
    raw.parse()
        .map_err(|_| StoreError::Corrupt(format!("bad job number {raw}")))
}

#[async_trait]
impl Schedule for RedisStore {
    async fn schedule_job(
        &self,
        key: &str,
        due: DateTime<Utc>,
        payload: serde_json::Value,
    ) -> Result<bool, StoreError> {
        check_key(key)?;
        let mut inv = PUT.prepare_invoke();
        inv.key(self.job_key(key))
            .key(self.schedule_key("ready"))
            .arg(key)
            .arg(ms(due))
            .arg(serde_json::to_string(&payload)?);
        let stored: i64 = self
            .with_conn(|mut c| async move { inv.invoke_async(&mut c).await })
            .await?;
        Ok(stored == 1)
    }

    async fn claim_jobs(&self, max: usize, lease: Duration) -> Result<Vec<JobClaim>, StoreError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let now = self.now_ms();
        let lease_until = now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        let mut inv = CLAIM.prepare_invoke();
        inv.key(self.schedule_key("ready"))
            .key(self.schedule_key("token"))
            .arg(now)
            .arg(lease_until)
            .arg(max)
            .arg(self.job_head());
        let raw: Vec<Vec<String>> = self
            .with_conn(|mut c| async move { inv.invoke_async(&mut c).await })
            .await?;
        let lease_until = from_ms(lease_until)?;
        raw.into_iter()
            .map(|entry| {
                let [key, token, attempt, due, payload, progress]: [String; 6] =
                    entry
                        .try_into()
                        .map_err(|_| StoreError::Corrupt("job claim of the wrong shape".into()))?;
                Ok(JobClaim {
                    key,
                    token: u64::try_from(number(&token)?).unwrap_or(0),
                    lease_until,
                    attempt: u32::try_from(number(&attempt)?).unwrap_or(u32::MAX),
                    due: from_ms(number(&due)?)?,
                    payload: serde_json::from_str(&payload)?,
                    progress: if progress.is_empty() {
                        None
                    } else {
                        Some(serde_json::from_str(&progress)?)
                    },
                })
            })
            .collect()
    }

    async fn complete_job(&self, claim: &JobClaim) -> Result<(), StoreError> {
        let retention = i64::try_from(ttl_ms(DONE_RETENTION)).unwrap_or(i64::MAX);
        self.finish(claim, "done", retention).await
    }

    async fn retry_job(&self, claim: &JobClaim, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.finish(claim, "retry", ms(at)).await
    }

    async fn record_job(
        &self,
        claim: &JobClaim,
        progress: serde_json::Value,
        lease: Duration,
    ) -> Result<(), StoreError> {
        let now = self.now_ms();
        let until = now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        let mut inv = RECORD.prepare_invoke();
        inv.key(self.job_key(&claim.key))
            .key(self.schedule_key("ready"))
            .arg(&claim.key)
            .arg(claim.token)
            .arg(serde_json::to_string(&progress)?)
            .arg(now)
            .arg(until);
        let result: i64 = self
            .with_conn(|mut c| async move { inv.invoke_async(&mut c).await })
            .await?;
        if result < 0 {
            return Err(StoreError::StaleLease);
        }
        Ok(())
    }

    async fn cancel_job(&self, key: &str) -> Result<bool, StoreError> {
        let mut inv = CANCEL.prepare_invoke();
        inv.key(self.job_key(key))
            .key(self.schedule_key("ready"))
            .arg(key);
        let removed: i64 = self
            .with_conn(|mut c| async move { inv.invoke_async(&mut c).await })
            .await?;
        Ok(removed == 1)
    }

    async fn job(&self, key: &str) -> Result<Option<JobInfo>, StoreError> {
        let hash = self.job_key(key);
        let fields: HashMap<String, String> = self
            .with_conn(
                |mut c| async move { redis::cmd("HGETALL").arg(&hash).query_async(&mut c).await },
            )
            .await?;
        if fields.is_empty() {
            return Ok(None);
        }
        let ready = number(field(&fields, "ready")?)?;
        let state = if fields.contains_key("done") {
            JobState::Done
        } else if fields.contains_key("token") && ready > self.now_ms() {
            JobState::Leased {
                until: from_ms(ready)?,
            }
        } else {
            JobState::Waiting
        };
        Ok(Some(JobInfo {
            key: key.to_owned(),
            due: from_ms(number(field(&fields, "due")?)?)?,
            state,
            attempts: u32::try_from(number(field(&fields, "attempts")?)?).unwrap_or(u32::MAX),
            payload: serde_json::from_str(field(&fields, "payload")?)?,
            progress: fields
                .get("progress")
                .map(|p| serde_json::from_str(p))
                .transpose()?,
        }))
    }

    async fn next_job_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let key = self.schedule_key("ready");
        self.earliest_score(key).await
    }
}
