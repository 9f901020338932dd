//! Conformance: the scheduled-jobs store ([`crate::schedule::Schedule`]), run by every
//! adapter's tests through [`schedule_suite!`](crate::schedule_suite). Each function takes
//! a [`Harness`] (for time only) and the schedule under test.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde_json::json;

use super::{Harness, LEASE, LONG, STEP};
use crate::StoreError;
use crate::schedule::{JobState, Schedule};

/// `now + offset`, whole milliseconds (what every backend stores).
fn at(h: &Harness, offset_ms: i64) -> DateTime<Utc> {
    let t = h.now() + TimeDelta::milliseconds(offset_ms);
    t.duration_trunc(TimeDelta::milliseconds(1)).unwrap()
}

fn keys(claims: &[crate::schedule::JobClaim]) -> Vec<&str> {
    claims.iter().map(|c| c.key.as_str()).collect()
}

pub async fn jobs_are_claimed_when_due_earliest_first(h: Harness, s: Arc<dyn Schedule>) {
    let first = at(&h, -2_000);
    assert!(
        s.schedule_job("first", first, json!({"n": 1}))
            .await
            .unwrap()
    );
    assert!(
        s.schedule_job("second", at(&h, -1_000), json!({"n": 2}))
            .await
            .unwrap()
    );
    assert!(
        s.schedule_job("later", at(&h, 600_000), json!({"n": 3}))
            .await
            .unwrap()
    );
    assert_eq!(s.next_job_due().await.unwrap(), Some(first));
    let claims = s.claim_jobs(10, LONG).await.unwrap();
    assert_eq!(keys(&claims), ["first", "second"]);
    assert_eq!(claims[0].payload, json!({"n": 1}));
    assert_eq!(claims[0].due, first);
    assert_eq!(claims[0].attempt, 1);
    assert!(claims[1].token > claims[0].token, "tokens grow");
    assert!(
        s.claim_jobs(10, LONG).await.unwrap().is_empty(),
        "leased jobs are not claimable"
    );
    let later = s.job("later").await.unwrap().unwrap();
    assert_eq!(later.state, JobState::Waiting);
    assert_eq!(later.attempts, 0);
    assert!(matches!(
        s.job("first").await.unwrap().unwrap().state,
        JobState::Leased { .. }
    ));
    assert_eq!(s.claim_jobs(0, LONG).await.unwrap(), Vec::new());
}

pub async fn scheduling_an_existing_key_changes_nothing(h: Harness, s: Arc<dyn Schedule>) {
    let due = at(&h, -10);
    assert!(s.schedule_job("k", due, json!("one")).await.unwrap());
    assert!(
        !s.schedule_job("k", at(&h, 5_000), json!("two"))
            .await
            .unwrap()
    );
    let job = s.job("k").await.unwrap().unwrap();
    assert_eq!((job.due, job.payload), (due, json!("one")));

    let claim = s.claim_jobs(1, LONG).await.unwrap().remove(0);
    assert!(
        !s.schedule_job("k", due, json!("two")).await.unwrap(),
        "leased"
    );
    s.complete_job(&claim).await.unwrap();
    // Replaying the event that scheduled it schedules nothing: the key is remembered.
    assert!(
        !s.schedule_job("k", due, json!("two")).await.unwrap(),
        "done"
    );
    assert_eq!(s.job("k").await.unwrap().unwrap().state, JobState::Done);
    assert!(s.claim_jobs(10, LONG).await.unwrap().is_empty());
    assert_eq!(s.next_job_due().await.unwrap(), None);
    // Cancelling forgets the key, so a rebooked appointment can schedule again.
    assert!(
        !s.cancel_job("k").await.unwrap(),
        "a done job is not 'cancelled'"
    );
    assert_eq!(s.job("k").await.unwrap(), None);
    assert!(s.schedule_job("k", due, json!("again")).await.unwrap());
}

