//! The public, closed set of inbound events, free of Meta's wire shapes.

use chrono::{DateTime, Utc};
use inkdesk_domain::ConversationId;

/// One thing that happened in an Instagram conversation, as delivered by a webhook call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundEvent {
    /// Who caused the event: the customer, or the studio account for echoes and studio reactions.
    pub sender_id: String,
    /// The other side of the event.
    pub recipient_id: String,
    /// The conversation this event belongs to: the customer's IGSID (the sender for customer
    /// events, the recipient for echoes and anything else the studio account did).
    pub conversation: ConversationId,
    /// When Meta says it happened.
    pub timestamp: DateTime<Utc>,
    /// True when the event came in the `standby` array: another app owns the thread, so we
    /// record it but should not answer.
    pub standby: bool,
    /// What happened.
    pub kind: EventKind,
}

impl InboundEvent {
    /// The customer's IGSID: the conversation this event belongs to.
    pub fn conversation_id(&self) -> &ConversationId {
        &self.conversation
    }

    /// True when the studio account caused the event (an echo, a studio reaction, …).
    /// An echo always is, whichever way round its sender and recipient are written.
    pub fn is_from_studio(&self) -> bool {
        matches!(self.kind, EventKind::Echo(_)) || self.sender_id != self.conversation.as_str()
    }

    /// The id of the message this event *is* (not the one it points at), when it has one.
    pub fn message_id(&self) -> Option<&str> {
        match &self.kind {
            EventKind::Text(m) => Some(&m.mid),
            EventKind::Attachments(m) => Some(&m.mid),
            EventKind::QuickReply(m) => Some(&m.mid),
            EventKind::Echo(m) => Some(&m.mid),
            EventKind::Postback(p) => p.mid.as_deref(),
            EventKind::Reaction(_)
            | EventKind::Seen(_)
            | EventKind::Deleted(_)
            | EventKind::Edited(_)
            | EventKind::Referral(_)
            | EventKind::Unknown(_) => None,
        }
    }

    /// A key that is equal for redeliveries of the same event and different otherwise; use
    /// it for deduplication. Message-like events use their mid; the rest combine kind, sender,
    /// target and timestamp.
    pub fn dedupe_key(&self) -> String {
        if let Some(mid) = self.message_id() {
            return format!("mid:{mid}");
        }
        let ms = self.timestamp.timestamp_millis();
        let who = &self.sender_id;
        match &self.kind {
            EventKind::Reaction(r) => {
                let action = match r.action {
                    ReactionAction::React => "react",
                    ReactionAction::Unreact => "unreact",
                };
                format!("reaction:{who}:{}:{action}:{ms}", r.target_mid)
            }
            EventKind::Seen(s) => format!("seen:{who}:{}:{ms}", s.mid.as_deref().unwrap_or("")),
            EventKind::Deleted(d) => format!("deleted:{}", d.mid),
            // Each edit has its own number; a redelivery repeats it.
            EventKind::Edited(e) => format!("edited:{}:{}:{ms}", e.mid, e.num_edit.unwrap_or(0)),
            EventKind::Referral(_) => format!("referral:{who}:{ms}"),
            EventKind::Postback(_) => format!("postback:{who}:{ms}"),
            EventKind::Unknown(u) => format!("unknown:{}:{who}:{ms}", u.kind),
            EventKind::Text(_)
            | EventKind::Attachments(_)
            | EventKind::QuickReply(_)
            | EventKind::Echo(_) => format!("event:{who}:{ms}"),
        }
    }
}

/// What an [`InboundEvent`] is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// A customer's text message.
    Text(TextMessage),
    /// A customer's message carrying attachments (images, videos, shares, story mentions, …),
    /// possibly with text.
    Attachments(AttachmentMessage),
    /// The customer tapped a quick reply we offered.
    QuickReply(QuickReply),
    /// The customer tapped a button (or an ice breaker).
    Postback(Postback),
    /// Someone reacted to a message, or took a reaction back.
    Reaction(Reaction),
    /// A message sent *from* the studio account — by inkdesk or by a person in the Instagram
    /// app. Which one is decided later against the outbox.
    Echo(Echo),
    /// The reader has seen messages up to `mid`.
    Seen(Seen),
    /// The sender deleted (unsent) a message.
    Deleted(Deleted),
    /// The sender changed the text of an earlier message (webhook field `message_edit`).
    Edited(Edited),
    /// The customer arrived from an ad, a link or another referral source without a message.
    Referral(Referral),
    /// An event kind we do not know. Logged and kept so nothing is silently lost.
    Unknown(Unknown),
}

