//! [`OpenAiClient`]: the [`ChatModel`] adapter for `POST {base}/chat/completions`, and the
//! [`Transcriber`](crate::Transcriber) adapter for `POST {base}/audio/transcriptions`.
//!
//! One call = breaker check → build body once → attempts with exponential back-off and
//! jitter (429, 408, 5xx, timeouts, connection errors; server wait hints honoured) → all
//! inside one overall deadline → breaker told the outcome.

mod multipart;
mod transcribe;
mod wire;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use backon::{ExponentialBuilder, Retryable};
use bytes::Bytes;
use inkdesk_domain::{Clock, SystemClock};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{StatusCode, Url};
use secrecy::ExposeSecret;
use tokio::time::Instant;
use tracing::Instrument;

use crate::breaker::{BreakerState, CircuitBreaker};
use crate::config::{AuthScheme, OpenAiConfig};
use crate::error::ModelError;
use crate::port::ChatModel;
use crate::rate_limit::wait_hint;
use crate::request::ChatRequest;
use crate::response::ChatResponse;
use wire::{ErrorInfo, WireRequest, WireResponse};

/// The configuration cannot make a client.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The base URL does not parse or is not http(s).
    #[error("invalid model base URL {url:?}: {reason}")]
    BaseUrl {
        /// The URL as configured.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A header value (API key, organisation, project) contains characters HTTP forbids.
    #[error("invalid value for the {header} header")]
    HeaderValue {
        /// The header's name.
        header: &'static str,
    },
    /// The HTTP client could not be built (TLS set-up).
    #[error("could not build the HTTP client")]
    Http(#[source] reqwest::Error),
}

/// Largest chat completion read (a reply is a few KiB; the cap leaves room for long
/// tool-call arguments while bounding what a broken server can make us buffer).
const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// A [`ChatModel`] backed by any OpenAI-compatible Chat Completions server.
///
/// Cheap to share behind an `Arc`; holds one connection pool and one circuit breaker.
#[derive(Debug)]
pub struct OpenAiClient {
    config: OpenAiConfig,
    http: reqwest::Client,
    endpoint: Url,
    /// `{base}/audio/transcriptions`.
    transcriptions: Url,
    breaker: CircuitBreaker,
    /// Transcription has a breaker of its own: a server without audio support must not
    /// stop the conversation.
    transcribe_breaker: CircuitBreaker,
    clock: Arc<dyn Clock>,
    /// Models that refused `response_format`; later calls to them describe the schema in
    /// a system message instead.
    schema_unsupported: Mutex<HashSet<String>>,
}

impl OpenAiClient {
    /// A client using the system clock.
    pub fn new(config: OpenAiConfig) -> Result<Self, ConfigError> {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// A client whose breaker cool-down and `retry-after` dates use `clock`.
    pub fn with_clock(config: OpenAiConfig, clock: Arc<dyn Clock>) -> Result<Self, ConfigError> {
        let transcriptions = endpoint(&config.base_url, "audio/transcriptions")?;
        let endpoint = endpoint(&config.base_url, "chat/completions")?;
        let http = reqwest::Client::builder()
            .default_headers(default_headers(&config)?)
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .user_agent(concat!("inkdesk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ConfigError::Http)?;
        Ok(Self {
            breaker: CircuitBreaker::new(config.breaker, clock.clone()),
            transcribe_breaker: CircuitBreaker::new(config.breaker, clock.clone()),
            config,
            http,
            endpoint,
            transcriptions,
            clock,
            schema_unsupported: Mutex::new(HashSet::new()),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &OpenAiConfig {
        &self.config
    }

    fn schema_refused_by(&self, model: &str) -> bool {
        self.schema_unsupported
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(model)
    }

    /// Posts one body to `url`, retrying transient failures; returns the successful
    /// response's body and the number of retries made.
    async fn post_with_retries(
        &self,
        url: &Url,
        content_type: &str,
        body: Bytes,
        deadline_at: Instant,
    ) -> Result<(Bytes, u32), ModelError> {
        let retry = &self.config.retry;
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(retry.min_backoff)
            .with_max_delay(retry.max_backoff)
            .with_max_times(usize::try_from(retry.max_retries).unwrap_or(usize::MAX));
        if retry.jitter {
            backoff = backoff.with_jitter();
        }
        let attempts = AtomicU32::new(0);
        let result = (|| {
            attempts.fetch_add(1, Ordering::Relaxed);
            self.attempt(url, content_type, body.clone())
        })
        .retry(backoff)
        .when(|failure: &Failure| failure.retryable)
        .adjust(|failure, backoff| {
            // `None` from the back-off means retries are used up.
            let wait = backoff?.max(failure.wait_hint.unwrap_or_default());
            // A wait that ends past the deadline only delays the same answer.
            (Instant::now() + wait < deadline_at).then_some(wait)
        })
        .notify(|failure, wait| {
            tracing::warn!(error = %failure.error, wait_ms = wait.as_millis() as u64, "model call failed; retrying");
        })
        .await;
        let retries = attempts.load(Ordering::Relaxed).saturating_sub(1);
        result.map(|wire| (wire, retries)).map_err(|f| f.error)
    }

    /// One HTTP exchange: the body of a 2xx answer, or why not.
    async fn attempt(&self, url: &Url, content_type: &str, body: Bytes) -> Result<Bytes, Failure> {
        let response = self
            .http
            .post(url.clone())
            .header(CONTENT_TYPE, content_type)
            .timeout(self.config.request_timeout)
            .body(body)
            .send()
            .await
            .map_err(|e| self.transport_failure(e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = match inkdesk_http::read_body(response, MAX_RESPONSE_BYTES).await {
            Ok(bytes) => bytes,
            Err(inkdesk_http::BodyError::Transport(e)) => return Err(self.transport_failure(e)),
            Err(too_large @ inkdesk_http::BodyError::TooLarge { .. }) => {
                return Err(Failure {
                    error: ModelError::InvalidResponse {
                        reason: too_large.to_string(),
                    },
                    retryable: false,
                    wait_hint: None,
                });
            }
        };
        if status.is_success() {
            return Ok(bytes);
        }
        Err(self.status_failure(status, &headers, &bytes))
    }

    fn transport_failure(&self, error: reqwest::Error) -> Failure {
        let retryable = !(error.is_builder() || error.is_redirect());
        let error = if error.is_timeout() {
            ModelError::Timeout {
                after: self.config.request_timeout,
            }
        } else {
            ModelError::Network(Box::new(error))
        };
        Failure {
            error,
            retryable,
            wait_hint: None,
        }
    }

    fn status_failure(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Failure {
        let info = ErrorInfo::from_body(body);
        let hint = wait_hint(headers, self.clock.now());
        let quota_gone = info.code.as_deref() == Some("insufficient_quota");
        if status == StatusCode::TOO_MANY_REQUESTS && !quota_gone {
            return Failure {
                error: ModelError::RateLimited { retry_after: hint },
                retryable: true,
                wait_hint: hint,
            };
        }
        if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
            return Failure {
                error: ModelError::Server {
                    status: status.as_u16(),
                    message: info.message,
                },
                retryable: true,
                wait_hint: hint,
            };
        }
        Failure {
            error: ModelError::Rejected {
                status: status.as_u16(),
                code: info.code,
                message: if info.param.as_deref() == Some("response_format") {
                    format!("response_format: {}", info.message)
                } else {
                    info.message
                },
            },
            retryable: false,
            wait_hint: None,
        }
    }

    /// Builds and sends `request`, falling back once to a schema-in-the-prompt request if
    /// the server refuses `response_format`.
    async fn call(
        &self,
        request: &ChatRequest,
        deadline_at: Instant,
    ) -> Result<(ChatResponse, u32), ModelError> {
        let settings = self.config.tasks.for_task(request.task);
        let mut use_schema =
            request.response_format.is_some() && !self.schema_refused_by(&settings.model);
        loop {
            let body =
                WireRequest::build(request, settings, self.config.max_tokens_field, use_schema);
            let body = serde_json::to_vec(&body).map_err(|e| ModelError::InvalidResponse {
                reason: format!("could not encode the request: {e}"),
            })?;
            let sent = self
                .post_with_retries(&self.endpoint, "application/json", body.into(), deadline_at)
                .await
                .and_then(|(bytes, retries)| {
                    serde_json::from_slice::<WireResponse>(&bytes)
                        .map(|wire| (wire, retries))
                        .map_err(|e| ModelError::InvalidResponse {
                            reason: format!("body is not a chat completion: {e}"),
                        })
                });
            match sent {
                Ok((wire, retries)) => {
                    let response = wire
                        .into_response(&settings.model)
                        .map_err(|reason| ModelError::InvalidResponse { reason })?;
                    return Ok((response, retries));
                }
                Err(ModelError::Rejected {
                    status: 400,
                    message,
                    ..
                }) if use_schema && message.contains("response_format") => {
                    tracing::warn!(
                        "server refuses response_format; describing the schema in the prompt from now on"
                    );
                    self.schema_unsupported
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(settings.model.clone());
                    use_schema = false;
                }
                Err(error) => return Err(error),
            }
        }
    }
}

#[async_trait]
impl ChatModel for OpenAiClient {
    async fn complete(&self, request: ChatRequest) -> Result<ChatResponse, ModelError> {
        let settings = self.config.tasks.for_task(request.task);
        let span = tracing::info_span!(
            "model_call",
            task = request.task.as_str(),
            model = %settings.model,
            messages = request.messages.len(),
            tools = request.tools.len(),
        );
        async {
            let permit = self
                .breaker
                .try_acquire()
                .map_err(|retry_in| ModelError::Unavailable { retry_in })?;
            let started = Instant::now();
            let deadline = self.config.deadline;
            let outcome = tokio::time::timeout(deadline, self.call(&request, started + deadline))
                .await
                .unwrap_or(Err(ModelError::Timeout { after: deadline }));
            match &outcome {
                // A refusal proves the server is up; only outages count against it.
                Ok(_) | Err(ModelError::Rejected { .. }) => permit.success(),
                Err(_) => permit.failure(),
            }
            let (mut response, retries) = outcome.inspect_err(|error| {
                tracing::warn!(error = %error, "model call failed");
            })?;
            response.usage.latency = started.elapsed();
            response.usage.retries = retries;
            let usage = &response.usage;
            tracing::info!(
                prompt_tokens = usage.prompt_tokens,
                completion_tokens = usage.completion_tokens,
                cached_tokens = usage.cached_tokens,
                latency_ms = usage.latency.as_millis() as u64,
                retries = usage.retries,
                tool_calls = response.tool_calls.len(),
                finish_reason = ?response.finish_reason,
                "model call finished"
            );
            Ok(response)
        }
        .instrument(span)
        .await
    }

    fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }
}

/// One failed attempt and whether another may help.
#[derive(Debug)]
struct Failure {
    error: ModelError,
    retryable: bool,
    wait_hint: Option<Duration>,
}

/// `{base}/{suffix}`, keeping any query of the base.
fn endpoint(base_url: &str, suffix: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: String| ConfigError::BaseUrl {
        url: base_url.to_owned(),
        reason,
    };
    let mut url = Url::parse(base_url).map_err(|e| invalid(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https".to_owned()));
    }
    // Append to the path but keep any query (Azure's `?api-version=…`).
    let path = format!("{}/{suffix}", url.path().trim_end_matches('/'));
    url.set_path(&path);
    Ok(url)
}

fn default_headers(config: &OpenAiConfig) -> Result<HeaderMap, ConfigError> {
    let mut headers = HeaderMap::new();
    if let Some(key) = &config.api_key {
        let (name, text, header) = match config.auth_scheme {
            AuthScheme::Bearer => (
                AUTHORIZATION,
                format!("Bearer {}", key.expose_secret()),
                "Authorization",
            ),
            AuthScheme::ApiKeyHeader => (
                HeaderName::from_static("api-key"),
                key.expose_secret().to_owned(),
                "api-key",
            ),
        };
        let mut value =
            HeaderValue::from_str(&text).map_err(|_| ConfigError::HeaderValue { header })?;
        // Keeps the value out of reqwest's and hyper's debug output.
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    for (name, value, header) in [
        (
            "openai-organization",
            &config.organization,
            "OpenAI-Organization",
        ),
        ("openai-project", &config.project, "OpenAI-Project"),
    ] {
        if let Some(value) = value {
            let value =
                HeaderValue::from_str(value).map_err(|_| ConfigError::HeaderValue { header })?;
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_appends_chat_completions_to_any_base() {
        for (base, want) in [
            (
                "https://api.openai.com/v1",
                "https://api.openai.com/v1/chat/completions",
            ),
            (
                "http://localhost:11434/v1/",
                "http://localhost:11434/v1/chat/completions",
            ),
            (
                "https://studio.openai.azure.com/openai/v1",
                "https://studio.openai.azure.com/openai/v1/chat/completions",
            ),
            (
                "https://studio.openai.azure.com/openai/deployments/ink?api-version=2024-10-21",
                "https://studio.openai.azure.com/openai/deployments/ink/chat/completions?api-version=2024-10-21",
            ),
        ] {
            assert_eq!(endpoint(base, "chat/completions").unwrap().as_str(), want);
        }
        assert!(matches!(
            endpoint("ftp://x/v1", "chat/completions"),
            Err(ConfigError::BaseUrl { .. })
        ));
        assert!(matches!(
            endpoint("not a url", "chat/completions"),
            Err(ConfigError::BaseUrl { .. })
        ));
    }

    #[test]
    fn api_key_with_a_newline_is_a_config_error_not_a_panic() {
        let config = OpenAiConfig {
            api_key: Some("sk-abc\nInjected: yes".into()),
            ..OpenAiConfig::default()
        };
        assert!(matches!(
            OpenAiClient::new(config),
            Err(ConfigError::HeaderValue {
                header: "Authorization"
            })
        ));
    }

    #[test]
    fn client_debug_never_shows_the_api_key() {
        let config = OpenAiConfig {
            api_key: Some("sk-proj-hidden-42".into()),
            ..OpenAiConfig::default()
        };
        let client = OpenAiClient::new(config).unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("sk-proj-hidden-42"), "{shown}");
    }
}
