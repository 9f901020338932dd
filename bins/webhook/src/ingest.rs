//! The webhook's fast path: record each event and queue customer messages for a turn.
//!
//! Nothing here calls an upstream service: every step is a store operation, so the
//! webhook can answer within milliseconds. What each event means is decided by the
//! engine crate ([`inkdesk_assistant::takeover::decide`]); this module only performs it.
//!
//! Customer messages — nearly all of the traffic — take one atomic store call
//! ([`inkdesk_store::Intake::record_message`]: dedupe mark, history, pause/mute check,
//! queue), so a message is either wholly recorded or not at all and a failure simply lets
//! Meta's redelivery through. A customer's reaction is recorded the same way but queued only
//! when it is the ❤ that confirms a pending cancel/reschedule
//! ([`inkdesk_assistant::takeover::reaction_starts_turn`]); any other reaction costs no
//! model call. Other events (echoes, studio reactions, unsent and edited messages) take the
//! general path, ordered so that nothing is lost and nothing is done twice:
//! 1. `first_seen` on the event's dedupe key — a redelivery stops here;
//! 2. the event's effect (log, mute, removal, edit), each step idempotent;
//! 3. if a step fails, the dedupe mark is removed again and the error goes up, so the
//!    webhook answers 503 and Meta's redelivery is processed afresh.

use std::time::Duration;

use chrono::Duration as ChronoDuration;
use inkdesk_assistant::confirm::PendingConfirmation;
use inkdesk_assistant::message::{CustomerMessage, combine};
use inkdesk_assistant::runner::echo::{EchoOrigin, EchoStores, echo_origin, note_chunk_echo};
use inkdesk_assistant::takeover::{EventDecision, MuteCause, decide, reaction_starts_turn};
use inkdesk_domain::ConversationId;
use inkdesk_messaging::inbound::Edited;
use inkdesk_messaging::{EventKind, InboundEvent};
use inkdesk_store::{
    IncomingMessage, IntakeOutcome, MessageChange, NotQueued, PendingMessage, Role, StoreError,
    Turn,
};

use crate::app::App;

/// How long event ids are remembered: longer than Meta's redelivery window.
pub const DEDUPE_TTL: Duration = Duration::from_secs(72 * 3600);

/// Records every event of one webhook call, in order.
pub async fn record_all(app: &App, events: &[InboundEvent]) -> Result<(), StoreError> {
    for event in events {
        record(app, event).await?;
    }
    if !events.is_empty() {
        // What was queued is due after the debounce: this replica's claim loop wakes then;
        // other replicas find the work by their own timer.
        app.wake.due_in(app.debounce);
    }
    Ok(())
}

async fn record(app: &App, event: &InboundEvent) -> Result<(), StoreError> {
    let effect = match meaning(app, event).await? {
        EventDecision::Customer(message) => return queue(app, event, *message).await,
        EventDecision::Ignore => Effect::None,
        EventDecision::Mute { minutes, cause } => Effect::Mute { minutes, cause },
    };
    let key = event.dedupe_key();
    if !app.stores.dedupe.first_seen(&key, DEDUPE_TTL).await? {
        tracing::debug!(kind = kind_name(&event.kind), "redelivered event ignored");
        return Ok(());
    }
    let result = apply(app, event, effect).await;
    if result.is_err() {
        // Let the redelivery through: the effect did not complete.
        if let Err(error) = app.stores.dedupe.forget(&key).await {
            tracing::warn!(%error, "could not clear the dedupe mark of a failed event");
        }
    }
    result
}

/// What an event other than a customer's message does.
enum Effect {
    /// Nothing beyond dropping a deleted message from the queue.
    None,
    /// A person from the studio took the conversation.
    Mute { minutes: u32, cause: MuteCause },
}

/// What the event means, after the reads the decision needs (only echoes and reactions
/// need any; a customer's text needs none).
async fn meaning(app: &App, event: &InboundEvent) -> Result<EventDecision, StoreError> {
    let conversation = &event.conversation;
    let sent_by_us = match &event.kind {
        EventKind::Echo(echo) => {
            let stores = EchoStores {
                outbox: app.stores.outbox.as_ref(),
                journal: app.stores.journal.as_ref(),
                keyed: app.stores.keyed.as_ref(),
            };
            let origin = echo_origin(stores, conversation, &echo.mid, echo.text.as_deref()).await?;
            if let (EchoOrigin::Chunk { turn }, Some(text)) = (&origin, echo.text.as_deref()) {
                // Proof for a resumed turn that Instagram has this chunk (see the runner).
                note_chunk_echo(
                    app.stores.keyed.as_ref(),
                    conversation,
                    turn,
                    text,
                    &echo.mid,
                )
                .await?;
            }
            origin.is_ours()
        }
        _ => false,
    };
    let target_text = match &event.kind {
        EventKind::Reaction(reaction) => {
            target_text(app, conversation, &reaction.target_mid).await?
        }
        _ => None,
    };
    Ok(decide(event, &app.profile, |_| sent_by_us, target_text))
}

