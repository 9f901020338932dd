//! Meta's webhook JSON, as serde types. Private: converted to [`super::event`] types at once.
//!
//! Every field is optional and unknown fields are ignored, so a shape change on Meta's side
//! degrades to an `Unknown` event rather than an error. Ids are accepted as strings or numbers.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// An id or scalar that Meta usually sends as a string but which may arrive as a number.
pub(super) fn lenient_string<'de, D>(de: D) -> Result<Option<String>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(match Value::deserialize(de)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// The `message` object of a messaging event (customer message or echo).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct WireMessage {
    #[serde(deserialize_with = "lenient_string")]
    pub mid: Option<String>,
    pub text: Option<String>,
    pub attachments: Option<Vec<WireAttachment>>,
    pub is_echo: bool,
    pub is_deleted: bool,
    pub is_unsupported: bool,
    pub quick_reply: Option<WireQuickReply>,
    pub reply_to: Option<WireReplyTo>,
    pub referral: Option<WireReferral>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct WireAttachment {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub payload: Option<WireAttachmentPayload>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct WireAttachmentPayload {
    pub url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct WireQuickReply {
    #[serde(deserialize_with = "lenient_string")]
    pub payload: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct WireReplyTo {
    #[serde(deserialize_with = "lenient_string")]
    pub mid: Option<String>,
    pub story: Option<WireStory>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct WireStory {
    pub url: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct WireReferral {
    #[serde(rename = "ref", deserialize_with = "lenient_string")]
    pub reference: Option<String>,
    pub source: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub ad_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct WireReaction {
    #[serde(deserialize_with = "lenient_string")]
    pub mid: Option<String>,
    pub action: Option<String>,
    pub reaction: Option<String>,
    pub emoji: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct WireRead {
    #[serde(deserialize_with = "lenient_string")]
    pub mid: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct WirePostback {
    #[serde(deserialize_with = "lenient_string")]
    pub mid: Option<String>,
    pub title: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub payload: Option<String>,
}

/// The `message_edit` object: a customer changed the text of an earlier message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct WireMessageEdit {
    #[serde(deserialize_with = "lenient_string")]
    pub mid: Option<String>,
    pub text: Option<String>,
    /// Documented as an integer; the documentation's own example writes it as a string.
    #[serde(deserialize_with = "lenient_string")]
    pub num_edit: Option<String>,
}
