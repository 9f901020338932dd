//! OpenAI Chat Completions JSON, private to the adapter: request bodies built from
//! [`ChatRequest`] and response bodies turned into [`ChatResponse`].
//!
//! Shapes follow the API reference for `POST /chat/completions`; compatible servers
//! (Azure, OpenRouter, Ollama, vLLM, llama.cpp) accept the same subset.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::{MaxTokensField, TaskSettings};
use crate::request::{ChatRequest, JsonSchemaFormat, Message, ToolChoice, UserPart};
use crate::response::{ChatResponse, FinishReason, ToolCall, Usage};

/// The request body.
#[derive(Debug, Serialize)]
pub(crate) struct WireRequest<'a> {
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<Value>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "role", rename_all = "lowercase")]
enum WireMessage<'a> {
    System {
        content: Cow<'a, str>,
    },
    User {
        content: UserContent<'a>,
    },
    Assistant {
        content: Option<&'a str>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<Value>,
    },
    Tool {
        tool_call_id: &'a str,
        content: &'a str,
    },
}

/// A lone text part goes as a plain string, which every compatible server understands;
/// anything else as an array of parts.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum UserContent<'a> {
    Text(&'a str),
    Parts(Vec<Value>),
}

impl<'a> WireRequest<'a> {
    /// Builds the body. With `use_schema == false` a requested schema is not sent as
    /// `response_format` but described in a last system message instead.
    pub(crate) fn build(
        request: &'a ChatRequest,
        settings: &'a TaskSettings,
        max_tokens_field: MaxTokensField,
        use_schema: bool,
    ) -> Self {
        let mut messages: Vec<WireMessage<'a>> =
            request.messages.iter().map(wire_message).collect();
        let mut response_format = None;
        if let Some(format) = &request.response_format {
            if use_schema {
                response_format = Some(schema_format(format));
            } else {
                messages.push(WireMessage::System {
                    content: Cow::Owned(schema_instruction(format)),
                });
            }
        }
        let limit = request.max_tokens.or(settings.max_tokens);
        let (max_completion_tokens, max_tokens) = match max_tokens_field {
            MaxTokensField::MaxCompletionTokens => (limit, None),
            MaxTokensField::MaxTokens => (None, limit),
        };
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|tool| {
                let mut function = json!({
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": tool.parameters,
                });
                if tool.strict {
                    function["strict"] = Value::Bool(true);
                }
                json!({ "type": "function", "function": function })
            })
            .collect();
        let tool_choice = (!tools.is_empty()).then(|| match &request.tool_choice {
            ToolChoice::Auto => json!("auto"),
            ToolChoice::None => json!("none"),
            ToolChoice::Required => json!("required"),
            ToolChoice::Function(name) => json!({"type": "function", "function": {"name": name}}),
        });
        Self {
            model: &settings.model,
            messages,
            temperature: request.temperature.or(settings.temperature),
            max_completion_tokens,
            max_tokens,
            tools,
            tool_choice,
            response_format,
        }
    }
}

fn wire_message(message: &Message) -> WireMessage<'_> {
    match message {
        Message::System { text } => WireMessage::System {
            content: Cow::Borrowed(text),
        },
        Message::User { parts } => WireMessage::User {
            content: match parts.as_slice() {
                [UserPart::Text(text)] => UserContent::Text(text),
                parts => UserContent::Parts(parts.iter().map(wire_part).collect()),
            },
        },
        Message::Assistant { text, tool_calls } => WireMessage::Assistant {
            content: text.as_deref(),
            tool_calls: tool_calls
                .iter()
                .map(|call| {
                    json!({
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments_text()},
                    })
                })
                .collect(),
        },
        Message::ToolResult {
            tool_call_id,
            content,
        } => WireMessage::Tool {
            tool_call_id,
            content,
        },
    }
}

