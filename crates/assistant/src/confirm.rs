//! Two-step cancel and reschedule, enforced in code.
//!
//! `request_*` records a [`PendingConfirmation`] for the conversation; `confirm_*` executes
//! it only when [`check_confirmation`] agrees: something is pending, of the same kind and
//! booking, not expired, and requested in an **earlier turn** (so the customer has had to
//! answer the question first). The store has no port for this state, so it lives behind
//! the small [`ConfirmationStore`] port here, with a memory implementation.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use inkdesk_domain::{ConversationId, EventId};
use serde::{Deserialize, Serialize};

/// Identifies one turn of the engine (unique per conversation).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TurnId(pub String);

/// A change the customer was asked to confirm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PendingChange {
    /// Cancel this booking.
    Cancel {
        /// The booking.
        booking: EventId,
        /// Its start, for the question and the check.
        starts_at: DateTime<Utc>,
    },
    /// Move this booking.
    Reschedule {
        /// The booking.
        booking: EventId,
        /// Its current start.
        from: DateTime<Utc>,
        /// The new start.
        to: DateTime<Utc>,
        /// Its length in minutes (kept).
        duration_minutes: u32,
    },
}

impl PendingChange {
    /// The booking it concerns.
    pub fn booking(&self) -> &EventId {
        match self {
            Self::Cancel { booking, .. } | Self::Reschedule { booking, .. } => booking,
        }
    }

    /// Which kind of change.
    pub fn kind(&self) -> ChangeKind {
        match self {
            Self::Cancel { .. } => ChangeKind::Cancel,
            Self::Reschedule { .. } => ChangeKind::Reschedule,
        }
    }
}

/// Cancel or reschedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// Cancellation.
    Cancel,
    /// Reschedule.
    Reschedule,
}

/// A change waiting for the customer's yes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingConfirmation {
    /// What would change.
    pub change: PendingChange,
    /// The turn that asked.
    pub requested_in: TurnId,
    /// When it was asked.
    pub requested_at: DateTime<Utc>,
    /// After this instant the question must be asked again.
    pub expires_at: DateTime<Utc>,
    /// Ids of the messages that carried the question (a ❤ on one of them means yes).
    pub question_mids: Vec<String>,
}

/// Why a confirmation was refused; the message goes back to the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConfirmRefusal {
    /// Nothing was requested, or it was already done.
    #[error("nothing is waiting for confirmation; call the request tool first")]
    NothingPending,
    /// The request was made in this same turn: the customer has not answered yet.
    #[error("the customer has not confirmed yet; ask them and wait for their answer")]
    NotYetAnswered,
    /// The question is too old.
    #[error("the confirmation request expired; call the request tool again")]
    Expired,
    /// The pending change is of the other kind or for another booking.
    #[error("the pending change is a different one; call the request tool for this booking")]
    Mismatch,
}

impl ConfirmRefusal {
    /// The tool result for the model.
    pub fn to_tool_result(self) -> String {
        serde_json::json!({"error": "not_confirmed", "message": self.to_string()}).to_string()
    }
}

/// Decides whether `pending` may be executed now as a `kind` change of `booking`.
pub fn check_confirmation(
    pending: Option<&PendingConfirmation>,
    kind: ChangeKind,
    booking: Option<&EventId>,
    turn: &TurnId,
    now: DateTime<Utc>,
) -> Result<PendingChange, ConfirmRefusal> {
    let pending = pending.ok_or(ConfirmRefusal::NothingPending)?;
    if pending.change.kind() != kind || booking.is_some_and(|b| b != pending.change.booking()) {
        return Err(ConfirmRefusal::Mismatch);
    }
    if &pending.requested_in == turn {
        return Err(ConfirmRefusal::NotYetAnswered);
    }
    if now >= pending.expires_at {
        return Err(ConfirmRefusal::Expired);
    }
    Ok(pending.change.clone())
}

/// The confirmation store failed.
#[derive(Debug, thiserror::Error)]
#[error("confirmation store unavailable")]
pub struct ConfirmationStoreError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// Where pending confirmations live, one per conversation.
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait ConfirmationStore: Send + Sync {
    /// Records (or replaces) the conversation's pending confirmation.
    async fn put(
        &self,
        conversation: &ConversationId,
        pending: PendingConfirmation,
    ) -> Result<(), ConfirmationStoreError>;
    /// The conversation's pending confirmation, if any.
    async fn get(
        &self,
        conversation: &ConversationId,
    ) -> Result<Option<PendingConfirmation>, ConfirmationStoreError>;
    /// Forgets the conversation's pending confirmation.
    async fn clear(&self, conversation: &ConversationId) -> Result<(), ConfirmationStoreError>;
}

