//! `GraphMessenger`: the [`Messenger`] port over Meta's Send API.

use std::time::Duration;

use async_trait::async_trait;
use backon::{ExponentialBuilder, Retryable};
use inkdesk_domain::ConversationId;
use inkdesk_http::BodyError;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use super::graph_error::{Class, GraphApiError, classify, retry_after};
use super::port::{Messenger, SendError, SendFailure, SendOptions, SentMessageId};
use crate::split::{MAX_MESSAGE_BYTES, split_message};

/// Default base URL for Instagram Login tokens.
pub const INSTAGRAM_GRAPH_BASE: &str = "https://graph.instagram.com";
/// Default base URL for page tokens.
pub const FACEBOOK_GRAPH_BASE: &str = "https://graph.facebook.com";
/// Graph API version used unless configured otherwise.
pub const DEFAULT_API_VERSION: &str = "v23.0";

/// Which kind of token we hold, and so which endpoint sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphMode {
    /// An Instagram Login user token: `POST {base}/{version}/me/messages`.
    InstagramLogin,
    /// A Facebook page token for the page linked to the Instagram account:
    /// `POST {base}/{version}/{page_id}/messages`.
    Page {
        /// The Facebook page id.
        page_id: String,
    },
}

/// How retries of one Send API call back off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: usize,
    /// First backoff delay (doubled each time, with jitter).
    pub min_delay: Duration,
    /// Longest backoff delay, and the cap on an honoured `Retry-After`.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
        }
    }
}

/// Configuration of a [`GraphMessenger`].
#[derive(Debug, Clone)]
pub struct GraphConfig {
    /// Endpoint flavour.
    pub mode: GraphMode,
    /// Scheme and host (and optional path prefix), e.g. `https://graph.instagram.com`.
    pub base_url: String,
    /// Graph API version, e.g. `v23.0`.
    pub api_version: String,
    /// Access token, sent as `Authorization: Bearer`.
    pub access_token: SecretString,
    /// Timeout of one HTTP attempt.
    pub request_timeout: Duration,
    /// Backoff of retryable failures.
    pub retry: RetryPolicy,
    /// Chunk size limit in bytes of UTF-8.
    pub max_chunk_bytes: usize,
}

impl GraphConfig {
    /// Instagram Login mode against `graph.instagram.com`, with defaults.
    pub fn instagram_login(access_token: SecretString) -> Self {
        Self::with_mode(
            GraphMode::InstagramLogin,
            INSTAGRAM_GRAPH_BASE,
            access_token,
        )
    }

    /// Page mode against `graph.facebook.com`, with defaults.
    pub fn page(page_id: impl Into<String>, access_token: SecretString) -> Self {
        let mode = GraphMode::Page {
            page_id: page_id.into(),
        };
        Self::with_mode(mode, FACEBOOK_GRAPH_BASE, access_token)
    }

    fn with_mode(mode: GraphMode, base: &str, access_token: SecretString) -> Self {
        Self {
            mode,
            base_url: base.to_owned(),
            api_version: DEFAULT_API_VERSION.to_owned(),
            access_token,
            request_timeout: Duration::from_secs(15),
            retry: RetryPolicy::default(),
            max_chunk_bytes: MAX_MESSAGE_BYTES,
        }
    }

    /// Replaces the base URL (tests, proxies).
    pub fn base_url(mut self, base: impl Into<String>) -> Self {
        self.base_url = base.into();
        self
    }

    /// Replaces the API version.
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = version.into();
        self
    }

    /// Replaces the per-attempt timeout.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Replaces the retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The Send API URL this configuration posts to.
    pub fn send_url(&self) -> Result<Url, ConfigError> {
        let base = self.base_url.trim_end_matches('/');
        let version = self.api_version.trim_matches('/');
        let safe = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
        };
        if !safe(version) {
            return Err(ConfigError::InvalidVersion);
        }
        let node = match &self.mode {
            GraphMode::InstagramLogin => "me",
            GraphMode::Page { page_id } if safe(page_id) => page_id.as_str(),
            GraphMode::Page { .. } => return Err(ConfigError::InvalidPageId),
        };
        let url = Url::parse(&format!("{base}/{version}/{node}/messages"))
            .map_err(|_| ConfigError::InvalidBaseUrl)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConfigError::InvalidBaseUrl);
        }
        Ok(url)
    }
}

/// A [`GraphConfig`] that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The base URL is not an absolute http(s) URL.
    #[error("the Graph base URL is not a valid http(s) URL")]
    InvalidBaseUrl,
    /// The API version contains characters other than letters, digits, `.` and `_`.
    #[error("the Graph API version is not valid")]
    InvalidVersion,
    /// The page id contains characters other than letters, digits, `.` and `_`.
    #[error("the Facebook page id is not valid")]
    InvalidPageId,
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client")]
    Client(#[source] reqwest::Error),
}

/// Sends through Meta's Graph API. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct GraphMessenger {
    client: reqwest::Client,
    url: Url,
    token: SecretString,
    timeout: Duration,
    retry: RetryPolicy,
    max_chunk_bytes: usize,
}

impl std::fmt::Debug for GraphMessenger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphMessenger")
            .field("url", &self.url.as_str())
            .field("token", &"[redacted]")
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct SendBody<'a> {
    recipient: Recipient<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    messaging_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag: Option<&'static str>,
    message: TextPayload<'a>,
}

#[derive(Serialize)]
struct Recipient<'a> {
    id: &'a str,
}

#[derive(Serialize)]
struct TextPayload<'a> {
    text: &'a str,
}

#[derive(Deserialize)]
struct SendResponse {
    message_id: Option<String>,
}

