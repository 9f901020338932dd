//! The studio's own past replies as tone examples: the [`ToneSource`] port the engine asks
//! for examples similar to a customer's burst, implemented for inkdesk-tone's
//! [`ToneRetriever`].
//!
//! The examples go at the very end of the first request (after the per-turn context and
//! the customer's burst), so the stable system prompt and the history stay a cacheable
//! prefix. Retrieval is an extra: `None` (retrieval off) never changes anything else.

use async_trait::async_trait;
use inkdesk_tone::ToneRetriever;
pub use inkdesk_tone::{ToneHit, render_tone_section};

/// Finds the studio's past exchanges most similar to a customer's burst.
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait ToneSource: Send + Sync {
    /// The examples to show, best first. `None` means retrieval is off for this turn (the
    /// implementation logs why); `Some(empty)` means nothing was similar enough.
    async fn similar(&self, burst: &str) -> Option<Vec<ToneHit>>;
}

#[async_trait]
impl ToneSource for ToneRetriever {
    async fn similar(&self, burst: &str) -> Option<Vec<ToneHit>> {
        self.retrieve(burst).await
    }
}
