//! `MemorySchedule`: the [`Schedule`] port in process memory (tests, `--ephemeral`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use inkdesk_domain::Clock;

use super::{DONE_RETENTION, JobClaim, JobInfo, JobState, Schedule, check_key};
use crate::StoreError;

#[derive(Debug, Clone)]
struct Job {
    due: DateTime<Utc>,
    /// When the job may be claimed: its due time, or its lease's end while leased.
    ready: DateTime<Utc>,
    token: Option<u64>,
    attempts: u32,
    payload: serde_json::Value,
    progress: Option<serde_json::Value>,
    /// Set once completed: the marker is forgotten at this instant.
    done_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Default)]
struct State {
    jobs: HashMap<String, Job>,
    token: u64,
}

/// Scheduled jobs in memory, on an injected clock. Clones share the jobs.
#[derive(Debug, Clone)]
pub struct MemorySchedule {
    clock: Arc<dyn Clock>,
    state: Arc<Mutex<State>>,
}

impl MemorySchedule {
    /// An empty schedule.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            state: Arc::new(Mutex::new(State::default())),
        }
    }

    fn locked<T>(&self, f: impl FnOnce(&mut State, DateTime<Utc>) -> T) -> T {
        let now = self.clock.now();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state
            .jobs
            .retain(|_, job| job.done_until.is_none_or(|until| until > now));
        f(&mut state, now)
    }
}

fn chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

fn fenced<'a>(state: &'a mut State, claim: &JobClaim) -> Result<&'a mut Job, StoreError> {
    match state.jobs.get_mut(&claim.key) {
        Some(job) if job.done_until.is_none() && job.token == Some(claim.token) => Ok(job),
        _ => Err(StoreError::StaleLease),
    }
}

#[async_trait]
impl Schedule for MemorySchedule {
    async fn schedule_job(
        &self,
        key: &str,
        due: DateTime<Utc>,
        payload: serde_json::Value,
    ) -> Result<bool, StoreError> {
        check_key(key)?;
        Ok(self.locked(|state, _| {
            if state.jobs.contains_key(key) {
                return false;
            }
            state.jobs.insert(
                key.to_owned(),
                Job {
                    due,
                    ready: due,
                    token: None,
                    attempts: 0,
                    payload,
                    progress: None,
                    done_until: None,
                },
            );
            true
        }))
    }

    async fn claim_jobs(&self, max: usize, lease: Duration) -> Result<Vec<JobClaim>, StoreError> {
        Ok(self.locked(|state, now| {
            let mut due: Vec<(DateTime<Utc>, String)> = state
                .jobs
                .iter()
                .filter(|(_, job)| job.done_until.is_none() && job.ready <= now)
                .map(|(key, job)| (job.ready, key.clone()))
                .collect();
            due.sort();
            due.truncate(max);
            let lease_until = now + chrono(lease);
            let mut claims = Vec::with_capacity(due.len());
            for (_, key) in due {
                state.token += 1;
                let token = state.token;
                let Some(job) = state.jobs.get_mut(&key) else {
                    continue;
                };
                job.token = Some(token);
                job.ready = lease_until;
                job.attempts = job.attempts.saturating_add(1);
                claims.push(JobClaim {
                    key,
                    token,
                    lease_until,
                    attempt: job.attempts,
                    due: job.due,
                    payload: job.payload.clone(),
                    progress: job.progress.clone(),
                });
            }
            claims
        }))
    }

    async fn complete_job(&self, claim: &JobClaim) -> Result<(), StoreError> {
        self.locked(|state, now| {
            let job = fenced(state, claim)?;
            job.token = None;
            job.done_until = Some(now + chrono(DONE_RETENTION));
            Ok(())
        })
    }

    async fn retry_job(&self, claim: &JobClaim, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.locked(|state, _| {
            let job = fenced(state, claim)?;
            job.token = None;
            job.due = at;
            job.ready = at;
            Ok(())
        })
    }

    async fn record_job(
        &self,
        claim: &JobClaim,
        progress: serde_json::Value,
        lease: Duration,
    ) -> Result<(), StoreError> {
        self.locked(|state, now| {
            let job = fenced(state, claim)?;
            if job.ready <= now {
                return Err(StoreError::StaleLease);
            }
            job.progress = Some(progress);
            job.ready = now + chrono(lease);
            Ok(())
        })
    }

    async fn cancel_job(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.locked(|state, _| {
            state
                .jobs
                .remove(key)
                .is_some_and(|job| job.done_until.is_none())
        }))
    }

    async fn job(&self, key: &str) -> Result<Option<JobInfo>, StoreError> {
        Ok(self.locked(|state, now| {
            state.jobs.get(key).map(|job| JobInfo {
                key: key.to_owned(),
                due: job.due,
                state: match (job.done_until, job.token) {
                    (Some(_), _) => JobState::Done,
                    (None, Some(_)) if job.ready > now => JobState::Leased { until: job.ready },
                    _ => JobState::Waiting,
                },
                attempts: job.attempts,
                payload: job.payload.clone(),
                progress: job.progress.clone(),
            })
        }))
    }

    async fn next_job_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self.locked(|state, _| {
            state
                .jobs
                .values()
                .filter(|job| job.done_until.is_none())
                .map(|job| job.ready)
                .min()
        }))
    }
}
