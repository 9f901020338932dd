//! Debounce workers: claim due conversations from the inbox and run one turn each.
//!
//! Every replica runs the same loop. The inbox (in the store, not in memory) decides who
//! works on what: a claim is a lease with a fencing token, so a replica that dies
//! mid-turn loses nothing — its lease expires and another replica claims the same
//! messages. Idle workers sleep until the next due time, a local wake-up from the
//! webhook, or `idle_poll` (work queued by another replica), never spinning.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as ChronoDuration;
use inkdesk_assistant::confirm::TurnId;
use inkdesk_assistant::engine::{DeliveryError, TurnInput, TurnOutcome};
use inkdesk_assistant::history::{HistoryEntry, Speaker};
use inkdesk_assistant::message::{CustomerMessage, ImageAnalysis, Measurements, image_ref};
use inkdesk_messaging::SendError;
use inkdesk_store::{Claim, Role, StoreError, Turn};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::app::App;

/// How long sent message ids are remembered to recognise our own echoes.
const OUTBOX_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

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
        let wait = idle_wait(&app).await;
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = app.wake_workers.notified() => {}
            _ = shutdown.changed() => {}
            Some(_) = turns.join_next(), if !turns.is_empty() => {}
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

/// Runs one claimed conversation's turn and acknowledges exactly the messages it handled.
pub async fn run_turn(app: &App, claim: Claim) {
    let conversation = claim.conversation.clone();
    let handled: Vec<String> = claim
        .messages
        .iter()
        .map(|m| m.message_id.clone())
        .collect();
    let outcome = match turn(app, &claim).await {
        Ok(outcome) => outcome,
        Err(TurnError::Retry(reason)) => {
            tracing::warn!(%conversation, reason, "turn postponed; messages stay queued");
            if let Err(error) = app.stores.inbox.release(&claim).await {
                tracing::warn!(%conversation, %error, "could not release the claim");
            }
            app.metrics.turn("postponed");
            return;
        }
        Err(TurnError::Store(error)) => {
            // The lease runs out and the turn is retried; nothing is acked.
            tracing::error!(%conversation, %error, "store failed during a turn");
            app.metrics.turn("store_error");
            return;
        }
    };
    app.metrics.turn(outcome);
    match app.stores.inbox.ack(&claim, &handled).await {
        Ok(()) => {}
        Err(StoreError::StaleLease) => {
            tracing::warn!(%conversation, "lease lost during the turn; another worker took over");
        }
        Err(error) => {
            tracing::error!(%conversation, %error, "could not acknowledge handled messages")
        }
    }
}

enum TurnError {
    /// Try the same messages again later (e.g. sending failed before anything went out).
    Retry(&'static str),
    /// The store failed.
    Store(StoreError),
}

impl From<StoreError> for TurnError {
    fn from(error: StoreError) -> Self {
        TurnError::Store(error)
    }
}

async fn turn(app: &App, claim: &Claim) -> Result<&'static str, TurnError> {
    let conversation = &claim.conversation;
    if app.stores.takeover.is_paused().await?
        || app.stores.takeover.muted(conversation).await?.is_some()
    {
        return Ok("muted");
    }
    let (Some(engine), Some(messenger)) = (&app.engine, &app.messenger) else {
        tracing::info!(%conversation, "no model or no send token: recorded for a person");
        return Ok("recorded");
    };
    let pending: Vec<CustomerMessage> = claim
        .messages
        .iter()
        .filter_map(|m| match serde_json::from_value(m.payload.clone()) {
            Ok(message) => Some(message),
            Err(error) => {
                tracing::warn!(%conversation, %error, "undecodable queued message skipped");
                None
            }
        })
        .collect();
    let pending_ids: HashSet<&str> = claim
        .messages
        .iter()
        .map(|m| m.message_id.as_str())
        .collect();
    let window = app.profile.conversation.history_turns as usize * 3 + claim.messages.len();
    let turns = app.stores.log.recent(conversation, window).await?;
    let (history, known_images) = history_of(
        &turns,
        &pending_ids,
        app.profile.conversation.history_turns as usize,
    );

