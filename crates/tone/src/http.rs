//! Shared HTTP plumbing of the adapters: one attempt's failure, its classification, and
//! the retry loop (exponential backoff with jitter via backon; `retry-after` honoured).

use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};

/// How an adapter retries transient failures (429, 5xx, timeouts, connection errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: usize,
    /// First backoff delay.
    pub min_delay: Duration,
    /// Largest delay, also the cap on a server's `retry-after`.
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// Three retries from 500 ms up to 20 s: the offline indexing default.
    pub fn patient() -> Self {
        Self {
            max_retries: 3,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
        }
    }
}

/// Why one attempt failed.
#[derive(Debug)]
pub(crate) enum Attempt {
    /// A non-success status, with the server's `retry-after` when it sent one.
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// The request never got an answer (connect error, timeout, body cut off).
    Transport(reqwest::Error),
    /// The answer did not have the documented shape.
    Invalid(String),
}

impl Attempt {
    pub(crate) fn retryable(&self) -> bool {
        match self {
            Self::Status { status, .. } => *status == 429 || *status >= 500,
            Self::Transport(_) => true,
            Self::Invalid(_) => false,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// The delay a response asks for: `retry-after-ms` (OpenAI), or `retry-after` in seconds
/// or as an HTTP date (one already past means "now").
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let number = |name: &str| {
        text(name)
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
    let date = || {
        let at = chrono::DateTime::parse_from_rfc2822(text("retry-after")?).ok()?;
        let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
        Some(wait.to_std().unwrap_or(Duration::ZERO))
    };
    number("retry-after-ms")
        .map(|ms| Duration::from_secs_f64(ms / 1000.0))
        .or_else(|| number("retry-after").map(Duration::from_secs_f64))
        .or_else(date)
}

/// Check a response's status: success passes through, anything else becomes an [`Attempt`].
pub(crate) fn check(response: reqwest::Response) -> Result<reqwest::Response, Attempt> {
    let status = response.status();
    if status.is_success() {
        Ok(response)
    } else {
        Err(Attempt::Status {
            status: status.as_u16(),
            retry_after: retry_after(response.headers()),
        })
    }
}

/// Reads a response body of at most `limit` bytes; a larger one is an invalid answer
/// (not retried: the same request would get the same answer).
pub(crate) async fn body(
    response: reqwest::Response,
    limit: usize,
) -> Result<inkdesk_http::Bytes, Attempt> {
    inkdesk_http::read_body(response, limit)
        .await
        .map_err(|e| match e {
            inkdesk_http::BodyError::Transport(e) => Attempt::Transport(e),
            too_large => Attempt::Invalid(too_large.to_string()),
        })
}

/// Run `attempt` with the policy: retry what is transient, wait what the server asks
/// (capped at `max_delay`) or the exponential backoff with jitter.
pub(crate) async fn with_retries<T, F, Fut>(policy: RetryPolicy, attempt: F) -> Result<T, Attempt>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Attempt>>,
{
    let backoff = ExponentialBuilder::default()
        .with_min_delay(policy.min_delay)
        .with_max_delay(policy.max_delay)
        .with_max_times(policy.max_retries)
        .with_jitter();
    let cap = policy.max_delay;
    attempt
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .when(Attempt::retryable)
        // Only adjust while the backoff still allows a retry, so `retry-after` never
        // extends the number of attempts.
        .adjust(move |error: &Attempt, next: Option<Duration>| {
            next.map(|d| error.retry_after().map_or(d, |asked| asked.min(cap)))
        })
        .notify(|error: &Attempt, after: Duration| {
            tracing::debug!(?after, error = ?error, "retrying upstream call");
        })
        .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> reqwest::header::HeaderMap {
        let mut map = reqwest::header::HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn retry_after_reads_milliseconds_seconds_or_an_http_date() {
        let ms = headers(&[("retry-after-ms", "250"), ("retry-after", "9")]);
        assert_eq!(retry_after(&ms), Some(Duration::from_millis(250)));
        assert_eq!(
            retry_after(&headers(&[("retry-after", "1.5")])),
            Some(Duration::from_millis(1500))
        );
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(20))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let wait = retry_after(&headers(&[("retry-after", &soon)])).unwrap();
        assert!(
            wait > Duration::from_secs(17) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        let past = headers(&[("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT")]);
        assert_eq!(retry_after(&past), Some(Duration::ZERO));
        assert_eq!(retry_after(&headers(&[("retry-after", "-3")])), None);
        assert_eq!(retry_after(&headers(&[])), None);
    }
}
