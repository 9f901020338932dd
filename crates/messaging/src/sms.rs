//! SMS through Twilio's Messages API: the [`Sms`] port and [`TwilioSms`].
//!
//! `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP Basic auth
//! `AccountSid:AuthToken`, form fields `To` (E.164, from [`PhoneNumber::e164`]), `From` (a
//! Twilio number) or `MessagingServiceSid`, and `Body`. Twilio answers `201 Created` with the
//! Message resource (`sid`, `status`, …) and errors as `{"code", "message", "more_info",
//! "status"}`.
//!
//! Twilio has no idempotency key for sending, so nothing here retries on its own: a retry is
//! the caller's decision, made on [`SmsError::is_retryable`] — true only when Twilio said the
//! message was not taken (429, 5xx) or the connection failed before the request went out. A
//! timeout or a dropped connection after sending is [`SmsError::Ambiguous`]: the text may have
//! gone out, and a reminder sent twice is worse than one logged as "maybe sent".
//!
//! Phone numbers and texts are never logged; the message sid is.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use inkdesk_domain::PhoneNumber;
use inkdesk_http::BodyError;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

/// Twilio's API host.
pub const TWILIO_API_BASE: &str = "https://api.twilio.com";

/// Twilio's limit on `Body`: 1600 characters.
pub const MAX_SMS_CHARS: usize = 1600;

/// Twilio's error code for a recipient who replied STOP.
const UNSUBSCRIBED: i64 = 21610;

/// A Message resource is ~1 kB; anything past this is not Twilio.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Sends text messages to phones. Implementation: [`TwilioSms`].
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait Sms: Send + Sync {
    /// Sends `body` to `to` as one SMS (the carrier may split it into segments).
    async fn send_sms(&self, to: &PhoneNumber, body: &str) -> Result<SmsReceipt, SmsError>;
}

/// What Twilio said about a message it accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsReceipt {
    /// The Message sid (`SM…`).
    pub sid: String,
    /// Twilio's status at creation (`queued`, `accepted`, …).
    pub status: String,
}

/// Twilio's error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwilioApiError {
    /// The HTTP status.
    pub status: u16,
    /// Twilio's error code (`21211`, …), when the body had one.
    pub code: Option<i64>,
    /// Twilio's message (may quote the number; for operators only, never logged at INFO).
    pub message: Option<String>,
    /// The error's documentation page.
    pub more_info: Option<String>,
}

impl fmt::Display for TwilioApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(code) = self.code {
            write!(f, " (Twilio error {code})")?;
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

/// Why an SMS was not sent, classified so callers can act.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    /// The text was empty or longer than [`MAX_SMS_CHARS`]; nothing was sent.
    #[error("an SMS body must be 1 to {MAX_SMS_CHARS} characters")]
    InvalidBody,
    /// The account SID or auth token was refused: an operator must fix the configuration.
    #[error("Twilio refused our credentials: {0}")]
    Unauthorized(TwilioApiError),
    /// Twilio is rate-limiting us; the message was not taken.
    #[error("rate-limited by Twilio; retry after {retry_after:?}")]
    RateLimited {
        /// Twilio's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// Twilio answered 5xx or could not be reached; the message was not taken.
    #[error("Twilio is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The request went out but no answer came back (timeout, dropped connection): the
    /// message may or may not have been sent. Not retryable by default.
    #[error("no answer from Twilio after sending; the SMS may have gone out")]
    Ambiguous(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The recipient replied STOP to this sender (Twilio error 21610): do not text them.
    #[error("the recipient has unsubscribed from our texts")]
    Unsubscribed(TwilioApiError),
    /// Refused for another reason (an invalid or landline number, an unpermitted region…).
    #[error("Twilio refused the message: {0}")]
    Rejected(TwilioApiError),
    /// A 2xx answer that is not a Message resource.
    #[error("unexpected answer from Twilio: {0}")]
    InvalidResponse(String),
}

impl SmsError {
    /// True when the same request may be sent again safely (Twilio did not take it).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Unavailable(_))
    }
}

/// Who the SMS comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsSender {
    /// A Twilio phone number (`From`).
    Number(PhoneNumber),
    /// A Messaging Service (`MessagingServiceSid`, `MG…`), which picks the number.
    MessagingService(String),
    /// An alphanumeric sender id (`From`, up to 11 letters/digits, where the country
    /// allows it — Greece does, for registered ids).
    Alphanumeric(String),
}

