//! Deposits around a booking, and the booking's life after it is made.
//!
//! - [`Deposits`]: whether a new booking waits for a deposit and how much
//!   ([`Deposits::hold_for`], the pricing crate's rule on the quoted price), then asking the
//!   configured [`Payments`] adapter for it and scheduling the hold's expiry
//!   ([`Deposits::offer`]): the tool answer carries the amount and how to pay, and the
//!   engine adds the payment text to the reply itself, so the IBAN or the link reach the
//!   customer exactly as written.
//! - [`Lifecycle`]: what happens later, from the console, the API, Stripe's webhook or the
//!   hold-expiry job — "deposit received" (→ confirmed), an unpaid hold that ran out
//!   (→ cancelled unpaid, slot freed, customer told), payment events applied once.
//! - [`CustomerNotices`]: a DM inside Meta's 24-hour window, else an alert to the studio.
//! - Hooks for other features: [`CustomerStanding`] (a customer who must always pay a
//!   deposit, e.g. after a no-show) and [`LifecycleObserver::on_confirmed`] (every booking
//!   that becomes confirmed — at once without a deposit, or when the deposit arrives —
//!   e.g. to schedule its reminder; called at least once per booking, so it must be
//!   idempotent, e.g. a job keyed by the booking id).
//!
//! Deposits are on when `pricing.deposit_percent > 0` and the studio can be paid: the
//! binary builds [`Deposits`] only then (Stripe configured, or `[payments]` methods).

mod lifecycle;
mod notice;
pub mod texts;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use inkdesk_calendar::{Booking, DepositHold};
use inkdesk_domain::{ConversationId, EventId, Language, Price, StudioProfile};
use inkdesk_payments::{
    BookingRef, Currency, DepositOffer, DepositRequest, HowToPay, Money, Payments, Provider,
};
use inkdesk_pricing::{DepositRule, Euros};
use inkdesk_store::Schedule;
use rust_decimal::Decimal;
use serde_json::{Value, json};

pub use lifecycle::{Lifecycle, LifecycleError, LifecyclePorts, PaymentOutcome};
pub use notice::{CustomerNotices, NoAlerts, StudioAlerts, Told};
use texts::{DepositText, DepositTexts, Fill};

/// The `kind` of a hold-expiry job.
pub const HOLD_JOB_KIND: &str = "deposit_hold";

/// The schedule key of a booking's hold expiry: one per booking.
pub fn hold_job_key(booking: &EventId) -> String {
    format!("deposit-hold:{booking}")
}

/// The percentage asked of a customer who must always pay a deposit when the studio's
/// own percentage is 0.
pub const ALWAYS_REQUIRED_PERCENT: u32 = 30;

/// Whether a customer must pay a deposit whatever the studio's percentage (filled by the
/// no-show records).
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait CustomerStanding: Send + Sync {
    /// True when this conversation's customer always pays a deposit.
    async fn deposit_always_required(&self, conversation: &ConversationId) -> bool;
}

/// Told when a booking becomes confirmed (reminders hook in here).
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait LifecycleObserver: Send + Sync {
    /// `booking` is confirmed now. May be called again for the same booking (a resumed
    /// turn, a redelivered event): act idempotently.
    async fn on_confirmed(&self, booking: &Booking);
}

/// Why the deposit settings are unusable.
#[derive(Debug, thiserror::Error)]
pub enum DepositsError {
    /// The profile's currency is not one the payments crate knows.
    #[error("the studio's currency cannot take deposits: {0}")]
    Currency(String),
    /// `prompts/deposits.toml` is broken.
    #[error("deposit texts: {0}")]
    Texts(String),
}

/// Deposits of one studio: the rule, the payment adapter, the hold-expiry jobs.
pub struct Deposits {
    profile: Arc<StudioProfile>,
    rule: DepositRule,
    currency: Currency,
    payments: Arc<dyn Payments>,
    schedule: Arc<dyn Schedule>,
    standing: Option<Arc<dyn CustomerStanding>>,
    texts: DepositTexts,
}

impl std::fmt::Debug for Deposits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deposits")
            .field("rule", &self.rule)
            .field("provider", &self.payments.provider())
            .finish_non_exhaustive()
    }
}

/// What the booking tool tells the model about the deposit (and the text for the reply).
#[derive(Debug, Clone, PartialEq)]
pub struct DepositAnswer {
    /// Facts for the model: amount, currency, pay-by, how (`link`, `instructions`,
    /// `studio_sends`).
    pub facts: Value,
    /// The text the engine adds to the reply, word for word.
    pub payment_text: String,
}

impl Deposits {
    /// Deposits of `profile` through `payments`, their expiries in `schedule`.
    pub fn new(
        profile: Arc<StudioProfile>,
        payments: Arc<dyn Payments>,
        schedule: Arc<dyn Schedule>,
    ) -> Result<Self, DepositsError> {
        let currency = Currency::parse(&profile.currency)
            .map_err(|e| DepositsError::Currency(e.to_string()))?;
        let texts = DepositTexts::new(profile.time_zone, &profile.sign_off)
            .map_err(DepositsError::Texts)?;
        Ok(Self {
            rule: DepositRule::of_profile(&profile),
            profile,
            currency,
            payments,
            schedule,
            standing: None,
            texts,
        })
    }

    /// Asks `standing` whether a customer must always pay a deposit.
    #[must_use]
    pub fn with_standing(mut self, standing: Arc<dyn CustomerStanding>) -> Self {
        self.standing = Some(standing);
        self
    }

