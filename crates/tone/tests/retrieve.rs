#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Retrieval for live turns: ranking, threshold, cache, and every degraded case turning
//! retrieval off (None) instead of failing.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::DateTime;
use inkdesk_domain::Language;
use inkdesk_tone::{
    EmbedError, Embedder, FileIndex, MemoryEmbeddingCache, MockEmbedder, RetrievalConfig,
    ToneExample, ToneHit, ToneRetriever, VectorIndex, cache_key, render_tone_section,
};

const MODEL: &str = "test-embed";

fn example(n: usize) -> ToneExample {
    ToneExample {
        customer: format!("customer {n}"),
        studio: format!("studio reply {n}"),
        thread: format!("t{n}"),
        at: DateTime::from_timestamp_millis(1_700_000_000_000).unwrap(),
        approved: None,
    }
}

/// Index of unit vectors at known angles from the query direction [1, 0]:
/// cosines 1.0, 0.9, 0.8, 0.76, 0.7, 0.0.
fn index() -> VectorIndex {
    let mut index = VectorIndex::new(MODEL, 2);
    for (n, cos) in [0.0f32, 0.9, 0.8, 0.76, 0.7, 1.0].into_iter().enumerate() {
        let sin = (1.0 - cos * cos).sqrt();
        index.push(example(n), &[cos, sin]).unwrap();
    }
    index
}

fn embedder_returning(vector: Vec<f32>, times: usize) -> MockEmbedder {
    let mut mock = MockEmbedder::new();
    mock.expect_model().return_const(MODEL.to_owned());
    mock.expect_embed()
        .times(times)
        .returning(move |inputs| Ok(inputs.iter().map(|_| vector.clone()).collect()));
    mock
}

fn retriever(embedder: impl Embedder + 'static, search: FileIndex) -> ToneRetriever {
    ToneRetriever::new(
        Arc::new(embedder),
        Arc::new(search),
        Arc::new(MemoryEmbeddingCache::new(100)),
        RetrievalConfig::default(),
    )
}

fn ids(hits: &[ToneHit]) -> Vec<&str> {
    hits.iter().map(|h| h.example.thread.as_str()).collect()
}

#[tokio::test]
async fn top_three_above_threshold_best_first() {
    let r = retriever(
        embedder_returning(vec![2.0, 0.0], 1),
        FileIndex::from_index("mem", index()),
    );
    let hits = r.retrieve("πόσο κάνει ένα μικρό;").await.unwrap();
    assert_eq!(ids(&hits), vec!["t5", "t1", "t2"]);
    assert!((hits[1].score - 0.9).abs() < 1e-5);
}

#[tokio::test]
async fn threshold_excludes_weak_matches() {
    let config = RetrievalConfig {
        top_k: 10,
        ..RetrievalConfig::default()
    };
    let r = ToneRetriever::new(
        Arc::new(embedder_returning(vec![1.0, 0.0], 1)),
        Arc::new(FileIndex::from_index("mem", index())),
        Arc::new(MemoryEmbeddingCache::new(10)),
        config,
    );
    let hits = r.retrieve("hello").await.unwrap();
    // 0.76 passes the 0.75 threshold, 0.7 and 0.0 do not.
    assert_eq!(ids(&hits), vec!["t5", "t1", "t2", "t3"]);
    assert!(hits.iter().all(|h| h.score >= 0.75));
}

#[tokio::test]
async fn nothing_similar_is_an_empty_answer_not_off() {
    let r = retriever(
        embedder_returning(vec![-1.0, 0.0], 1),
        FileIndex::from_index("mem", index()),
    );
    assert_eq!(r.retrieve("unrelated").await, Some(vec![]));
}

#[tokio::test]
async fn repeated_burst_is_embedded_once_thanks_to_the_cache() {
    let r = retriever(
        embedder_returning(vec![1.0, 0.0], 1),
        FileIndex::from_index("mem", index()),
    );
    let first = r.retrieve("same text").await.unwrap();
    let second = r.retrieve("same text").await.unwrap();
    assert_eq!(first, second);
}

