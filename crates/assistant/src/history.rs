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

/// Where the history window starts when `len` entries exist and at most `limit` are shown,
/// dropping old entries `block` at a time.
///
/// A window that slides by one exchange every turn changes the start of the history on
/// every call, so the provider's prompt cache keeps only the system prompt and tools. Sliding
/// in blocks keeps the window's start fixed for `block` entries (about `block / 2` turns),
/// and the whole history stays a cached prefix in between. The window holds between
/// `limit - block + 1` and `limit` entries once it slides.
pub fn window_start(len: usize, limit: usize, block: usize) -> usize {
    if len <= limit {
        return 0;
    }
    let block = block.clamp(1, limit.max(1));
    (len - limit).div_ceil(block) * block
}

#[cfg(test)]
mod tests {
    use super::window_start;

    #[test]
    fn the_window_start_moves_in_blocks_and_never_shows_more_than_the_limit() {
        assert_eq!(window_start(0, 20, 10), 0);
        assert_eq!(window_start(20, 20, 10), 0);
        // 21..=30 entries: the oldest 10 go at once, and stay gone until 31.
        assert_eq!(window_start(21, 20, 10), 10);
        assert_eq!(window_start(30, 20, 10), 10);
        assert_eq!(window_start(31, 20, 10), 20);
        for len in 0..200 {
            let start = window_start(len, 20, 10);
            assert!(len - start <= 20, "{len}");
            assert!(len <= 20 || len - start >= 11, "{len}");
        }
        // A block of 1 is the old one-by-one window.
        assert_eq!(window_start(25, 20, 1), 5);
        assert_eq!(window_start(5, 0, 10), 5);
    }
}