    /// The payment adapter's provider.
    pub fn provider(&self) -> Provider {
        self.payments.provider()
    }

    /// The payment adapter.
    pub fn payments(&self) -> &Arc<dyn Payments> {
        &self.payments
    }

    /// True when every booking asks for a deposit (`deposit_percent > 0`).
    pub fn for_everyone(&self) -> bool {
        self.rule.is_on()
    }

    /// The deposit a new booking of `conversation` at `start` for `price` waits for, held
    /// `deposit_hold_hours` from `now` (never past the appointment's start); `None` when
    /// no deposit is asked.
    pub async fn hold_for(
        &self,
        conversation: &ConversationId,
        price: Price,
        start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<DepositHold> {
        let rule = if self.rule.is_on() {
            self.rule
        } else {
            match &self.standing {
                Some(standing) if standing.deposit_always_required(conversation).await => {
                    DepositRule {
                        percent: ALWAYS_REQUIRED_PERCENT,
                        rounding: self.rule.rounding,
                    }
                }
                _ => return None,
            }
        };
        let amount = rule.deposit(Euros::new(price.amount()))?;
        let amount = Price::new(amount.amount(), Decimal::MAX).ok()?;
        let hours = i64::from(self.profile.pricing.deposit_hold_hours);
        let hold_until = (now + Duration::hours(hours)).min(start);
        Some(DepositHold { amount, hold_until })
    }

    /// Asks the payment adapter for `booking`'s deposit (idempotent per booking) and
    /// schedules its hold's expiry (one job per booking); `None` for a booking that waits
    /// for no deposit. A provider that fails leaves the booking pending: the answer says
    /// the studio sends the details, and the hold still runs out.
    pub async fn offer(&self, booking: &Booking, language: Language) -> Option<DepositAnswer> {
        let hold_until = booking.status.hold_until()?;
        let amount = booking.deposit?;
        let symbol = self.profile.currency_symbol.as_str();
        let offer = match self.request(booking, amount, hold_until, language).await {
            Ok(offer) => Some(offer),
            Err(error) => {
                tracing::warn!(booking = %booking.id, %error, "deposit request failed; the studio sends the details");
                None
            }
        };
        self.schedule_expiry(booking, hold_until, offer.as_ref())
            .await;
        // A link may die before the hold (Stripe's 24-hour limit): the customer is given
        // the earlier end, which is also when the booking is cancelled unpaid.
        let pay_by = offer
            .as_ref()
            .map_or(hold_until, |o| o.expires_at.min(hold_until));
        let fill = Fill {
            amount: Some((amount.amount(), symbol)),
            pay_by: Some(pay_by),
            when: Some(booking.start),
            link: None,
        };
        let (how, payment_text) = match offer.as_ref().map(|o| &o.how) {
            Some(HowToPay::Link(url)) => (
                "link",
                self.texts.render(
                    DepositText::PayByLink,
                    language,
                    &Fill {
                        link: Some(url.as_str()),
                        ..fill.clone()
                    },
                ),
            ),
            Some(HowToPay::Instructions(instructions)) => (
                "instructions",
                format!(
                    "{}\n{}",
                    instructions.text(language),
                    self.texts
                        .render(DepositText::PayByInstructions, language, &fill)
                ),
            ),
            None => (
                "studio_sends",
                self.texts.render(DepositText::PayLater, language, &fill),
            ),
        };
        Some(DepositAnswer {
            facts: json!({
                "status": booking.status.code(),
                "deposit": amount.amount(),
                "currency": symbol,
                "pay_by": self.texts.instant(pay_by, language),
                "how": how,
                "note": "the payment text is added to your reply word for word; do not repeat it, and do not call the booking confirmed before the deposit is received",
            }),
            payment_text,
        })
    }

    async fn request(
        &self,
        booking: &Booking,
        amount: Price,
        hold_until: DateTime<Utc>,
        language: Language,
    ) -> Result<DepositOffer, inkdesk_payments::PaymentsError> {
        let request = DepositRequest {
            booking: BookingRef::new(booking.id.as_str())?,
            amount: Money::new(amount.amount(), self.currency)?,
            customer_reference: booking.conversation.as_str().to_owned(),
            hold_until,
            description: match language {
                Language::El => format!(
                    "Προκαταβολή ραντεβού {}",
                    self.texts.instant(booking.start, language)
                ),
                Language::En => format!(
                    "Deposit: appointment on {}",
                    self.texts.instant(booking.start, language)
                ),
            },
        };
        self.payments.request_deposit(&request).await
    }

    /// Schedules the hold's expiry; scheduling the same booking again changes nothing.
    async fn schedule_expiry(
        &self,
        booking: &Booking,
        hold_until: DateTime<Utc>,
        offer: Option<&DepositOffer>,
    ) {
        let payload = json!({
            "kind": HOLD_JOB_KIND,
            "booking": booking.id.as_str(),
            "conversation": booking.conversation.as_str(),
            "payment_id": offer.map(|o| o.payment_id.as_str().to_owned()),
        });
        if let Err(error) = self
            .schedule
            .schedule_job(&hold_job_key(&booking.id), hold_until, payload)
            .await
        {
            // The booking stays pending (the console lists it) until staff act.
            tracing::error!(booking = %booking.id, %error, "the hold's expiry could not be scheduled");
        }
    }
}