impl SmsSender {
    /// Reads `TWILIO_FROM`: `MG…` is a Messaging Service, text with a letter (≤ 11
    /// characters) an alphanumeric sender id, anything else a phone number.
    pub fn parse(raw: &str) -> Result<Self, TwilioConfigError> {
        let raw = raw.trim();
        if is_sid(raw, "MG") {
            return Ok(Self::MessagingService(raw.to_owned()));
        }
        let has_letter = raw.chars().any(|c| c.is_ascii_alphabetic());
        if has_letter {
            let ok = (1..=11).contains(&raw.chars().count())
                && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ');
            return if ok {
                Ok(Self::Alphanumeric(raw.to_owned()))
            } else {
                Err(TwilioConfigError::InvalidFrom)
            };
        }
        PhoneNumber::parse(raw, inkdesk_domain::Region::default())
            .map(Self::Number)
            .map_err(|_| TwilioConfigError::InvalidFrom)
    }

    fn field(&self) -> (&'static str, &str) {
        match self {
            Self::Number(n) => ("From", n.e164()),
            Self::MessagingService(sid) => ("MessagingServiceSid", sid),
            Self::Alphanumeric(id) => ("From", id),
        }
    }
}

fn is_sid(raw: &str, prefix: &str) -> bool {
    raw.len() == 34 && raw.starts_with(prefix) && raw[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Configuration of a [`TwilioSms`].
#[derive(Debug, Clone)]
pub struct TwilioConfig {
    /// The Account SID (`AC` + 32 hex digits), the Basic-auth user.
    pub account_sid: String,
    /// The auth token, the Basic-auth password.
    pub auth_token: SecretString,
    /// The sender.
    pub from: SmsSender,
    /// Scheme and host, `https://api.twilio.com` unless testing.
    pub base_url: String,
    /// Timeout of the request.
    pub request_timeout: Duration,
}

impl TwilioConfig {
    /// Defaults against `api.twilio.com`.
    pub fn new(account_sid: impl Into<String>, auth_token: SecretString, from: SmsSender) -> Self {
        Self {
            account_sid: account_sid.into(),
            auth_token,
            from,
            base_url: TWILIO_API_BASE.to_owned(),
            request_timeout: Duration::from_secs(15),
        }
    }

    /// Replaces the base URL (tests, proxies).
    pub fn base_url(mut self, base: impl Into<String>) -> Self {
        self.base_url = base.into();
        self
    }
}

/// A [`TwilioConfig`] that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TwilioConfigError {
    /// Not `AC` followed by 32 hex digits.
    #[error("the Twilio account SID must be AC followed by 32 hex digits")]
    InvalidAccountSid,
    /// The auth token is empty.
    #[error("the Twilio auth token is empty")]
    MissingAuthToken,
    /// Not a phone number, a Messaging Service SID or an alphanumeric sender id.
    #[error(
        "TWILIO_FROM must be a phone number, a Messaging Service SID (MG…) or a sender id of up to 11 letters and digits"
    )]
    InvalidFrom,
    /// The base URL is not an absolute http(s) URL.
    #[error("the Twilio base URL is not a valid http(s) URL")]
    InvalidBaseUrl,
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client")]
    Client(#[source] reqwest::Error),
}

/// Sends SMS through Twilio. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct TwilioSms {
    client: reqwest::Client,
    url: Url,
    account_sid: String,
    auth_token: SecretString,
    from: SmsSender,
}

impl fmt::Debug for TwilioSms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioSms")
            .field("url", &self.url.as_str())
            .field("auth_token", &"[redacted]")
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct MessageResource {
    sid: Option<String>,
    status: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: Option<i64>,
    message: Option<String>,
    more_info: Option<String>,
}

impl TwilioSms {
    /// Builds the client.
    pub fn new(config: TwilioConfig) -> Result<Self, TwilioConfigError> {
        let sid = config.account_sid.trim().to_owned();
        if !is_sid(&sid, "AC") {
            return Err(TwilioConfigError::InvalidAccountSid);
        }
        if config.auth_token.expose_secret().trim().is_empty() {
            return Err(TwilioConfigError::MissingAuthToken);
        }
        let base = config.base_url.trim_end_matches('/');
        let url = Url::parse(&format!("{base}/2010-04-01/Accounts/{sid}/Messages.json"))
            .map_err(|_| TwilioConfigError::InvalidBaseUrl)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(TwilioConfigError::InvalidBaseUrl);
        }
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout)
            .build()
            .map_err(TwilioConfigError::Client)?;
        Ok(Self {
            client,
            url,
            account_sid: sid,
            auth_token: config.auth_token,
            from: config.from,
        })
    }
}

