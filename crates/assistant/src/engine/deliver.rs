//! Sending a turn's reply and remembering which sent messages asked for a confirmation.

use inkdesk_domain::ConversationId;
use inkdesk_messaging::{Messenger, SendFailure, SendOptions, SentMessageId};

use super::{Engine, TurnOutcome};
use crate::confirm::ConfirmationStoreError;

/// The reply could not be delivered (or its ids not remembered).
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The messenger failed; `delivered` chunks went out before it did.
    #[error(transparent)]
    Send(#[from] SendFailure),
    /// The ids of a confirmation question could not be stored.
    #[error(transparent)]
    Confirmations(#[from] ConfirmationStoreError),
}

impl Engine {
    /// Adds the sent ids of a reply that asked to confirm a cancel/reschedule to the
    /// pending confirmation, so a ❤ on the question counts as the customer's yes.
    pub async fn note_question(
        &self,
        conversation: &ConversationId,
        ids: &[String],
    ) -> Result<(), ConfirmationStoreError> {
        if let Some(mut pending) = self.confirmations.get(conversation).await? {
            pending.question_mids.extend(ids.iter().cloned());
            self.confirmations.put(conversation, pending).await?;
        }
        Ok(())
    }

    /// Sends `outcome`'s reply to `conversation` (the messenger splits it) and, when the
    /// turn asked to confirm a cancel/reschedule, records the sent ids on the pending
    /// confirmation so a ❤ on the question counts as the customer's yes. Returns the sent
    /// ids, which the caller adds to the outbox (so their echoes are not taken for a human).
    pub async fn deliver(
        &self,
        messenger: &dyn Messenger,
        conversation: &ConversationId,
        outcome: &TurnOutcome,
    ) -> Result<Vec<SentMessageId>, DeliveryError> {
        let Some(text) = outcome.reply.as_deref() else {
            return Ok(Vec::new());
        };
        let ids = messenger
            .send_text(conversation, text, SendOptions::default())
            .await?;
        if outcome.asked_confirmation
            && let Some(mut pending) = self.confirmations.get(conversation).await?
        {
            pending
                .question_mids
                .extend(ids.iter().map(|id| id.as_str().to_owned()));
            self.confirmations.put(conversation, pending).await?;
        }
        Ok(ids)
    }
}
