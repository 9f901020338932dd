//! Inbound webhook events: Meta's JSON in, [`InboundEvent`]s out.
//!
//! `wire` holds Meta's shapes (private); `event` the public closed enum; `parse` the
//! conversion, which never panics and turns anything unexpected into `Unknown` or a log line.

mod event;
mod parse;
mod wire;

pub use event::{
    Attachment, AttachmentKind, AttachmentMessage, Deleted, Echo, Edited, EventKind, InboundEvent,
    MessageContext, Postback, QuickReply, Reaction, ReactionAction, Referral, ReplyTo, Seen,
    TextMessage, Unknown,
};
pub use parse::{MAX_WEBHOOK_BODY_BYTES, ParseError, parse_webhook};
