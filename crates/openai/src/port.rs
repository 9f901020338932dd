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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde::Deserialize;

    use super::*;
    use crate::request::{Message, ModelTask};
    use crate::scripted::ScriptedModel;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Intent {
        intent: String,
    }

    fn ask() -> ChatRequest {
        ChatRequest::new(ModelTask::Vision, vec![Message::user("book me in")])
    }

    #[tokio::test]
    async fn complete_json_works_through_dyn_chat_model() {
        let model: Arc<dyn ChatModel> =
            Arc::new(ScriptedModel::new().then_text(r#"{"intent":"booking"}"#));
        let out = model.complete_json::<Intent>(ask()).await.unwrap();
        assert_eq!(out.value.intent, "booking");
        assert_eq!(out.response.usage.model, "scripted");
    }

    #[tokio::test]
    async fn refusal_is_a_structured_output_error_carrying_the_refusal() {
        let model = ScriptedModel::new().then_reply(ChatResponse {
            refusal: Some("I can't help with that.".into()),
            ..ChatResponse::default()
        });
        let err = model.complete_json::<Intent>(ask()).await.unwrap_err();
        let ModelError::StructuredOutput(bad) = err else {
            panic!("{err:?}")
        };
        assert_eq!(bad.raw, "I can't help with that.");
    }
}
