//! `parse_webhook`: one webhook body in, every event of every entry out.

use chrono::{DateTime, Utc};
use inkdesk_domain::ConversationId;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::event::{
    Attachment, AttachmentKind, AttachmentMessage, Deleted, Echo, Edited, EventKind, InboundEvent,
    MessageContext, Postback, QuickReply, Reaction, ReactionAction, Referral, ReplyTo, Seen,
    TextMessage, Unknown,
};
use super::wire::{
    WireAttachment, WireMessage, WireMessageEdit, WirePostback, WireReaction, WireRead,
    WireReferral, WireReplyTo,
};

/// Largest webhook body we accept. Meta's batches are a few kilobytes; the server should
/// enforce the same limit before reading the body.
pub const MAX_WEBHOOK_BODY_BYTES: usize = 1024 * 1024;

/// Why a webhook body could not be read at all. Every variant means "answer 400".
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The body is not JSON, or not a JSON object.
    #[error("the webhook body is not a JSON object")]
    MalformedJson(#[source] serde_json::Error),
    /// The body is larger than [`MAX_WEBHOOK_BODY_BYTES`].
    #[error("the webhook body is larger than {limit} bytes")]
    TooLarge {
        /// The limit that was exceeded.
        limit: usize,
    },
}

/// Which array of an entry an event came from.
#[derive(Clone, Copy)]
enum Channel {
    Messaging,
    Standby,
}

/// Parses a webhook body into events, in the order Meta sent them.
///
/// - every entry and every event of the batch, from both `messaging` and `standby`;
/// - entries whose `id` is not `account_id` (the Instagram account id Meta puts in
///   `entry[].id`) are skipped and logged; an empty `account_id` (not configured) accepts
///   every entry and takes each entry's own `id` as the studio's account;
/// - events whose kind is unknown, or whose known kind cannot be read, become
///   [`EventKind::Unknown`] (logged), never an error;
/// - events without usable sender/recipient ids are dropped and logged (they cannot be
///   attributed to a conversation);
/// - only a body that is not a JSON object is an error.
pub fn parse_webhook(raw: &[u8], account_id: &str) -> Result<Vec<InboundEvent>, ParseError> {
    if raw.len() > MAX_WEBHOOK_BODY_BYTES {
        return Err(ParseError::TooLarge {
            limit: MAX_WEBHOOK_BODY_BYTES,
        });
    }
    let root: Map<String, Value> =
        serde_json::from_slice(raw).map_err(ParseError::MalformedJson)?;
    if let Some(object) = root.get("object").and_then(Value::as_str)
        && object != "instagram"
    {
        tracing::warn!(object, "webhook object is not `instagram`; parsing anyway");
    }
    let Some(entries) = root.get("entry").and_then(Value::as_array) else {
        tracing::warn!("webhook body has no `entry` array");
        return Ok(Vec::new());
    };

    let mut events = Vec::new();
    for entry in entries {
        let Some(entry) = entry.as_object() else {
            tracing::warn!("webhook entry is not an object; skipped");
            continue;
        };
        let entry_id = entry.get("id").and_then(scalar_string);
        // With no configured account, each entry speaks for the account it names.
        let account_id = match entry_id.as_deref() {
            Some(id) if account_id.is_empty() || id == account_id => id,
            _ => {
                tracing::info!(
                    entry_id = entry_id.as_deref().unwrap_or("<none>"),
                    "webhook entry for another account; skipped"
                );
                continue;
            }
        };
        let entry_time = entry.get("time").and_then(parse_timestamp);
        for (key, channel) in [
            ("messaging", Channel::Messaging),
            ("standby", Channel::Standby),
        ] {
            let Some(list) = entry.get(key) else { continue };
            let Some(list) = list.as_array() else {
                tracing::warn!(key, "webhook entry field is not an array; skipped");
                continue;
            };
            for raw_event in list {
                if let Some(event) = parse_event(raw_event, account_id, entry_time, channel) {
                    events.push(event);
                }
            }
        }
        for key in entry.keys() {
            if !matches!(key.as_str(), "id" | "time" | "messaging" | "standby") {
                tracing::info!(
                    key = key.as_str(),
                    "webhook entry field not handled; ignored"
                );
            }
        }
    }
    Ok(events)
}

