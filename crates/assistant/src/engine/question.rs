//! Remembering which sent messages asked the customer to confirm a change.

use super::Engine;
use crate::confirm::ConfirmationStoreError;
use inkdesk_domain::ConversationId;

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
}
