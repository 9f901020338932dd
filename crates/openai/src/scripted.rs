//! [`ScriptedModel`]: a [`ChatModel`] that replays a script and records what it was asked.
//!
//! For the engine's tests (a tool round trip, a failure mid-conversation) and for running
//! inkdesk without a model server.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use crate::error::ModelError;
use crate::port::ChatModel;
use crate::request::ChatRequest;
use crate::response::{ChatResponse, ToolCall};

/// Replays scripted replies and errors in order, one per call, and records every request.
///
/// When the script runs out, calls fail with [`ModelError::InvalidResponse`] naming the
/// problem, so a test that makes more calls than it scripted fails loudly.
///
/// ```
/// # use inkdesk_openai::{ChatModel, ChatRequest, Message, ModelTask, ScriptedModel, ToolCall};
/// # tokio_test_block_on(async {
/// let model = ScriptedModel::new()
///     .then_tool_calls(vec![ToolCall::new("call_1", "check_availability", serde_json::json!({"date": "2026-03-02"}))])
///     .then_text("Monday at 12:00 is free.");
/// let first = model.complete(ChatRequest::new(ModelTask::Default, vec![Message::user("Monday?")])).await.unwrap();
/// assert_eq!(first.tool_calls[0].name, "check_availability");
/// assert_eq!(model.requests().len(), 1);
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug, Default)]
pub struct ScriptedModel {
    script: Mutex<VecDeque<Result<ChatResponse, ModelError>>>,
    requests: Mutex<Vec<ChatRequest>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ScriptedModel {
    /// An empty script.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a reply to the end of the script.
    #[must_use]
    pub fn then_reply(self, response: ChatResponse) -> Self {
        self.push(Ok(response));
        self
    }

    /// Adds a plain text reply.
    #[must_use]
    pub fn then_text(self, text: impl Into<String>) -> Self {
        self.then_reply(ChatResponse::text(text))
    }

    /// Adds a reply that calls tools.
    #[must_use]
    pub fn then_tool_calls(self, calls: Vec<ToolCall>) -> Self {
        self.then_reply(ChatResponse::tool_calls(calls))
    }

    /// Adds a failure.
    #[must_use]
    pub fn then_error(self, error: ModelError) -> Self {
        self.push(Err(error));
        self
    }

    /// Adds a reply or failure to the end of the script (for a model already shared).
    pub fn push(&self, outcome: Result<ChatResponse, ModelError>) {
        lock(&self.script).push_back(outcome);
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<ChatRequest> {
        lock(&self.requests).clone()
    }

    /// The most recent request.
    pub fn last_request(&self) -> Option<ChatRequest> {
        lock(&self.requests).last().cloned()
    }

    /// Drops the outcomes not yet used; returns how many there were.
    pub fn discard_remaining(&self) -> usize {
        let mut script = lock(&self.script);
        let left = script.len();
        script.clear();
        left
    }

    /// Scripted outcomes not yet used.
    pub fn remaining(&self) -> usize {
        lock(&self.script).len()
    }
}

#[async_trait]
impl ChatModel for ScriptedModel {
    async fn complete(&self, request: ChatRequest) -> Result<ChatResponse, ModelError> {
        let calls = {
            let mut requests = lock(&self.requests);
            requests.push(request);
            requests.len()
        };
        let mut outcome = lock(&self.script).pop_front().unwrap_or_else(|| {
            Err(ModelError::InvalidResponse {
                reason: format!("the scripted model has no reply left for call {calls}"),
            })
        });
        if let Ok(response) = &mut outcome
            && response.usage.model.is_empty()
        {
            response.usage.model = "scripted".to_owned();
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Message, ModelTask};
    use std::sync::Arc;
    use std::time::Duration;

    fn ask(text: &str) -> ChatRequest {
        ChatRequest::new(ModelTask::Default, vec![Message::user(text)])
    }

    #[tokio::test]
    async fn replays_in_order_and_records_requests() {
        let model: Arc<dyn ChatModel> = Arc::new(
            ScriptedModel::new()
                .then_text("one")
                .then_error(ModelError::Unavailable {
                    retry_in: Duration::from_secs(3),
                })
                .then_text("three"),
        );
        assert_eq!(
            model.complete(ask("a")).await.unwrap().text.as_deref(),
            Some("one")
        );
        assert!(matches!(
            model.complete(ask("b")).await,
            Err(ModelError::Unavailable { .. })
        ));
        let third = model.complete(ask("c")).await.unwrap();
        assert_eq!(third.text.as_deref(), Some("three"));
        assert_eq!(third.usage.model, "scripted");
    }

    #[tokio::test]
    async fn running_out_of_script_is_an_error_naming_the_call() {
        let model = ScriptedModel::new().then_text("only");
        model.complete(ask("a")).await.unwrap();
        let err = model.complete(ask("b")).await.unwrap_err();
        assert!(err.to_string().contains("call 2"), "{err}");
        let asked: Vec<_> = model.requests().into_iter().map(|r| r.messages).collect();
        assert_eq!(
            asked,
            vec![vec![Message::user("a")], vec![Message::user("b")]]
        );
        assert_eq!(model.remaining(), 0);
    }
}