fn parse_event(
    raw: &Value,
    account_id: &str,
    entry_time: Option<DateTime<Utc>>,
    channel: Channel,
) -> Option<InboundEvent> {
    let Some(obj) = raw.as_object() else {
        tracing::warn!("webhook event is not an object; skipped");
        return None;
    };
    let id_of = |key: &str| {
        obj.get(key)
            .and_then(Value::as_object)
            .and_then(|o| o.get("id"))
            .and_then(scalar_string)
    };
    let (Some(sender_id), Some(recipient_id)) = (id_of("sender"), id_of("recipient")) else {
        tracing::warn!("webhook event without sender or recipient id; skipped");
        return None;
    };
    let timestamp = obj
        .get("timestamp")
        .and_then(parse_timestamp)
        .or(entry_time)
        .unwrap_or_else(|| {
            tracing::warn!("webhook event without a readable timestamp; using the epoch");
            DateTime::UNIX_EPOCH
        });

    let kind = event_kind(obj);
    if let EventKind::Unknown(u) = &kind {
        tracing::info!(
            kind = u.kind.as_str(),
            "webhook event of unknown kind kept as Unknown"
        );
    }

    let Some(customer) = customer_side(&sender_id, &recipient_id, account_id, &kind) else {
        tracing::warn!("webhook event between the studio's account and itself; skipped");
        return None;
    };
    let conversation = match ConversationId::parse(customer) {
        Ok(c) => c,
        Err(_) => {
            tracing::warn!("webhook event whose customer id is not a valid IGSID; skipped");
            return None;
        }
    };
    Some(InboundEvent {
        sender_id,
        recipient_id,
        conversation,
        timestamp,
        standby: matches!(channel, Channel::Standby),
        kind,
    })
}

/// The customer's id of an event: whichever side is not the studio's account.
///
/// Echoes are studio-sent. Meta's echoes name the studio as sender and the customer as
/// recipient — and some setups put another id of the business in sender, so an echo
/// whose recipient is not the studio belongs to the recipient. Other shapes exist in the
/// wild (Chatwoot's fixtures have the customer as sender and the studio as recipient):
/// an echo addressed to the studio's own account belongs to its sender. Whatever the
/// shape, the studio's own account is never a customer: `None` then.
fn customer_side<'a>(
    sender_id: &'a str,
    recipient_id: &'a str,
    account_id: &str,
    kind: &EventKind,
) -> Option<&'a str> {
    let customer = if matches!(kind, EventKind::Echo(_)) {
        if recipient_id == account_id {
            sender_id
        } else {
            recipient_id
        }
    } else if sender_id == account_id {
        recipient_id
    } else {
        sender_id
    };
    (customer != account_id).then_some(customer)
}

/// Picks the event's kind from the first key we know; otherwise the first key that is not
/// part of the envelope.
fn event_kind(obj: &Map<String, Value>) -> EventKind {
    if let Some(v) = obj.get("message") {
        return typed::<WireMessage>(v, "message").map_or_else(unknown, message_kind);
    }
    if let Some(v) = obj.get("message_edit") {
        return typed::<WireMessageEdit>(v, "message_edit").map_or_else(unknown, edit_kind);
    }
    if let Some(v) = obj.get("reaction") {
        return typed::<WireReaction>(v, "reaction").map_or_else(unknown, reaction_kind);
    }
    if let Some(v) = obj.get("read") {
        return typed::<WireRead>(v, "read")
            .map_or_else(unknown, |r| EventKind::Seen(Seen { mid: r.mid }));
    }
    if let Some(v) = obj.get("postback") {
        return typed::<WirePostback>(v, "postback").map_or_else(unknown, |p| match p.payload {
            Some(payload) => EventKind::Postback(Postback {
                mid: p.mid,
                title: p.title,
                payload,
            }),
            None => unknown("postback without payload".to_owned()),
        });
    }
    if let Some(v) = obj.get("referral") {
        return typed::<WireReferral>(v, "referral")
            .map_or_else(unknown, |r| EventKind::Referral(referral(r)));
    }
    let other = obj
        .keys()
        .find(|k| !matches!(k.as_str(), "sender" | "recipient" | "timestamp"))
        .map_or_else(|| "<empty>".to_owned(), Clone::clone);
    unknown(other)
}

fn unknown(kind: String) -> EventKind {
    EventKind::Unknown(Unknown { kind })
}

/// Deserialises a known sub-object; on failure returns the description for `Unknown`.
fn typed<T: DeserializeOwned>(v: &Value, name: &str) -> Result<T, String> {
    T::deserialize(v).map_err(|e| {
        tracing::warn!(kind = name, error = %e, "webhook event of a known kind could not be read");
        format!("{name} (unreadable)")
    })
}

fn message_kind(m: WireMessage) -> EventKind {
    let Some(mid) = m.mid else {
        return unknown("message without mid".to_owned());
    };
    let attachments: Vec<Attachment> = m
        .attachments
        .unwrap_or_default()
        .into_iter()
        .map(attachment)
        .collect();
    if m.is_deleted {
        return EventKind::Deleted(Deleted { mid });
    }
    if m.is_echo {
        return EventKind::Echo(Echo {
            mid,
            text: m.text,
            attachments,
        });
    }
    let context = MessageContext {
        reply_to: m.reply_to.and_then(reply_to),
        referral: m.referral.map(referral),
    };
    if let Some(payload) = m.quick_reply.and_then(|q| q.payload) {
        return EventKind::QuickReply(QuickReply {
            mid,
            text: m.text.unwrap_or_default(),
            payload,
            context,
        });
    }
    if !attachments.is_empty() || m.is_unsupported {
        let attachments = if attachments.is_empty() {
            vec![Attachment {
                kind: AttachmentKind::Unsupported("is_unsupported".to_owned()),
                url: None,
            }]
        } else {
            attachments
        };
        return EventKind::Attachments(AttachmentMessage {
            mid,
            attachments,
            text: m.text,
            context,
        });
    }
    match m.text {
        Some(text) => EventKind::Text(TextMessage { mid, text, context }),
        None => unknown("message without text or attachments".to_owned()),
    }
}

