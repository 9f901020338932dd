//! What staff can do from the console (pages and API call the same functions).

use std::time::Duration;

use chrono::{DateTime, Utc};
use inkdesk_assistant::runner::echo::note_console_send;
use inkdesk_assistant::runner::requeue::{Requeued, requeue_unanswered};
use inkdesk_domain::ConversationId;
use inkdesk_messaging::{
    MAX_MESSAGE_BYTES, ReplyWindows, SendKind, SendOptions, WindowClosed, split_message,
};
use inkdesk_store::{Role, StoreError, Turn};
use serde::Serialize;

use crate::app::App;

use super::view;

/// Longest mute staff can set, in hours (30 days).
pub const MAX_MUTE_HOURS: u32 = 720;
/// How long sent ids are remembered so their echoes are recognised as ours.
const OUTBOX_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// The mute reason of a staff mute from the console.
pub const MUTED_BY_STAFF: &str = "muted by staff in the console";
/// The mute reason after a staff reply from the console.
pub const STAFF_REPLIED: &str = "staff replied from the console";

/// Why an action failed.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// Input the caller must fix.
    #[error("{0}")]
    Invalid(&'static str),
    /// No send token is configured.
    #[error("IG_USER_ACCESS_TOKEN is not set; messages cannot be sent")]
    NoMessenger,
    /// Meta's rules allow no reply now (answer 409).
    #[error("{}", window_message(.0))]
    WindowClosed(WindowClosed),
    /// Instagram refused or failed the send.
    #[error("sending failed: {0}")]
    Send(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The calendar failed (nothing was deleted; try again).
    #[error("the calendar failed, so nothing was deleted: {0}")]
    Calendar(#[from] inkdesk_calendar::CalendarError),
}

fn window_message(closed: &WindowClosed) -> String {
    match closed {
        WindowClosed::NoCustomerMessage => {
            "the customer has not written in this conversation, so Instagram allows no reply"
                .to_owned()
        }
        WindowClosed::Expired { closed_at } => format!(
            "Instagram allows a person's reply (HUMAN_AGENT tag) only within 7 days of the \
             customer's last message; that window closed at {}",
            closed_at.format("%Y-%m-%d %H:%M UTC")
        ),
    }
}

/// Mutes the assistant in the conversation for `hours`.
pub async fn mute(
    app: &App,
    conversation: &ConversationId,
    hours: u32,
) -> Result<DateTime<Utc>, ActionError> {
    if !(1..=MAX_MUTE_HOURS).contains(&hours) {
        return Err(ActionError::Invalid("hours must be between 1 and 720"));
    }
    let until = app.clock.now() + chrono::Duration::hours(i64::from(hours));
    app.stores
        .takeover
        .mute(conversation, until, MUTED_BY_STAFF.to_owned())
        .await?;
    tracing::info!(%conversation, hours, "muted from the console");
    Ok(until)
}

/// Lets the assistant answer the conversation again. What the customer wrote while it was
/// muted (after the last reply) is answered now if Meta's 24-hour window is still open,
/// and otherwise stays listed for a person.
pub async fn unmute(app: &App, conversation: &ConversationId) -> Result<Requeued, ActionError> {
    app.stores.takeover.unmute(conversation).await?;
    let requeued = answer_unanswered(app, conversation).await?;
    tracing::info!(%conversation, ?requeued, "unmuted from the console");
    Ok(requeued)
}

/// Queues the conversation's unanswered messages for the assistant (see
/// [`requeue_unanswered`]) and wakes this replica's workers.
async fn answer_unanswered(
    app: &App,
    conversation: &ConversationId,
) -> Result<Requeued, ActionError> {
    let requeued = requeue_unanswered(
        app.stores.log.as_ref(),
        app.stores.inbox.as_ref(),
        conversation,
        app.clock.now(),
        app.debounce,
    )
    .await?;
    if matches!(requeued, Requeued::Queued(n) if n > 0) {
        app.wake.due_in(app.debounce);
    }
    Ok(requeued)
}

/// What a staff reply did.
#[derive(Debug, Clone, Serialize)]
pub struct ReplySent {
    /// Instagram's ids of the sent chunks.
    pub message_ids: Vec<String>,
    /// Whether the `HUMAN_AGENT` tag was used (24 h to 7 days since the customer wrote).
    pub human_agent_tag: bool,
    /// The assistant stays quiet until then.
    pub muted_until: DateTime<Utc>,
}

/// Sends a staff reply, records it as a staff turn, remembers its ids (so the echo does
/// not count as a new takeover) and keeps the assistant muted for the takeover time.
///
/// Meta's windows decide the tag: within 24 h of the customer's newest message a standard
/// reply, up to 7 days one tagged `HUMAN_AGENT`, later — or with no customer message at all
/// — none ([`ActionError::WindowClosed`], before anything is muted or sent).
pub async fn reply(
    app: &App,
    conversation: &ConversationId,
    text: &str,
) -> Result<ReplySent, ActionError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ActionError::Invalid("the reply is empty"));
    }
    let Some(messenger) = &app.messenger else {
        return Err(ActionError::NoMessenger);
    };
    let turns = app
        .stores
        .log
        .recent(conversation, view::TRANSCRIPT_LIMIT)
        .await?;
    let windows = ReplyWindows::new(view::last_customer_at(&turns), app.clock.now());
    let human_agent_tag = match windows.check(SendKind::Standard) {
        Ok(()) => false,
        Err(_) => {
            windows
                .check(SendKind::HumanAgent)
                .map_err(ActionError::WindowClosed)?;
            true
        }
    };
    let options = if human_agent_tag {
        SendOptions::human_agent()
    } else {
        SendOptions::default()
    };
    // Mute before sending so a turn starting meanwhile stays quiet.
    let minutes = i64::from(app.profile.conversation.takeover_mute_minutes);
    let muted_until = app.clock.now() + chrono::Duration::minutes(minutes);
    app.stores
        .takeover
        .mute(conversation, muted_until, STAFF_REPLIED.to_owned())
        .await?;
    // Noted before sending: Meta may deliver the echo before the Send API answers.
    let chunks = split_message(text, MAX_MESSAGE_BYTES);
    note_console_send(app.stores.keyed.as_ref(), conversation, &chunks).await?;
    let ids = match messenger.send_text(conversation, text, options).await {
        Ok(ids) => ids,
        Err(failure) => {
            for id in &failure.delivered {
                app.stores.outbox.remember(id.as_str(), OUTBOX_TTL).await?;
            }
            tracing::warn!(%conversation, error = %failure.error, "staff reply not sent");
            return Err(ActionError::Send(failure.error.to_string()));
        }
    };
    for id in &ids {
        app.stores.outbox.remember(id.as_str(), OUTBOX_TTL).await?;
    }
    let message_ids: Vec<String> = ids.iter().map(|id| id.as_str().to_owned()).collect();
    let turn = Turn {
        role: Role::Staff,
        text: text.to_owned(),
        message_id: message_ids.first().cloned(),
        at: app.clock.now(),
        data: Some(serde_json::json!({"sent_from": "console", "human_agent_tag": human_agent_tag})),
    };
    app.stores.log.append(conversation, turn).await?;
    tracing::info!(%conversation, human_agent_tag, chunks = message_ids.len(), "staff reply sent from the console");
    Ok(ReplySent {
        message_ids,
        human_agent_tag,
        muted_until,
    })
}

