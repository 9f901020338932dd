//! The `Messenger` port: what the rest of inkdesk may do to talk to a customer.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use inkdesk_domain::ConversationId;

use super::graph_error::GraphApiError;

/// Sends messages to customers. Implementations: [`super::GraphMessenger`] (Meta's Graph
/// API) and [`super::RecordingMessenger`] (records, for tests and dry runs).
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait Messenger: Send + Sync {
    /// Sends `text` to `recipient` (an IGSID), split into chunks of at most 1000 bytes
    /// (see [`crate::split_message`]) sent in order.
    ///
    /// Returns the id of every chunk sent, in order, so the caller can record them in the
    /// outbox and recognise their echoes. On failure, [`SendFailure::delivered`] lists the
    /// chunks that did go out before the failing one.
    async fn send_text(
        &self,
        recipient: &ConversationId,
        text: &str,
        options: SendOptions,
    ) -> Result<Vec<SentMessageId>, SendFailure>;
}

/// How a message is sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendOptions {
    /// Send with the `HUMAN_AGENT` message tag: a person replying up to 7 days after the
    /// customer's last message (outside the standard 24-hour window). Only for staff replies.
    pub human_agent_tag: bool,
}

impl SendOptions {
    /// Options for a staff reply that may fall outside the 24-hour window.
    pub fn human_agent() -> Self {
        Self {
            human_agent_tag: true,
        }
    }
}

/// The id Meta gave a message we sent (`message_id` of the Send API response).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SentMessageId(String);

impl SentMessageId {
    /// Wraps an id returned by the Send API.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as text (what echoes carry as `mid`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SentMessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<SentMessageId> for String {
    fn from(id: SentMessageId) -> Self {
        id.0
    }
}

/// Why a send failed, classified so callers can act.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The access token is invalid or expired (Graph code 190). Nothing will be delivered
    /// until an operator replaces it: surface loudly.
    #[error("the Instagram access token is invalid or expired: {0}")]
    TokenInvalid(Box<GraphApiError>),
    /// The messaging window is closed (24 h, or 7 days with the human-agent tag): only the
    /// customer writing again reopens it. Not retried.
    #[error("the messaging window for this customer is closed: {0}")]
    WindowClosed(Box<GraphApiError>),
    /// The customer cannot be messaged (blocked us, deactivated, unknown id). Not retried.
    #[error("the recipient is not available: {0}")]
    RecipientUnavailable(Box<GraphApiError>),
    /// Meta kept rate-limiting us after our retries.
    #[error("rate-limited by the Graph API; retry after {retry_after:?}")]
    RateLimited {
        /// Meta's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
        /// The last error body, when there was one.
        detail: Option<Box<GraphApiError>>,
    },
    /// Meta was unreachable, timed out, or answered 5xx, on every attempt.
    #[error("the Graph API is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Meta refused the request for another reason (4xx). Not retried.
    #[error("the Graph API refused the message: {0}")]
    Rejected(Box<GraphApiError>),
    /// A 2xx answer whose body is not the documented `{recipient_id, message_id}`.
    #[error("unexpected Send API response: {0}")]
    InvalidResponse(String),
    /// The text was empty or only whitespace; nothing was sent.
    #[error("refusing to send an empty message")]
    EmptyText,
}

impl SendError {
    /// True for failures that may succeed later with the same request (rate limits, outages).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            SendError::RateLimited { .. } | SendError::Unavailable(_)
        )
    }
}

/// A failed [`Messenger::send_text`]: the error, and the chunks delivered before it.
#[derive(Debug, thiserror::Error)]
#[error("sending failed after {} chunk(s) were delivered", delivered.len())]
pub struct SendFailure {
    /// Ids of chunks that were sent before the failure; record them like successful sends.
    pub delivered: Vec<SentMessageId>,
    /// Why the next chunk was not sent.
    #[source]
    pub error: SendError,
}

impl From<SendError> for SendFailure {
    fn from(error: SendError) -> Self {
        Self {
            delivered: Vec::new(),
            error,
        }
    }
}
