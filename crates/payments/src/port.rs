//! The `Payments` port: what the rest of inkdesk may ask of a payment provider.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::manual::ManualInstructions;
use crate::money::{Money, MoneyError};

/// Asks customers for deposits and reports what the provider says about them.
/// Implementations: [`crate::ManualPayments`], [`crate::StripePayments`].
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait Payments: Send + Sync {
    /// Which provider this is.
    fn provider(&self) -> Provider;

    /// Creates (or, for the same booking, finds again) the deposit request for a booking and
    /// returns what to tell the customer. Idempotent per booking id: a retry after a lost
    /// answer gets the same payment id, never a second charge.
    async fn request_deposit(
        &self,
        request: &DepositRequest,
    ) -> Result<DepositOffer, PaymentsError>;

    /// Withdraws an offer that must not be paid any more (the booking was cancelled or the
    /// hold ran out). Withdrawing one already withdrawn, expired or unknown is not an error;
    /// withdrawing one already paid is [`PaymentsError::AlreadyPaid`].
    async fn cancel(&self, payment: &PaymentId) -> Result<(), PaymentsError>;

    /// Verifies a webhook call (its headers and the exact bytes of its body) and parses it.
    /// Every error means "answer 400 and change nothing".
    fn parse_webhook(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<PaymentEvent, WebhookError>;
}

/// The payment providers inkdesk knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// The studio's own instructions; staff confirm by hand.
    Manual,
    /// Stripe Checkout.
    Stripe,
}

/// The booking a payment belongs to, as the calendar names it. At most 200 printable
/// characters (Stripe metadata values allow 500), no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BookingRef(String);

impl BookingRef {
    /// The longest id accepted.
    pub const MAX_LEN: usize = 200;

    /// Validates a booking id.
    pub fn new(id: impl Into<String>) -> Result<Self, PaymentsError> {
        let id = id.into();
        if id.trim().is_empty()
            || id.chars().count() > Self::MAX_LEN
            || id.chars().any(char::is_control)
        {
            return Err(PaymentsError::InvalidRequest(format!(
                "a booking id must be 1 to {} printable characters",
                Self::MAX_LEN
            )));
        }
        Ok(Self(id))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for BookingRef {
    type Error = PaymentsError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<BookingRef> for String {
    fn from(value: BookingRef) -> Self {
        value.0
    }
}

impl fmt::Display for BookingRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The provider's id of one deposit request (a Stripe Checkout Session id `cs_…`, or
/// `manual:<booking id>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PaymentId(String);

impl PaymentId {
    /// Wraps a provider's id.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PaymentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A deposit to ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositRequest {
    /// The booking it secures.
    pub booking: BookingRef,
    /// How much (the pricing crate's deposit of the quoted price).
    pub amount: Money,
    /// Who pays, as the studio knows them (the conversation id); sent to Stripe as
    /// `client_reference_id`, never a phone number or a name.
    pub customer_reference: String,
    /// When the slot's hold ends: unpaid by then, the booking is cancelled.
    pub hold_until: DateTime<Utc>,
    /// What the customer sees as the item (e.g. "Deposit: appointment on 12 March").
    pub description: String,
}

/// What to tell the customer, and how to recognise the payment later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositOffer {
    /// The provider's id of this request; the webhook events name it.
    pub payment_id: PaymentId,
    /// The amount asked for.
    pub amount: Money,
    /// When the offer stops being payable by the provider's reckoning (for Stripe, the
    /// hold clamped to what Stripe allows; for manual, the hold itself).
    pub expires_at: DateTime<Utc>,
    /// A link or instructions.
    pub how: HowToPay,
}

/// How the customer pays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HowToPay {
    /// Open this page and pay by card (Stripe Checkout).
    Link(Url),
    /// Pay the studio directly as described; staff mark it received.
    Instructions(ManualInstructions),
}

/// A verified webhook event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentEvent {
    /// The provider's event id (Stripe `evt_…`): apply each id once — providers deliver
    /// the same event more than once and out of order.
    pub event_id: String,
    /// What happened.
    pub kind: PaymentEventKind,
}

