//! The booking's life after it is made: the deposit received, the hold that ran out, the
//! payment provider's events — each applied once.
//!
//! Once is decided by the calendar: a status change is one atomic step there
//! ([`inkdesk_calendar::Calendar::set_status`]), so of two deliveries of an event, two
//! workers on one job, or a webhook racing the hold's expiry, exactly one changes the
//! booking, and only that one tells the customer. A paid booking is never cancelled as
//! unpaid (the calendar refuses it), and a payment for a booking already cancelled
//! alerts the studio to refund or rebook it by hand. Provider event ids are also recorded
//! (30 days) so a redelivered event is answered without touching anything.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use inkdesk_calendar::{Booking, Calendar, CalendarError, CancelledBy, StatusChange};
use inkdesk_domain::{Clock, ConversationId, EventId, StudioProfile};
use inkdesk_payments::{PaymentEvent, PaymentEventKind, PaymentId};
use inkdesk_store::{JobClaim, Keyed, Schedule, StoreError};

use super::texts::{DepositText, DepositTexts, Fill};
use super::{CustomerNotices, Deposits, HOLD_JOB_KIND, LifecycleObserver, hold_job_key};
use crate::jobs::{JobHandler, JobResult};

/// How long a provider's event id is remembered (Stripe retries for up to three days).
const EVENT_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// Why a lifecycle step failed (the caller may retry; nothing was half done that a retry
/// would repeat).
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// The calendar refused or failed.
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a payment event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// The booking is confirmed now.
    Confirmed(EventId),
    /// The booking was cancelled unpaid and its slot freed.
    CancelledUnpaid(EventId),
    /// The event was applied before (same id), or its change was already made.
    AlreadyApplied,
    /// Paid, but the booking was already cancelled: the studio is alerted.
    PaidAfterCancel(EventId),
    /// Nothing to do (another event type, a booking we do not know).
    Ignored,
}

/// The ports of [`Lifecycle`].
#[derive(Clone)]
pub struct LifecyclePorts {
    /// The studio.
    pub profile: Arc<StudioProfile>,
    /// The calendar holding the bookings.
    pub calendar: Arc<dyn Calendar>,
    /// Hold-expiry jobs.
    pub schedule: Arc<dyn Schedule>,
    /// Where provider event ids are recorded.
    pub keyed: Arc<dyn Keyed>,
    /// Messages to customers outside a turn.
    pub notices: CustomerNotices,
    /// Deposits; `None` when the studio takes none.
    pub deposits: Option<Arc<Deposits>>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

/// The booking lifecycle service.
pub struct Lifecycle {
    ports: LifecyclePorts,
    texts: DepositTexts,
    observers: Vec<Arc<dyn LifecycleObserver>>,
}

impl std::fmt::Debug for Lifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lifecycle")
            .field("deposits", &self.ports.deposits)
            .field("observers", &self.observers.len())
            .finish_non_exhaustive()
    }
}

impl Lifecycle {
    /// The service over `ports`.
    pub fn new(ports: LifecyclePorts) -> Result<Self, super::DepositsError> {
        let texts = DepositTexts::new(ports.profile.time_zone, &ports.profile.sign_off)
            .map_err(super::DepositsError::Texts)?;
        Ok(Self {
            ports,
            texts,
            observers: Vec::new(),
        })
    }

    /// Adds an observer of confirmations.
    #[must_use]
    pub fn observe(mut self, observer: Arc<dyn LifecycleObserver>) -> Self {
        self.observers.push(observer);
        self
    }

    /// The deposits, when the studio takes them.
    pub fn deposits(&self) -> Option<&Arc<Deposits>> {
        self.ports.deposits.as_ref()
    }

    /// Tells the observers that `booking` is confirmed.
    pub async fn confirmed(&self, booking: &Booking) {
        for observer in &self.observers {
            observer.on_confirmed(booking).await;
        }
    }

