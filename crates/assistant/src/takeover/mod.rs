//! Events that need no turn: the webhook path asks these functions what to do.
//!
//! - A studio echo (a message the studio account sent) whose id is not in the outbox was
//!   typed by a person in the Instagram app: mute the bot for the profile's takeover time.
//! - A ❤ reaction by the studio account on a customer's message: mute likewise.
//! - A reaction by the customer: recorded like a message, but it starts a turn only when it
//!   is the ❤ on the question of a pending cancel/reschedule ([`reaction_starts_turn`]) —
//!   that ❤ means yes. Any other reaction needs no answer and never costs a model call.
//!
//! [`customer_message`] converts a parsed webhook event into the engine's
//! [`CustomerMessage`] (serialisable, so the inbox can store it as it is).

use inkdesk_domain::StudioProfile;
use inkdesk_messaging::InboundEvent;
use inkdesk_messaging::inbound::{
    AttachmentKind as WireKind, EventKind, MessageContext, ReactionAction, ReplyTo,
};

use chrono::{DateTime, Utc};

use crate::confirm::PendingConfirmation;
use crate::message::{AttachmentInfo, AttachmentKind, CustomerMessage, ReactionInfo, ReplyContext};

/// Why the bot goes silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MuteCause {
    /// A person replied from the Instagram app.
    StudioEcho,
    /// The studio reacted with a heart to a customer's message.
    StudioReaction,
}

/// What to do with an event.
#[derive(Debug, Clone, PartialEq)]
pub enum EventDecision {
    /// Nothing (read receipts, our own echoes, unreactions, unknown kinds).
    Ignore,
    /// Mute the conversation for `minutes`.
    Mute {
        /// The profile's takeover time.
        minutes: u32,
        /// Why.
        cause: MuteCause,
    },
    /// Record and queue this customer input for a turn.
    Customer(Box<CustomerMessage>),
}

/// Decides what an event means. `sent_by_us` tells whether an echo's id is in the outbox;
/// `target_text` is the text of the message a reaction targets, when the log has it.
pub fn decide(
    event: &InboundEvent,
    profile: &StudioProfile,
    sent_by_us: impl FnOnce(&str) -> bool,
    target_text: Option<String>,
) -> EventDecision {
    let mute = |cause| EventDecision::Mute {
        minutes: profile.conversation.takeover_mute_minutes,
        cause,
    };
    match &event.kind {
        EventKind::Echo(echo) => {
            if sent_by_us(&echo.mid) {
                EventDecision::Ignore
            } else {
                mute(MuteCause::StudioEcho)
            }
        }
        EventKind::Reaction(reaction) => {
            if reaction.action != ReactionAction::React {
                return EventDecision::Ignore;
            }
            let heart = reaction.reaction.as_deref() == Some("love")
                || reaction.emoji.as_deref().is_some_and(is_heart);
            if event.is_from_studio() {
                return if heart {
                    mute(MuteCause::StudioReaction)
                } else {
                    EventDecision::Ignore
                };
            }
            EventDecision::Customer(Box::new(CustomerMessage {
                mid: format!(
                    "reaction-{}-{}",
                    reaction.target_mid,
                    event.timestamp.timestamp_millis()
                ),
                sent_at: event.timestamp,
                text: None,
                reply_to: None,
                attachments: Vec::new(),
                reaction: Some(ReactionInfo {
                    target_mid: reaction.target_mid.clone(),
                    emoji: reaction.emoji.clone().unwrap_or_else(|| "❤".to_owned()),
                    target_text,
                }),
            }))
        }
        _ if event.is_from_studio() => EventDecision::Ignore,
        _ => customer_message(event).map_or(EventDecision::Ignore, |m| {
            EventDecision::Customer(Box::new(m))
        }),
    }
}

/// Whether `emoji` is a heart (❤, ❤️, ♥).
pub fn is_heart(emoji: &str) -> bool {
    emoji.starts_with('❤') || emoji.starts_with('♥')
}

/// Whether a customer's message needs a turn of the assistant. Everything does except a
/// reaction, which needs one only when it is a ❤ on a message that asked the still-pending
/// cancel/reschedule question (`pending`, not expired at `now`): that ❤ is the customer's
/// yes. The reaction is recorded either way.
pub fn reaction_starts_turn(
    message: &CustomerMessage,
    pending: Option<&PendingConfirmation>,
    now: DateTime<Utc>,
) -> bool {
    let Some(reaction) = &message.reaction else {
        return true;
    };
    is_heart(&reaction.emoji)
        && pending
            .is_some_and(|p| p.expires_at > now && p.question_mids.contains(&reaction.target_mid))
}

/// The engine's view of a customer's message event (text, attachments, quick reply,
/// postback); `None` for other kinds.
pub fn customer_message(event: &InboundEvent) -> Option<CustomerMessage> {
    let (mid, text, attachments, context) = match &event.kind {
        EventKind::Text(m) => (
            m.mid.clone(),
            Some(m.text.clone()),
            &[][..],
            Some(&m.context),
        ),
        EventKind::Attachments(m) => (
            m.mid.clone(),
            m.text.clone(),
            &m.attachments[..],
            Some(&m.context),
        ),
        EventKind::QuickReply(q) => (
            q.mid.clone(),
            Some(q.text.clone()),
            &[][..],
            Some(&q.context),
        ),
        EventKind::Postback(p) => (
            p.mid
                .clone()
                .unwrap_or_else(|| format!("postback-{}", event.timestamp.timestamp_millis())),
            Some(p.title.clone().unwrap_or_else(|| p.payload.clone())),
            &[][..],
            None,
        ),
        _ => return None,
    };
    Some(CustomerMessage {
        mid,
        sent_at: event.timestamp,
        text,
        reply_to: context.and_then(reply_context),
        attachments: attachments
            .iter()
            .map(|a| AttachmentInfo {
                kind: match a.kind {
                    WireKind::Image => AttachmentKind::Image,
                    WireKind::Video => AttachmentKind::Video,
                    WireKind::Audio => AttachmentKind::Audio,
                    WireKind::File => AttachmentKind::File,
                    WireKind::Share => AttachmentKind::Share,
                    WireKind::StoryMention => AttachmentKind::StoryMention,
                    WireKind::Reel => AttachmentKind::Reel,
                    WireKind::Unsupported(_) => AttachmentKind::Other,
                },
                url: a.url.clone(),
                analysis: None,
                transcript: None,
            })
            .collect(),
        reaction: None,
    })
}

fn reply_context(context: &MessageContext) -> Option<ReplyContext> {
    match &context.reply_to {
        Some(ReplyTo::Message { mid }) => Some(ReplyContext::Message {
            mid: mid.clone(),
            quoted: None,
        }),
        Some(ReplyTo::Story { url, .. }) => Some(ReplyContext::Story { url: url.clone() }),
        None => None,
    }
}

#[cfg(test)]
mod tests;
