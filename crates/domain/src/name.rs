//! Customer names in any script.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// A customer's name: letters of any script (accented Greek capitals included), combining
/// accents, spaces, apostrophes, hyphens and dots; 2–100 characters after trimming, with
/// runs of spaces collapsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CustomerName(String);

impl CustomerName {
    /// The shortest accepted name in characters.
    pub const MIN_CHARS: usize = 2;
    /// The longest accepted name in characters.
    pub const MAX_CHARS: usize = 100;

    /// Validates and normalises a name.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        let chars = name.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&chars) {
            return Err(ValidationError::NameLength);
        }
        let allowed = |c: char| {
            c.is_alphabetic()
                || is_combining_accent(c)
                || matches!(c, ' ' | '\'' | '’' | '-' | '‐' | '.')
        };
        if !name.chars().all(allowed) || !name.chars().any(char::is_alphabetic) {
            return Err(ValidationError::NameCharacters);
        }
        Ok(Self(name))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Combining diacritical marks (U+0300–U+036F), as typed by keyboards that send an accent
/// separately from its letter.
fn is_combining_accent(c: char) -> bool {
    ('\u{0300}'..='\u{036F}').contains(&c)
}

impl fmt::Display for CustomerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CustomerName {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CustomerName> for String {
    fn from(value: CustomerName) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_greek_and_latin_scripts_are_accepted() {
        for (raw, expected) in [
            ("Γιάννης Παπαδόπουλος", "Γιάννης Παπαδόπουλος"),
            ("John Smith", "John Smith"),
            ("Mary-Jane Watson", "Mary-Jane Watson"),
            ("  John Doe  ", "John Doe"),
            ("Νίκος Α.", "Νίκος Α."),
            ("Ευγενία-Μαρία", "Ευγενία-Μαρία"),
            ("Άννα Παπά", "Άννα Παπά"),
            ("Έλενα", "Έλενα"),
            ("O'Brien", "O'Brien"),
            ("José", "José"),
            ("Jose\u{0301}", "Jose\u{0301}"),
            ("John   Doe", "John Doe"),
        ] {
            assert_eq!(CustomerName::parse(raw).unwrap().as_str(), expected);
        }
    }

    #[test]
    fn empty_short_long_and_symbol_names_are_refused() {
        assert_eq!(CustomerName::parse(""), Err(ValidationError::NameLength));
        assert_eq!(CustomerName::parse("J"), Err(ValidationError::NameLength));
        let long = "a".repeat(101);
        assert_eq!(CustomerName::parse(&long), Err(ValidationError::NameLength));
        assert!(CustomerName::parse(&"a".repeat(100)).is_ok());
        assert_eq!(
            CustomerName::parse("John@Doe"),
            Err(ValidationError::NameCharacters)
        );
        assert_eq!(
            CustomerName::parse("John 2"),
            Err(ValidationError::NameCharacters)
        );
        assert_eq!(
            CustomerName::parse("--"),
            Err(ValidationError::NameCharacters)
        );
    }
}