    /// The deposit of a pending booking was received (staff in the console or the API, or
    /// the provider's webhook): confirmed, its hold's expiry withdrawn, the observers told,
    /// and the customer thanked (inside the 24-hour window). A booking not pending is
    /// [`CalendarError::Transition`]; a cancelled one [`CalendarError::Gone`].
    pub async fn deposit_received(&self, id: &EventId) -> Result<Booking, LifecycleError> {
        let booking = self
            .ports
            .calendar
            .set_status(id, StatusChange::Confirm)
            .await?;
        tracing::info!(booking = %id, "deposit received; booking confirmed");
        if let Err(error) = self.ports.schedule.cancel_job(&hold_job_key(id)).await {
            // Harmless: the expiry finds a confirmed booking and does nothing.
            tracing::warn!(booking = %id, %error, "hold expiry not withdrawn");
        }
        self.confirmed(&booking).await;
        let text = self.texts.render(
            DepositText::DepositReceived,
            self.ports.profile.language,
            &Fill {
                when: Some(booking.start),
                ..Fill::default()
            },
        );
        self.ports
            .notices
            .tell(&booking.conversation, &text, "deposit_received")
            .await;
        Ok(booking)
    }

    /// The hold of a pending booking ran out (or its payment link expired): cancelled
    /// unpaid, the slot freed, the payment withdrawn, the customer told (or the studio
    /// asked to tell them). `None` when there was nothing to cancel (paid, cancelled or
    /// gone meanwhile).
    pub async fn expire_unpaid(
        &self,
        id: &EventId,
        payment: Option<PaymentId>,
    ) -> Result<Option<Booking>, LifecycleError> {
        let booking = match self
            .ports
            .calendar
            .set_status(id, StatusChange::Cancel(CancelledBy::Unpaid))
            .await
        {
            Ok(booking) => booking,
            Err(
                CalendarError::Transition(_) | CalendarError::Gone(_) | CalendarError::NotFound(_),
            ) => return Ok(None),
            Err(other) => return Err(other.into()),
        };
        tracing::info!(booking = %id, "deposit not paid in time; booking cancelled, slot freed");
        if let (Some(payment), Some(deposits)) = (payment, &self.ports.deposits)
            && let Err(error) = deposits.payments().cancel(&payment).await
        {
            tracing::warn!(booking = %id, %error, "payment request not withdrawn");
        }
        // The hold job stays: run later it finds the booking gone and completes, and its
        // payload keeps the conversation for a payment that arrives after all.
        let text = self.texts.render(
            DepositText::UnpaidCancelled,
            self.ports.profile.language,
            &Fill {
                when: Some(booking.start),
                ..Fill::default()
            },
        );
        self.ports
            .notices
            .tell(&booking.conversation, &text, "deposit_unpaid_cancelled")
            .await;
        Ok(Some(booking))
    }

    /// A booking was cancelled (by the customer or the studio): a deposit request still
    /// open is withdrawn (a Stripe link expired) and the hold's expiry goes. Best-effort:
    /// failures are logged; the expiry finds the booking gone anyway.
    pub async fn withdraw_deposit(&self, id: &EventId) {
        let key = hold_job_key(id);
        let payment = match self.ports.schedule.job(&key).await {
            Ok(Some(job)) if job.state != inkdesk_store::JobState::Done => job
                .payload
                .get("payment_id")
                .and_then(|p| p.as_str())
                .map(PaymentId::new),
            Ok(_) => return,
            Err(error) => {
                tracing::warn!(booking = %id, %error, "cannot read the hold's expiry");
                return;
            }
        };
        if let (Some(payment), Some(deposits)) = (payment, &self.ports.deposits)
            && let Err(error) = deposits.payments().cancel(&payment).await
        {
            tracing::warn!(booking = %id, %error, "payment request not withdrawn");
        }
        if let Err(error) = self.ports.schedule.cancel_job(&key).await {
            tracing::warn!(booking = %id, %error, "hold expiry not withdrawn");
        }
    }

