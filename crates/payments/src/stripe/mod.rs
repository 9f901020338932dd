//! `StripePayments`: a Stripe Checkout Session per deposit, and Stripe's signed webhooks.
//!
//! Creating: `POST {base}/v1/checkout/sessions`, form-encoded, `Authorization: Bearer <secret
//! key>`, with `mode=payment`, one line item priced inline (`price_data[currency]` lower case,
//! `unit_amount` in the currency's smallest unit, `product_data[name]`, `quantity=1`),
//! `expires_at`, `metadata[booking_id]` (also on the PaymentIntent, so the Dashboard's
//! payment names the booking for a manual refund), `client_reference_id` and the configured
//! `success_url`/`cancel_url`. The `Idempotency-Key` is `inkdesk-deposit-<booking id>`:
//! Stripe answers a repeat with the first session for 24 hours, so a retry after a lost
//! answer never makes a second link.
//!
//! `expires_at`: Stripe accepts 30 minutes to 24 hours after creation. The hold is clamped
//! into `[now + 31 min, now + 24 h − 1 min]` (a minute of margin each side for the request's
//! flight and clock skew), the upper bound floored to the whole minute so that a retry in
//! the same minute sends the same parameters (a changed parameter under the same key is
//! Stripe's `idempotency_error`, [`PaymentsError::IdempotencyConflict`]). So a hold under 31
//! minutes gets a link that outlives it — the caller expires it with [`Payments::cancel`] —
//! and a hold over 24 h a link that dies first; [`DepositOffer::expires_at`] says which.
//! A hold that has already ended is refused ([`PaymentsError::InvalidRequest`]).
//!
//! Cancelling: `POST {base}/v1/checkout/sessions/{id}/expire`; when Stripe refuses because the
//! session is no longer open, a `GET` of the session tells paid (→ [`PaymentsError::AlreadyPaid`])
//! from already expired (→ done).
//!
//! Webhooks ([`signature`] for the header): `checkout.session.completed` with
//! `payment_status` `paid` (or `no_payment_required`) and
//! `checkout.session.async_payment_succeeded` are [`PaymentEventKind::Completed`];
//! `checkout.session.expired` is [`PaymentEventKind::Expired`]; a completed session still
//! `unpaid` (a delayed method, settled later by `async_payment_succeeded`), a session
//! without `metadata.booking_id` and every other type are [`PaymentEventKind::Ignored`].

pub mod signature;
mod wire;

use std::time::Duration;

use async_trait::async_trait;
use backon::{ExponentialBuilder, Retryable};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use inkdesk_domain::Clock;
use inkdesk_http::BodyError;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use url::Url;

use crate::money::{Currency, Money};
use crate::port::{
    BookingRef, DepositOffer, DepositRequest, HowToPay, PaymentEvent, PaymentEventKind, PaymentId,
    Payments, PaymentsError, Provider, ProviderApiError, WebhookError,
};

pub use signature::{DEFAULT_TOLERANCE_SECONDS, SIGNATURE_HEADER, verify_signature};

/// Stripe's API host.
pub const STRIPE_API_BASE: &str = "https://api.stripe.com";

/// The metadata key that names the booking.
pub const BOOKING_METADATA_KEY: &str = "booking_id";

/// Stripe's documented bounds on `expires_at`, after the session's creation.
const STRIPE_MIN_EXPIRY: TimeDelta = TimeDelta::minutes(30);
const STRIPE_MAX_EXPIRY: TimeDelta = TimeDelta::hours(24);
const MARGIN: TimeDelta = TimeDelta::minutes(1);

/// A Checkout Session is a few kilobytes; anything past this is not Stripe.
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// `client_reference_id` is at most 200 characters (Stripe's API reference).
const MAX_CLIENT_REFERENCE: usize = 200;

/// How retries of one Stripe call back off (safe: every call carries an idempotency key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: usize,
    /// First backoff delay (doubled each time, with jitter).
    pub min_delay: Duration,
    /// Longest backoff delay, and the cap on an honoured `Retry-After`.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(5),
        }
    }
}

