//! Holds on offered slots, as the engine needs them.
//!
//! The store crate owns the durable, atomic, capacity-aware holds; this narrow port is what
//! the engine calls, so the store's adapters plug in with a few lines and the engine's tests
//! run on [`MemoryOfferHolds`].

use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use inkdesk_calendar::Interval;
use inkdesk_domain::ConversationId;

/// The hold store failed.
#[derive(Debug, thiserror::Error)]
#[error("slot holds unavailable")]
pub struct HoldError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// Holds of offered slots per conversation.
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait OfferHolds: Send + Sync {
    /// Holds `slots` for `conversation` until `now + ttl` (replacing its earlier holds on
    /// the same slots).
    async fn hold(
        &self,
        conversation: &ConversationId,
        slots: &[Interval],
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<(), HoldError>;

    /// Active holds of every *other* conversation overlapping `range`.
    async fn held_by_others(
        &self,
        conversation: &ConversationId,
        range: Interval,
        now: DateTime<Utc>,
    ) -> Result<Vec<Interval>, HoldError>;

    /// Drops the conversation's holds (after it booked).
    async fn release(&self, conversation: &ConversationId) -> Result<(), HoldError>;
}

/// Holds in process memory.
#[derive(Debug, Default)]
pub struct MemoryOfferHolds {
    holds: Mutex<Vec<(ConversationId, Interval, DateTime<Utc>)>>,
}

impl MemoryOfferHolds {
    /// No holds.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl OfferHolds for MemoryOfferHolds {
    async fn hold(
        &self,
        conversation: &ConversationId,
        slots: &[Interval],
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<(), HoldError> {
        let mut holds = self.holds.lock().unwrap_or_else(PoisonError::into_inner);
        holds.retain(|(c, i, until)| *until > now && !(c == conversation && slots.contains(i)));
        holds.extend(
            slots
                .iter()
                .map(|slot| (conversation.clone(), *slot, now + ttl)),
        );
        Ok(())
    }

    async fn held_by_others(
        &self,
        conversation: &ConversationId,
        range: Interval,
        now: DateTime<Utc>,
    ) -> Result<Vec<Interval>, HoldError> {
        let holds = self.holds.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(holds
            .iter()
            .filter(|(c, i, until)| c != conversation && *until > now && i.overlaps(&range))
            .map(|(_, i, _)| *i)
            .collect())
    }

    async fn release(&self, conversation: &ConversationId) -> Result<(), HoldError> {
        self.holds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(c, _, _)| c != conversation);
        Ok(())
    }
}
