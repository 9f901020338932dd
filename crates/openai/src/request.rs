//! What the rest of inkdesk asks a model: [`ChatRequest`] and its parts.
//!
//! These types are domain-neutral and know nothing of OpenAI's JSON; the adapter turns
//! them into wire shapes at the edge (`client::wire`).

use serde_json::Value;

use crate::image::ImagePart;
use crate::response::ToolCall;

/// Which kind of work a call does; the adapter picks model, temperature and token limit
/// per task from its configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ModelTask {
    /// Conversation turns with tools (the seed's `OPENAI_MODEL_DEFAULT`).
    #[default]
    Default,
    /// Reading reference images (the seed's `OPENAI_MODEL_VISION`).
    Vision,
}

impl ModelTask {
    /// A short lowercase name for logs and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Vision => "vision",
        }
    }
}

/// One part of a user message: text or an image.
#[derive(Debug, Clone, PartialEq)]
pub enum UserPart {
    /// Plain text.
    Text(String),
    /// An image, sent inline as a data URL.
    Image(ImagePart),
}

/// One message of the conversation sent to the model.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// Instructions from inkdesk (system prompt, studio facts).
    System {
        /// The instructions.
        text: String,
    },
    /// What the customer said, possibly with images.
    User {
        /// Text and image parts, in order.
        parts: Vec<UserPart>,
    },
    /// An earlier reply of the model: text, tool calls, or both.
    Assistant {
        /// The reply text, if any.
        text: Option<String>,
        /// Tools the model asked for (sent back verbatim, malformed arguments included).
        tool_calls: Vec<ToolCall>,
    },
    /// The result of one tool call, answering the call with the same id.
    ToolResult {
        /// The id of the [`ToolCall`] this answers.
        tool_call_id: String,
        /// The result as text (usually JSON).
        content: String,
    },
}

impl Message {
    /// A system message.
    pub fn system(text: impl Into<String>) -> Self {
        Self::System { text: text.into() }
    }

    /// A user message with text only.
    pub fn user(text: impl Into<String>) -> Self {
        Self::User {
            parts: vec![UserPart::Text(text.into())],
        }
    }

    /// A user message made of several parts (text and images).
    pub fn user_parts(parts: Vec<UserPart>) -> Self {
        Self::User { parts }
    }

    /// An assistant message with text only.
    pub fn assistant(text: impl Into<String>) -> Self {
        Self::Assistant {
            text: Some(text.into()),
            tool_calls: Vec::new(),
        }
    }

    /// The answer to a tool call.
    pub fn tool_result(tool_call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self::ToolResult {
            tool_call_id: tool_call_id.into(),
            content: content.into(),
        }
    }
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolDefinition {
    /// The function's name (`[a-zA-Z0-9_-]`, at most 64 characters for OpenAI).
    pub name: String,
    /// What it does and when to use it, for the model.
    pub description: String,
    /// JSON Schema of the arguments object.
    pub parameters: Value,
    /// Ask the server to enforce the schema exactly (OpenAI "strict" mode). Strict schemas
    /// must list every property as required and set `additionalProperties: false`.
    pub strict: bool,
}

impl ToolDefinition {
    /// A non-strict tool definition.
    pub fn new(name: impl Into<String>, description: impl Into<String>, parameters: Value) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            parameters,
            strict: false,
        }
    }
}

/// Whether and which tools the model must call.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ToolChoice {
    /// The model decides (the default).
    #[default]
    Auto,
    /// The model must not call tools this time.
    None,
    /// The model must call at least one tool.
    Required,
    /// The model must call this function.
    Function(String),
}

/// Ask for a reply that is a JSON object following a schema (structured output).
#[derive(Debug, Clone, PartialEq)]
pub struct JsonSchemaFormat {
    /// A name for the schema (`[a-zA-Z0-9_-]`, at most 64 characters).
    pub name: String,
    /// What the output is for, for the model.
    pub description: Option<String>,
    /// The JSON Schema the reply must follow.
    pub schema: Value,
    /// Ask the server to enforce the schema exactly.
    pub strict: bool,
}

impl JsonSchemaFormat {
    /// A strict schema format without description.
    pub fn new(name: impl Into<String>, schema: Value) -> Self {
        Self {
            name: name.into(),
            description: None,
            schema,
            strict: true,
        }
    }
}

/// One call to the model.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatRequest {
    /// The kind of work; selects model and settings.
    pub task: ModelTask,
    /// The conversation, oldest first. Put stable text first so the server's prompt cache
    /// can reuse the prefix.
    pub messages: Vec<Message>,
    /// Tools the model may call; empty for none.
    pub tools: Vec<ToolDefinition>,
    /// Whether and which tools must be called; sent only when `tools` is not empty.
    pub tool_choice: ToolChoice,
    /// Ask for JSON following a schema.
    pub response_format: Option<JsonSchemaFormat>,
    /// Overrides the task's configured temperature.
    pub temperature: Option<f32>,
    /// Overrides the task's configured output token limit.
    pub max_tokens: Option<u32>,
}

impl ChatRequest {
    /// A request for `task` with these messages and nothing else.
    pub fn new(task: ModelTask, messages: Vec<Message>) -> Self {
        Self {
            task,
            messages,
            ..Self::default()
        }
    }

    /// Adds tools the model may call.
    #[must_use]
    pub fn with_tools(mut self, tools: Vec<ToolDefinition>, choice: ToolChoice) -> Self {
        self.tools = tools;
        self.tool_choice = choice;
        self
    }

    /// Asks for structured JSON output.
    #[must_use]
    pub fn with_response_format(mut self, format: JsonSchemaFormat) -> Self {
        self.response_format = Some(format);
        self
    }
}
