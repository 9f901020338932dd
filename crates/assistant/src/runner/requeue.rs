//! Nothing is forgotten: messages that arrived while a conversation was muted or the
//! assistant paused are answered once the bot is back — if Meta's 24-hour window is still
//! open — and otherwise left for a person.

use std::time::Duration;

use chrono::{DateTime, Utc};
use inkdesk_domain::ConversationId;
use inkdesk_messaging::{ReplyWindows, SendKind};
use inkdesk_store::{ConversationLog, Inbox, PendingMessage, Role, StoreError};

use crate::message::CustomerMessage;

/// How far back the log is read for unanswered messages.
const LOOKBACK_TURNS: usize = 60;

/// What [`requeue_unanswered`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requeued {
    /// The conversation's last word is not the customer's: nothing to answer.
    Nothing,
    /// This many messages were queued for the assistant.
    Queued(usize),
    /// The customer's newest message is older than Meta's 24-hour window: the bot may not
    /// answer; the console lists the conversation for a person.
    OutsideWindow,
}

/// The customer's messages after the last reply (the bot's or a person's), queued again
/// for the assistant when the standard reply window is open at `now`.
pub async fn requeue_unanswered(
    log: &dyn ConversationLog,
    inbox: &dyn Inbox,
    conversation: &ConversationId,
    now: DateTime<Utc>,
    debounce: Duration,
) -> Result<Requeued, StoreError> {
    let turns = log.recent(conversation, LOOKBACK_TURNS).await?;
    let last_reply = turns
        .iter()
        .rposition(|t| matches!(t.role, Role::Assistant | Role::Staff));
    let unanswered: Vec<_> = turns
        .iter()
        .skip(last_reply.map_or(0, |i| i + 1))
        .filter(|t| t.role == Role::Customer && t.message_id.is_some())
        .collect();
    let Some(newest) = unanswered.iter().map(|t| t.at).max() else {
        return Ok(Requeued::Nothing);
    };
    if !ReplyWindows::new(Some(newest), now).is_open(SendKind::Standard) {
        return Ok(Requeued::OutsideWindow);
    }
    let mut queued = 0;
    for turn in &unanswered {
        let Some(mid) = turn.message_id.clone() else {
            continue;
        };
        let message = turn
            .data
            .as_ref()
            .and_then(|d| serde_json::from_value::<CustomerMessage>(d.clone()).ok())
            .unwrap_or_else(|| CustomerMessage::text(mid.clone(), turn.at, turn.text.clone()));
        let payload = serde_json::to_value(&message)?;
        inbox
            .push(
                conversation,
                PendingMessage {
                    message_id: mid,
                    received_at: now,
                    payload,
                },
                debounce,
            )
            .await?;
        queued += 1;
    }
    Ok(Requeued::Queued(queued))
}

/// Whether the conversation's last word is a customer's message the bot may no longer
/// answer (older than 24 hours): the console lists these for a person.
pub async fn needs_a_person(
    log: &dyn ConversationLog,
    conversation: &ConversationId,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let turns = log.recent(conversation, 8).await?;
    let Some(last) = turns.iter().rev().find(|t| t.role != Role::Tool) else {
        return Ok(false);
    };
    Ok(last.role == Role::Customer
        && !ReplyWindows::new(Some(last.at), now).is_open(SendKind::Standard))
}