/// What a webhook event says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentEventKind {
    /// The deposit was paid.
    Completed {
        /// The booking named in the payment's metadata.
        booking: BookingRef,
        /// The payment.
        payment_id: PaymentId,
        /// What was paid, when the provider says (Stripe `amount_total` and `currency`).
        paid: Option<Money>,
    },
    /// The offer lapsed unpaid.
    Expired {
        /// The booking named in the payment's metadata.
        booking: BookingRef,
        /// The payment.
        payment_id: PaymentId,
    },
    /// Genuine, but nothing for inkdesk to do (another event type, a session not created
    /// by inkdesk, a completed session still awaiting a delayed payment). Answer 2xx.
    Ignored {
        /// The provider's event type, e.g. `payment_intent.created`.
        event_type: String,
        /// Why it is ignored, for the log.
        reason: &'static str,
    },
}

/// A provider's error answer, as it documents them (Stripe's `error` object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderApiError {
    /// The HTTP status.
    pub status: u16,
    /// The provider's error type (`invalid_request_error`, `idempotency_error`, …).
    pub kind: Option<String>,
    /// The provider's error code (`amount_too_small`, …).
    pub code: Option<String>,
    /// The provider's message (for operators; never shown to a customer).
    pub message: Option<String>,
    /// The request parameter at fault.
    pub param: Option<String>,
}

impl fmt::Display for ProviderApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(kind) = &self.kind {
            write!(f, " {kind}")?;
        }
        if let Some(code) = &self.code {
            write!(f, " ({code})")?;
        }
        if let Some(param) = &self.param {
            write!(f, " on {param}")?;
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

/// Why a deposit request or a cancel failed, classified so callers can act.
#[derive(Debug, thiserror::Error)]
pub enum PaymentsError {
    /// The request itself is wrong (an amount, a booking id); nothing was sent.
    #[error("invalid deposit request: {0}")]
    InvalidRequest(String),
    /// The amount cannot be charged as given.
    #[error(transparent)]
    Money(#[from] MoneyError),
    /// The secret key is wrong, revoked or lacks the permission: an operator must fix it.
    #[error("the payment provider refused our credentials: {0}")]
    Unauthorized(ProviderApiError),
    /// The provider kept rate-limiting us after our retries.
    #[error("rate-limited by the payment provider; retry after {retry_after:?}")]
    RateLimited {
        /// The provider's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// Unreachable, timed out, 5xx, or a concurrent request with the same idempotency key
    /// (409), on every attempt. Safe to retry later: the idempotency key makes a retry
    /// return the first result.
    #[error("the payment provider is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The same booking was already asked for with different details (Stripe
    /// `idempotency_error`, within the key's 24 hours): the first request stands.
    #[error("a different deposit request for this booking already exists: {0}")]
    IdempotencyConflict(ProviderApiError),
    /// The offer was already paid, so it cannot be withdrawn.
    #[error("the deposit was already paid")]
    AlreadyPaid,
    /// Refused for another reason (4xx). Not retried.
    #[error("the payment provider refused the request: {0}")]
    Rejected(ProviderApiError),
    /// A 2xx answer that is not the documented shape.
    #[error("unexpected answer from the payment provider: {0}")]
    InvalidResponse(String),
}

impl PaymentsError {
    /// True for failures that may succeed later with the same request.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Unavailable(_))
    }
}

/// Why a webhook call was refused. Every variant means "answer 400, change nothing".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// This provider has no webhook (manual payments).
    #[error("this payment provider has no webhook")]
    NotSupported,
    /// No signature header.
    #[error("the {0} header is missing")]
    MissingSignature(&'static str),
    /// The signature header is not in the documented form.
    #[error("the signature header is malformed")]
    MalformedSignature,
    /// The signed timestamp is further from now than the tolerance (a replay, or a clock
    /// far off).
    #[error("the signed timestamp is {age_seconds} s from now, more than {tolerance_seconds} s")]
    TimestampOutOfTolerance {
        /// `now − t` in seconds (negative: from the future).
        age_seconds: i64,
        /// The tolerance.
        tolerance_seconds: i64,
    },
    /// No signature matches the body under our secret.
    #[error("no signature matches the body")]
    SignatureMismatch,
    /// The webhook secret is not configured.
    #[error("no webhook secret is configured")]
    NoSecret,
    /// Signed, but not the documented JSON.
    #[error("the webhook body is not a valid event: {0}")]
    InvalidPayload(String),
}