/// Context a customer message may carry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageContext {
    /// The message or story this one replies to.
    pub reply_to: Option<ReplyTo>,
    /// The ad or link that started the conversation, when Meta attached one.
    pub referral: Option<Referral>,
}

/// What a message replies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyTo {
    /// An earlier message in the thread.
    Message {
        /// Its message id.
        mid: String,
    },
    /// One of the studio's stories. The URL is kept for the human; it expires.
    Story {
        /// CDN URL of the story media, when given.
        url: Option<String>,
        /// The story's id, when given.
        id: Option<String>,
    },
}

/// A customer's text message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextMessage {
    /// Message id (dedupe key, reply target).
    pub mid: String,
    /// The text as sent.
    pub text: String,
    /// Reply and referral context.
    pub context: MessageContext,
}

/// A customer's message with attachments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentMessage {
    /// Message id.
    pub mid: String,
    /// The attachments, in the order sent; never empty.
    pub attachments: Vec<Attachment>,
    /// Text sent along, if any.
    pub text: Option<String>,
    /// Reply and referral context.
    pub context: MessageContext,
}

/// One attachment of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// What it is.
    pub kind: AttachmentKind,
    /// Where to fetch it (CDN URLs expire); absent for unsupported content.
    pub url: Option<String>,
}

/// Kinds of attachment Instagram sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachmentKind {
    /// A photo.
    Image,
    /// A video.
    Video,
    /// A voice note or audio clip.
    Audio,
    /// A file.
    File,
    /// A shared post.
    Share,
    /// The customer mentioned the studio in their story.
    StoryMention,
    /// A shared reel (`ig_reel` or `reel`).
    Reel,
    /// Content Instagram does not expose to the API, or a type we do not know; the raw type
    /// name is kept for logs.
    Unsupported(String),
}

/// A quick-reply tap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuickReply {
    /// Message id.
    pub mid: String,
    /// The quick reply's visible title.
    pub text: String,
    /// The payload we attached to the quick reply.
    pub payload: String,
    /// Reply and referral context.
    pub context: MessageContext,
}

/// A button or ice-breaker tap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Postback {
    /// Message id, when Meta sends one.
    pub mid: Option<String>,
    /// The button's title.
    pub title: Option<String>,
    /// The payload we attached to the button.
    pub payload: String,
}

/// Whether a reaction was added or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReactionAction {
    /// A reaction was added.
    React,
    /// A reaction was removed.
    Unreact,
}

/// A reaction on a message. `sender_id` of the event says who reacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    /// Added or removed.
    pub action: ReactionAction,
    /// The message reacted to.
    pub target_mid: String,
    /// Meta's name for the reaction (`love`, `other`, …); absent on unreact.
    pub reaction: Option<String>,
    /// The emoji itself (`❤`); absent on unreact.
    pub emoji: Option<String>,
}

/// A message sent from the studio account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Echo {
    /// Message id: compare against the outbox to tell inkdesk's messages from a human's.
    pub mid: String,
    /// The text, if it was a text message.
    pub text: Option<String>,
    /// Attachments the studio sent.
    pub attachments: Vec<Attachment>,
}

/// A read receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The last message seen, when given.
    pub mid: Option<String>,
}

/// A deleted (unsent) message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    /// The message that was deleted.
    pub mid: String,
}

/// An edited message: `text` replaces the message's earlier text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    /// The message that was edited.
    pub mid: String,
    /// Its new text, in full.
    pub text: String,
    /// How many times it has been edited so far, when Meta says.
    pub num_edit: Option<u32>,
}

/// Where a customer came from (ad, `ig.me` link, …).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Referral {
    /// The `ref` parameter of the link, when there was one.
    pub reference: Option<String>,
    /// Meta's source name (`ADS`, `SHORTLINK`, …).
    pub source: Option<String>,
    /// Meta's referral type (`OPEN_THREAD`, …).
    pub kind: Option<String>,
    /// The ad id, for ad referrals.
    pub ad_id: Option<String>,
}

/// An event of a kind this crate does not model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    /// The event's key in Meta's JSON (for example `message_edit`), or a short description of
    /// why a known kind could not be read.
    pub kind: String,
}