#[async_trait]
impl Sms for TwilioSms {
    async fn send_sms(&self, to: &PhoneNumber, body: &str) -> Result<SmsReceipt, SmsError> {
        let text = body.trim();
        if text.is_empty() || text.chars().count() > MAX_SMS_CHARS {
            return Err(SmsError::InvalidBody);
        }
        let (from_field, from_value) = self.from.field();
        let form = [("To", to.e164()), (from_field, from_value), ("Body", text)];
        let response = self
            .client
            .post(self.url.clone())
            .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
            .form(&form)
            .send()
            .await
            .map_err(|e| {
                if e.is_connect() {
                    SmsError::Unavailable(Box::new(e))
                } else {
                    SmsError::Ambiguous(Box::new(e))
                }
            })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = match inkdesk_http::read_body(response, MAX_RESPONSE_BYTES).await {
            Ok(bytes) => bytes,
            Err(BodyError::Transport(e)) if status.is_success() => {
                // Twilio took it; only the receipt was lost.
                return Err(SmsError::InvalidResponse(format!("body unreadable: {e}")));
            }
            Err(BodyError::Transport(e)) => return Err(SmsError::Ambiguous(Box::new(e))),
            Err(too_large) if status.is_success() => {
                return Err(SmsError::InvalidResponse(too_large.to_string()));
            }
            Err(BodyError::TooLarge { .. }) => bytes::Bytes::new(),
        };
        if status.is_success() {
            let resource: MessageResource = serde_json::from_slice(&bytes)
                .map_err(|e| SmsError::InvalidResponse(e.to_string()))?;
            let sid = resource
                .sid
                .ok_or_else(|| SmsError::InvalidResponse("no sid".to_owned()))?;
            let status = resource.status.unwrap_or_default();
            tracing::info!(sid = %sid, status = %status, "SMS accepted by Twilio");
            return Ok(SmsReceipt { sid, status });
        }
        let parsed = serde_json::from_slice::<ErrorBody>(&bytes).ok();
        let api = TwilioApiError {
            status: status.as_u16(),
            code: parsed.as_ref().and_then(|p| p.code),
            message: parsed.as_ref().and_then(|p| p.message.clone()),
            more_info: parsed.and_then(|p| p.more_info),
        };
        tracing::warn!(status = api.status, code = ?api.code, "Twilio refused an SMS");
        Err(match status.as_u16() {
            401 | 403 if api.code != Some(UNSUBSCRIBED) => SmsError::Unauthorized(api),
            429 => SmsError::RateLimited { retry_after },
            s if s >= 500 => SmsError::Unavailable(api.to_string().into()),
            _ if api.code == Some(UNSUBSCRIBED) => SmsError::Unsubscribed(api),
            _ => SmsError::Rejected(api),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sender_is_read_from_one_setting() {
        let mg = "MG0123456789abcdef0123456789abcdef";
        assert_eq!(
            SmsSender::parse(mg).unwrap(),
            SmsSender::MessagingService(mg.to_owned())
        );
        assert_eq!(
            SmsSender::parse("InkStudio").unwrap(),
            SmsSender::Alphanumeric("InkStudio".to_owned())
        );
        let SmsSender::Number(n) = SmsSender::parse("+30 210 123 4567").unwrap() else {
            panic!("a phone number");
        };
        assert_eq!(n.e164(), "+302101234567");
        assert!(SmsSender::parse("A very long sender").is_err());
        assert!(SmsSender::parse("12").is_err());
    }

    #[test]
    fn the_account_sid_is_checked() {
        let config = |sid: &str| {
            TwilioConfig::new(
                sid,
                SecretString::from("token".to_owned()),
                SmsSender::Alphanumeric("Ink".to_owned()),
            )
        };
        assert!(TwilioSms::new(config("AC0123456789abcdef0123456789abcdef")).is_ok());
        for bad in [
            "",
            "AC123",
            "MG0123456789abcdef0123456789abcdef",
            "AC0123456789abcdef0123456789abcdeg",
        ] {
            assert!(matches!(
                TwilioSms::new(config(bad)),
                Err(TwilioConfigError::InvalidAccountSid)
            ));
        }
    }
}