pub async fn expired_job_lease_is_reclaimed_and_stale_completion_refused(
    h: Harness,
    s: Arc<dyn Schedule>,
) {
    s.schedule_job("r", at(&h, 0), json!({})).await.unwrap();
    let stale = s.claim_jobs(5, LEASE).await.unwrap().remove(0);
    assert!(s.claim_jobs(5, LEASE).await.unwrap().is_empty());
    h.advance(LEASE + Duration::from_millis(100)).await;
    let fresh = s.claim_jobs(5, LONG).await.unwrap().remove(0);
    assert_eq!(fresh.key, "r");
    assert_eq!(fresh.attempt, 2);
    assert!(fresh.token > stale.token);
    assert!(matches!(
        s.complete_job(&stale).await,
        Err(StoreError::StaleLease)
    ));
    assert!(matches!(
        s.retry_job(&stale, at(&h, 0)).await,
        Err(StoreError::StaleLease)
    ));
    s.complete_job(&fresh).await.unwrap();
    assert!(matches!(
        s.complete_job(&fresh).await,
        Err(StoreError::StaleLease)
    ));
    assert!(s.claim_jobs(5, LONG).await.unwrap().is_empty());
}

pub async fn retry_makes_the_job_due_later_and_counts_attempts(h: Harness, s: Arc<dyn Schedule>) {
    s.schedule_job("t", at(&h, 0), json!({"to": "x"}))
        .await
        .unwrap();
    let claim = s.claim_jobs(5, LONG).await.unwrap().remove(0);
    let later = at(&h, i64::try_from(STEP.as_millis()).unwrap());
    s.retry_job(&claim, later).await.unwrap();
    assert!(
        s.claim_jobs(5, LONG).await.unwrap().is_empty(),
        "not due yet"
    );
    let job = s.job("t").await.unwrap().unwrap();
    assert_eq!(
        (job.state, job.due, job.attempts),
        (JobState::Waiting, later, 1)
    );
    assert_eq!(s.next_job_due().await.unwrap(), Some(later));
    h.advance(STEP + Duration::from_millis(100)).await;
    let again = s.claim_jobs(5, LONG).await.unwrap().remove(0);
    assert_eq!((again.attempt, again.due), (2, later));
    assert_eq!(again.payload, json!({"to": "x"}));
    assert!(matches!(
        s.retry_job(&claim, later).await,
        Err(StoreError::StaleLease)
    ));
}

pub async fn cancel_removes_waiting_and_leased_jobs(h: Harness, s: Arc<dyn Schedule>) {
    s.schedule_job("waiting", at(&h, 60_000), json!(1))
        .await
        .unwrap();
    s.schedule_job("leased", at(&h, 0), json!(2)).await.unwrap();
    let claim = s.claim_jobs(5, LONG).await.unwrap().remove(0);
    assert_eq!(claim.key, "leased");
    assert!(s.cancel_job("waiting").await.unwrap());
    assert!(s.cancel_job("leased").await.unwrap());
    assert!(!s.cancel_job("never-there").await.unwrap());
    assert_eq!(s.job("waiting").await.unwrap(), None);
    assert!(matches!(
        s.complete_job(&claim).await,
        Err(StoreError::StaleLease)
    ));
    h.advance(STEP).await;
    assert!(s.claim_jobs(5, LONG).await.unwrap().is_empty());
    assert_eq!(s.next_job_due().await.unwrap(), None);
}

pub async fn concurrent_job_claimers_never_share_a_job(h: Harness, s: Arc<dyn Schedule>) {
    for i in 0..30 {
        s.schedule_job(&format!("job-{i}"), at(&h, -1), json!(i))
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let claims = s.claim_jobs(3, LONG).await.unwrap();
                if claims.is_empty() {
                    break got;
                }
                got.extend(claims);
                tokio::task::yield_now().await;
            }
        }));
    }
    let mut seen = HashSet::new();
    let mut tokens = HashSet::new();
    for task in tasks {
        for claim in task.await.unwrap() {
            assert!(
                seen.insert(claim.key.clone()),
                "{} claimed twice",
                claim.key
            );
            assert!(tokens.insert(claim.token), "token {} reused", claim.token);
        }
    }
    assert_eq!(seen.len(), 30);
}