#[test]
fn cache_key_depends_on_model_and_text_and_hides_the_text() {
    let a = cache_key("m1", "Γεια σας");
    assert_ne!(a, cache_key("m2", "Γεια σας"));
    assert_ne!(a, cache_key("m1", "Γεια σου"));
    assert!(!a.contains("Γεια"));
}

#[tokio::test]
async fn unreachable_embedder_turns_retrieval_off() {
    let mut mock = MockEmbedder::new();
    mock.expect_model().return_const(MODEL.to_owned());
    mock.expect_embed()
        .returning(|_| Err(EmbedError::Unavailable("connection refused".into())));
    let r = retriever(mock, FileIndex::from_index("mem", index()));
    assert_eq!(r.retrieve("hello").await, None);
}

#[tokio::test]
async fn missing_index_turns_retrieval_off_until_the_file_appears() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tone.idx");
    let r = retriever(embedder_returning(vec![1.0, 0.0], 1), FileIndex::new(&path));
    assert_eq!(r.retrieve("hello").await, None);
    index().save(&path).unwrap();
    assert_eq!(r.retrieve("hello").await.unwrap().len(), 3);
}

#[tokio::test]
async fn corrupt_index_turns_retrieval_off() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tone.idx");
    std::fs::write(
        &path,
        b"INKTONE\x01 definitely not an index, just some bytes here",
    )
    .unwrap();
    let r = retriever(embedder_returning(vec![1.0, 0.0], 1), FileIndex::new(&path));
    assert_eq!(r.retrieve("hello").await, None);
}

#[tokio::test]
async fn dimension_mismatch_turns_retrieval_off() {
    let r = retriever(
        embedder_returning(vec![1.0, 0.0, 0.0], 1),
        FileIndex::from_index("mem", index()),
    );
    assert_eq!(r.retrieve("hello").await, None);
}

#[tokio::test]
async fn index_of_another_model_turns_retrieval_off() {
    let mut mock = MockEmbedder::new();
    mock.expect_model().return_const("other-model".to_owned());
    mock.expect_embed().returning(|_| Ok(vec![vec![1.0, 0.0]]));
    let r = retriever(mock, FileIndex::from_index("mem", index()));
    assert_eq!(r.retrieve("hello").await, None);
}

struct SlowEmbedder;

#[async_trait]
impl Embedder for SlowEmbedder {
    fn model(&self) -> String {
        MODEL.into()
    }
    async fn embed(&self, inputs: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok(inputs.iter().map(|_| vec![1.0, 0.0]).collect())
    }
}

#[tokio::test(start_paused = true)]
async fn slow_embedder_turns_retrieval_off_after_the_timeout() {
    let r = retriever(SlowEmbedder, FileIndex::from_index("mem", index()));
    let started = tokio::time::Instant::now();
    assert_eq!(r.retrieve("hello").await, None);
    assert_eq!(started.elapsed(), Duration::from_secs(5));
}

#[test]
fn prompt_section_marks_examples_as_tone_only_in_both_languages() {
    let hits = vec![ToneHit {
        example: example(1),
        score: 0.9,
        id: "1".into(),
    }];
    let el = render_tone_section(&hits, Language::El);
    assert!(el.starts_with("## Παραδείγματα ύφους"));
    assert!(el.contains("τιμές, οι ημερομηνίες"));
    assert!(el.contains("Πελάτης: customer 1\nΣτούντιο: studio reply 1"));
    let en = render_tone_section(&hits, Language::En);
    assert!(en.starts_with("## Tone examples"));
    assert!(en.contains("prices, dates and times are out of date"));
    assert!(en.contains("Customer: customer 1\nStudio: studio reply 1"));
    assert_eq!(render_tone_section(&[], Language::El), "");
}
