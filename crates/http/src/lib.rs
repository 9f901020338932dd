//! HTTP client plumbing shared by inkdesk's adapters (Graph, OpenAI, Google, embeddings,
//! Pinecone): [`read_body`] reads a response body under a size cap, so a broken or
//! hostile upstream cannot make a process buffer more than the cap.
//!
//! Each adapter picks its own cap (a few times the largest answer its API documents) and
//! maps [`BodyError`] into its own error type.

pub use bytes::Bytes;
use bytes::BytesMut;

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body is (or declares itself) larger than the cap.
    #[error("the response body is larger than {limit} bytes")]
    TooLarge {
        /// The cap.
        limit: usize,
    },
    /// The connection failed or timed out while reading.
    #[error("the response body could not be read")]
    Transport(#[source] reqwest::Error),
}

impl BodyError {
    /// True when reading timed out (the client's or the request's timeout).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Transport(e) if e.is_timeout())
    }
}

/// Reads the whole body of `response`, refusing more than `limit` bytes: a declared
/// `Content-Length` over the cap fails before reading, an undeclared body as soon as it
/// passes the cap.
pub async fn read_body(mut response: reqwest::Response, limit: usize) -> Result<Bytes, BodyError> {
    let declared = response.content_length();
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    let initial = declared.map_or(16 * 1024, |len| len as usize).min(limit);
    let mut body = BytesMut::with_capacity(initial);
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
