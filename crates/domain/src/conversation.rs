//! Identity of a conversation.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// Start of the store scopes the service keeps for itself (admin sessions, login attempts,
/// the embedding cache). [`ConversationId::parse`] refuses every id that starts with it,
/// so nothing that names a conversation — a webhook sender, an admin URL, a stored
/// value — can read, list or delete those scopes; only [`ConversationId::reserved`] makes
/// one.
pub const RESERVED_PREFIX: &str = "inkdesk-";

/// Identifies one customer conversation: on Instagram, the customer's scoped id (IGSID).
///
/// It is bound by the server from the webhook's sender; the model never supplies it.
/// Only ASCII letters, digits, `-`, `_` and `.` are allowed (1–128 chars) so it is safe
/// inside store keys and file names, and ids starting with [`RESERVED_PREFIX`] are the
/// service's own store scopes, never a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConversationId(String);

impl ConversationId {
    /// Validates and wraps a conversation id; a reserved scope's id is refused.
    pub fn parse(raw: impl Into<String>) -> Result<Self, ValidationError> {
        let raw = raw.into();
        if raw.starts_with(RESERVED_PREFIX) {
            return Err(ValidationError::ConversationId);
        }
        Self::checked(raw)
    }

    /// The reserved store scope `inkdesk-{name}`, for the service's own values.
    pub fn reserved(name: &str) -> Result<Self, ValidationError> {
        Self::checked(format!("{RESERVED_PREFIX}{name}"))
    }

    /// True for a reserved store scope (made by [`ConversationId::reserved`]).
    pub fn is_reserved(&self) -> bool {
        self.0.starts_with(RESERVED_PREFIX)
    }

    fn checked(raw: String) -> Result<Self, ValidationError> {
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

    #[test]
    fn reserved_scopes_cannot_be_named_as_conversations() {
        let sessions = ConversationId::reserved("admin-sessions").unwrap();
        assert_eq!(sessions.as_str(), "inkdesk-admin-sessions");
        assert!(sessions.is_reserved());
        assert!(ConversationId::parse("inkdesk-admin-sessions").is_err());
        assert!(ConversationId::parse("inkdesk-").is_err());
        assert!(
            ConversationId::try_from(String::from("inkdesk-tone-cache")).is_err(),
            "not through serde's `try_from` either"
        );
        assert!(!ConversationId::parse("1784140000").unwrap().is_reserved());
        assert!(ConversationId::parse("xinkdesk-a").is_ok());
        assert!(ConversationId::reserved("a b").is_err());
    }
}
