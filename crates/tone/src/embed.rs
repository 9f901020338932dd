//! The `Embedder` port: text in, vectors out.

use async_trait::async_trait;

use crate::error::EmbedError;

/// Turns texts into embedding vectors. Implementations: [`crate::OpenAiEmbedder`]
/// (OpenAI-compatible `/embeddings`), mocks behind the `testing` feature.
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait Embedder: Send + Sync {
    /// The model name; recorded in the index header so vectors of different models are
    /// never compared.
    fn model(&self) -> String;

    /// One vector per input, in input order. Implementations batch as their service needs.
    async fn embed(&self, inputs: &[String]) -> Result<Vec<Vec<f32>>, EmbedError>;
}