fn attachment(a: WireAttachment) -> Attachment {
    let raw = a.kind.unwrap_or_default();
    let kind = match raw.as_str() {
        "image" => AttachmentKind::Image,
        "video" => AttachmentKind::Video,
        "audio" => AttachmentKind::Audio,
        "file" => AttachmentKind::File,
        "share" => AttachmentKind::Share,
        "story_mention" => AttachmentKind::StoryMention,
        "ig_reel" | "reel" => AttachmentKind::Reel,
        _ => AttachmentKind::Unsupported(raw),
    };
    Attachment {
        kind,
        url: a.payload.and_then(|p| p.url),
    }
}

fn reply_to(r: WireReplyTo) -> Option<ReplyTo> {
    if let Some(story) = r.story {
        return Some(ReplyTo::Story {
            url: story.url,
            id: story.id,
        });
    }
    r.mid.map(|mid| ReplyTo::Message { mid })
}

fn referral(r: WireReferral) -> Referral {
    Referral {
        reference: r.reference,
        source: r.source,
        kind: r.kind,
        ad_id: r.ad_id,
    }
}

fn edit_kind(e: WireMessageEdit) -> EventKind {
    match (e.mid, e.text) {
        (Some(mid), Some(text)) => EventKind::Edited(Edited {
            mid,
            text,
            num_edit: e.num_edit.and_then(|n| n.trim().parse().ok()),
        }),
        _ => unknown("message_edit without mid or text".to_owned()),
    }
}

fn reaction_kind(r: WireReaction) -> EventKind {
    let action = match r.action.as_deref() {
        Some("react") => ReactionAction::React,
        Some("unreact") => ReactionAction::Unreact,
        other => {
            return unknown(format!(
                "reaction with action {}",
                other.unwrap_or("<none>")
            ));
        }
    };
    let Some(target_mid) = r.mid else {
        return unknown("reaction without mid".to_owned());
    };
    EventKind::Reaction(Reaction {
        action,
        target_mid,
        reaction: r.reaction,
        emoji: r.emoji,
    })
}

fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Epoch numbers at or above this are milliseconds; below, seconds. (10¹¹ s is the year
/// 5138; 10¹¹ ms is March 1973 — neither is a webhook we will receive.)
const MILLIS_THRESHOLD: i64 = 100_000_000_000;

/// Accepts epoch milliseconds (Meta's usual form), epoch seconds, both as numbers or
/// strings, and RFC 3339 / ISO 8601 strings (`+0000` offsets included).
pub(super) fn parse_timestamp(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::Number(n) => {
            let as_int = n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64));
            as_int.and_then(from_epoch)
        }
        Value::String(s) => {
            let s = s.trim();
            if let Ok(n) = s.parse::<i64>() {
                return from_epoch(n);
            }
            DateTime::parse_from_rfc3339(s)
                .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z"))
                .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z"))
                .ok()
                .map(|d| d.with_timezone(&Utc))
        }
        _ => None,
    }
}

fn from_epoch(n: i64) -> Option<DateTime<Utc>> {
    if n <= 0 {
        return None;
    }
    if n >= MILLIS_THRESHOLD {
        DateTime::from_timestamp_millis(n)
    } else {
        DateTime::from_timestamp(n, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps_in_every_form_meta_uses_parse_to_the_same_instant() {
        let want = DateTime::from_timestamp_millis(1_700_000_000_123).unwrap();
        assert_eq!(parse_timestamp(&json!(1_700_000_000_123_i64)), Some(want));
        assert_eq!(parse_timestamp(&json!("1700000000123")), Some(want));
        assert_eq!(
            parse_timestamp(&json!("2023-11-14T22:13:20.123Z")),
            Some(want)
        );
        assert_eq!(
            parse_timestamp(&json!("2023-11-14T22:13:20.123+0000")),
            Some(want)
        );
        let secs = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        assert_eq!(parse_timestamp(&json!(1_700_000_000)), Some(secs));
        assert_eq!(
            parse_timestamp(&json!("2023-11-14T22:13:20+0000")),
            Some(secs)
        );
        for bad in [
            json!(null),
            json!("soon"),
            json!(-5),
            json!(0),
            json!([1]),
            json!(1e300),
        ] {
            assert_eq!(parse_timestamp(&bad), None, "{bad}");
        }
    }
}