fn wire_part(part: &UserPart) -> Value {
    match part {
        UserPart::Text(text) => json!({"type": "text", "text": text}),
        UserPart::Image(image) => json!({
            "type": "image_url",
            "image_url": {"url": image.data_url(), "detail": image.detail().as_str()},
        }),
    }
}

fn schema_format(format: &JsonSchemaFormat) -> Value {
    let mut schema = json!({
        "name": format.name,
        "schema": format.schema,
        "strict": format.strict,
    });
    if let Some(description) = &format.description {
        schema["description"] = Value::String(description.clone());
    }
    json!({"type": "json_schema", "json_schema": schema})
}

fn schema_instruction(format: &JsonSchemaFormat) -> String {
    format!(
        "Reply with only one JSON object, no prose and no code fence, that follows this JSON Schema:\n{}",
        format.schema
    )
}

/// The response body (fields we use; others are ignored).
#[derive(Debug, Deserialize)]
pub(crate) struct WireResponse {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<WireChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Debug, Deserialize)]
struct WireChoice {
    message: WireReply,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireReply {
    #[serde(default)]
    content: Option<Value>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
}

#[derive(Debug, Deserialize)]
struct WireToolCall {
    #[serde(default)]
    id: Option<String>,
    function: WireFunction,
}

#[derive(Debug, Deserialize)]
struct WireFunction {
    name: String,
    /// A JSON string per OpenAI; some servers send the object itself.
    #[serde(default)]
    arguments: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u32,
    #[serde(default)]
    completion_tokens: u32,
    #[serde(default)]
    prompt_tokens_details: Option<WirePromptDetails>,
}

#[derive(Debug, Default, Deserialize)]
struct WirePromptDetails {
    #[serde(default)]
    cached_tokens: Option<u32>,
}

impl WireResponse {
    /// The first choice as a [`ChatResponse`]; `Err` names what is missing.
    /// `latency` and `retries` are filled in by the caller.
    pub(crate) fn into_response(self, requested_model: &str) -> Result<ChatResponse, String> {
        let choice = self
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| "the response has no choices".to_owned())?;
        let tool_calls = choice
            .message
            .tool_calls
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(index, call)| {
                let id = call.id.unwrap_or_else(|| format!("call_{index}"));
                match call.function.arguments {
                    Some(Value::String(raw)) => ToolCall::from_raw(id, call.function.name, &raw),
                    None | Some(Value::Null) => ToolCall::from_raw(id, call.function.name, ""),
                    Some(other) => ToolCall::from_raw(id, call.function.name, &other.to_string()),
                }
            })
            .collect();
        let usage = self.usage.unwrap_or_default();
        Ok(ChatResponse {
            text: choice.message.content.and_then(content_text),
            tool_calls,
            refusal: choice.message.refusal,
            finish_reason: choice
                .finish_reason
                .as_deref()
                .map(FinishReason::from_wire)
                .unwrap_or_default(),
            usage: Usage {
                prompt_tokens: usage.prompt_tokens,
                completion_tokens: usage.completion_tokens,
                cached_tokens: usage
                    .prompt_tokens_details
                    .and_then(|d| d.cached_tokens)
                    .unwrap_or(0),
                model: self.model.unwrap_or_else(|| requested_model.to_owned()),
                ..Usage::default()
            },
        })
    }
}

/// Content is a string per OpenAI; a few servers send an array of text parts.
fn content_text(content: Value) -> Option<String> {
    match content {
        Value::String(text) => Some(text),
        Value::Array(parts) => {
            let text: String = parts
                .iter()
                .filter_map(|part| part.get("text").and_then(Value::as_str))
                .collect();
            (!text.is_empty()).then_some(text)
        }
        _ => None,
    }
}

/// An error body: `{"error": {"message", "type", "code", "param"}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct WireErrorBody {
    error: WireError,
}

#[derive(Debug, Deserialize)]
struct WireError {
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    code: Option<Value>,
    #[serde(default)]
    param: Option<String>,
}

