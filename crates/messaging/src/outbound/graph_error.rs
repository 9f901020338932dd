//! Graph API error bodies and how we classify them.
//!
//! Codes follow Meta's "Messenger Platform — Common Error Codes" page (which the Instagram
//! messaging API shares) and the Graph API error-handling guide:
//!
//! | code / subcode | meaning | class |
//! |---|---|---|
//! | 190 (any subcode), 102 | access token invalid, expired or revoked | `TokenInvalid` |
//! | 10 / 2018278 | "This message is sent outside of allowed window" | `WindowClosed` |
//! | 10 / 2534022 | outside the allowed window (Instagram variant) | `WindowClosed` |
//! | 551 (any subcode), subcode 1545041 | "This person isn't available right now" | `RecipientUnavailable` |
//! | subcode 2018108 | "This person isn't receiving messages from you right now" | `RecipientUnavailable` |
//! | 100 / 2018001 | "No matching user found" | `RecipientUnavailable` |
//! | 100 / 2534014 | user cannot be found (Instagram variant) | `RecipientUnavailable` |
//! | 4, 17, 32, 613 and HTTP 429 | rate limits | retried, then `RateLimited` |
//! | 1, 2, 1200, HTTP 5xx, `is_transient: true` | temporary failure | retried, then `Unavailable` |
//! | anything else | bad request, missing permission, … | `Rejected`, not retried |
//!
//! Subcodes 2534022 and 2534014 are from community reports of the Instagram API rather than
//! Meta's table; they are listed so a variant wording does not end up as a generic `Rejected`.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// The `error` object Graph returns on failure, kept for logs and for callers that want
/// the details. `message` is Meta's text (no secrets, no customer content).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphApiError {
    /// HTTP status of the answer.
    pub status: u16,
    /// Graph error code (`error.code`).
    pub code: Option<i64>,
    /// Graph error subcode (`error.error_subcode`).
    pub subcode: Option<i64>,
    /// Error type (`OAuthException`, …).
    pub error_type: Option<String>,
    /// Meta's message.
    pub message: String,
    /// Meta's trace id, for support requests.
    pub fbtrace_id: Option<String>,
    /// Meta's `is_transient` hint.
    pub is_transient: bool,
}

impl fmt::Display for GraphApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(code) = self.code {
            write!(f, ", code {code}")?;
        }
        if let Some(sub) = self.subcode {
            write!(f, "/{sub}")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(trace) = &self.fbtrace_id {
            write!(f, " (fbtrace_id {trace})")?;
        }
        Ok(())
    }
}

impl std::error::Error for GraphApiError {}

#[derive(Deserialize)]
struct WireErrorBody {
    error: WireError,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WireError {
    message: Option<String>,
    #[serde(rename = "type")]
    error_type: Option<String>,
    code: Option<i64>,
    error_subcode: Option<i64>,
    fbtrace_id: Option<String>,
    is_transient: Option<bool>,
}

impl GraphApiError {
    /// Reads a Graph error body; a body that is not one still yields the status (and a
    /// short prefix of the body as the message).
    pub(crate) fn from_response(status: u16, body: &[u8]) -> Self {
        match serde_json::from_slice::<WireErrorBody>(body) {
            Ok(WireErrorBody { error: e }) => Self {
                status,
                code: e.code,
                subcode: e.error_subcode,
                error_type: e.error_type,
                message: e.message.unwrap_or_default(),
                fbtrace_id: e.fbtrace_id,
                is_transient: e.is_transient.unwrap_or(false),
            },
            Err(_) => {
                let text = String::from_utf8_lossy(body);
                Self {
                    status,
                    message: text.chars().take(200).collect(),
                    ..Self::default()
                }
            }
        }
    }
}

/// What to do about a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    TokenInvalid,
    WindowClosed,
    RecipientUnavailable,
    RateLimited,
    Transient,
    Rejected,
}

pub(crate) fn classify(e: &GraphApiError) -> Class {
    // Subcodes are specific; Meta pairs some of them with more than one code.
    match (e.code, e.subcode) {
        (Some(190 | 102), _) => Class::TokenInvalid,
        (_, Some(2_018_278 | 2_534_022)) => Class::WindowClosed,
        (_, Some(2_018_001 | 2_534_014 | 1_545_041 | 2_018_108)) | (Some(551), _) => {
            Class::RecipientUnavailable
        }
        (Some(4 | 17 | 32 | 613), _) => Class::RateLimited,
        _ if e.status == 429 => Class::RateLimited,
        (Some(1 | 2 | 1200), _) => Class::Transient,
        _ if e.status >= 500 || e.is_transient => Class::Transient,
        _ => Class::Rejected,
    }
}

/// Reads `Retry-After`: delta-seconds (the form Meta and proxies use) or an HTTP date
/// (one already past means "now").
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let raw = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = raw.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(raw).ok()?;
    Some(
        (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(status: u16, code: Option<i64>, subcode: Option<i64>) -> GraphApiError {
        GraphApiError {
            status,
            code,
            subcode,
            ..GraphApiError::default()
        }
    }

    #[test]
    fn documented_codes_map_to_the_classes_callers_act_on() {
        let table = [
            (err(400, Some(190), Some(463)), Class::TokenInvalid),
            (err(401, Some(190), None), Class::TokenInvalid),
            (err(400, Some(10), Some(2_018_278)), Class::WindowClosed),
            (
                err(400, Some(551), Some(1_545_041)),
                Class::RecipientUnavailable,
            ),
            (
                err(400, Some(100), Some(2_018_001)),
                Class::RecipientUnavailable,
            ),
            (err(400, Some(613), None), Class::RateLimited),
            (err(429, None, None), Class::RateLimited),
            (err(500, Some(1200), None), Class::Transient),
            (err(503, None, None), Class::Transient),
            (err(400, Some(2), None), Class::Transient),
            (err(400, Some(100), None), Class::Rejected),
            (err(400, Some(10), None), Class::Rejected),
            (err(403, Some(200), None), Class::Rejected),
        ];
        for (e, want) in table {
            assert_eq!(classify(&e), want, "{e}");
        }
    }

    #[test]
    fn error_body_fields_are_read_and_garbage_keeps_the_status() {
        let body = br#"{"error":{"message":"Invalid OAuth access token.","type":"OAuthException","code":190,"error_subcode":460,"fbtrace_id":"AbC"}}"#;
        let e = GraphApiError::from_response(401, body);
        assert_eq!(e.code, Some(190));
        assert_eq!(e.subcode, Some(460));
        assert_eq!(e.error_type.as_deref(), Some("OAuthException"));
        assert_eq!(e.fbtrace_id.as_deref(), Some("AbC"));
        let junk = GraphApiError::from_response(502, b"<html>Bad gateway</html>");
        assert_eq!(junk.status, 502);
        assert_eq!(junk.code, None);
        assert_eq!(classify(&junk), Class::Transient);
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        let with = |value: &str| {
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert(reqwest::header::RETRY_AFTER, value.parse().unwrap());
            retry_after(&headers)
        };
        assert_eq!(with("120"), Some(Duration::from_secs(120)));
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(30))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let wait = with(&soon).unwrap();
        assert!(
            wait > Duration::from_secs(27) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        assert_eq!(with("Sun, 06 Nov 1994 08:49:37 GMT"), Some(Duration::ZERO));
        assert_eq!(with("soon"), None);
        assert_eq!(retry_after(&reqwest::header::HeaderMap::new()), None);
    }
}