/// Pending confirmations in process memory (tests, single-process runs).
#[derive(Debug, Default)]
pub struct MemoryConfirmationStore {
    items: Mutex<HashMap<ConversationId, PendingConfirmation>>,
}

impl MemoryConfirmationStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl ConfirmationStore for MemoryConfirmationStore {
    async fn put(
        &self,
        conversation: &ConversationId,
        pending: PendingConfirmation,
    ) -> Result<(), ConfirmationStoreError> {
        self.items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(conversation.clone(), pending);
        Ok(())
    }

    async fn get(
        &self,
        conversation: &ConversationId,
    ) -> Result<Option<PendingConfirmation>, ConfirmationStoreError> {
        Ok(self
            .items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(conversation)
            .cloned())
    }

    async fn clear(&self, conversation: &ConversationId) -> Result<(), ConfirmationStoreError> {
        self.items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(conversation);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 18, 9, 0, 0).unwrap()
    }

    fn booking() -> EventId {
        EventId::parse("abc123def4").unwrap()
    }

    fn pending() -> PendingConfirmation {
        PendingConfirmation {
            change: PendingChange::Cancel {
                booking: booking(),
                starts_at: t0() + Duration::days(2),
            },
            requested_in: TurnId("turn-1".to_owned()),
            requested_at: t0(),
            expires_at: t0() + Duration::hours(24),
            question_mids: vec!["q1".to_owned()],
        }
    }

    #[test]
    fn a_confirmation_in_a_later_turn_executes_the_pending_change() {
        let p = pending();
        let later = TurnId("turn-2".to_owned());
        assert_eq!(
            check_confirmation(Some(&p), ChangeKind::Cancel, Some(&booking()), &later, t0()),
            Ok(p.change.clone())
        );
        assert!(check_confirmation(Some(&p), ChangeKind::Cancel, None, &later, t0()).is_ok());
    }

    #[test]
    fn confirmation_is_refused_without_request_in_the_same_turn_expired_or_mismatched() {
        let p = pending();
        let same = TurnId("turn-1".to_owned());
        let later = TurnId("turn-2".to_owned());
        let other = Some(EventId::parse("vvv999aaa0").unwrap());
        assert_eq!(
            check_confirmation(None, ChangeKind::Cancel, None, &later, t0()),
            Err(ConfirmRefusal::NothingPending)
        );
        assert_eq!(
            check_confirmation(Some(&p), ChangeKind::Cancel, None, &same, t0()),
            Err(ConfirmRefusal::NotYetAnswered)
        );
        assert_eq!(
            check_confirmation(
                Some(&p),
                ChangeKind::Cancel,
                None,
                &later,
                t0() + Duration::hours(24)
            ),
            Err(ConfirmRefusal::Expired)
        );
        assert_eq!(
            check_confirmation(Some(&p), ChangeKind::Reschedule, None, &later, t0()),
            Err(ConfirmRefusal::Mismatch)
        );
        assert_eq!(
            check_confirmation(Some(&p), ChangeKind::Cancel, other.as_ref(), &later, t0()),
            Err(ConfirmRefusal::Mismatch)
        );
        let result: serde_json::Value =
            serde_json::from_str(&ConfirmRefusal::NotYetAnswered.to_tool_result()).unwrap();
        assert_eq!(result["error"], "not_confirmed");
    }

    #[tokio::test]
    async fn memory_store_keeps_one_pending_change_per_conversation() {
        let store = MemoryConfirmationStore::new();
        let a = ConversationId::parse("a").unwrap();
        let b = ConversationId::parse("b").unwrap();
        store.put(&a, pending()).await.unwrap();
        assert_eq!(store.get(&a).await.unwrap(), Some(pending()));
        assert_eq!(store.get(&b).await.unwrap(), None);
        store.clear(&a).await.unwrap();
        assert_eq!(store.get(&a).await.unwrap(), None);
    }
}
