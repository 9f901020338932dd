//! `RecordingMessenger`: a real [`Messenger`] that records instead of sending.
//!
//! For tests of the engine and the server, and for dry runs. It splits like the Graph
//! adapter, returns synthetic ids (`rec-1`, `rec-2`, …) and can be told to fail.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use inkdesk_domain::ConversationId;

use super::port::{Messenger, SendError, SendFailure, SendOptions, SentMessageId};
use crate::split::{MAX_MESSAGE_BYTES, split_message};

/// One recorded `send_text` call that succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentText {
    /// The customer it went to.
    pub recipient: ConversationId,
    /// The whole text as given.
    pub text: String,
    /// The chunks that would have been sent, in order.
    pub chunks: Vec<String>,
    /// The options it was sent with.
    pub options: SendOptions,
    /// The synthetic ids returned, one per chunk.
    pub ids: Vec<SentMessageId>,
}

#[derive(Debug, Default)]
struct State {
    sent: Vec<SentText>,
    next_id: u64,
    failures: VecDeque<SendError>,
}

/// Records sent messages; see the module docs.
#[derive(Debug, Default)]
pub struct RecordingMessenger {
    state: Mutex<State>,
}

impl RecordingMessenger {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next `send_text` call fail with `error` (queued: several calls queue several
    /// failures). A failing call records nothing.
    pub fn fail_next(&self, error: SendError) {
        self.lock().failures.push_back(error);
    }

    /// Every successful call so far, in order.
    pub fn sent(&self) -> Vec<SentText> {
        self.lock().sent.clone()
    }

    /// The texts of every successful call so far, in order.
    pub fn texts(&self) -> Vec<String> {
        self.lock().sent.iter().map(|s| s.text.clone()).collect()
    }

    /// Forgets what was recorded (queued failures stay).
    pub fn clear(&self) {
        self.lock().sent.clear();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep using it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl Messenger for RecordingMessenger {
    async fn send_text(
        &self,
        recipient: &ConversationId,
        text: &str,
        options: SendOptions,
    ) -> Result<Vec<SentMessageId>, SendFailure> {
        let mut state = self.lock();
        if let Some(error) = state.failures.pop_front() {
            return Err(error.into());
        }
        let chunks = split_message(text, MAX_MESSAGE_BYTES);
        if chunks.is_empty() {
            return Err(SendError::EmptyText.into());
        }
        let ids: Vec<SentMessageId> = chunks
            .iter()
            .map(|_| {
                state.next_id += 1;
                SentMessageId::new(format!("rec-{}", state.next_id))
            })
            .collect();
        state.sent.push(SentText {
            recipient: recipient.clone(),
            text: text.to_owned(),
            chunks,
            options,
            ids: ids.clone(),
        });
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_texts_with_one_synthetic_id_per_chunk_and_honours_queued_failures() {
        let m = RecordingMessenger::new();
        let to = ConversationId::parse("1234").unwrap();
        let long = "λέξη ".repeat(300); // ~2700 bytes → 3 chunks
        let ids = m
            .send_text(&to, &long, SendOptions::default())
            .await
            .unwrap();
        assert_eq!(ids.len(), 3);
        let more = m
            .send_text(&to, "hi", SendOptions::human_agent())
            .await
            .unwrap();
        assert_eq!(more, vec![SentMessageId::new("rec-4")]);

        m.fail_next(SendError::EmptyText);
        let failed = m
            .send_text(&to, "x", SendOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(failed.error, SendError::EmptyText));

        let sent = m.sent();
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[0].chunks.len(), 3);
        assert!(sent[1].options.human_agent_tag);
        assert_eq!(m.texts(), vec![long, "hi".to_owned()]);
    }
}
