//! [`ToneSearch`] over a Pinecone index (REST data plane), for studios that already have
//! one (the seed's `PINECONE_API_KEY` and index name).
//!
//! - query: `POST https://<index-host>/query`, header `Api-Key`, body
//!   `{"vector":[…],"topK":k,"includeMetadata":true,"includeValues":false,"namespace"?}`,
//!   answer `{"matches":[{"id","score","metadata":{…}}],"namespace","usage"}`;
//! - upsert: `POST https://<index-host>/vectors/upsert`, body
//!   `{"vectors":[{"id","values","metadata"}],"namespace"?}`, answer `{"upsertedCount"}`;
//! - host lookup: `GET https://api.pinecone.io/indexes/<name>` answers `{"host",…}`.
//!
//! Metadata written and read: `customer`, `studio`, `thread`, `at` (RFC 3339). Matches
//! without `customer` and `studio` metadata (an index filled by other tools) are skipped.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::IndexError;
use crate::http::{self, Attempt, RetryPolicy};
use crate::review::ToneExample;
use crate::search::{ToneHit, ToneSearch};

/// Vectors per upsert request (Pinecone's documented limit is 1000 and 2 MB).
const UPSERT_BATCH: usize = 100;

/// Settings of the Pinecone adapter.
#[derive(Debug, Clone)]
pub struct PineconeConfig {
    /// The index host, e.g. `https://tone-abc123.svc.us-east1-gcp.pinecone.io`.
    pub index_host: Url,
    /// The project's API key (`PINECONE_API_KEY`).
    pub api_key: SecretString,
    /// Namespace inside the index; `None` = the default namespace.
    pub namespace: Option<String>,
    /// Value of the `X-Pinecone-API-Version` header.
    pub api_version: String,
    /// Time allowed for one request.
    pub timeout: Duration,
    /// Retries of transient failures (short by default: queries run during a live turn).
    pub retry: RetryPolicy,
}

impl PineconeConfig {
    /// Defaults: default namespace, API version 2025-04, 5 s per request, one quick retry.
    pub fn new(index_host: Url, api_key: SecretString) -> Self {
        Self {
            index_host,
            api_key,
            namespace: None,
            api_version: "2025-04".into(),
            timeout: Duration::from_secs(5),
            retry: RetryPolicy {
                max_retries: 1,
                min_delay: Duration::from_millis(200),
                max_delay: Duration::from_secs(1),
            },
        }
    }
}

/// Largest answer read: a query's matches with metadata are a few KiB per match.
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// The Pinecone adapter.
#[derive(Debug, Clone)]
pub struct PineconeIndex {
    http: reqwest::Client,
    config: PineconeConfig,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QueryRequest<'a> {
    vector: &'a [f32],
    top_k: usize,
    include_metadata: bool,
    include_values: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<&'a str>,
}

#[derive(Deserialize)]
struct QueryResponse {
    #[serde(default)]
    matches: Vec<Match>,
}

#[derive(Deserialize)]
struct Match {
    id: String,
    score: f32,
    #[serde(default)]
    metadata: Option<Metadata>,
}

#[derive(Serialize, Deserialize)]
struct Metadata {
    customer: Option<String>,
    studio: Option<String>,
    #[serde(default)]
    thread: Option<String>,
    #[serde(default)]
    at: Option<DateTime<Utc>>,
}

#[derive(Serialize)]
struct UpsertRequest<'a> {
    vectors: Vec<UpsertVector<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<&'a str>,
}

#[derive(Serialize)]
struct UpsertVector<'a> {
    id: &'a str,
    values: &'a [f32],
    metadata: Metadata,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpsertResponse {
    #[serde(default)]
    upserted_count: usize,
}

#[derive(Deserialize)]
struct DescribeIndex {
    host: String,
}

fn remote(failure: Attempt) -> IndexError {
    match failure {
        Attempt::Status { status, .. } => {
            IndexError::Remote(format!("pinecone answered status {status}").into())
        }
        Attempt::Transport(e) => IndexError::Remote(Box::new(e)),
        Attempt::Invalid(why) => IndexError::Remote(why.into()),
    }
}

