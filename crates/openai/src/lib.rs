//! inkdesk's chat model port and its adapter for OpenAI-compatible servers.
//!
//! The rest of inkdesk sees only [`ChatModel`] and the domain-neutral types below; OpenAI's
//! JSON never leaves this crate.
//!
//! # Map
//!
//! | module | holds |
//! |---|---|
//! | [`port`] | [`ChatModel`] (the port), [`ChatModelExt::complete_json`], [`Structured`] |
//! | [`request`] | [`ChatRequest`], [`Message`], [`UserPart`], [`ToolDefinition`], [`ToolChoice`], [`JsonSchemaFormat`], [`ModelTask`] |
//! | [`response`] | [`ChatResponse`], [`ToolCall`], [`MalformedArguments`], [`FinishReason`], [`Usage`] |
//! | [`image`] | [`ImagePart`]: format sniffed from the bytes, base64 data URL |
//! | [`error`] | [`ModelError`], [`MalformedOutput`] |
//! | [`config`] | [`OpenAiConfig`] and its parts, with defaults |
//! | [`breaker`] | [`CircuitBreaker`], [`BreakerState`], [`BreakerPolicy`] (clock-injected) |
//! | [`rate_limit`] | parsing `retry-after` and `x-ratelimit-reset-*` |
//! | [`structured`] | finding and validating the JSON object in a reply |
//! | [`price`] | [`PriceTable`]: list prices per model (overridable), the cost of a call |
//! | [`transcribe`] | [`Transcriber`] (the audio port), [`TranscriptionRequest`], [`Transcription`] |
//! | `client` | [`OpenAiClient`]: the reqwest adapter of both ports (wire types private) |
//! | [`scripted`] | [`ScriptedModel`]: replays a script, records requests |
//!
//! With the `testing` feature, `MockChatModel` and `MockTranscriber` (mockall) are generated.
//!
//! # Invariants
//!
//! - Nothing panics on what a server sends: malformed tool arguments become
//!   [`MalformedArguments`], bad bodies [`ModelError::InvalidResponse`].
//! - Only 429, 408, 5xx, timeouts and connection failures are retried, always within
//!   [`OpenAiConfig::deadline`]; an open breaker fails fast with [`ModelError::Unavailable`].
//! - The API key is a `SecretString`, sent as a sensitive header, never in `Debug` or logs;
//!   message text is not logged.

pub mod breaker;
mod client;
pub mod config;
pub mod error;
pub mod image;
pub mod port;
pub mod price;
pub mod rate_limit;
pub mod request;
pub mod response;
pub mod scripted;
pub mod structured;
pub mod transcribe;

pub use breaker::{BreakerPolicy, BreakerState, CircuitBreaker, Permit};
pub use client::{ConfigError, OpenAiClient};
pub use config::{
    AuthScheme, MaxTokensField, OPENAI_BASE_URL, OpenAiConfig, RetryPolicy, TaskModels,
    TaskSettings,
};
pub use error::{MalformedOutput, ModelError};
pub use image::{ImageDetail, ImageFormat, ImagePart, UnsupportedImage};
#[cfg(feature = "testing")]
pub use port::MockChatModel;
pub use port::{ChatModel, ChatModelExt, Structured};
pub use price::{LIST_PRICES_DATE, ModelPrice, PriceError, PriceTable, Usd};
pub use request::{
    ChatRequest, JsonSchemaFormat, Message, ModelTask, ToolChoice, ToolDefinition, UserPart,
};
pub use response::{ChatResponse, FinishReason, MalformedArguments, ToolCall, Usage};
pub use scripted::ScriptedModel;
pub use secrecy::SecretString;
#[cfg(feature = "testing")]
pub use transcribe::MockTranscriber;
pub use transcribe::{Transcriber, Transcription, TranscriptionRequest, TranscriptionUsage};
