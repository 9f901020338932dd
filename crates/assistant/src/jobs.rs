//! Runs claimed scheduled jobs ([`inkdesk_store::Schedule`]): each job's payload names its
//! `kind`, and the handler registered for that kind decides; completing or retrying it is
//! fenced by the claim (a worker whose lease ran out cannot complete it).
//!
//! Kinds: `deposit_hold` ([`crate::deposits::Lifecycle`], the hold expiry of a booking
//! waiting for its deposit), `reminder` ([`crate::reminders::ReminderSender`]).
//! The binary only claims ([`inkdesk_store::Schedule::claim_jobs`]) and calls [`Jobs::run`].

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use inkdesk_domain::Clock;
use inkdesk_store::{JobClaim, Schedule, StoreError};

/// What a handler decided about one claimed job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobResult {
    /// Done (or nothing left to do): complete it.
    Done,
    /// Try again at this instant (a failure that may pass).
    RetryAt(DateTime<Utc>),
    /// The handler stopped without a decision (it lost the job's lease, or completed or
    /// replaced the job itself): leave the claim alone; if it is still the job's, its
    /// lease runs out and another worker resumes the job.
    Left,
}

/// Handles the jobs of one kind.
#[async_trait]
pub trait JobHandler: Send + Sync {
    /// The `kind` of the payloads it handles.
    fn kind(&self) -> &'static str;
    /// Acts on one claimed job. Acting twice must not repeat a side effect: a handler
    /// decides through an atomic step (a status change in the calendar, a keyed marker)
    /// before it sends anything.
    async fn run(&self, claim: &JobClaim) -> JobResult;
}

/// A payload's `kind`.
pub fn kind_of(claim: &JobClaim) -> Option<&str> {
    claim.payload.get("kind").and_then(|k| k.as_str())
}

/// How often a job of an unknown kind is put back before it is dropped (a replica of a
/// newer version may know it).
const UNKNOWN_KIND_ATTEMPTS: u32 = 5;

/// The handlers of every kind, over the schedule.
#[derive(Clone)]
pub struct Jobs {
    schedule: Arc<dyn Schedule>,
    clock: Arc<dyn Clock>,
    handlers: Vec<Arc<dyn JobHandler>>,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobs")
            .field(
                "kinds",
                &self.handlers.iter().map(|h| h.kind()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Jobs {
    /// No handlers yet.
    pub fn new(schedule: Arc<dyn Schedule>, clock: Arc<dyn Clock>) -> Self {
        Self {
            schedule,
            clock,
            handlers: Vec::new(),
        }
    }

    /// Adds the handler of one kind.
    #[must_use]
    pub fn with(mut self, handler: Arc<dyn JobHandler>) -> Self {
        self.handlers.push(handler);
        self
    }

    /// The schedule the jobs live in.
    pub fn schedule(&self) -> &Arc<dyn Schedule> {
        &self.schedule
    }

    /// Runs one claimed job and completes or retries it under the claim. A stale claim
    /// (the lease ran out and another worker took the job) is logged and left alone.
    pub async fn run(&self, claim: &JobClaim) -> Result<JobResult, StoreError> {
        let kind = kind_of(claim);
        let handler = self.handlers.iter().find(|h| Some(h.kind()) == kind);
        let result = match handler {
            Some(handler) => handler.run(claim).await,
            None if claim.attempt < UNKNOWN_KIND_ATTEMPTS => {
                tracing::warn!(key = %claim.key, ?kind, "no handler for this job kind; later");
                JobResult::RetryAt(self.clock.now() + Duration::minutes(10))
            }
            None => {
                tracing::warn!(key = %claim.key, ?kind, "no handler for this job kind; dropped");
                JobResult::Done
            }
        };
        let fenced = match result {
            JobResult::Done => self.schedule.complete_job(claim).await,
            JobResult::RetryAt(at) => self.schedule.retry_job(claim, at).await,
            JobResult::Left => return Ok(result),
        };
        match fenced {
            Ok(()) => Ok(result),
            Err(StoreError::StaleLease) => {
                tracing::warn!(key = %claim.key, "job's lease ran out while it ran; another worker has it");
                Ok(result)
            }
            Err(other) => Err(other),
        }
    }
}
