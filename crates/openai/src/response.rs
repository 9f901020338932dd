//! What a model answers: [`ChatResponse`], [`ToolCall`] and [`Usage`].

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::request::Message;

/// Tool arguments the model produced that are not a usable JSON object.
///
/// This is recoverable: the engine answers the call with [`Self::to_tool_result`] and lets
/// the model try again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed tool arguments: {reason}")]
pub struct MalformedArguments {
    /// The arguments exactly as the model wrote them.
    pub raw: String,
    /// Why they were refused (parser or validation message).
    pub reason: String,
}

impl MalformedArguments {
    /// Text to send back as the tool result so the model can correct itself.
    pub fn to_tool_result(&self) -> String {
        serde_json::json!({
            "error": "invalid_arguments",
            "reason": self.reason,
            "hint": "call the tool again with a JSON object that follows its parameters schema",
        })
        .to_string()
    }
}

/// A tool the model asked to call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// The server's id for this call; the result must carry it back.
    pub id: String,
    /// The function name.
    pub name: String,
    /// The arguments object, or why the model's text could not be used.
    pub arguments: Result<Value, MalformedArguments>,
}

impl ToolCall {
    /// A call with well-formed arguments (for test doubles and history).
    pub fn new(id: impl Into<String>, name: impl Into<String>, arguments: Value) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            arguments: Ok(arguments),
        }
    }

    /// A call whose arguments arrived as `raw` text: parsed here, never panicking.
    ///
    /// Empty text counts as `{}` (some servers send it for functions without parameters);
    /// anything that is not a JSON object is [`MalformedArguments`].
    pub fn from_raw(id: impl Into<String>, name: impl Into<String>, raw: &str) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            arguments: parse_arguments(raw),
        }
    }

    /// The arguments as a typed value; missing or mistyped fields become
    /// [`MalformedArguments`] carrying the raw text.
    pub fn parse_args<T: DeserializeOwned>(&self) -> Result<T, MalformedArguments> {
        let value = self.arguments.as_ref().map_err(Clone::clone)?;
        T::deserialize(value).map_err(|e| MalformedArguments {
            raw: value.to_string(),
            reason: e.to_string(),
        })
    }

    /// The arguments as the text to put on the wire: the JSON, or the raw text the model
    /// wrote when it was malformed (history is sent back as it happened).
    pub fn arguments_text(&self) -> String {
        match &self.arguments {
            Ok(value) => value.to_string(),
            Err(bad) => bad.raw.clone(),
        }
    }
}

fn parse_arguments(raw: &str) -> Result<Value, MalformedArguments> {
    if raw.trim().is_empty() {
        return Ok(Value::Object(serde_json::Map::new()));
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(other) => Err(MalformedArguments {
            raw: raw.to_owned(),
            reason: format!("expected a JSON object, got {}", json_kind(&other)),
        }),
        Err(e) => Err(MalformedArguments {
            raw: raw.to_owned(),
            reason: format!("not valid JSON: {e}"),
        }),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FinishReason {
    /// A natural end of the reply.
    #[default]
    Stop,
    /// The output token limit cut the reply short.
    Length,
    /// The model wants tools called.
    ToolCalls,
    /// The server's content filter removed output.
    ContentFilter,
    /// Anything else a compatible server reports (kept verbatim).
    Other(String),
}

impl FinishReason {
    /// Maps the wire string (`stop`, `length`, `tool_calls`, `function_call`,
    /// `content_filter`, …) to a reason.
    pub fn from_wire(raw: &str) -> Self {
        match raw {
            "stop" => Self::Stop,
            "length" => Self::Length,
            "tool_calls" | "function_call" => Self::ToolCalls,
            "content_filter" => Self::ContentFilter,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// Cost and timing of one call, for metrics and traces.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Usage {
    /// Tokens in the prompt (messages, tools, schema).
    pub prompt_tokens: u32,
    /// Tokens generated.
    pub completion_tokens: u32,
    /// Prompt tokens served from the server's prompt cache.
    pub cached_tokens: u32,
    /// Wall time of the whole call, retries and back-off included.
    pub latency: Duration,
    /// How many attempts were repeated after a transient failure (0 when the first worked).
    pub retries: u32,
    /// The model that answered, as the server names it.
    pub model: String,
}

/// The model's answer to one [`crate::ChatRequest`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatResponse {
    /// The reply text, if any.
    pub text: Option<String>,
    /// Tools the model asked for, in order.
    pub tool_calls: Vec<ToolCall>,
    /// A refusal the model gave instead of structured output, if any.
    pub refusal: Option<String>,
    /// Why the model stopped.
    pub finish_reason: FinishReason,
    /// Tokens, latency and retries.
    pub usage: Usage,
}

impl ChatResponse {
    /// A plain text reply (for test doubles).
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: Some(text.into()),
            ..Self::default()
        }
    }

    /// A reply that calls tools (for test doubles).
    pub fn tool_calls(calls: Vec<ToolCall>) -> Self {
        Self {
            tool_calls: calls,
            finish_reason: FinishReason::ToolCalls,
            ..Self::default()
        }
    }

    /// This reply as a message to append to the conversation before sending tool results.
    pub fn to_message(&self) -> Message {
        Message::Assistant {
            text: self.text.clone(),
            tool_calls: self.tool_calls.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Quote {
        height_cm: f64,
        width_cm: f64,
    }

    #[test]
    fn arguments_that_are_not_json_keep_the_raw_text() {
        let call = ToolCall::from_raw("c1", "quote", "{\"height_cm\": 10,");
        let bad = call.arguments.clone().unwrap_err();
        assert_eq!(bad.raw, "{\"height_cm\": 10,");
        assert!(bad.reason.starts_with("not valid JSON"), "{}", bad.reason);
        assert_eq!(call.arguments_text(), "{\"height_cm\": 10,");
    }

    #[test]
    fn arguments_that_are_not_an_object_are_malformed() {
        for raw in ["null", "[1,2]", "\"x\"", "3"] {
            let call = ToolCall::from_raw("c1", "quote", raw);
            assert!(call.arguments.is_err(), "{raw}");
        }
    }

    #[test]
    fn empty_arguments_mean_an_empty_object() {
        let call = ToolCall::from_raw("c1", "list", "  ");
        assert_eq!(call.arguments, Ok(serde_json::json!({})));
    }

    #[test]
    fn missing_fields_become_malformed_arguments_with_the_json() {
        let call = ToolCall::from_raw("c1", "quote", r#"{"height_cm": 10}"#);
        let bad = call.parse_args::<Quote>().unwrap_err();
        assert!(bad.reason.contains("width_cm"), "{}", bad.reason);
        assert_eq!(bad.raw, r#"{"height_cm":10}"#);
        let good = ToolCall::from_raw("c2", "quote", r#"{"height_cm": 10, "width_cm": 5}"#);
        assert_eq!(
            good.parse_args::<Quote>().unwrap(),
            Quote {
                height_cm: 10.0,
                width_cm: 5.0
            }
        );
    }

    #[test]
    fn tool_result_for_malformed_arguments_is_json_naming_the_reason() {
        let bad = MalformedArguments {
            raw: "{".into(),
            reason: "EOF".into(),
        };
        let v: Value = serde_json::from_str(&bad.to_tool_result()).unwrap();
        assert_eq!(v["error"], "invalid_arguments");
        assert_eq!(v["reason"], "EOF");
    }
}