impl PineconeIndex {
    /// Build the adapter.
    pub fn new(config: PineconeConfig) -> Result<Self, IndexError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| IndexError::Remote(Box::new(e)))?;
        Ok(Self { http, config })
    }

    /// Look up an index's host by name on the control plane (`control` is normally
    /// `https://api.pinecone.io`), within `timeout`.
    pub async fn resolve_host(
        control: &Url,
        api_key: &SecretString,
        index_name: &str,
        timeout: Duration,
    ) -> Result<Url, IndexError> {
        let url = format!(
            "{}/indexes/{index_name}",
            control.as_str().trim_end_matches('/')
        );
        let transport = |e: reqwest::Error| IndexError::Remote(Box::new(e.without_url()));
        let response = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(transport)?
            .get(url)
            .header("Api-Key", api_key.expose_secret())
            .send()
            .await
            .map_err(transport)?;
        let response = http::check(response).map_err(remote)?;
        let bytes = http::body(response, MAX_RESPONSE_BYTES)
            .await
            .map_err(remote)?;
        let described: DescribeIndex = serde_json::from_slice(&bytes)
            .map_err(|e| IndexError::Remote(format!("unexpected pinecone answer: {e}").into()))?;
        let host = if described.host.starts_with("http") {
            described.host
        } else {
            format!("https://{}", described.host)
        };
        Url::parse(&host).map_err(|e| IndexError::Remote(Box::new(e)))
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}{path}",
            self.config.index_host.as_str().trim_end_matches('/')
        )
    }

    async fn post<B: Serialize + Sync, R: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<R, IndexError> {
        let url = self.url(path);
        http::with_retries(self.config.retry, || async {
            let response = self
                .http
                .post(&url)
                .header("Api-Key", self.config.api_key.expose_secret())
                .header("X-Pinecone-API-Version", &self.config.api_version)
                .json(body)
                .send()
                .await
                .map_err(Attempt::Transport)?;
            let bytes = http::body(http::check(response)?, MAX_RESPONSE_BYTES).await?;
            serde_json::from_slice::<R>(&bytes)
                .map_err(|e| Attempt::Invalid(format!("unexpected pinecone answer: {e}")))
        })
        .await
        .map_err(remote)
    }

    /// Write `(id, vector, example)` records, 100 per request; returns how many Pinecone
    /// says it upserted.
    pub async fn upsert(
        &self,
        records: &[(String, Vec<f32>, ToneExample)],
    ) -> Result<usize, IndexError> {
        let mut total = 0;
        for chunk in records.chunks(UPSERT_BATCH) {
            let body = UpsertRequest {
                vectors: chunk
                    .iter()
                    .map(|(id, values, example)| UpsertVector {
                        id,
                        values,
                        metadata: Metadata {
                            customer: Some(example.customer.clone()),
                            studio: Some(example.studio.clone()),
                            thread: Some(example.thread.clone()),
                            at: Some(example.at),
                        },
                    })
                    .collect(),
                namespace: self.config.namespace.as_deref(),
            };
            let answer: UpsertResponse = self.post("/vectors/upsert", &body).await?;
            total += answer.upserted_count;
        }
        Ok(total)
    }
}

#[async_trait]
impl ToneSearch for PineconeIndex {
    async fn search(
        &self,
        query: &[f32],
        _model: &str,
        k: usize,
    ) -> Result<Vec<ToneHit>, IndexError> {
        let body = QueryRequest {
            vector: query,
            top_k: k,
            include_metadata: true,
            include_values: false,
            namespace: self.config.namespace.as_deref(),
        };
        let answer: QueryResponse = self.post("/query", &body).await?;
        Ok(answer
            .matches
            .into_iter()
            .filter_map(|m| {
                let meta = m.metadata?;
                Some(ToneHit {
                    example: ToneExample {
                        customer: meta.customer?,
                        studio: meta.studio?,
                        thread: meta.thread.unwrap_or_default(),
                        at: meta.at.unwrap_or_default(),
                        approved: None,
                    },
                    score: m.score,
                    id: m.id,
                })
            })
            .collect())
    }
}
