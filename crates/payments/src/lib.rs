//! Deposits for inkdesk: asking a customer for a booking's deposit and learning that it was
//! paid (or that the request lapsed). The only crate that knows a payment provider's wire
//! format.
//!
//! Map:
//! - [`port`]: the [`Payments`] trait — [`Payments::request_deposit`] turns a
//!   [`DepositRequest`] into a [`DepositOffer`] (a link, or instructions, and a
//!   [`PaymentId`]); [`Payments::cancel`] withdraws an offer; [`Payments::parse_webhook`]
//!   verifies and parses a provider's webhook into a [`PaymentEvent`]. Errors:
//!   [`PaymentsError`], [`WebhookError`].
//! - [`money`]: [`Money`] (an exact decimal and a [`Currency`]) and its minor units.
//! - [`manual`]: [`ManualPayments`] — the studio's own instructions (bank transfer, IRIS,
//!   card at the studio) from a [`ManualConfig`]; no network, no webhook.
//! - [`stripe`]: [`StripePayments`] — a Checkout Session per deposit, `Stripe-Signature`
//!   verification ([`stripe::verify_signature`]) and the `checkout.session.*` events.
//!
//! Invariants: the booking id is the link between a payment and a booking (Stripe's
//! `metadata[booking_id]`, the manual reference); one booking has one payment id, so asking
//! twice for the same booking is idempotent; webhook events carry the provider's event id so
//! the caller can apply each exactly once; secrets are [`secrecy::SecretString`] and never
//! logged; nothing here decides what a booking becomes — the caller does.
//!
//! Feature `testing` adds the mockall mock `MockPayments`.

pub mod manual;
pub mod money;
pub mod port;
pub mod stripe;

pub use manual::{ManualConfig, ManualInstructions, ManualMethod, ManualPayments};
pub use money::{Currency, Money, MoneyError};
#[cfg(feature = "testing")]
pub use port::MockPayments;
pub use port::{
    BookingRef, DepositOffer, DepositRequest, HowToPay, PaymentEvent, PaymentEventKind, PaymentId,
    Payments, PaymentsError, Provider, ProviderApiError, WebhookError,
};
pub use stripe::{StripeConfig, StripePayments};
