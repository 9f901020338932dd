//! Earlier turns of a conversation as the model sees them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Who spoke in an earlier turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    /// The customer (a combined burst).
    Customer,
    /// inkdesk.
    Assistant,
    /// A person from the studio, replying in the Instagram app.
    Staff,
}

/// One earlier turn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Who spoke.
    pub speaker: Speaker,
    /// What was said (for the customer, the combined burst with its context lines).
    pub text: String,
    /// When.
    pub at: DateTime<Utc>,
}

impl HistoryEntry {
    /// A customer turn.
    pub fn customer(text: impl Into<String>, at: DateTime<Utc>) -> Self {
        Self {
            speaker: Speaker::Customer,
            text: text.into(),
            at,
        }
    }

    /// An assistant turn.
    pub fn assistant(text: impl Into<String>, at: DateTime<Utc>) -> Self {
        Self {
            speaker: Speaker::Assistant,
            text: text.into(),
            at,
        }
    }
}
