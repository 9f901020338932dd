//! Retrieval for a live turn: embed the customer's burst (cached), search, keep the top k
//! above the threshold, and render them as a prompt section.
//!
//! Retrieval is an optional extra: every failure (embedder unreachable or too slow, index
//! missing or corrupt, dimension or model mismatch) turns it off for that turn with a
//! `tracing::warn!` and never reaches the caller as an error.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use inkdesk_domain::Language;
use sha2::{Digest, Sha256};

use crate::embed::Embedder;
use crate::search::{ToneHit, ToneSearch};

/// Where query embeddings are cached, keyed by [`cache_key`]. Failures are the
/// implementation's to log: a cache miss is always an acceptable answer.
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait EmbeddingCache: Send + Sync {
    /// The cached vector, if any.
    async fn get(&self, key: &str) -> Option<Vec<f32>>;
    /// Remember a vector.
    async fn put(&self, key: &str, vector: Vec<f32>);
}

/// The cache key of a text: hex SHA-256 of the model name and the text, so the text itself
/// is never stored as a key and a model change never reuses old vectors.
pub fn cache_key(model: &str, text: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(model.as_bytes());
    hasher.update([0u8]);
    hasher.update(text.as_bytes());
    format!("tone:emb:{}", hex::encode(hasher.finalize()))
}

/// An in-process cache holding at most `capacity` vectors (oldest evicted first).
#[derive(Debug)]
pub struct MemoryEmbeddingCache {
    capacity: usize,
    inner: Mutex<CacheState>,
}

#[derive(Debug, Default)]
struct CacheState {
    vectors: HashMap<String, Vec<f32>>,
    order: VecDeque<String>,
}

impl MemoryEmbeddingCache {
    /// A cache of at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(CacheState::default()),
        }
    }
}

#[async_trait]
impl EmbeddingCache for MemoryEmbeddingCache {
    async fn get(&self, key: &str) -> Option<Vec<f32>> {
        let guard = self.inner.lock().ok()?;
        guard.vectors.get(key).cloned()
    }

    async fn put(&self, key: &str, vector: Vec<f32>) {
        let Ok(mut guard) = self.inner.lock() else {
            return;
        };
        let CacheState {
            vectors: map,
            order,
        } = &mut *guard;
        if map.insert(key.to_owned(), vector).is_none() {
            order.push_back(key.to_owned());
        }
        while map.len() > self.capacity {
            match order.pop_front() {
                Some(old) => {
                    map.remove(&old);
                }
                None => break,
            }
        }
    }
}

/// How many examples, how similar, how long to wait.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetrievalConfig {
    /// Examples to return at most (default 3).
    pub top_k: usize,
    /// Minimum similarity of a returned example (default 0.75).
    pub threshold: f32,
    /// Time allowed for embedding and searching before retrieval is skipped (default 5 s).
    pub timeout: Duration,
}

impl Default for RetrievalConfig {
    fn default() -> Self {
        Self {
            top_k: 3,
            threshold: 0.75,
            timeout: Duration::from_secs(5),
        }
    }
}

/// Finds the studio's past replies most similar to a customer's burst.
#[derive(Clone)]
pub struct ToneRetriever {
    embedder: Arc<dyn Embedder>,
    search: Arc<dyn ToneSearch>,
    cache: Arc<dyn EmbeddingCache>,
    config: RetrievalConfig,
}

impl std::fmt::Debug for ToneRetriever {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToneRetriever")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ToneRetriever {
    /// A retriever over the given ports.
    pub fn new(
        embedder: Arc<dyn Embedder>,
        search: Arc<dyn ToneSearch>,
        cache: Arc<dyn EmbeddingCache>,
        config: RetrievalConfig,
    ) -> Self {
        Self {
            embedder,
            search,
            cache,
            config,
        }
    }

    /// The top examples above the threshold for `burst`, best first. `None` means retrieval
    /// was off for this turn (the reason is logged as a warning); `Some(empty)` means
    /// nothing was similar enough.
    #[tracing::instrument(name = "tone.retrieve", skip_all, fields(hits, scores))]
    pub async fn retrieve(&self, burst: &str) -> Option<Vec<ToneHit>> {
        if burst.trim().is_empty() {
            return Some(Vec::new());
        }
        let hits = match tokio::time::timeout(self.config.timeout, self.try_retrieve(burst)).await {
            Ok(Some(hits)) => hits,
            Ok(None) => return None,
            Err(_) => {
                tracing::warn!(timeout = ?self.config.timeout, "tone retrieval off for this turn: too slow");
                return None;
            }
        };
        let scores: Vec<String> = hits.iter().map(|h| format!("{:.3}", h.score)).collect();
        let span = tracing::Span::current();
        span.record("hits", hits.len());
        span.record("scores", scores.join(",").as_str());
        tracing::debug!(hits = hits.len(), scores = %scores.join(","), "tone examples retrieved");
        Some(hits)
    }

    async fn try_retrieve(&self, burst: &str) -> Option<Vec<ToneHit>> {
        let model = self.embedder.model();
        let key = cache_key(&model, burst);
        let vector = match self.cache.get(&key).await {
            Some(vector) => vector,
            None => {
                let vector = match self.embedder.embed(&[burst.to_owned()]).await {
                    Ok(mut vectors) if vectors.len() == 1 => vectors.swap_remove(0),
                    Ok(vectors) => {
                        tracing::warn!(
                            got = vectors.len(),
                            "tone retrieval off for this turn: embedder returned no single vector"
                        );
                        return None;
                    }
                    Err(error) => {
                        tracing::warn!(error = %error, "tone retrieval off for this turn: embedder failed");
                        return None;
                    }
                };
                self.cache.put(&key, vector.clone()).await;
                vector
            }
        };
        match self.search.search(&vector, &model, self.config.top_k).await {
            Ok(mut hits) => {
                hits.retain(|h| h.score >= self.config.threshold);
                hits.truncate(self.config.top_k);
                Some(hits)
            }
            Err(error) => {
                tracing::warn!(error = %error, "tone retrieval off for this turn: index unusable");
                None
            }
        }
    }
}

/// Render hits as the prompt section that ends the system prompt. Empty when there are no
/// hits. The header tells the model the examples are for tone only and that their prices,
/// dates and times must not be used.
pub fn render_tone_section(hits: &[ToneHit], language: Language) -> String {
    if hits.is_empty() {
        return String::new();
    }
    let (title, rule, customer, studio) = match language {
        Language::El => (
            "## Παραδείγματα ύφους",
            "Παλιές απαντήσεις του στούντιο σε παρόμοια μηνύματα. Χρησιμοποίησέ τες μόνο για \
             το ύφος και τον τόνο. Οι τιμές, οι ημερομηνίες και οι ώρες τους δεν ισχύουν: \
             μην τις χρησιμοποιήσεις ποτέ ([price] και [time] είναι κενά, όχι τιμές).",
            "Πελάτης",
            "Στούντιο",
        ),
        Language::En => (
            "## Tone examples",
            "Past studio replies to similar messages. Use them for style and tone only. Their \
             prices, dates and times are out of date: never use them ([price] and [time] are \
             blanks, not values).",
            "Customer",
            "Studio",
        ),
    };
    let mut out = format!("{title}\n{rule}\n");
    for (n, hit) in hits.iter().enumerate() {
        out.push_str(&format!(
            "\n### {}\n{customer}: {}\n{studio}: {}\n",
            n + 1,
            hit.example.customer.trim(),
            hit.example.studio.trim()
        ));
    }
    out
}
