//! Small adapters from the store's ports to the engine's.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use inkdesk_assistant::holds::{HoldError, OfferHolds};
use inkdesk_calendar::Interval;
use inkdesk_domain::ConversationId;
use inkdesk_store::{HoldOutcome, SlotHolds, SlotKey};

/// Offered-slot holds kept in the shared store, so every replica sees them.
pub struct StoreOfferHolds {
    holds: Arc<dyn SlotHolds>,
    capacity: u32,
}

impl StoreOfferHolds {
    /// Holds over `holds`, never more than `capacity` conversations per slot.
    pub fn new(holds: Arc<dyn SlotHolds>, capacity: u32) -> Self {
        Self { holds, capacity }
    }
}

fn hold_error(error: impl std::error::Error + Send + Sync + 'static) -> HoldError {
    HoldError(Box::new(error))
}

#[async_trait]
impl OfferHolds for StoreOfferHolds {
    async fn hold(
        &self,
        conversation: &ConversationId,
        slots: &[Interval],
        ttl: Duration,
        _now: DateTime<Utc>,
    ) -> Result<(), HoldError> {
        let ttl = ttl.to_std().unwrap_or(StdDuration::from_secs(60));
        for slot in slots {
            let key = SlotKey {
                start: slot.start,
                end: slot.end,
            };
            let outcome = self
                .holds
                .hold(key, conversation, self.capacity, ttl)
                .await
                .map_err(hold_error)?;
            if outcome == HoldOutcome::Full {
                // Others hold every unit: the slot stays offered but unheld; booking
                // re-checks the calendar anyway.
                tracing::debug!(%conversation, "slot fully held by others");
            }
        }
        Ok(())
    }

    async fn held_by_others(
        &self,
        conversation: &ConversationId,
        range: Interval,
        _now: DateTime<Utc>,
    ) -> Result<Vec<Interval>, HoldError> {
        let holds = self
            .holds
            .active(range.start, range.end)
            .await
            .map_err(hold_error)?;
        Ok(holds
            .into_iter()
            .filter(|h| &h.conversation != conversation)
            .map(|h| Interval::new(h.slot.start, h.slot.end))
            .collect())
    }

    async fn release(&self, conversation: &ConversationId) -> Result<(), HoldError> {
        self.holds
            .release_all(conversation)
            .await
            .map_err(hold_error)
    }
}
