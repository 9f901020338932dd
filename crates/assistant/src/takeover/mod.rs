//! Events that need no turn: the webhook path asks these functions what to do.
//!
//! - A studio echo (a message the studio account sent) whose id is not in the outbox was
//!   typed by a person in the Instagram app: mute the bot for the profile's takeover time.
//! - A ❤ reaction by the studio account on a customer's message: mute likewise.
//! - A reaction by the customer on one of our messages: customer input (it may confirm a
//!   pending cancel/reschedule), queued like a message so a turn answers it.
//!
//! [`customer_message`] converts a parsed webhook event into the engine's
//! [`CustomerMessage`] (serialisable, so the inbox can store it as it is).

use inkdesk_domain::StudioProfile;
use inkdesk_messaging::InboundEvent;
use inkdesk_messaging::inbound::{
    AttachmentKind as WireKind, EventKind, MessageContext, ReactionAction, ReplyTo,
};

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
                || reaction
                    .emoji
                    .as_deref()
                    .is_some_and(|e| e.starts_with('❤') || e.starts_with('♥'));
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
