//! Errors at the crate boundary.

use std::path::PathBuf;
use std::time::Duration;

/// A failure of the embedding service.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The service rate-limited us and retries ran out.
    #[error("embedding service rate-limited us; retry after {retry_after:?}")]
    RateLimited {
        /// What the service asked us to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// The service refused the request (4xx other than 429): retrying will not help.
    #[error("embedding request rejected with status {status}")]
    Rejected {
        /// HTTP status code.
        status: u16,
    },
    /// The answer did not have the documented shape (missing index, wrong count, …).
    #[error("embedding response malformed: {0}")]
    InvalidResponse(String),
    /// Network failure, timeout or 5xx after all retries.
    #[error("embedding service unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A failure of a vector index (the embedded file index or Pinecone).
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// No index file where one was expected.
    #[error("no tone index at {path}")]
    Missing {
        /// The path looked at.
        path: PathBuf,
    },
    /// The index file is truncated, has a bad checksum or an unreadable header.
    #[error("tone index corrupt: {0}")]
    Corrupt(String),
    /// The query (or a vector being added) does not have the index's dimension.
    #[error("dimension mismatch: index has {index}, vector has {vector}")]
    DimensionMismatch {
        /// Dimension recorded in the index header.
        index: usize,
        /// Dimension of the offending vector.
        vector: usize,
    },
    /// The index was built with another embedding model; its vectors are not comparable.
    #[error("index was built with model {index}, embedder uses {embedder}")]
    ModelMismatch {
        /// Model recorded in the index header.
        index: String,
        /// Model of the embedder in use.
        embedder: String,
    },
    /// A vector of zero length cannot be normalised.
    #[error("zero vector cannot be indexed")]
    ZeroVector,
    /// Reading or writing the index file failed.
    #[error("tone index IO")]
    Io(#[source] std::io::Error),
    /// A remote index (Pinecone) failed or answered something unexpected.
    #[error("remote index unavailable")]
    Remote(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Errors of the import and index-building entry points.
#[derive(Debug, thiserror::Error)]
pub enum ToneError {
    /// The path holds no `inbox` folder of an Instagram messages export.
    #[error("no Instagram inbox folder found under {path}")]
    ExportNotFound {
        /// The path given.
        path: PathBuf,
    },
    /// A `message_N.json` file could not be parsed.
    #[error("cannot parse {path}")]
    ExportParse {
        /// The offending file.
        path: PathBuf,
        /// The parser's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// A review (JSONL) line could not be parsed.
    #[error("review file {path}, line {line}: not a tone example")]
    ReviewParse {
        /// The review file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The parser's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// The review file has no line marked `"approved": true`.
    #[error("no approved examples in {path}: set \"approved\": true on the lines to index")]
    NothingApproved {
        /// The review file.
        path: PathBuf,
    },
    /// Embedding the examples failed.
    #[error("embedding failed")]
    Embed(#[from] EmbedError),
    /// Building or writing the index failed.
    #[error("index failed")]
    Index(#[from] IndexError),
    /// Reading or writing a file failed.
    #[error("IO on {path}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl ToneError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
