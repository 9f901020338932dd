//! The port: [`ChatModel`], plus [`ChatModelExt::complete_json`] for structured output.

use async_trait::async_trait;
use serde::de::DeserializeOwned;

use crate::breaker::BreakerState;
use crate::error::{MalformedOutput, ModelError};
use crate::request::ChatRequest;
use crate::response::ChatResponse;
use crate::structured::parse_json_reply;

/// A chat model. Implementations: [`crate::OpenAiClient`] (any OpenAI-compatible server),
/// [`crate::ScriptedModel`] (replays a script), and `MockChatModel` with the `testing`
/// feature. Used as `Arc<dyn ChatModel>`.
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait ChatModel: Send + Sync {
    /// Sends one request and returns the model's reply.
    async fn complete(&self, request: ChatRequest) -> Result<ChatResponse, ModelError>;

    /// Health of the upstream as the circuit breaker sees it, for the admin status page.
    /// Models without a breaker are always [`BreakerState::Closed`].
    fn breaker_state(&self) -> BreakerState {
        BreakerState::Closed {
            consecutive_failures: 0,
        }
    }
}

/// A reply parsed into the caller's type, with the reply it came from (for usage).
#[derive(Debug, Clone, PartialEq)]
pub struct Structured<T> {
    /// The parsed value.
    pub value: T,
    /// The full reply, including [`crate::Usage`].
    pub response: ChatResponse,
}

/// Helpers available on every [`ChatModel`], including `dyn ChatModel`.
#[async_trait]
pub trait ChatModelExt: ChatModel {
    /// Sends `request` (normally with a [`crate::JsonSchemaFormat`]) and parses the reply
    /// into `T`: strict JSON first, then the first JSON object in the text that fits `T`.
    ///
    /// A refusal or a reply that does not fit becomes [`ModelError::StructuredOutput`]
    /// carrying the raw text.
    async fn complete_json<T: DeserializeOwned + Send>(
        &self,
        request: ChatRequest,
    ) -> Result<Structured<T>, ModelError> {
        let response = self.complete(request).await?;
        if let Some(refusal) = &response.refusal {
            return Err(MalformedOutput {
                raw: refusal.clone(),
                reason: "the model refused to answer".to_owned(),
            }
            .into());
        }
        let text = response.text.as_deref().unwrap_or_default();
        let value = parse_json_reply(text)?;
        Ok(Structured { value, response })
    }
}

impl<M: ChatModel + ?Sized> ChatModelExt for M {}
