//! The `Schedule` port: durable jobs due at a time (customer reminders, deposit-hold
//! expiries), claimed by any replica under a lease with a fencing token — the same
//! discipline as the inbox, so a job is acted on by one worker at a time and a worker whose
//! lease ran out cannot complete it.
//!
//! A job's life: [`Schedule::schedule_job`] stores it under a caller-chosen key (scheduling a
//! key that exists — waiting, leased or done — changes nothing and returns `false`);
//! [`Schedule::claim_jobs`] leases due jobs (due time, or expired lease, ≤ now), oldest
//! first; the worker then [`Schedule::complete_job`]s it (fenced; the key stays as a done
//! marker for [`DONE_RETENTION`], so replaying the event that scheduled it schedules nothing)
//! or [`Schedule::retry_job`]s it for later (fenced). [`Schedule::cancel_job`] removes a key
//! in any state, so a rebooked appointment can schedule its reminder again.
//!
//! While it holds a claim, a worker may keep a small progress document in the job
//! ([`Schedule::record_job`]: fenced, and refused once the lease has run out even before
//! anyone reclaimed the job; it renews the lease). The next claim of the job carries it in
//! [`JobClaim::progress`], so a job whose worker died resumes what was decided and done
//! instead of doing it again — the job's counterpart of the inbox's turn journal.
//!
//! Adapters: [`MemorySchedule`], and `Schedule` on [`crate::SqliteStore`] and
//! [`crate::RedisStore`] (one Lua script per step; every key under one hash tag).

mod memory;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::StoreError;

pub use memory::MemorySchedule;

/// How long a completed job's key is remembered (and so refuses a new job): 30 days.
pub const DONE_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// The longest job key accepted.
pub const MAX_KEY_LEN: usize = 200;

/// Durable scheduled jobs, shared by every replica.
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait Schedule: Send + Sync {
    /// Stores a job due at `due` under `key`. Returns `false`, changing nothing, when the
    /// key already exists in any state.
    async fn schedule_job(
        &self,
        key: &str,
        due: DateTime<Utc>,
        payload: serde_json::Value,
    ) -> Result<bool, StoreError>;
    /// Leases up to `max` jobs whose due time (or expired lease) has come, earliest first,
    /// each for `lease` with a fresh fencing token.
    async fn claim_jobs(&self, max: usize, lease: Duration) -> Result<Vec<JobClaim>, StoreError>;
    /// Marks a claimed job done. [`StoreError::StaleLease`] when the claim is no longer
    /// the job's latest (reclaimed after its lease ran out, cancelled, or already done).
    async fn complete_job(&self, claim: &JobClaim) -> Result<(), StoreError>;
    /// Ends the lease and makes the job due again at `at` (fenced like `complete_job`).
    async fn retry_job(&self, claim: &JobClaim, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Stores `progress` in the claimed job and renews its lease to `lease` from now.
    /// [`StoreError::StaleLease`] when the claim is no longer the job's latest, or its lease
    /// has run out (a worker that lost its lease cannot record anything, even before
    /// another claimed the job). The job's next claim reads it back in
    /// [`JobClaim::progress`]; `retry_job` keeps it, `cancel_job` and completion end it.
    async fn record_job(
        &self,
        claim: &JobClaim,
        progress: serde_json::Value,
        lease: Duration,
    ) -> Result<(), StoreError>;
    /// Removes the job under `key` in any state; `true` when a job that was not yet done
    /// was removed.
    async fn cancel_job(&self, key: &str) -> Result<bool, StoreError>;
    /// The job under `key`, if any (the console, tests).
    async fn job(&self, key: &str) -> Result<Option<JobInfo>, StoreError>;
    /// When the next job becomes claimable (a worker's sleep), if any is waiting or leased.
    async fn next_job_due(&self) -> Result<Option<DateTime<Utc>>, StoreError>;
}

/// One leased job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobClaim {
    /// The job's key.
    pub key: String,
    /// Fencing token: grows with every claim of any job.
    pub token: u64,
    /// When the lease runs out and another worker may claim the job.
    pub lease_until: DateTime<Utc>,
    /// How many times the job has been claimed, this claim included.
    pub attempt: u32,
    /// When the job was due (as scheduled, or as last retried).
    pub due: DateTime<Utc>,
    /// The payload given when scheduling.
    pub payload: serde_json::Value,
    /// What an earlier claim recorded with [`Schedule::record_job`], if anything.
    pub progress: Option<serde_json::Value>,
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Waiting for its due time.
    Waiting,
    /// Claimed by a worker until this instant.
    Leased {
        /// The lease's end.
        until: DateTime<Utc>,
    },
    /// Completed (the key is kept as a marker).
    Done,
}

/// A job as [`Schedule::job`] reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobInfo {
    /// The key.
    pub key: String,
    /// When it is (or was) due.
    pub due: DateTime<Utc>,
    /// Its state.
    pub state: JobState,
    /// Claims so far.
    pub attempts: u32,
    /// The payload.
    pub payload: serde_json::Value,
    /// The progress its workers recorded ([`Schedule::record_job`]), if any.
    pub progress: Option<serde_json::Value>,
}

/// Refuses an empty or overlong key (keys become Redis key names and SQLite primary keys).
pub(crate) fn check_key(key: &str) -> Result<(), StoreError> {
    if key.is_empty() || key.len() > MAX_KEY_LEN || key.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "a job key must be 1 to {MAX_KEY_LEN} bytes without control characters"
        )));
    }
    Ok(())
}
