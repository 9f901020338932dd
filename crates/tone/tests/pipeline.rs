#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The offline path end to end: import → approve → build the index → retrieve.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use inkdesk_tone::review::{read_jsonl, write_jsonl};
use inkdesk_tone::{
    EmbedError, Embedder, FileIndex, MemoryEmbeddingCache, NoProgress, RetrievalConfig, ToneError,
    ToneRetriever, VectorIndex, build_index, import_inbox,
};

/// Bag-of-letters embedding: deterministic, and similar texts get similar vectors.
struct LetterEmbedder;

#[async_trait]
impl Embedder for LetterEmbedder {
    fn model(&self) -> String {
        "letters-v1".into()
    }
    async fn embed(&self, inputs: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(inputs
            .iter()
            .map(|text| {
                let mut v = vec![0f32; 64];
                for ch in text.to_lowercase().chars().filter(|c| c.is_alphabetic()) {
                    v[(ch as usize) % 64] += 1.0;
                }
                v
            })
            .collect())
    }
}

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/export")
}

#[tokio::test]
async fn approved_pairs_are_indexed_and_retrieved() {
    let dir = tempfile::tempdir().unwrap();
    let review = dir.path().join("review.jsonl");
    let index_path = dir.path().join("data/tone.idx");
    import_inbox(&fixture(), "Panda Ink Studio", &review, &NoProgress).unwrap();

    let err = build_index(&review, &LetterEmbedder, &index_path, &NoProgress)
        .await
        .unwrap_err();
    assert!(matches!(err, ToneError::NothingApproved { .. }));
    assert!(!index_path.exists());

    // The studio approves everything but the first pair.
    let mut examples = read_jsonl(&review).unwrap();
    for e in examples.iter_mut().skip(1) {
        e.approved = Some(true);
    }
    write_jsonl(&review, &examples).unwrap();

    let report = build_index(&review, &LetterEmbedder, &index_path, &NoProgress)
        .await
        .unwrap();
    assert_eq!(report.indexed, 4);
    assert_eq!(report.dimension, 64);
    assert_eq!(report.model, "letters-v1");
    let stored = VectorIndex::load(&index_path).unwrap();
    assert_eq!(stored.len(), 4);
    assert!((0..4).all(|i| stored.entry(i).unwrap().approved.is_none()));

    let retriever = ToneRetriever::new(
        Arc::new(LetterEmbedder),
        Arc::new(FileIndex::new(&index_path)),
        Arc::new(MemoryEmbeddingCache::new(10)),
        RetrievalConfig::default(),
    );
    let hits = retriever
        .retrieve("Πόσο κάνει ένα μικρό σχέδιο στον καρπό;")
        .await
        .unwrap();
    assert_eq!(
        hits[0].example.studio,
        "Ένα μικρό στον καρπό κάνει [price], ανάλογα τις λεπτομέρειες"
    );
    assert!(hits[0].score > 0.99);
    assert!(
        hits.iter()
            .all(|h| h.example.customer != "Hi, do you do fine line tattoos?"),
        "an unapproved pair is never retrieved"
    );
}
