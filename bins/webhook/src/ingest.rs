//! The webhook's fast path: record each event and queue customer messages for a turn.
//!
//! Nothing here calls an upstream service: every step is a store operation, so the
//! webhook can answer within milliseconds. What each event means is decided by the
//! engine crate ([`inkdesk_assistant::takeover::decide`]); this module only performs it.
//!
//! Order of steps per event, chosen so that nothing is lost and nothing answered twice:
//! 1. `first_seen` on the event's dedupe key — a redelivery stops here;
//! 2. the event's effect (log, queue, mute), each step idempotent;
//! 3. if a step fails, the dedupe mark is removed again and the error goes up, so the
//!    webhook answers 503 and Meta's redelivery is processed afresh.

use std::time::Duration;

use chrono::Duration as ChronoDuration;
use inkdesk_assistant::message::CustomerMessage;
use inkdesk_assistant::takeover::{EventDecision, MuteCause, decide};
use inkdesk_messaging::{EventKind, InboundEvent};
use inkdesk_store::{PendingMessage, Role, StoreError, Turn};

use crate::app::App;

/// How long event ids are remembered: longer than Meta's redelivery window.
pub const DEDUPE_TTL: Duration = Duration::from_secs(72 * 3600);

/// Records every event of one webhook call, in order.
pub async fn record_all(app: &App, events: &[InboundEvent]) -> Result<(), StoreError> {
    for event in events {
        record(app, event).await?;
    }
    if !events.is_empty() {
        // Wake this replica's workers; other replicas find the work by their own timer.
        app.wake_workers.notify_waiters();
    }
    Ok(())
}

async fn record(app: &App, event: &InboundEvent) -> Result<(), StoreError> {
    let key = event.dedupe_key();
    if !app.stores.dedupe.first_seen(&key, DEDUPE_TTL).await? {
        tracing::debug!(kind = kind_name(&event.kind), "redelivered event ignored");
        return Ok(());
    }
    let result = apply(app, event).await;
    if result.is_err() {
        // Let the redelivery through: the effect did not complete.
        if let Err(error) = app.stores.dedupe.forget(&key).await {
            tracing::warn!(%error, "could not clear the dedupe mark of a failed event");
        }
    }
    result
}

async fn apply(app: &App, event: &InboundEvent) -> Result<(), StoreError> {
    let conversation = &event.conversation;
    let sent_by_us = match &event.kind {
        EventKind::Echo(echo) => app.stores.outbox.contains(&echo.mid).await?,
        _ => false,
    };
    let target_text = match &event.kind {
        EventKind::Reaction(reaction) => {
            target_text(app, conversation, &reaction.target_mid).await?
        }
        _ => None,
    };
    match decide(event, &app.profile, |_| sent_by_us, target_text) {
        EventDecision::Ignore => {
            if let EventKind::Deleted(deleted) = &event.kind {
                app.stores
                    .inbox
                    .remove_message(conversation, &deleted.mid)
                    .await?;
            }
            tracing::debug!(kind = kind_name(&event.kind), "event needs no action");
            Ok(())
        }
        EventDecision::Mute { minutes, cause } => {
            let until = app.clock.now() + ChronoDuration::minutes(i64::from(minutes));
            let reason = match cause {
                MuteCause::StudioEcho => "a person from the studio replied in Instagram",
                MuteCause::StudioReaction => "the studio reacted with a heart",
            };
            app.stores
                .takeover
                .mute(conversation, until, reason.to_owned())
                .await?;
            if let EventKind::Echo(echo) = &event.kind {
                let turn = Turn {
                    role: Role::Staff,
                    text: echo.text.clone().unwrap_or_default(),
                    message_id: Some(echo.mid.clone()),
                    at: event.timestamp,
                    data: None,
                };
                app.stores.log.append(conversation, turn).await?;
            }
            tracing::info!(%conversation, reason, "conversation muted for a person");
            Ok(())
        }
        EventDecision::Customer(message) => queue(app, event, *message).await,
    }
}

async fn queue(
    app: &App,
    event: &InboundEvent,
    message: CustomerMessage,
) -> Result<(), StoreError> {
    let conversation = &event.conversation;
    let payload = serde_json::to_value(&message)
        .map_err(|e| StoreError::Corrupt(format!("cannot encode a message: {e}")))?;
    let turn = Turn {
        role: Role::Customer,
        text: message.text.clone().unwrap_or_default(),
        message_id: Some(message.mid.clone()),
        at: message.sent_at,
        data: Some(payload.clone()),
    };
    // Three independent store calls at once: one wait instead of three on this hot path.
    let (appended, paused, muted) = tokio::join!(
        app.stores.log.append(conversation, turn),
        app.paused.get(app.stores.takeover.as_ref()),
        app.stores.takeover.muted(conversation),
    );
    appended?;
    // Standby events (another app owns the thread), a paused assistant and muted
    // conversations are recorded for the people, not answered.
    if event.standby || paused? || muted?.is_some() {
        tracing::info!(%conversation, "message recorded; the assistant does not answer now");
        return Ok(());
    }
    let pending = PendingMessage {
        message_id: message.mid.clone(),
        received_at: app.clock.now(),
        payload,
    };
    app.stores
        .inbox
        .push(conversation, pending, app.debounce)
        .await?;
    tracing::info!(%conversation, "message queued");
    Ok(())
}

/// The text of the message a reaction targets, when the log still has it.
async fn target_text(
    app: &App,
    conversation: &inkdesk_domain::ConversationId,
    mid: &str,
) -> Result<Option<String>, StoreError> {
    let recent = app
        .stores
        .log
        .recent(
            conversation,
            app.profile.conversation.history_turns as usize,
        )
        .await?;
    Ok(recent
        .into_iter()
        .rev()
        .find(|t| t.message_id.as_deref() == Some(mid))
        .map(|t| t.text))
}

fn kind_name(kind: &EventKind) -> &'static str {
    match kind {
        EventKind::Text(_) => "text",
        EventKind::Attachments(_) => "attachments",
        EventKind::QuickReply(_) => "quick_reply",
        EventKind::Postback(_) => "postback",
        EventKind::Reaction(_) => "reaction",
        EventKind::Echo(_) => "echo",
        EventKind::Seen(_) => "seen",
        EventKind::Deleted(_) => "deleted",
        EventKind::Referral(_) => "referral",
        EventKind::Unknown(_) => "unknown",
    }
}
