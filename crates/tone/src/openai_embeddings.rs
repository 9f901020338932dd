//! [`Embedder`] over an OpenAI-compatible `POST {base}/embeddings` (OpenAI, Azure OpenAI,
//! OpenRouter, Ollama, vLLM, llama.cpp).
//!
//! Request `{"model","input":[…],"encoding_format":"float","dimensions"?}`; response
//! `{"object":"list","data":[{"object":"embedding","index","embedding":[…]}],"model",
//! "usage"}`. Inputs go in batches of at most [`OpenAiEmbeddingsConfig::batch_size`]
//! (128); results are placed by their `index`, never by their order in `data`.
//! 429, 5xx, timeouts and connection errors are retried ([`RetryPolicy`]); other 4xx are not.

use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::embed::Embedder;
use crate::error::EmbedError;
pub use crate::http::RetryPolicy;
use crate::http::{self, Attempt};

/// Settings of the embeddings adapter.
#[derive(Debug, Clone)]
pub struct OpenAiEmbeddingsConfig {
    /// API base, e.g. `https://api.openai.com/v1` (`/embeddings` is appended).
    pub base_url: Url,
    /// Bearer token; `None` for local servers that need none.
    pub api_key: Option<SecretString>,
    /// Embedding model, e.g. `text-embedding-3-small`.
    pub model: String,
    /// Ask for shorter vectors (models that support `dimensions`); `None` = model default.
    pub dimensions: Option<u32>,
    /// Inputs per request, at most 128.
    pub batch_size: usize,
    /// Time allowed for one request.
    pub timeout: Duration,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
}

impl OpenAiEmbeddingsConfig {
    /// Defaults: batches of 128, 30 s per request, [`RetryPolicy::patient`].
    pub fn new(base_url: Url, api_key: Option<SecretString>, model: impl Into<String>) -> Self {
        Self {
            base_url,
            api_key,
            model: model.into(),
            dimensions: None,
            batch_size: 128,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::patient(),
        }
    }
}

/// The OpenAI-compatible embeddings adapter.
#[derive(Debug, Clone)]
pub struct OpenAiEmbedder {
    http: reqwest::Client,
    endpoint: String,
    config: OpenAiEmbeddingsConfig,
}

/// Largest answer read: 128 inputs × 3072 floats written as JSON are about 8 MiB.
const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

#[derive(Serialize)]
struct Request<'a> {
    model: &'a str,
    input: &'a [String],
    encoding_format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    dimensions: Option<u32>,
}

#[derive(Deserialize)]
struct Response {
    data: Vec<Datum>,
}

#[derive(Deserialize)]
struct Datum {
    index: usize,
    embedding: Vec<f32>,
}

impl OpenAiEmbedder {
    /// Build the adapter (one pooled HTTP client).
    pub fn new(config: OpenAiEmbeddingsConfig) -> Result<Self, EmbedError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| EmbedError::Unavailable(Box::new(e)))?;
        let endpoint = format!(
            "{}/embeddings",
            config.base_url.as_str().trim_end_matches('/')
        );
        let mut config = config;
        config.batch_size = config.batch_size.clamp(1, 128);
        Ok(Self {
            http,
            endpoint,
            config,
        })
    }

    async fn attempt(&self, batch: &[String]) -> Result<Vec<Vec<f32>>, Attempt> {
        let body = Request {
            model: &self.config.model,
            input: batch,
            encoding_format: "float",
            dimensions: self.config.dimensions,
        };
        let mut request = self.http.post(&self.endpoint).json(&body);
        if let Some(key) = &self.config.api_key {
            request = request.bearer_auth(key.expose_secret());
        }
        let response = http::check(request.send().await.map_err(Attempt::Transport)?)?;
        let bytes = http::body(response, MAX_RESPONSE_BYTES).await?;
        let parsed: Response = serde_json::from_slice(&bytes)
            .map_err(|e| Attempt::Invalid(format!("not an embeddings response: {e}")))?;
        place_by_index(parsed.data, batch.len())
    }

    async fn embed_batch(&self, batch: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        http::with_retries(self.config.retry, || self.attempt(batch))
            .await
            .map_err(|failure| match failure {
                Attempt::Status {
                    status: 429,
                    retry_after,
                } => EmbedError::RateLimited { retry_after },
                Attempt::Status { status, .. } if status >= 500 => {
                    EmbedError::Unavailable(format!("status {status}").into())
                }
                Attempt::Status { status, .. } => EmbedError::Rejected { status },
                Attempt::Transport(e) => EmbedError::Unavailable(Box::new(e)),
                Attempt::Invalid(why) => EmbedError::InvalidResponse(why),
            })
    }
}

/// Put each embedding at its `index`; every slot must be filled exactly once, and all
/// vectors must share one dimension.
fn place_by_index(data: Vec<Datum>, expected: usize) -> Result<Vec<Vec<f32>>, Attempt> {
    let mut slots: Vec<Option<Vec<f32>>> = vec![None; expected];
    for datum in data {
        let slot = slots
            .get_mut(datum.index)
            .ok_or_else(|| Attempt::Invalid(format!("index {} out of range", datum.index)))?;
        if slot.replace(datum.embedding).is_some() {
            return Err(Attempt::Invalid(format!("index {} repeated", datum.index)));
        }
    }
    let vectors: Vec<Vec<f32>> = slots
        .into_iter()
        .enumerate()
        .map(|(i, v)| v.ok_or_else(|| Attempt::Invalid(format!("no embedding for input {i}"))))
        .collect::<Result<_, _>>()?;
    if let Some(first) = vectors.first()
        && (first.is_empty() || vectors.iter().any(|v| v.len() != first.len()))
    {
        return Err(Attempt::Invalid("embeddings of different lengths".into()));
    }
    Ok(vectors)
}

#[async_trait]
impl Embedder for OpenAiEmbedder {
    fn model(&self) -> String {
        self.config.model.clone()
    }

    async fn embed(&self, inputs: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out = Vec::with_capacity(inputs.len());
        for batch in inputs.chunks(self.config.batch_size) {
            out.extend(self.embed_batch(batch).await?);
        }
        Ok(out)
    }
}