/// Configuration of a [`StripePayments`].
#[derive(Debug, Clone)]
pub struct StripeConfig {
    /// The secret API key (`sk_live_…`, `sk_test_…` or a restricted `rk_…` with Checkout
    /// Sessions write), sent as `Authorization: Bearer`.
    pub secret_key: SecretString,
    /// The webhook endpoint's signing secret (`whsec_…`).
    pub webhook_secret: SecretString,
    /// Scheme and host, `https://api.stripe.com` unless testing.
    pub base_url: String,
    /// Where Checkout sends the customer after paying, if the studio has a page.
    pub success_url: Option<Url>,
    /// Where Checkout's back link goes, if the studio has a page.
    pub cancel_url: Option<Url>,
    /// Timeout of one HTTP attempt.
    pub request_timeout: Duration,
    /// Backoff of retryable failures.
    pub retry: RetryPolicy,
    /// Allowed distance between a webhook's signed timestamp and now, in seconds.
    pub tolerance_seconds: i64,
}

impl StripeConfig {
    /// Defaults against `api.stripe.com`.
    pub fn new(secret_key: SecretString, webhook_secret: SecretString) -> Self {
        Self {
            secret_key,
            webhook_secret,
            base_url: STRIPE_API_BASE.to_owned(),
            success_url: None,
            cancel_url: None,
            request_timeout: Duration::from_secs(20),
            retry: RetryPolicy::default(),
            tolerance_seconds: DEFAULT_TOLERANCE_SECONDS,
        }
    }

    /// Replaces the base URL (tests, proxies).
    pub fn base_url(mut self, base: impl Into<String>) -> Self {
        self.base_url = base.into();
        self
    }

    /// Replaces the retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }
}

