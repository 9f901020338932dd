//! Calendar event ids and sanitised free text.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// A calendar event id in Google's form: base32hex characters `[a-v0-9]`, 5–1024 long.
/// The embedded calendar issues ids of the same form, so one check covers both.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventId(String);

impl EventId {
    /// Validates an event id.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let raw = raw.trim();
        let ok = (5..=1024).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'v').contains(&b));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValidationError::EventId)
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for EventId {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EventId> for String {
    fn from(value: EventId) -> Self {
        value.0
    }
}

/// Free text from a customer or the model (a design note, say): control characters other
/// than newlines and tabs removed, trimmed, 1–1000 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FreeText(String);

impl FreeText {
    /// The longest accepted text in characters.
    pub const MAX_CHARS: usize = 1000;

    /// Sanitises and validates text.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let cleaned: String = raw
            .chars()
            .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
            .collect();
        let text = cleaned.trim();
        let chars = text.chars().count();
        if chars == 0 || chars > Self::MAX_CHARS {
            return Err(ValidationError::TextLength {
                max: Self::MAX_CHARS,
            });
        }
        Ok(Self(text.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FreeText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for FreeText {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<FreeText> for String {
    fn from(value: FreeText) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_follow_googles_base32hex_alphabet() {
        assert!(EventId::parse("abcdv01234").is_ok());
        assert!(EventId::parse(&"a".repeat(1024)).is_ok());
        for bad in [
            "abcd",
            "abcdw1234",
            "ABCDE12345",
            "abc-def-12",
            "",
            &"a".repeat(1025),
        ] {
            assert_eq!(
                EventId::parse(bad),
                Err(ValidationError::EventId),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn free_text_is_trimmed_cleaned_and_bounded() {
        assert_eq!(
            FreeText::parse("  rose\u{0007} on wrist\n ")
                .unwrap()
                .as_str(),
            "rose on wrist"
        );
        assert_eq!(FreeText::parse("α\nβ").unwrap().as_str(), "α\nβ");
        assert!(FreeText::parse("   ").is_err());
        assert!(FreeText::parse(&"λ".repeat(1000)).is_ok());
        assert!(FreeText::parse(&"λ".repeat(1001)).is_err());
    }
}