/// What a privacy delete did.
#[derive(Debug, Clone, Serialize)]
pub struct Deleted {
    /// Calendar entries whose customer details were removed; their time stays blocked.
    /// The studio sees them here (and in its calendar as "customer details deleted").
    pub anonymised_bookings: Vec<inkdesk_calendar::ForgottenBooking>,
}

/// Deletes everything inkdesk holds about the conversation (a privacy request).
///
/// First the calendar: every booking of the conversation, past and future, loses the
/// customer's name, phone and design note (Google events too) and its link to the
/// conversation; its time stays blocked so the studio's day stays right. Then the store:
/// history, traces, queue, mute, holds and pending confirmations. The calendar goes first
/// so that a failure there deletes nothing and the request can simply be repeated.
pub async fn delete(app: &App, conversation: &ConversationId) -> Result<Deleted, ActionError> {
    let anonymised_bookings = app.calendar.forget_customer(conversation).await?;
    app.stores.log.delete_conversation(conversation).await?;
    tracing::info!(
        %conversation,
        bookings = anonymised_bookings.len(),
        "conversation deleted from the console"
    );
    Ok(Deleted {
        anonymised_bookings,
    })
}

/// How many recent conversations a resume looks through for unanswered messages.
const RESUME_SCAN: usize = 500;

/// Turns the assistant off (`true`) or on for every conversation. On resume, every
/// conversation that is not muted has what arrived while paused answered (inside Meta's
/// 24-hour window; older ones stay listed for a person).
pub async fn set_paused(app: &App, paused: bool) -> Result<(), ActionError> {
    app.stores.takeover.set_paused(paused).await?;
    tracing::info!(paused, "global switch changed from the console");
    if !paused {
        let mut queued = 0;
        for summary in app.stores.log.conversations(RESUME_SCAN).await? {
            let conversation = &summary.conversation;
            if app.stores.takeover.muted(conversation).await?.is_some() {
                continue;
            }
            if let Requeued::Queued(n) = answer_unanswered(app, conversation).await? {
                queued += n;
            }
        }
        tracing::info!(
            queued,
            "assistant resumed; messages received while paused queued"
        );
    }
    Ok(())
}