/// The Stripe adapter. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct StripePayments {
    client: reqwest::Client,
    base: Url,
    secret_key: SecretString,
    webhook_secret: SecretString,
    success_url: Option<Url>,
    cancel_url: Option<Url>,
    timeout: Duration,
    retry: RetryPolicy,
    tolerance_seconds: i64,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for StripePayments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripePayments")
            .field("base", &self.base.as_str())
            .field("secret_key", &"[redacted]")
            .field("webhook_secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// A [`StripeConfig`] that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StripeConfigError {
    /// The base URL is not an absolute http(s) URL.
    #[error("the Stripe base URL is not a valid http(s) URL")]
    InvalidBaseUrl,
    /// A key is empty.
    #[error("the Stripe {0} is empty")]
    MissingSecret(&'static str),
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client")]
    Client(#[source] reqwest::Error),
}

/// One failed attempt, before the retry decision.
struct Attempt {
    retry_after: Option<Duration>,
    error: PaymentsError,
}

impl From<PaymentsError> for Attempt {
    fn from(error: PaymentsError) -> Self {
        Self {
            retry_after: None,
            error,
        }
    }
}

impl StripePayments {
    /// Builds the adapter with its own HTTP client; `clock` decides `expires_at` and the
    /// webhook tolerance.
    pub fn new(config: StripeConfig, clock: Arc<dyn Clock>) -> Result<Self, StripeConfigError> {
        if config.secret_key.expose_secret().trim().is_empty() {
            return Err(StripeConfigError::MissingSecret("secret key"));
        }
        if config.webhook_secret.expose_secret().trim().is_empty() {
            return Err(StripeConfigError::MissingSecret("webhook secret"));
        }
        let base = Url::parse(config.base_url.trim_end_matches('/'))
            .map_err(|_| StripeConfigError::InvalidBaseUrl)?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(StripeConfigError::InvalidBaseUrl);
        }
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout)
            .build()
            .map_err(StripeConfigError::Client)?;
        Ok(Self {
            client,
            base,
            secret_key: config.secret_key,
            webhook_secret: config.webhook_secret,
            success_url: config.success_url,
            cancel_url: config.cancel_url,
            timeout: config.request_timeout,
            retry: config.retry,
            tolerance_seconds: config.tolerance_seconds,
            clock,
        })
    }

    /// The idempotency key of a booking's deposit session.
    pub fn idempotency_key(booking: &BookingRef) -> String {
        format!("inkdesk-deposit-{}", booking.as_str())
    }

    /// The `expires_at` sent for a hold ending at `hold_until`, created at `now` (see the
    /// module doc for the clamp).
    pub fn session_expiry(hold_until: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
        let earliest = now + STRIPE_MIN_EXPIRY + MARGIN;
        let latest_exact = now + STRIPE_MAX_EXPIRY - MARGIN;
        let latest = latest_exact
            .duration_trunc(TimeDelta::minutes(1))
            .unwrap_or(latest_exact);
        let clamped = hold_until.max(earliest).min(latest.max(earliest));
        // Stripe takes whole seconds.
        clamped
            .duration_trunc(TimeDelta::seconds(1))
            .unwrap_or(clamped)
    }

    fn url(&self, path: &str) -> Result<Url, PaymentsError> {
        let base = self.base.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}{path}"))
            .map_err(|e| PaymentsError::InvalidRequest(format!("bad Stripe URL: {e}")))
    }

    fn session_form(
        &self,
        request: &DepositRequest,
        expires_at: DateTime<Utc>,
    ) -> Result<Vec<(&'static str, String)>, PaymentsError> {
        let unit_amount = request.amount.minor_units()?;
        let name = request.description.trim();
        if name.is_empty() {
            return Err(PaymentsError::InvalidRequest(
                "the deposit needs a description (the line item's name)".to_owned(),
            ));
        }
        let reference = request.customer_reference.trim();
        if reference.chars().count() > MAX_CLIENT_REFERENCE {
            return Err(PaymentsError::InvalidRequest(format!(
                "the customer reference is longer than {MAX_CLIENT_REFERENCE} characters"
            )));
        }
        let booking = request.booking.as_str().to_owned();
        let mut form = vec![
            ("mode", "payment".to_owned()),
            (
                "line_items[0][price_data][currency]",
                request.amount.currency().lower(),
            ),
            (
                "line_items[0][price_data][unit_amount]",
                unit_amount.to_string(),
            ),
            (
                "line_items[0][price_data][product_data][name]",
                name.to_owned(),
            ),
            ("line_items[0][quantity]", "1".to_owned()),
            ("expires_at", expires_at.timestamp().to_string()),
            ("metadata[booking_id]", booking.clone()),
            ("payment_intent_data[metadata][booking_id]", booking),
        ];
        if !reference.is_empty() {
            form.push(("client_reference_id", reference.to_owned()));
        }
        if let Some(url) = &self.success_url {
            form.push(("success_url", url.to_string()));
        }
        if let Some(url) = &self.cancel_url {
            form.push(("cancel_url", url.to_string()));
        }
        Ok(form)
    }

    /// Sends one request (built afresh per attempt) with retries, and parses the session.
    async fn call(
        &self,
        build: impl Fn() -> Result<reqwest::RequestBuilder, PaymentsError>,
    ) -> Result<wire::CheckoutSession, PaymentsError> {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.retry.min_delay)
            .with_max_delay(self.retry.max_delay)
            .with_max_times(self.retry.max_retries)
            .with_jitter();
        let cap = self.retry.max_delay;
        (|| async { self.attempt(build()?).await })
            .retry(backoff)
            .when(|a: &Attempt| a.error.is_retryable())
            .adjust(move |a: &Attempt, proposed| {
                proposed.map(|d| a.retry_after.map_or(d, |ra| ra.min(cap)))
            })
            .notify(|a: &Attempt, delay| {
                tracing::warn!(error = %a.error, ?delay, "Stripe call failed; retrying");
            })
            .await
            .map_err(|a| a.error)
    }

    async fn attempt(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<wire::CheckoutSession, Attempt> {
        let response = request
            .bearer_auth(self.secret_key.expose_secret())
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| PaymentsError::Unavailable(Box::new(e)))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = match inkdesk_http::read_body(response, MAX_RESPONSE_BYTES).await {
            Ok(bytes) => bytes,
            Err(BodyError::Transport(e)) => {
                return Err(PaymentsError::Unavailable(Box::new(e)).into());
            }
            Err(too_large) if status.is_success() => {
                return Err(PaymentsError::InvalidResponse(too_large.to_string()).into());
            }
            Err(BodyError::TooLarge { .. }) => bytes::Bytes::new(),
        };
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| PaymentsError::InvalidResponse(e.to_string()).into());
        }
        let api = api_error(status.as_u16(), &bytes);
        let error = match status.as_u16() {
            401 | 403 => PaymentsError::Unauthorized(api),
            429 => PaymentsError::RateLimited { retry_after },
            // A concurrent request with the same idempotency key is still running.
            409 => PaymentsError::Unavailable(api.to_string().into()),
            400 if api.kind.as_deref() == Some("idempotency_error") => {
                PaymentsError::IdempotencyConflict(api)
            }
            s if s >= 500 => PaymentsError::Unavailable(api.to_string().into()),
            _ => PaymentsError::Rejected(api),
        };
        Err(Attempt { retry_after, error })
    }

    fn session_path(payment: &PaymentId) -> Result<String, PaymentsError> {
        let id = payment.as_str();
        let safe =
            id.starts_with("cs_") && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !safe {
            return Err(PaymentsError::InvalidRequest(format!(
                "'{id}' is not a Checkout Session id"
            )));
        }
        Ok(format!("/v1/checkout/sessions/{id}"))
    }

    fn event_kind(event: wire::Event) -> Result<PaymentEventKind, WebhookError> {
        let ignored = |reason| PaymentEventKind::Ignored {
            event_type: event.kind.clone(),
            reason,
        };
        let handled = matches!(
            event.kind.as_str(),
            "checkout.session.completed"
                | "checkout.session.async_payment_succeeded"
                | "checkout.session.expired"
        );
        if !handled {
            return Ok(ignored("event type not used by inkdesk"));
        }
        let session: wire::CheckoutSession = serde_json::from_value(event.data.object.clone())
            .map_err(|e| WebhookError::InvalidPayload(format!("data.object: {e}")))?;
        let Some(booking) = session.metadata.get(BOOKING_METADATA_KEY) else {
            return Ok(ignored("session without metadata.booking_id"));
        };
        let Ok(booking) = BookingRef::new(booking.clone()) else {
            return Ok(ignored("session with an unusable metadata.booking_id"));
        };
        let payment_id = PaymentId::new(session.id.clone());
        if event.kind == "checkout.session.expired" {
            return Ok(PaymentEventKind::Expired {
                booking,
                payment_id,
            });
        }
        let paid = matches!(
            session.payment_status.as_deref(),
            Some("paid" | "no_payment_required")
        );
        if !paid {
            return Ok(ignored("completed session still awaiting its payment"));
        }
        let amount = match (session.amount_total, session.currency.as_deref()) {
            (Some(total), Some(code)) => Currency::parse(code)
                .ok()
                .and_then(|c| Money::from_minor_units(total, c).ok()),
            _ => None,
        };
        Ok(PaymentEventKind::Completed {
            booking,
            payment_id,
            paid: amount,
        })
    }
}