    let now = app.clock.now();
    let input = TurnInput {
        conversation: conversation.clone(),
        turn: TurnId(uuid::Uuid::new_v4().simple().to_string()),
        pending,
        history,
        known_images,
    };
    let outcome = engine.respond(input, now).await;
    record_model_metrics(app, &outcome);
    for analysis in &outcome.analyses {
        let data = serde_json::json!({"image_analysis": {
            "mid": analysis.mid, "index": analysis.index, "analysis": analysis.analysis }});
        let turn = Turn {
            role: Role::Tool,
            text: "image analysed".into(),
            message_id: None,
            at: now,
            data: Some(data),
        };
        app.stores.log.append(conversation, turn).await?;
    }
    let trace = serde_json::json!({ "trace": outcome.record });
    let mut kind = "sent";
    if let Some(reply) = &outcome.reply {
        match engine
            .deliver(messenger.as_ref(), conversation, &outcome)
            .await
        {
            Ok(ids) => {
                remember_sent(app, &ids).await?;
                app.metrics.sent(ids.len() as u64);
                let turn = Turn {
                    role: Role::Assistant,
                    text: reply.clone(),
                    message_id: ids.first().map(ToString::to_string),
                    at: app.clock.now(),
                    data: Some(trace),
                };
                app.stores.log.append(conversation, turn).await?;
            }
            Err(DeliveryError::Send(failure)) => {
                remember_sent(app, &failure.delivered).await?;
                match &failure.error {
                    SendError::TokenInvalid(_) => {
                        tracing::error!(%conversation, error = %failure.error, "Instagram token invalid or expired: replies cannot be sent")
                    }
                    other => tracing::warn!(%conversation, error = %other, "reply not sent"),
                }
                if failure.error.is_retryable() && failure.delivered.is_empty() {
                    return Err(TurnError::Retry("sending failed before any chunk went out"));
                }
                kind = "send_failed";
            }
            Err(DeliveryError::Confirmations(error)) => {
                // The reply went out; only the ❤-as-yes shortcut is lost.
                tracing::warn!(%conversation, %error, "could not store the confirmation question's ids");
            }
        }
    } else {
        kind = "no_reply";
    }
    if let Some(handoff) = &outcome.handoff {
        let minutes = i64::from(app.profile.conversation.takeover_mute_minutes);
        let reason = format!("{:?}", handoff.reason);
        app.stores
            .takeover
            .mute(
                conversation,
                app.clock.now() + ChronoDuration::minutes(minutes),
                format!("handoff: {reason}"),
            )
            .await?;
        let turn = Turn {
            role: Role::Tool,
            text: format!("handed to a person: {reason}"),
            message_id: None,
            at: app.clock.now(),
            data: Some(serde_json::json!({"handoff": {"reason": reason, "note": handoff.note}})),
        };
        app.stores.log.append(conversation, turn).await?;
        app.metrics.handoff(&reason);
        app.admin.notify_handoff(conversation, &reason);
        tracing::info!(%conversation, reason, "conversation handed to a person");
        kind = if kind == "sent" { "handoff" } else { kind };
    }
    Ok(kind)
}

async fn remember_sent(
    app: &App,
    ids: &[inkdesk_messaging::SentMessageId],
) -> Result<(), StoreError> {
    for id in ids {
        app.stores.outbox.remember(id.as_str(), OUTBOX_TTL).await?;
    }
    Ok(())
}

fn record_model_metrics(app: &App, outcome: &TurnOutcome) {
    use inkdesk_assistant::tools::schema::{
        BOOK_APPOINTMENT, CONFIRM_CANCELLATION, CONFIRM_RESCHEDULE,
    };
    for tool in outcome.record.tools.iter().filter(|t| t.ok) {
        match tool.name.as_str() {
            BOOK_APPOINTMENT => app.metrics.booking("created"),
            CONFIRM_RESCHEDULE => app.metrics.booking("rescheduled"),
            CONFIRM_CANCELLATION => app.metrics.booking("cancelled"),
            _ => {}
        }
    }
    for call in &outcome.record.model_calls {
        app.metrics.model_call(
            u64::from(call.prompt_tokens),
            u64::from(call.completion_tokens),
            u64::from(call.cached_tokens),
            call.latency.as_secs_f64(),
        );
        if !call.ok {
            app.metrics.model_error();
        }
    }
}

/// Earlier turns for the model (without the messages of this turn) and the measurements
/// of images analysed before.
fn history_of(
    turns: &[Turn],
    pending: &HashSet<&str>,
    limit: usize,
) -> (Vec<HistoryEntry>, HashMap<String, Measurements>) {
    let mut known = HashMap::new();
    let mut history = Vec::new();
    for turn in turns {
        if let Some(analysis) = turn.data.as_ref().and_then(|d| d.get("image_analysis")) {
            let mid = analysis.get("mid").and_then(|v| v.as_str());
            let index = analysis.get("index").and_then(|v| v.as_u64());
            let parsed = analysis
                .get("analysis")
                .and_then(|v| serde_json::from_value::<ImageAnalysis>(v.clone()).ok());
            if let (Some(mid), Some(index), Some(ImageAnalysis::Measured(m))) = (mid, index, parsed)
            {
                known.insert(image_ref(mid, index as usize), m);
            }
            continue;
        }
        if turn
            .message_id
            .as_deref()
            .is_some_and(|id| pending.contains(id))
        {
            continue;
        }
        let entry = match turn.role {
            Role::Customer => HistoryEntry::customer(turn.text.clone(), turn.at),
            Role::Assistant => HistoryEntry::assistant(turn.text.clone(), turn.at),
            Role::Staff => HistoryEntry {
                speaker: Speaker::Staff,
                text: turn.text.clone(),
                at: turn.at,
            },
            Role::Tool => continue,
        };
        history.push(entry);
    }
    let skip = history.len().saturating_sub(limit);
    (history.split_off(skip), known)
}