pub async fn recorded_progress_is_fenced_and_read_by_the_next_claim(
    h: Harness,
    s: Arc<dyn Schedule>,
) {
    s.schedule_job("p", at(&h, 0), json!({"booking": "b1"}))
        .await
        .unwrap();
    let first = s.claim_jobs(5, LEASE).await.unwrap().remove(0);
    assert_eq!(first.progress, None);
    s.record_job(&first, json!({"step": "decided"}), LEASE)
        .await
        .unwrap();
    // The lease runs out: nothing more may be recorded under it, even unclaimed.
    h.advance(LEASE + Duration::from_millis(100)).await;
    assert!(matches!(
        s.record_job(&first, json!({"step": "sent"}), LEASE).await,
        Err(StoreError::StaleLease)
    ));
    let second = s.claim_jobs(5, LONG).await.unwrap().remove(0);
    assert_eq!(second.progress, Some(json!({"step": "decided"})));
    assert_eq!(
        s.job("p").await.unwrap().unwrap().progress,
        Some(json!({"step": "decided"}))
    );
    assert!(matches!(
        s.record_job(&first, json!({"step": "sent"}), LEASE).await,
        Err(StoreError::StaleLease)
    ));
    // Recording renews the lease.
    s.record_job(&second, json!({"step": "sent"}), LONG)
        .await
        .unwrap();
    h.advance(LEASE + Duration::from_millis(100)).await;
    assert!(s.claim_jobs(5, LONG).await.unwrap().is_empty(), "renewed");
    // A retry keeps the progress for the next claim.
    s.retry_job(&second, at(&h, 0)).await.unwrap();
    let third = s.claim_jobs(5, LONG).await.unwrap().remove(0);
    assert_eq!(third.progress, Some(json!({"step": "sent"})));
    s.complete_job(&third).await.unwrap();
    assert!(matches!(
        s.record_job(&third, json!({}), LONG).await,
        Err(StoreError::StaleLease)
    ));
    // Cancelling ends it: a job scheduled again under the key starts afresh.
    s.cancel_job("p").await.unwrap();
    s.schedule_job("p", at(&h, 0), json!({})).await.unwrap();
    assert_eq!(s.claim_jobs(5, LONG).await.unwrap()[0].progress, None);
}

pub async fn invalid_job_keys_are_refused(h: Harness, s: Arc<dyn Schedule>) {
    for key in [String::new(), "x".repeat(201), "a\nb".to_owned()] {
        assert!(matches!(
            s.schedule_job(&key, at(&h, 0), json!(null)).await,
            Err(StoreError::Invalid(_))
        ));
    }
    assert!(
        s.schedule_job(&"x".repeat(200), at(&h, 0), json!(null))
            .await
            .unwrap()
    );
}

/// Runs the schedule conformance suite as `#[tokio::test]`s inside `mod $name`.
///
/// `$factory` is called as `factory(options).await` and returns
/// `Option<(Harness, Arc<dyn Schedule>)>` (the harness for time, the schedule under test);
/// `None` skips the test (backend not available).
#[macro_export]
macro_rules! schedule_suite {
    ($name:ident, $factory:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $crate::schedule_suite!(@tests $factory;
                jobs_are_claimed_when_due_earliest_first,
                scheduling_an_existing_key_changes_nothing,
                expired_job_lease_is_reclaimed_and_stale_completion_refused,
                retry_makes_the_job_due_later_and_counts_attempts,
                cancel_removes_waiting_and_leased_jobs,
                concurrent_job_claimers_never_share_a_job,
                recorded_progress_is_fenced_and_read_by_the_next_claim,
                invalid_job_keys_are_refused,
            );
        }
    };
    (@tests $factory:expr; $($test:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $test() {
                let factory = $factory;
                if let Some((harness, schedule)) =
                    factory($crate::testing::options(stringify!($test))).await
                {
                    $crate::testing::$test(harness, schedule).await;
                }
            }
        )*
    };
}
