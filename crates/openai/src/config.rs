//! [`OpenAiConfig`]: where the server is, which model does what, and how patient to be.
//!
//! The binary maps environment variables onto this; every field has a default that
//! works against api.openai.com with an API key.

use std::time::Duration;

use secrecy::SecretString;

use crate::breaker::BreakerPolicy;
use crate::request::ModelTask;

/// OpenAI's public API.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

/// Model and sampling settings for one [`ModelTask`].
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSettings {
    /// The model name (a deployment name on Azure, a local tag on Ollama).
    pub model: String,
    /// Sampling temperature; `None` leaves the server's default (reasoning models accept
    /// no other).
    pub temperature: Option<f32>,
    /// Output token limit; `None` leaves the server's default.
    pub max_tokens: Option<u32>,
}

impl TaskSettings {
    /// Settings for `model` with server defaults for sampling and length.
    pub fn new(model: impl Into<String>) -> Self {
        Self {
            model: model.into(),
            temperature: None,
            max_tokens: None,
        }
    }
}

/// Settings for each task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskModels {
    /// Conversation turns (`OPENAI_MODEL_DEFAULT`).
    pub default: TaskSettings,
    /// Image reading (`OPENAI_MODEL_VISION`).
    pub vision: TaskSettings,
    /// Voice-note transcription at `/audio/transcriptions` (`OPENAI_MODEL_TRANSCRIBE`).
    pub transcribe: String,
}

impl TaskModels {
    /// The settings for `task`.
    pub fn for_task(&self, task: ModelTask) -> &TaskSettings {
        match task {
            ModelTask::Default => &self.default,
            ModelTask::Vision => &self.vision,
        }
    }
}

impl Default for TaskModels {
    fn default() -> Self {
        // A warm but steady voice for replies, exact readings of images.
        Self {
            default: TaskSettings {
                model: "gpt-4o".to_owned(),
                temperature: Some(0.4),
                max_tokens: Some(800),
            },
            vision: TaskSettings {
                model: "gpt-4o-mini".to_owned(),
                temperature: Some(0.0),
                max_tokens: Some(600),
            },
            transcribe: "gpt-4o-mini-transcribe".to_owned(),
        }
    }
}

/// How transient failures are retried (exponential back-off with jitter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// First back-off delay.
    pub min_backoff: Duration,
    /// Longest back-off delay (a server's `retry-after` may ask for longer, within the
    /// deadline).
    pub max_backoff: Duration,
    /// Randomise delays so replicas do not retry in step.
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        // The seed's "3 attempts, 2–16 s", as retries after the first try.
        Self {
            max_retries: 3,
            min_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(16),
            jitter: true,
        }
    }
}

/// Which field carries the output token limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MaxTokensField {
    /// `max_completion_tokens`, OpenAI's current field (reasoning models accept only it).
    #[default]
    MaxCompletionTokens,
    /// `max_tokens`, for older compatible servers that do not know the new field.
    MaxTokens,
}

/// How the API key is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthScheme {
    /// `Authorization: Bearer <key>`: OpenAI, OpenRouter, Azure's `/openai/v1` API,
    /// vLLM and llama.cpp with `--api-key`.
    #[default]
    Bearer,
    /// `api-key: <key>`: Azure OpenAI's deployment-style URLs
    /// (`…/openai/deployments/<name>?api-version=…`).
    ApiKeyHeader,
}

/// Configuration of [`crate::OpenAiClient`].
///
/// `Debug` is safe to log: the API key prints as redacted.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// Base URL up to and including the API version, e.g. `https://api.openai.com/v1`,
    /// `https://<resource>.openai.azure.com/openai/v1`, `https://openrouter.ai/api/v1`,
    /// `http://localhost:11434/v1` (Ollama), `http://localhost:8000/v1` (vLLM,
    /// llama.cpp). `/chat/completions` is appended to the path; a query such as Azure's
    /// `?api-version=…` is kept.
    pub base_url: String,
    /// The API key; `None` for local servers without auth.
    pub api_key: Option<SecretString>,
    /// How the key is sent.
    pub auth_scheme: AuthScheme,
    /// Sent as `OpenAI-Organization`.
    pub organization: Option<String>,
    /// Sent as `OpenAI-Project`.
    pub project: Option<String>,
    /// Model, temperature and token limit per task.
    pub tasks: TaskModels,
    /// Which field carries the token limit.
    pub max_tokens_field: MaxTokensField,
    /// Limit for establishing a connection.
    pub connect_timeout: Duration,
    /// Limit for one attempt (sending and reading the whole reply).
    pub request_timeout: Duration,
    /// Limit for the whole call, retries and back-off included.
    pub deadline: Duration,
    /// Retrying of transient failures.
    pub retry: RetryPolicy,
    /// Circuit breaker.
    pub breaker: BreakerPolicy,
}

impl Default for OpenAiConfig {
    fn default() -> Self {
        Self {
            base_url: OPENAI_BASE_URL.to_owned(),
            api_key: None,
            auth_scheme: AuthScheme::default(),
            organization: None,
            project: None,
            tasks: TaskModels::default(),
            max_tokens_field: MaxTokensField::default(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(60),
            deadline: Duration::from_secs(120),
            retry: RetryPolicy::default(),
            breaker: BreakerPolicy::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_api_key() {
        let config = OpenAiConfig {
            api_key: Some(SecretString::from("sk-live-very-secret-123")),
            ..OpenAiConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("sk-live-very-secret-123"), "{shown}");
        assert!(shown.contains("api.openai.com"), "{shown}");
    }

    #[test]
    fn defaults_point_at_openai_with_the_seed_models() {
        let config = OpenAiConfig::default();
        assert_eq!(config.base_url, "https://api.openai.com/v1");
        assert_eq!(config.tasks.for_task(ModelTask::Default).model, "gpt-4o");
        assert_eq!(
            config.tasks.for_task(ModelTask::Vision).model,
            "gpt-4o-mini"
        );
        assert!(config.deadline > config.request_timeout);
    }
}
