//! The scheduled-jobs loop: claim due jobs of the store's `Schedule` and hand each to the
//! library that runs its kind, by key prefix (`reminder:` → the assistant's
//! `ReminderSender`). Every replica runs it; the schedule's leases decide who does what.
//! A new kind of job adds its arm to [`dispatch`].

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::app::App;

/// Reminders claimed at once.
const BATCH: usize = 8;

/// Runs until `shutdown` turns true; reminders in flight get the worker's grace period,
/// then are abandoned (their leases expire and another replica resumes them).
pub async fn run(app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    let lease = app.reminders.config().lease;
    let mut running = JoinSet::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let claimed = match app.stores.schedule.claim_jobs(BATCH, lease).await {
            Ok(claims) => claims,
            Err(error) => {
                tracing::warn!(%error, "cannot claim reminders; retrying shortly");
                Vec::new()
            }
        };
        let any = !claimed.is_empty();
        for claim in claimed {
            let app = app.clone();
            running.spawn(async move { dispatch(&app, claim).await });
        }
        while running.try_join_next().is_some() {}
        if any {
            continue;
        }
        let wait = idle_wait(&app).await;
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => break,
        }
    }
    let grace = tokio::time::sleep(app.worker.shutdown_grace);
    tokio::pin!(grace);
    loop {
        tokio::select! {
            next = running.join_next() => if next.is_none() { break },
            _ = &mut grace => {
                running.abort_all();
                break;
            }
        }
    }
}

/// Runs one claimed job by its kind.
async fn dispatch(app: &App, claim: inkdesk_store::JobClaim) {
    if claim.key.starts_with("reminder:") {
        app.reminders.run(claim).await;
        return;
    }
    // A kind this build does not know (written by a newer replica during a rollout): give
    // it back for later rather than hold it.
    tracing::warn!(job = %claim.key, "unknown kind of scheduled job; put back for later");
    let later = app.clock.now() + chrono::Duration::minutes(5);
    if let Err(error) = app.stores.schedule.retry_job(&claim, later).await {
        tracing::warn!(%error, "could not put the job back");
    }
}

/// Until the next job is due, at most the worker's idle poll.
async fn idle_wait(app: &App) -> Duration {
    let poll = app.worker.idle_poll;
    match app.stores.schedule.next_job_due().await {
        Ok(Some(due)) => (due - app.clock.now())
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(poll)
            .max(Duration::from_millis(20)),
        _ => poll,
    }
}
