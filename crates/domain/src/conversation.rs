//! Identity of a conversation.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// Identifies one customer conversation: on Instagram, the customer's scoped id (IGSID).
///
/// It is bound by the server from the webhook's sender; the model never supplies it.
/// Only ASCII letters, digits, `-`, `_` and `.` are allowed (1–128 chars) so it is safe
/// inside store keys and file names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConversationId(String);

impl ConversationId {
    /// Validates and wraps a conversation id.
    pub fn parse(raw: impl Into<String>) -> Result<Self, ValidationError> {
        let raw = raw.into();
        let ok = !raw.is_empty()
            && raw.len() <= 128
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if ok {
            Ok(Self(raw))
        } else {
            Err(ValidationError::ConversationId)
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConversationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ConversationId {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<ConversationId> for String {
    fn from(value: ConversationId) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_instagram_scoped_ids_and_rejects_key_breaking_text() {
        assert!(ConversationId::parse("1234567890123456").is_ok());
        assert!(ConversationId::parse("chat-local_1.x").is_ok());
        for bad in ["", "a b", "a:b", "{x}", "ένα", &"9".repeat(129)] {
            assert!(ConversationId::parse(bad).is_err(), "{bad:?}");
        }
    }
}