/// What an error response says, reduced to what we report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ErrorInfo {
    pub(crate) message: String,
    pub(crate) code: Option<String>,
    pub(crate) param: Option<String>,
}

const MAX_ERROR_MESSAGE: usize = 300;

impl ErrorInfo {
    /// Reads an error body; anything unparseable is kept as shortened text.
    pub(crate) fn from_body(body: &[u8]) -> Self {
        match serde_json::from_slice::<WireErrorBody>(body) {
            Ok(WireErrorBody { error }) => Self {
                message: shorten(error.message.as_deref().unwrap_or("")),
                code: match error.code {
                    Some(Value::String(code)) => Some(code),
                    Some(Value::Number(n)) => Some(n.to_string()),
                    _ => error.kind,
                },
                param: error.param,
            },
            Err(_) => Self {
                message: shorten(&String::from_utf8_lossy(body)),
                code: None,
                param: None,
            },
        }
    }
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_ERROR_MESSAGE) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{ModelTask, ToolDefinition};

    fn body(request: &ChatRequest, field: MaxTokensField) -> Value {
        let settings = TaskSettings {
            model: "local-model".into(),
            temperature: Some(0.7),
            max_tokens: Some(100),
        };
        serde_json::to_value(WireRequest::build(request, &settings, field, true)).unwrap()
    }

    #[test]
    fn request_overrides_win_and_old_servers_get_max_tokens() {
        let mut request = ChatRequest::new(ModelTask::Default, vec![Message::user("hi")]);
        request.temperature = Some(0.0);
        request.max_tokens = Some(5);
        let v = body(&request, MaxTokensField::MaxTokens);
        assert_eq!(v["temperature"], json!(0.0));
        assert_eq!(v["max_tokens"], json!(5));
        assert!(v.get("max_completion_tokens").is_none());
    }

    #[test]
    fn tool_choice_is_sent_only_with_tools_and_strict_only_when_set() {
        let mut request = ChatRequest::new(ModelTask::Default, vec![Message::user("hi")]);
        request.tool_choice = ToolChoice::Required;
        assert!(
            body(&request, MaxTokensField::default())
                .get("tool_choice")
                .is_none()
        );
        request.tools = vec![ToolDefinition::new(
            "handoff",
            "Ask a human",
            json!({"type": "object"}),
        )];
        let v = body(&request, MaxTokensField::default());
        assert_eq!(v["tool_choice"], json!("required"));
        assert!(v["tools"][0]["function"].get("strict").is_none());
    }

    #[test]
    fn tool_calls_without_id_or_with_object_arguments_are_accepted() {
        let wire: WireResponse = serde_json::from_value(json!({
            "model": "llama",
            "choices": [{"message": {"content": [{"type": "text", "text": "ok"}], "tool_calls": [
                {"function": {"name": "a", "arguments": {"x": 1}}},
                {"id": "c2", "function": {"name": "b"}}
            ]}, "finish_reason": "tool_calls"}]
        }))
        .unwrap();
        let response = wire.into_response("asked").unwrap();
        assert_eq!(response.text.as_deref(), Some("ok"));
        assert_eq!(response.tool_calls[0].id, "call_0");
        assert_eq!(response.tool_calls[0].arguments, Ok(json!({"x": 1})));
        assert_eq!(response.tool_calls[1].arguments, Ok(json!({})));
        assert_eq!(response.usage.model, "llama");
    }

    #[test]
    fn error_bodies_are_read_or_shortened() {
        let info = ErrorInfo::from_body(br#"{"error":{"message":"bad","type":"invalid_request_error","code":null,"param":"x"}}"#);
        assert_eq!(info.code.as_deref(), Some("invalid_request_error"));
        assert_eq!(info.param.as_deref(), Some("x"));
        let long = "ω".repeat(1000);
        let info = ErrorInfo::from_body(long.as_bytes());
        assert_eq!(info.message.chars().count(), MAX_ERROR_MESSAGE + 1);
    }
}