fn api_error(status: u16, body: &[u8]) -> ProviderApiError {
    let parsed = serde_json::from_slice::<wire::ErrorBody>(body).ok();
    let (kind, code, message, param) = match parsed {
        Some(wire::ErrorBody { error }) => (error.kind, error.code, error.message, error.param),
        None => (None, None, None, None),
    };
    ProviderApiError {
        status,
        kind,
        code,
        message,
        param,
    }
}

#[async_trait]
impl Payments for StripePayments {
    fn provider(&self) -> Provider {
        Provider::Stripe
    }

    async fn request_deposit(
        &self,
        request: &DepositRequest,
    ) -> Result<DepositOffer, PaymentsError> {
        let now = self.clock.now();
        if request.hold_until <= now {
            // A link for a hold that has already ended would take money for a freed slot.
            return Err(PaymentsError::InvalidRequest(
                "the booking's hold has already ended".to_owned(),
            ));
        }
        let expires_at = Self::session_expiry(request.hold_until, now);
        let form = self.session_form(request, expires_at)?;
        let url = self.url("/v1/checkout/sessions")?;
        let key = Self::idempotency_key(&request.booking);
        let session = self
            .call(|| {
                Ok(self
                    .client
                    .post(url.clone())
                    .header("Idempotency-Key", &key)
                    .form(&form))
            })
            .await?;
        let link = session
            .url
            .as_deref()
            .and_then(|u| Url::parse(u).ok())
            .ok_or_else(|| PaymentsError::InvalidResponse("the session has no url".to_owned()))?;
        let expires_at = session
            .expires_at
            .and_then(|t| DateTime::from_timestamp(t, 0))
            .unwrap_or(expires_at);
        tracing::info!(
            booking = %request.booking,
            payment = %session.id,
            %expires_at,
            "Stripe Checkout Session created for a deposit"
        );
        Ok(DepositOffer {
            payment_id: PaymentId::new(session.id),
            amount: request.amount,
            expires_at,
            how: HowToPay::Link(link),
        })
    }

