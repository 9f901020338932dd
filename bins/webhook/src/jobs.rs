//! The scheduled-job worker: claims due jobs (deposit-hold expiries, reminders) from the
//! store's [`inkdesk_store::Schedule`] and hands each to `inkdesk_assistant::jobs::Jobs`,
//! which decides and completes it under the claim's lease. Every replica runs one; the
//! lease keeps a job with one worker at a time, and a replica that dies mid-job loses
//! nothing (the lease runs out and another claims it).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::app::App;

/// Jobs claimed at once.
const BATCH: usize = 8;

/// Runs until `shutdown` turns true.
pub async fn run(app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    let lease = app.worker.lease;
    loop {
        if *shutdown.borrow() {
            break;
        }
        match app.jobs.schedule().claim_jobs(BATCH, lease).await {
            Ok(claims) if !claims.is_empty() => {
                for claim in claims {
                    if let Err(error) = app.jobs.run(&claim).await {
                        tracing::warn!(key = %claim.key, %error, "job not completed; its lease runs out and it is claimed again");
                    }
                }
                continue;
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "cannot claim scheduled jobs; retrying shortly"),
        }
        let wait = match app.jobs.schedule().next_job_due().await {
            Ok(Some(due)) => (due - app.clock.now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(app.worker.idle_poll),
            _ => app.worker.idle_poll,
        };
        tokio::select! {
            _ = tokio::time::sleep(wait.max(Duration::from_millis(50))) => {}
            _ = shutdown.changed() => break,
        }
    }
}

/// How often each replica looks for confirmed bookings without a reminder job.
const REMINDER_SWEEP: Duration = Duration::from_secs(600);

/// Every 10 minutes, schedules the reminders of bookings made where the calendar
/// was changed without the reminder planner (the command line; a process that died between
/// a booking and its job). Idempotent, so replicas may sweep at the same time.
pub async fn sweep_reminders(app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    loop {
        if let Err(error) = app.reminders.sweep().await {
            tracing::warn!(%error, "reminder sweep failed; next one later");
        }
        tokio::select! {
            _ = tokio::time::sleep(REMINDER_SWEEP) => {}
            _ = shutdown.changed() => break,
        }
    }
}
