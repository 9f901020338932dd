//! Small adapters from the store's ports to the engine's.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use inkdesk_assistant::confirm::{ConfirmationStore, ConfirmationStoreError, PendingConfirmation};
use inkdesk_assistant::holds::{HoldError, OfferHolds};
use inkdesk_calendar::Interval;
use inkdesk_domain::ConversationId;
use inkdesk_store::{HoldOutcome, Keyed, SlotHolds, SlotKey};

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

/// Pending cancel/reschedule confirmations kept in the shared store.
pub struct StoreConfirmations {
    keyed: Arc<dyn Keyed>,
}

impl StoreConfirmations {
    /// Confirmations stored under `confirm:<conversation>`.
    pub fn new(keyed: Arc<dyn Keyed>) -> Self {
        Self { keyed }
    }
}

/// Confirmations outlive any sensible wait for a customer's answer.
const CONFIRMATION_TTL: StdDuration = StdDuration::from_secs(7 * 24 * 3600);

/// Where a conversation's pending confirmation is kept (also read by the admin inbox).
pub fn confirmation_key(conversation: &ConversationId) -> String {
    format!("confirm:{conversation}")
}

fn confirm_error(error: impl std::error::Error + Send + Sync + 'static) -> ConfirmationStoreError {
    ConfirmationStoreError(Box::new(error))
}

#[async_trait]
impl ConfirmationStore for StoreConfirmations {
    async fn put(
        &self,
        conversation: &ConversationId,
        pending: PendingConfirmation,
    ) -> Result<(), ConfirmationStoreError> {
        let value = serde_json::to_value(&pending).map_err(confirm_error)?;
        self.keyed
            .put(
                conversation,
                &confirmation_key(conversation),
                value,
                CONFIRMATION_TTL,
            )
            .await
            .map_err(confirm_error)
    }

    async fn get(
        &self,
        conversation: &ConversationId,
    ) -> Result<Option<PendingConfirmation>, ConfirmationStoreError> {
        match self
            .keyed
            .get(conversation, &confirmation_key(conversation))
            .await
            .map_err(confirm_error)?
        {
            Some(value) => Ok(Some(serde_json::from_value(value).map_err(confirm_error)?)),
            None => Ok(None),
        }
    }

    async fn clear(&self, conversation: &ConversationId) -> Result<(), ConfirmationStoreError> {
        self.keyed
            .delete(conversation, &confirmation_key(conversation))
            .await
            .map_err(confirm_error)
    }
}