/// Performs the effect of an event other than a customer's message.
async fn apply(app: &App, event: &InboundEvent, effect: Effect) -> Result<(), StoreError> {
    let conversation = &event.conversation;
    match effect {
        Effect::None => match &event.kind {
            EventKind::Deleted(deleted) => unsend(app, conversation, &deleted.mid).await,
            EventKind::Edited(edited) => edit(app, conversation, edited).await,
            _ => {
                tracing::debug!(kind = kind_name(&event.kind), "event needs no action");
                Ok(())
            }
        },
        Effect::Mute { minutes, cause } => {
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
    }
}

/// The customer unsent a message: its text goes from the history, the traces and the
/// queue, and the message itself is marked seen, so that if Meta delivers it after its
/// deletion (there is no ordering guarantee) it is dropped as a redelivery.
async fn unsend(app: &App, conversation: &ConversationId, mid: &str) -> Result<(), StoreError> {
    app.stores
        .dedupe
        .first_seen(&format!("mid:{mid}"), DEDUPE_TTL)
        .await?;
    app.stores.inbox.remove_message(conversation, mid).await?;
    let changed = app
        .stores
        .log
        .change_message(conversation, mid, &MessageChange::Unsent)
        .await?;
    tracing::info!(%conversation, changed, "unsent message removed");
    Ok(())
}

/// The customer edited a message: the history and, if it is still waiting for a turn, the
/// queued copy get the new text, so the model only ever sees the latest version.
async fn edit(app: &App, conversation: &ConversationId, edited: &Edited) -> Result<(), StoreError> {
    let queued = app
        .stores
        .inbox
        .edit_message(conversation, &edited.mid, &edited.text)
        .await?;
    let change = MessageChange::Edited {
        text: edited.text.clone(),
    };
    let changed = app
        .stores
        .log
        .change_message(conversation, &edited.mid, &change)
        .await?;
    tracing::info!(%conversation, changed, queued, "edited message updated");
    Ok(())
}

/// Whether a customer's message should start a turn: always, except a reaction that does
/// not confirm the pending cancel/reschedule question.
async fn starts_turn(
    app: &App,
    conversation: &ConversationId,
    message: &CustomerMessage,
) -> Result<bool, StoreError> {
    if message.reaction.is_none() {
        return Ok(true);
    }
    let key = crate::adapters::confirmation_key(conversation);
    let pending: Option<PendingConfirmation> = app
        .stores
        .keyed
        .get(conversation, &key)
        .await?
        .and_then(|value| serde_json::from_value(value).ok());
    Ok(reaction_starts_turn(
        message,
        pending.as_ref(),
        app.clock.now(),
    ))
}

/// The history's text of a customer message: what they typed, or for a reaction the line
/// the model would read ("the customer reacted ❤ to …"), never an empty message.
fn history_text(message: &CustomerMessage) -> String {
    match (&message.text, &message.reaction) {
        (None, Some(_)) => combine(std::slice::from_ref(message)).text,
        (text, _) => text.clone().unwrap_or_default(),
    }
}

/// Records a customer's message and queues it for a turn, in one store call.
async fn queue(
    app: &App,
    event: &InboundEvent,
    message: CustomerMessage,
) -> Result<(), StoreError> {
    let conversation = &event.conversation;
    let payload = serde_json::to_value(&message)
        .map_err(|e| StoreError::Corrupt(format!("cannot encode a message: {e}")))?;
    // Standby events (another app owns the thread) and reactions that need no answer are
    // recorded for the people only.
    let answerable = !event.standby && starts_turn(app, conversation, &message).await?;
    let incoming = IncomingMessage {
        event_key: event.dedupe_key(),
        dedupe_ttl: DEDUPE_TTL,
        turn: Turn {
            role: Role::Customer,
            text: history_text(&message),
            message_id: Some(message.mid.clone()),
            at: message.sent_at,
            data: Some(payload.clone()),
        },
        pending: PendingMessage {
            message_id: message.mid,
            received_at: app.clock.now(),
            payload,
        },
        debounce: app.debounce,
        answerable,
    };
    match app
        .stores
        .intake
        .record_message(conversation, incoming)
        .await?
    {
        IntakeOutcome::Duplicate => {
            tracing::debug!(kind = kind_name(&event.kind), "redelivered event ignored");
        }
        IntakeOutcome::Queued => tracing::info!(%conversation, "message queued"),
        IntakeOutcome::Spooled => tracing::info!(
            %conversation,
            "message kept in the intake spool; the store records it as soon as its writer is free"
        ),
        IntakeOutcome::Recorded(reason) => {
            let reason = match reason {
                NotQueued::NotAnswerable => "standby or a reaction needing no answer",
                NotQueued::Paused => "paused",
                NotQueued::Muted => "muted",
            };
            tracing::info!(%conversation, reason, "message recorded; the assistant does not answer now");
        }
    }
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
        EventKind::Edited(_) => "edited",
        EventKind::Referral(_) => "referral",
        EventKind::Unknown(_) => "unknown",
    }
}
