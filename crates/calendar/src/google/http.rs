//! One authorised request to the Calendar API, with retries.
//!
//! Retried (exponential backoff with jitter, `Retry-After` honoured up to a cap): 429,
//! 403 with reason `rateLimitExceeded` / `userRateLimitExceeded`, 5xx, timeouts and
//! connection failures. A 401 drops the cached token and repeats the request once with a
//! fresh one. Other 4xx are not retried. 404, 409 and 410 are handed back to the caller,
//! which knows what they mean for its operation. Answers over 16 MiB are refused
//! unread (not retried).

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use bytes::Bytes;
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use url::Url;

use super::GoogleCalendar;
use super::wire::ErrorBody;
use crate::port::CalendarError;

/// Largest API answer read: a page of 250 events is well under 1 MiB.
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// A response the caller interprets: 2xx, 404, 409 or 410.
pub(super) struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
}

/// A failed attempt: whether another attempt may help, and how long Google asked us to wait.
struct Failure {
    error: CalendarError,
    transient: bool,
    retry_after: Option<Duration>,
}

impl Failure {
    fn fatal(error: CalendarError) -> Self {
        Self {
            error,
            transient: false,
            retry_after: None,
        }
    }

    fn transient(error: CalendarError, retry_after: Option<Duration>) -> Self {
        Self {
            error,
            transient: true,
            retry_after,
        }
    }
}

/// Seconds (`120`) or an HTTP date.
fn retry_after(
    headers: &reqwest::header::HeaderMap,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<Duration> {
    let raw = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = raw.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(raw).ok()?;
    (at.with_timezone(&chrono::Utc) - now).to_std().ok()
}

fn error_detail(status: StatusCode, body: &[u8]) -> (String, Vec<String>) {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(parsed) => (
            format!("HTTP {status}: {}", parsed.error.message),
            parsed.error.errors.into_iter().map(|e| e.reason).collect(),
        ),
        Err(_) => (format!("HTTP {status}"), Vec::new()),
    }
}

impl GoogleCalendar {
    /// Sends one request (with retries) and returns the reply the caller must interpret.
    pub(super) async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<serde_json::Value>,
    ) -> Result<Reply, CalendarError> {
        self.send_if_match(method, url, body, None).await
    }

    /// [`Self::send`] with `If-Match: <etag>` when given: Google answers 412 (returned as a
    /// reply, not retried) when the event changed since that etag was read.
    pub(super) async fn send_if_match(
        &self,
        method: Method,
        url: Url,
        body: Option<serde_json::Value>,
        etag: Option<&str>,
    ) -> Result<Reply, CalendarError> {
        let retry = &self.config.retry;
        let policy = ExponentialBuilder::default()
            .with_min_delay(retry.min_delay)
            .with_max_delay(retry.max_delay)
            .with_max_times(retry.max_retries)
            .with_jitter();
        let cap = retry.max_retry_after;
        (|| self.attempt(&method, &url, body.as_ref(), etag))
            .retry(policy)
            .sleep(tokio::time::sleep)
            .when(|f: &Failure| f.transient)
            .adjust(move |f: &Failure, planned| {
                planned.map(|d| f.retry_after.map_or(d, |ra| ra.min(cap)))
            })
            .notify(|f: &Failure, wait| {
                tracing::warn!(error = %f.error, ?wait, "Google Calendar call failed; retrying");
            })
            .await
            .map_err(|f| match f.error {
                // Out of retries while rate-limited: tell the caller how long Google wants.
                CalendarError::RateLimited { .. } => CalendarError::RateLimited {
                    retry_after: f.retry_after,
                },
                other => other,
            })
    }

    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&serde_json::Value>,
        etag: Option<&str>,
    ) -> Result<Reply, Failure> {
        let mut refreshed = false;
        loop {
            let token = self.auth.token().await.map_err(|e| match e {
                CalendarError::Unauthorized(_) => Failure::fatal(e),
                other => Failure::transient(other, None),
            })?;
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(token.expose_secret())
                .timeout(self.config.request_timeout);
            if let Some(body) = body {
                request = request.json(body);
            }
            if let Some(etag) = etag {
                request = request.header(reqwest::header::IF_MATCH, etag);
            }
            let response = match request.send().await {
                Ok(response) => response,
                Err(e) if e.is_timeout() || e.is_connect() || e.is_request() => {
                    return Err(Failure::transient(CalendarError::unavailable(e), None));
                }
                Err(e) => return Err(Failure::fatal(CalendarError::unavailable(e))),
            };
            let status = response.status();
            let wait = retry_after(response.headers(), self.clock.now());
            let body = match inkdesk_http::read_body(response, MAX_RESPONSE_BYTES).await {
                Ok(body) => body,
                Err(e @ inkdesk_http::BodyError::TooLarge { .. }) => {
                    return Err(Failure::fatal(CalendarError::unavailable(e)));
                }
                Err(e) => return Err(Failure::transient(CalendarError::unavailable(e), None)),
            };
            if status.is_success()
                || matches!(
                    status,
                    StatusCode::NOT_FOUND
                        | StatusCode::CONFLICT
                        | StatusCode::GONE
                        | StatusCode::PRECONDITION_FAILED
                )
            {
                return Ok(Reply { status, body });
            }
            let (detail, reasons) = error_detail(status, &body);
            let rate_limited = status == StatusCode::TOO_MANY_REQUESTS
                || (status == StatusCode::FORBIDDEN
                    && reasons
                        .iter()
                        .any(|r| r == "rateLimitExceeded" || r == "userRateLimitExceeded"));
            if rate_limited {
                return Err(Failure::transient(
                    CalendarError::RateLimited { retry_after: wait },
                    wait,
                ));
            }
            if status == StatusCode::UNAUTHORIZED {
                if refreshed {
                    return Err(Failure::fatal(CalendarError::Unauthorized(detail)));
                }
                self.auth.invalidate(&token).await;
                refreshed = true;
                continue;
            }
            if status.is_server_error() {
                return Err(Failure::transient(
                    CalendarError::Unavailable(detail.into()),
                    wait,
                ));
            }
            if status == StatusCode::FORBIDDEN {
                return Err(Failure::fatal(CalendarError::Unauthorized(detail)));
            }
            return Err(Failure::fatal(CalendarError::Unavailable(detail.into())));
        }
    }
}