/// Outcome of one failed attempt, before retry decisions.
#[derive(Debug)]
struct Attempt {
    class: Class,
    retry_after: Option<std::time::Duration>,
    error: SendError,
}

impl GraphMessenger {
    /// Builds the messenger with its own HTTP client.
    pub fn new(config: GraphConfig) -> Result<Self, ConfigError> {
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout)
            .build()
            .map_err(ConfigError::Client)?;
        Self::with_client(config, client)
    }

    /// Builds the messenger on a shared client; the configured `request_timeout` is set on
    /// each request.
    pub fn with_client(config: GraphConfig, client: reqwest::Client) -> Result<Self, ConfigError> {
        Ok(Self {
            url: config.send_url()?,
            client,
            token: config.access_token,
            timeout: config.request_timeout,
            retry: config.retry,
            max_chunk_bytes: config.max_chunk_bytes,
        })
    }

    async fn send_chunk(
        &self,
        recipient: &ConversationId,
        text: &str,
        options: SendOptions,
    ) -> Result<SentMessageId, SendError> {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.retry.min_delay)
            .with_max_delay(self.retry.max_delay)
            .with_max_times(self.retry.max_retries)
            .with_jitter();
        let cap = self.retry.max_delay;
        (|| self.attempt(recipient, text, options))
            .retry(backoff)
            .when(|a: &Attempt| matches!(a.class, Class::RateLimited | Class::Transient))
            .adjust(move |a: &Attempt, proposed| {
                // Honour Retry-After, within our cap, but never extend the retry budget.
                proposed.map(|d| a.retry_after.map_or(d, |ra| ra.min(cap)))
            })
            .notify(|a: &Attempt, delay| {
                tracing::warn!(error = %a.error, ?delay, "Send API attempt failed; retrying");
            })
            .await
            .map_err(|a| a.error)
    }

    async fn attempt(
        &self,
        recipient: &ConversationId,
        text: &str,
        options: SendOptions,
    ) -> Result<SentMessageId, Attempt> {
        let body = SendBody {
            recipient: Recipient {
                id: recipient.as_str(),
            },
            messaging_type: options.human_agent_tag.then_some("MESSAGE_TAG"),
            tag: options.human_agent_tag.then_some("HUMAN_AGENT"),
            message: TextPayload { text },
        };
        let response = self
            .client
            .post(self.url.clone())
            .bearer_auth(self.token.expose_secret())
            .timeout(self.timeout)
            .json(&body)
            .send()
            .await
            .map_err(transport_failure)?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = match inkdesk_http::read_body(response, MAX_RESPONSE_BYTES).await {
            Ok(bytes) => bytes,
            Err(BodyError::Transport(e)) => return Err(transport_failure(e)),
            // Sent, but the answer is not one Meta documents: never resend it.
            Err(too_large) if status.is_success() => {
                return Err(Attempt {
                    class: Class::Rejected,
                    retry_after: None,
                    error: SendError::InvalidResponse(too_large.to_string()),
                });
            }
            // An error answer is classified by its status alone.
            Err(BodyError::TooLarge { .. }) => bytes::Bytes::new(),
        };
        if status.is_success() {
            let parsed: SendResponse = serde_json::from_slice(&bytes).map_err(|e| Attempt {
                class: Class::Rejected,
                retry_after: None,
                error: SendError::InvalidResponse(e.to_string()),
            })?;
            return parsed
                .message_id
                .map(SentMessageId::new)
                .ok_or_else(|| Attempt {
                    class: Class::Rejected,
                    retry_after: None,
                    error: SendError::InvalidResponse("no message_id".to_owned()),
                });
        }
        let detail = Box::new(GraphApiError::from_response(status.as_u16(), &bytes));
        let class = classify(&detail);
        let retry_after = retry_after(&headers);
        let error = match class {
            Class::TokenInvalid => {
                tracing::error!(error = %detail, "Instagram access token rejected; replace it");
                SendError::TokenInvalid(detail)
            }
            Class::WindowClosed => SendError::WindowClosed(detail),
            Class::RecipientUnavailable => SendError::RecipientUnavailable(detail),
            Class::RateLimited => SendError::RateLimited {
                retry_after,
                detail: Some(detail),
            },
            Class::Transient => SendError::Unavailable(detail),
            Class::Rejected => SendError::Rejected(detail),
        };
        Err(Attempt {
            class,
            retry_after,
            error,
        })
    }
}

/// Largest Send API answer read: its JSON is a few hundred bytes, errors a few KiB.
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

fn transport_failure(e: reqwest::Error) -> Attempt {
    // Connection errors and timeouts are worth retrying. A timeout after the request was
    // sent may mean Meta delivered the message: a retry can then duplicate it, which we
    // prefer to silently dropping a reply.
    Attempt {
        class: Class::Transient,
        retry_after: None,
        error: SendError::Unavailable(Box::new(e.without_url())),
    }
}

#[async_trait]
impl Messenger for GraphMessenger {
    async fn send_text(
        &self,
        recipient: &ConversationId,
        text: &str,
        options: SendOptions,
    ) -> Result<Vec<SentMessageId>, SendFailure> {
        let chunks = split_message(text, self.max_chunk_bytes);
        if chunks.is_empty() {
            return Err(SendError::EmptyText.into());
        }
        let mut delivered = Vec::with_capacity(chunks.len());
        for chunk in &chunks {
            match self.send_chunk(recipient, chunk, options).await {
                Ok(id) => delivered.push(id),
                Err(error) => return Err(SendFailure { delivered, error }),
            }
        }
        tracing::debug!(chunks = delivered.len(), "message sent");
        Ok(delivered)
    }
}
