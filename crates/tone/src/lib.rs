//! The studio's tone from its own past replies.
//!
//! inkdesk keeps replies in the studio's voice by showing the model a few of the studio's
//! own past replies to similar messages. This crate holds the whole path:
//!
//! - [`export`]: read an Instagram "Download your information" messages export (split files
//!   merged, mojibake repaired), tell studio from customer, build (customer, studio) pairs,
//!   drop the automatic greeting and too-short pairs.
//! - [`scrub`](mod@scrub): remove old prices and dates from studio replies (`[price]`, `[time]`).
//! - [`review`]: the JSONL review file and its approval rule (`"approved": true`).
//! - [`pipeline`]: the entry points [`import_inbox`] and [`build_index`] with a
//!   [`Progress`] port for the CLI's bars.
//! - [`embed`]: the [`Embedder`] port; [`openai_embeddings`]: its OpenAI-compatible adapter.
//! - [`index`]: the embedded vector index file (exact cosine search).
//! - [`search`]: the [`ToneSearch`] port and [`FileIndex`]; [`pinecone`]: the Pinecone
//!   adapter for studios that already have an index.
//! - [`retrieve`]: [`ToneRetriever`] for live turns (cached query embeddings, top k above a
//!   threshold, failures turn retrieval off with a warning) and [`render_tone_section`].
//! - [`error`]: the crate's error enums.
//!
//! Invariant: retrieval never fails a reply. Only the offline entry points return errors.

pub mod embed;
pub mod error;
pub mod export;
mod http;
pub mod index;
pub mod openai_embeddings;
pub mod pinecone;
pub mod pipeline;
pub mod retrieve;
pub mod review;
pub mod scrub;
pub mod search;

pub use embed::Embedder;
pub use error::{EmbedError, IndexError, ToneError};
pub use export::ImportOptions;
pub use http::RetryPolicy;
pub use index::VectorIndex;
pub use openai_embeddings::{OpenAiEmbedder, OpenAiEmbeddingsConfig};
pub use pinecone::{PineconeConfig, PineconeIndex};
pub use pipeline::{
    ImportReport, IndexReport, NoProgress, PineconeReport, Progress, Stage, build_index,
    import_inbox, import_inbox_with, upload_to_pinecone,
};
pub use retrieve::{
    EmbeddingCache, MemoryEmbeddingCache, RetrievalConfig, ToneRetriever, cache_key,
    render_tone_section,
};
pub use review::ToneExample;
pub use scrub::scrub;
pub use search::{FileIndex, ToneHit, ToneSearch};

#[cfg(feature = "testing")]
pub use embed::MockEmbedder;
#[cfg(feature = "testing")]
pub use retrieve::MockEmbeddingCache;
#[cfg(feature = "testing")]
pub use search::MockToneSearch;
