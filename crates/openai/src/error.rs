//! [`ModelError`]: every way a model call can fail, in variants callers branch on.

use std::time::Duration;

/// A boxed error source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A reply that should have been a JSON object of the caller's type but was not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("structured output unusable: {reason}")]
pub struct MalformedOutput {
    /// The reply text as received.
    pub raw: String,
    /// Why it was refused.
    pub reason: String,
}

/// Why a model call failed.
///
/// The engine maps these to one customer-safe fallback and a handoff; the variants exist so
/// it can choose *when* to try again ([`Self::retry_hint`]) and operators can tell an outage
/// from a configuration mistake.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The circuit breaker is open after repeated failures; the call was not attempted.
    #[error("model service unavailable (circuit open); next probe in {retry_in:?}")]
    Unavailable {
        /// Time left until the breaker lets a probe through.
        retry_in: Duration,
    },
    /// The server kept answering 429 until retries or the deadline ran out.
    #[error("model service rate-limited us; retry after {retry_after:?}")]
    RateLimited {
        /// The server's last hint, if it gave one.
        retry_after: Option<Duration>,
    },
    /// The call did not finish in time (one attempt's timeout or the overall deadline).
    #[error("model call timed out after {after:?}")]
    Timeout {
        /// The limit that was hit.
        after: Duration,
    },
    /// The server could not be reached (DNS, connect, reset).
    #[error("could not reach the model service")]
    Network(#[source] BoxError),
    /// The server kept failing with 5xx (or 408) until retries ran out.
    #[error("model service failed with status {status}: {message}")]
    Server {
        /// The HTTP status.
        status: u16,
        /// The server's error message, shortened.
        message: String,
    },
    /// The server refused the request (4xx other than 408/429); retrying will not help.
    /// 401/403 mean a wrong key or missing access, 404 usually a wrong model or base URL.
    #[error("model service refused the request with status {status}: {message}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The server's error code (`error.code` or `error.type`), if any.
        code: Option<String>,
        /// The server's error message, shortened.
        message: String,
    },
    /// The server answered 2xx with a body we cannot use.
    #[error("model service sent an unusable response: {reason}")]
    InvalidResponse {
        /// What was wrong with it.
        reason: String,
    },
    /// The reply was not a JSON object of the requested type (see
    /// [`crate::ChatModelExt::complete_json`]).
    #[error(transparent)]
    StructuredOutput(#[from] MalformedOutput),
}

impl ModelError {
    /// Whether the same call may succeed later without changes (an outage, a limit, a
    /// timeout), as opposed to a request the server will keep refusing.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Unavailable { .. }
                | Self::RateLimited { .. }
                | Self::Timeout { .. }
                | Self::Network(_)
                | Self::Server { .. }
        )
    }

    /// How long to wait before trying again, when the failure says so.
    pub fn retry_hint(&self) -> Option<Duration> {
        match self {
            Self::Unavailable { retry_in } => Some(*retry_in),
            Self::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_failures_are_told_from_refusals() {
        assert!(
            ModelError::Server {
                status: 503,
                message: String::new()
            }
            .is_transient()
        );
        assert!(
            ModelError::Timeout {
                after: Duration::from_secs(1)
            }
            .is_transient()
        );
        assert!(
            !ModelError::Rejected {
                status: 400,
                code: None,
                message: String::new()
            }
            .is_transient()
        );
        assert_eq!(
            ModelError::RateLimited {
                retry_after: Some(Duration::from_secs(2))
            }
            .retry_hint(),
            Some(Duration::from_secs(2))
        );
    }
}
