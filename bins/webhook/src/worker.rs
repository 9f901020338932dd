//! Debounce workers: claim due conversations from the inbox and run one turn each.
//!
//! Every replica runs the same loop. The inbox (in the store, not in memory) decides who
//! works on what: a claim is a lease with a fencing token, so a replica that dies
//! mid-turn loses nothing — its lease expires and another replica claims the same
//! messages. Idle workers sleep until the next due time or `idle_poll` (work queued by
//! another replica), never spinning; work queued on this replica brings that time forward
//! to when it is due ([`Wake`]) without a store call, so the webhook's traffic does not
//! turn into claim attempts.

use std::sync::Arc;
use std::time::Duration;

use inkdesk_assistant::engine::TurnRecord;
use inkdesk_assistant::runner::TurnObserver;
use inkdesk_domain::ConversationId;
use inkdesk_store::Claim;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::app::App;

/// Runs the claim loop until `shutdown` turns true, then waits up to the grace period for
/// turns in flight. Turns still running after that are abandoned: their leases expire
/// and another replica (or this one after a restart) takes the messages again.
pub async fn run(app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(app.worker.concurrency.max(1)));
    let mut turns = JoinSet::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let free = slots.available_permits();
        let mut claimed = 0;
        if free > 0 {
            match app.stores.inbox.claim_due(free, app.worker.lease).await {
                Ok(claims) => {
                    claimed = claims.len();
                    for claim in claims {
                        let Ok(permit) = slots.clone().acquire_owned().await else {
                            break;
                        };
                        let app = app.clone();
                        turns.spawn(async move {
                            run_turn(&app, claim).await;
                            drop(permit);
                        });
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot claim conversations; retrying shortly");
                }
            }
        }
        if claimed > 0 {
            continue;
        }
        // Sleep until the next due conversation. A wake-up from this replica's webhook
        // only brings that time forward (what it queued is due after the debounce):
        // it costs no store call, so a busy webhook does not make the loop poll the store
        // once per message.
        let mut deadline = tokio::time::Instant::now() + idle_wait(&app).await;
        loop {
            if let Some(due) = app.wake.take_earliest() {
                deadline = deadline.min(due);
            }
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                _ = app.wake.notified() => {}
                _ = shutdown.changed() => break,
                // A slot freed: claim what could not be claimed before.
                Some(_) = turns.join_next(), if !turns.is_empty() => break,
            }
        }
    }
    tracing::info!(in_flight = turns.len(), "workers stopping");
    let grace = tokio::time::sleep(app.worker.shutdown_grace);
    tokio::pin!(grace);
    loop {
        tokio::select! {
            next = turns.join_next() => if next.is_none() { break },
            _ = &mut grace => {
                tracing::warn!(abandoned = turns.len(), "turns still running at shutdown; their leases will expire");
                turns.abort_all();
                break;
            }
        }
    }
}

/// Brings this replica's claim loop forward when work is queued here: a webhook's
/// messages are due after the debounce, a requeue's likewise. Other replicas' work is
/// found by the idle poll (`WorkerConfig::idle_poll`).
#[derive(Debug, Default)]
pub struct Wake {
    earliest: std::sync::Mutex<Option<tokio::time::Instant>>,
    notify: tokio::sync::Notify,
}

impl Wake {
    /// Work queued now becomes due in `delay`.
    pub fn due_in(&self, delay: Duration) {
        let due = tokio::time::Instant::now() + delay;
        {
            let mut earliest = self
                .earliest
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *earliest = Some(earliest.map_or(due, |e| e.min(due)));
        }
        // One stored permit if the loop is busy claiming: it looks again when it sleeps.
        self.notify.notify_one();
    }

    fn take_earliest(&self) -> Option<tokio::time::Instant> {
        self.earliest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    async fn notified(&self) {
        self.notify.notified().await;
    }
}

/// How long an idle worker sleeps: until the next due conversation, at most `idle_poll`.
async fn idle_wait(app: &App) -> Duration {
    let poll = app.worker.idle_poll;
    match app.stores.inbox.next_due().await {
        Ok(Some(due)) => (due - app.clock.now())
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(poll),
        Ok(None) => poll,
        Err(_) => poll,
    }
}

/// Runs one claimed conversation's turn (all of it happens in the assistant's runner).
pub async fn run_turn(app: &App, claim: Claim) {
    // The customer's Instagram name for the console, fetched once in the background.
    app.profiles.ensure(&claim.conversation);
    app.runner.run(claim).await;
}

/// The runner's view of this service: metrics and the studio's handoff notifications.
pub struct ServiceObserver {
    /// Prometheus metrics.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The admin console (its notifier).
    pub admin: Arc<crate::admin::Console>,
    /// Where usage totals are kept for every replica, and at what prices.
    pub usage: UsageRecorder,
}

/// Writes each turn's model usage to the store's totals (per studio day and conversation).
#[derive(Clone)]
pub struct UsageRecorder {
    /// The store's totals.
    pub totals: Arc<dyn inkdesk_store::UsageTotals>,
    /// Prices per model.
    pub prices: Arc<inkdesk_openai::PriceTable>,
    /// Time, for the day.
    pub clock: Arc<dyn inkdesk_domain::Clock>,
    /// The studio's zone: a day is the studio's day.
    pub time_zone: chrono_tz::Tz,
}

impl TurnObserver for ServiceObserver {
    fn turn_ended(&self, outcome: &str) {
        self.metrics.turn(outcome);
    }

    fn decided(&self, record: &TurnRecord) {
        for effect in record.tools.iter().filter_map(|t| t.booking_effect()) {
            self.metrics.booking(effect);
        }
        for call in &record.model_calls {
            self.metrics.model_call(call.latency.as_secs_f64());
            if !call.ok {
                self.metrics.model_error();
            }
        }
        let by_model = record.usage_by_model(&self.usage.prices);
        for (model, usage) in &by_model {
            self.metrics.model_usage(model, usage);
        }
        if by_model.is_empty() {
            return;
        }
        // The observer is synchronous; the totals are written beside the turn (a failure
        // loses only these figures, never the turn).
        let recorder = self.usage.clone();
        let conversation = record.conversation.clone();
        let day = recorder
            .clock
            .now()
            .with_timezone(&recorder.time_zone)
            .date_naive();
        tokio::spawn(async move {
            for (model, usage) in by_model {
                if let Err(error) = recorder
                    .totals
                    .add_usage(&conversation, day, &model, usage)
                    .await
                {
                    tracing::warn!(%error, "model usage not recorded");
                }
            }
        });
    }

    fn sent(&self, chunks: u64) {
        self.metrics.sent(chunks);
    }

    fn handed_off(&self, conversation: &ConversationId, reason: &str) {
        self.metrics.handoff(reason);
        self.admin.notify_handoff(conversation, reason);
    }

    fn recovered_from_echo(&self) {
        self.metrics.chunk_recovered();
    }
}
