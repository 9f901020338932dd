//! The one error type every port returns.

use std::error::Error;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The conversation was reclaimed by another worker after our lease expired (fencing
    /// token mismatch), or it is gone; our claim must not be acted on any more.
    #[error("the lease on this conversation is no longer ours")]
    StaleLease,
    /// The backend is down, timed out or refused the call. The webhook answers 503 so the
    /// platform redelivers.
    #[error("store unavailable")]
    Unavailable(#[source] Box<dyn Error + Send + Sync>),
    /// Stored data could not be decoded.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The call's arguments cannot be stored (e.g. an empty or overlong job key).
    #[error("invalid store request: {0}")]
    Invalid(String),
}

impl StoreError {
    /// Wraps any backend error as [`StoreError::Unavailable`].
    pub fn unavailable(err: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        Self::Unavailable(err.into())
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(err: serde_json::Error) -> Self {
        Self::Corrupt(err.to_string())
    }
}