    /// Applies a verified payment event once: a redelivery (same event id) changes nothing.
    pub async fn payment_event(
        &self,
        event: &PaymentEvent,
    ) -> Result<PaymentOutcome, LifecycleError> {
        let scope = events_scope()?;
        let marker = format!("payment-event:{}", event.event_id);
        if self.ports.keyed.get(&scope, &marker).await?.is_some() {
            tracing::info!(event = %event.event_id, "payment event seen before; nothing to do");
            return Ok(PaymentOutcome::AlreadyApplied);
        }
        let outcome = self.apply(event).await?;
        // Recorded after applying: a crash in between makes the redelivery apply again,
        // which the calendar refuses as already done.
        self.ports
            .keyed
            .put(
                &scope,
                &marker,
                serde_json::json!({"outcome": format!("{outcome:?}")}),
                EVENT_TTL,
            )
            .await?;
        Ok(outcome)
    }

    async fn apply(&self, event: &PaymentEvent) -> Result<PaymentOutcome, LifecycleError> {
        match &event.kind {
            PaymentEventKind::Completed { booking, .. } => {
                let Ok(id) = EventId::parse(booking.as_str()) else {
                    return Ok(PaymentOutcome::Ignored);
                };
                match self.deposit_received(&id).await {
                    Ok(_) => Ok(PaymentOutcome::Confirmed(id)),
                    Err(LifecycleError::Calendar(CalendarError::Transition(_))) => {
                        Ok(PaymentOutcome::AlreadyApplied)
                    }
                    Err(LifecycleError::Calendar(CalendarError::Gone(_))) => {
                        tracing::warn!(booking = %id, "deposit paid for a cancelled booking; the studio refunds or rebooks");
                        let conversation = self.conversation_of_job(&id).await;
                        if let Some(conversation) = conversation {
                            self.ports
                                .notices
                                .alerts
                                .alert(&conversation, "deposit_paid_after_cancel")
                                .await;
                        }
                        Ok(PaymentOutcome::PaidAfterCancel(id))
                    }
                    Err(LifecycleError::Calendar(CalendarError::NotFound(_))) => {
                        Ok(PaymentOutcome::Ignored)
                    }
                    Err(other) => Err(other),
                }
            }
            PaymentEventKind::Expired {
                booking,
                payment_id,
            } => {
                let Ok(id) = EventId::parse(booking.as_str()) else {
                    return Ok(PaymentOutcome::Ignored);
                };
                match self.expire_unpaid(&id, Some(payment_id.clone())).await? {
                    Some(_) => Ok(PaymentOutcome::CancelledUnpaid(id)),
                    None => Ok(PaymentOutcome::AlreadyApplied),
                }
            }
            PaymentEventKind::Ignored { .. } => Ok(PaymentOutcome::Ignored),
        }
    }

    /// The conversation named in a booking's hold job (a cancelled booking's calendar
    /// entry no longer says).
    async fn conversation_of_job(&self, id: &EventId) -> Option<ConversationId> {
        let job = self.ports.schedule.job(&hold_job_key(id)).await.ok()??;
        let conversation = job.payload.get("conversation")?.as_str()?;
        ConversationId::parse(conversation).ok()
    }
}

fn events_scope() -> Result<ConversationId, LifecycleError> {
    ConversationId::reserved("payments")
        .map_err(|e| LifecycleError::Store(StoreError::Invalid(e.to_string())))
}

#[async_trait]
impl JobHandler for Lifecycle {
    fn kind(&self) -> &'static str {
        HOLD_JOB_KIND
    }

    /// The hold ran out: cancel the booking unpaid unless it was paid meanwhile.
    async fn run(&self, claim: &JobClaim) -> JobResult {
        let Some(id) = claim
            .payload
            .get("booking")
            .and_then(|b| b.as_str())
            .and_then(|b| EventId::parse(b).ok())
        else {
            tracing::warn!(key = %claim.key, "hold job without a booking id; dropped");
            return JobResult::Done;
        };
        let payment = claim
            .payload
            .get("payment_id")
            .and_then(|p| p.as_str())
            .map(PaymentId::new);
        match self.expire_unpaid(&id, payment).await {
            Ok(_) => JobResult::Done,
            Err(error) => {
                let wait = 30 * i64::from(claim.attempt.clamp(1, 20));
                tracing::warn!(booking = %id, %error, "hold expiry failed; retrying");
                JobResult::RetryAt(self.ports.clock.now() + chrono::Duration::seconds(wait))
            }
        }
    }
}