    async fn cancel(&self, payment: &PaymentId) -> Result<(), PaymentsError> {
        let path = Self::session_path(payment)?;
        let expire = self.url(&format!("{path}/expire"))?;
        let key = format!("inkdesk-expire-{}", payment.as_str());
        let refused = match self
            .call(|| {
                Ok(self
                    .client
                    .post(expire.clone())
                    .header("Idempotency-Key", &key))
            })
            .await
        {
            Ok(_) => return Ok(()),
            Err(PaymentsError::Rejected(api)) if api.status == 404 => return Ok(()),
            Err(PaymentsError::Rejected(api)) if api.status == 400 => api,
            Err(other) => return Err(other),
        };
        // Not open any more: expired already (fine) or completed (paid).
        let get = self.url(&path)?;
        let session = self.call(|| Ok(self.client.get(get.clone()))).await?;
        match (session.status.as_deref(), session.payment_status.as_deref()) {
            (Some("expired"), _) => Ok(()),
            (Some("complete"), Some("paid" | "no_payment_required")) => {
                Err(PaymentsError::AlreadyPaid)
            }
            _ => Err(PaymentsError::Rejected(refused)),
        }
    }

    fn parse_webhook(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<PaymentEvent, WebhookError> {
        let header = headers
            .get(SIGNATURE_HEADER)
            .map(|v| v.to_str().map_err(|_| WebhookError::MalformedSignature))
            .transpose()?;
        verify_signature(
            &self.webhook_secret,
            header,
            body,
            self.clock.now(),
            self.tolerance_seconds,
        )?;
        let event: wire::Event = serde_json::from_slice(body)
            .map_err(|e| WebhookError::InvalidPayload(e.to_string()))?;
        let event_id = event.id.clone();
        let kind = Self::event_kind(event)?;
        Ok(PaymentEvent { event_id, kind })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_hold_inside_stripes_window_is_sent_as_is() {
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 17).unwrap();
        let hold = now + TimeDelta::hours(5);
        assert_eq!(StripePayments::session_expiry(hold, now), hold);
    }

    #[test]
    fn a_short_hold_is_lengthened_to_stripes_minimum_with_margin() {
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap();
        let hold = now + TimeDelta::minutes(10);
        assert_eq!(
            StripePayments::session_expiry(hold, now),
            now + TimeDelta::minutes(31)
        );
    }

    #[test]
    fn a_long_hold_is_cut_to_stripes_maximum_floored_to_the_minute() {
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 42).unwrap();
        let hold = now + TimeDelta::hours(24);
        let expected = Utc.with_ymd_and_hms(2026, 3, 2, 9, 59, 0).unwrap();
        assert_eq!(StripePayments::session_expiry(hold, now), expected);
        // A retry 10 s later sends the same value.
        let retry = now + TimeDelta::seconds(10);
        assert_eq!(StripePayments::session_expiry(hold, retry), expected);
        assert!(expected - now <= STRIPE_MAX_EXPIRY);
        assert!(expected - now >= STRIPE_MIN_EXPIRY);
    }

    #[test]
    fn only_checkout_session_ids_make_a_path() {
        assert!(StripePayments::session_path(&PaymentId::new("cs_test_a1B2")).is_ok());
        for bad in ["", "manual:bk", "cs_../../v1/charges", "pi_123", "cs_a?b"] {
            assert!(
                StripePayments::session_path(&PaymentId::new(bad)).is_err(),
                "{bad}"
            );
        }
    }
}
