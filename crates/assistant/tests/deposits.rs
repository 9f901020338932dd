//! The booking lifecycle around deposits, on the embedded calendar and the memory stores:
//! who is told when (Meta's 24-hour window), races applied once, a payment that arrives
//! after the hold ran out, and the deposit a customer flagged "always" pays.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use inkdesk_assistant::deposits::{
    CustomerNotices, CustomerStanding, Deposits, Lifecycle, LifecycleObserver, LifecyclePorts,
    PaymentOutcome, StudioAlerts,
};
use inkdesk_assistant::jobs::{JobResult, Jobs};
use inkdesk_calendar::{Booking, BookingStatus, Calendar, EmbeddedCalendar, NewBooking};
use inkdesk_domain::profile::PaymentMethod;
use inkdesk_domain::{
    AppointmentDuration, Clock, ConversationId, CustomerName, ManualClock, PhoneNumber, Price,
    Region, StudioProfile,
};
use inkdesk_messaging::RecordingMessenger;
use inkdesk_payments::{
    BookingRef, ManualConfig, ManualPayments, PaymentEvent, PaymentEventKind, PaymentId,
};
use inkdesk_store::{Role, StoreOptions, Stores, Turn};
use rust_decimal::Decimal;

#[derive(Default)]
struct Alerts(Mutex<Vec<(String, String)>>);

#[async_trait]
impl StudioAlerts for Alerts {
    async fn alert(&self, conversation: &ConversationId, reason: &str) {
        self.0
            .lock()
            .unwrap()
            .push((conversation.to_string(), reason.to_owned()));
    }
}

#[derive(Default)]
struct Confirmed(Mutex<Vec<String>>);

#[async_trait]
impl LifecycleObserver for Confirmed {
    async fn on_confirmed(&self, booking: &Booking) {
        self.0.lock().unwrap().push(booking.id.to_string());
    }
}

struct Always;

#[async_trait]
impl CustomerStanding for Always {
    async fn deposit_always_required(&self, conversation: &ConversationId) -> bool {
        conversation.as_str() == "no-show-customer"
    }
}

/// Monday 30 November 2026, 09:00 in Athens.
fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 7, 0, 0).unwrap()
}

fn profile(percent: u32) -> StudioProfile {
    let mut profile = StudioProfile::default();
    profile.pricing.deposit_percent = percent;
    profile.payments.methods = vec![PaymentMethod::AtStudio];
    profile
}

struct World {
    clock: ManualClock,
    calendar: Arc<EmbeddedCalendar>,
    stores: Stores,
    messenger: Arc<RecordingMessenger>,
    alerts: Arc<Alerts>,
    confirmed: Arc<Confirmed>,
    lifecycle: Arc<Lifecycle>,
    deposits: Arc<Deposits>,
}

fn world(percent: u32) -> World {
    let clock = ManualClock::new(start_time());
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let profile = Arc::new(profile(percent));
    let calendar =
        Arc::new(EmbeddedCalendar::open_in_memory(profile.clone(), shared.clone()).unwrap());
    let stores = Stores::memory(shared.clone(), StoreOptions::default());
    let payments = Arc::new(ManualPayments::new(ManualConfig::from(&profile.payments)).unwrap());
    let deposits = Arc::new(
        Deposits::new(profile.clone(), payments, stores.schedule.clone())
            .unwrap()
            .with_standing(Arc::new(Always)),
    );
    let messenger = Arc::new(RecordingMessenger::new());
    let alerts = Arc::new(Alerts::default());
    let confirmed = Arc::new(Confirmed::default());
    let lifecycle = Arc::new(
        Lifecycle::new(LifecyclePorts {
            profile,
            calendar: calendar.clone(),
            schedule: stores.schedule.clone(),
            keyed: stores.keyed.clone(),
            notices: CustomerNotices {
                messenger: Some(messenger.clone()),
                log: stores.log.clone(),
                outbox: stores.outbox.clone(),
                takeover: stores.takeover.clone(),
                alerts: alerts.clone(),
                clock: shared.clone(),
            },
            deposits: Some(deposits.clone()),
            clock: shared,
        })
        .unwrap()
        .observe(confirmed.clone()),
    );
    World {
        clock,
        calendar,
        stores,
        messenger,
        alerts,
        confirmed,
        lifecycle,
        deposits,
    }
}

fn conversation(id: &str) -> ConversationId {
    ConversationId::parse(id).unwrap()
}

fn tuesday_at(hour: u32) -> DateTime<Utc> {
    inkdesk_domain::schedule::resolve_local(
        chrono_tz::Europe::Athens,
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        NaiveTime::from_hms_opt(hour, 0, 0).unwrap(),
    )
    .unwrap()
    .with_timezone(&Utc)
}

impl World {
    /// The customer wrote at the clock's now.
    async fn customer_wrote(&self, who: &str) {
        self.stores
            .log
            .append(
                &conversation(who),
                Turn {
                    role: Role::Customer,
                    text: "γεια".into(),
                    message_id: Some(format!("m-{who}")),
                    at: self.clock.now(),
                    data: None,
                },
            )
            .await
            .unwrap();
    }

    /// A booking of `who` waiting for its deposit, offered like the booking tool does.
    async fn pending(&self, who: &str, hour: u32) -> Booking {
        let price = Price::new(Decimal::from(100), Decimal::from(5000)).unwrap();
        let start = tuesday_at(hour);
        let hold = self
            .deposits
            .hold_for(&conversation(who), price, start, self.clock.now())
            .await
            .expect("a deposit is asked");
        let booking = self
            .calendar
            .create(NewBooking {
                conversation: conversation(who),
                customer: CustomerName::parse("Μαρία Κ").unwrap(),
                phone: PhoneNumber::parse("6912345678", Region::GREECE).unwrap(),
                design: None,
                price: Some(price),
                start,
                duration: AppointmentDuration::from_minutes(60, 600).unwrap(),
                artist: None,
                idempotency_key: None,
                deposit: Some(hold),
                sms_consent: false,
            })
            .await
            .unwrap();
        let answer = self
            .deposits
            .offer(&booking, inkdesk_domain::Language::El)
            .await
            .unwrap();
        assert!(
            answer.payment_text.contains("Με κάρτα ή μετρητά"),
            "{}",
            answer.payment_text
        );
        booking
    }
}

#[tokio::test]
async fn the_deposit_and_its_hold_follow_the_profile_and_the_customers_record() {
    let w = world(30);
    w.customer_wrote("c1").await;
    let booking = w.pending("c1", 12).await;
    // 30 % of 100, whole euros; held 24 h from now.
    assert_eq!(booking.deposit.unwrap().amount(), Decimal::from(30));
    assert_eq!(
        booking.status,
        BookingStatus::PendingDeposit {
            hold_until: start_time() + Duration::hours(24)
        }
    );
    // Never past the appointment: one tomorrow morning is held until it starts.
    let price = Price::new(Decimal::from(100), Decimal::from(5000)).unwrap();
    let soon = start_time() + Duration::hours(5);
    let hold = w
        .deposits
        .hold_for(&conversation("c1"), price, soon, start_time())
        .await
        .unwrap();
    assert_eq!(hold.hold_until, soon);

    // Deposits off for everyone: only a customer flagged "always" pays (30 %).
    let off = world(0);
    assert!(
        off.deposits
            .hold_for(&conversation("c1"), price, tuesday_at(12), start_time())
            .await
            .is_none()
    );
    let flagged = off
        .deposits
        .hold_for(
            &conversation("no-show-customer"),
            price,
            tuesday_at(12),
            start_time(),
        )
        .await
        .unwrap();
    assert_eq!(flagged.amount.amount(), Decimal::from(30));
}

#[tokio::test]
async fn inside_the_window_the_customer_is_told_outside_it_the_studio() {
    let w = world(30);
    w.customer_wrote("inside").await;
    w.customer_wrote("outside").await;
    let inside = w.pending("inside", 12).await;
    let outside = w.pending("outside", 14).await;
    // The customer of `inside` writes again later; `outside`'s last message is 25 h old
    // when its hold runs out.
    w.clock.advance(Duration::hours(23));
    w.customer_wrote("inside").await;
    w.clock.advance(Duration::hours(2));

    assert!(
        w.lifecycle
            .expire_unpaid(&inside.id, None)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        w.lifecycle
            .expire_unpaid(&outside.id, None)
            .await
            .unwrap()
            .is_some()
    );
    let sent = w.messenger.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].recipient.as_str(), "inside");
    assert!(sent[0].text.contains("ακυρώθηκε"), "{}", sent[0].text);
    assert_eq!(
        *w.alerts.0.lock().unwrap(),
        vec![("outside".to_owned(), "deposit_unpaid_cancelled".to_owned())]
    );
    // The DM is in the conversation's history as the assistant's.
    let turns = w
        .stores
        .log
        .recent(&conversation("inside"), 10)
        .await
        .unwrap();
    assert!(
        turns
            .iter()
            .any(|t| t.role == Role::Assistant && t.text.contains("ακυρώθηκε"))
    );
    // Both slots are free again.
    assert!(w.calendar.busy(inside.interval()).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_hold_job_and_a_webhook_racing_cancel_once_and_tell_once() {
    let w = world(30);
    w.customer_wrote("c1").await;
    let booking = w.pending("c1", 12).await;
    w.clock.advance(Duration::hours(25));
    w.customer_wrote("c1").await;
    let jobs =
        Jobs::new(w.stores.schedule.clone(), Arc::new(w.clock.clone())).with(w.lifecycle.clone());
    let claims = w
        .stores
        .schedule
        .claim_jobs(10, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(claims.len(), 1);
    let expired = PaymentEvent {
        event_id: "evt_expired_1".into(),
        kind: PaymentEventKind::Expired {
            booking: BookingRef::new(booking.id.as_str()).unwrap(),
            payment_id: PaymentId::new("manual:x"),
        },
    };
    let (job, webhook) = tokio::join!(jobs.run(&claims[0]), w.lifecycle.payment_event(&expired));
    assert_eq!(job.unwrap(), JobResult::Done);
    let webhook = webhook.unwrap();
    assert!(
        matches!(
            webhook,
            PaymentOutcome::CancelledUnpaid(_) | PaymentOutcome::AlreadyApplied
        ),
        "{webhook:?}"
    );
    assert_eq!(w.messenger.sent().len(), 1, "told exactly once");
    // The same event again: recorded, nothing happens.
    assert_eq!(
        w.lifecycle.payment_event(&expired).await.unwrap(),
        PaymentOutcome::AlreadyApplied
    );
    assert_eq!(w.messenger.sent().len(), 1);
    assert!(w.confirmed.0.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_payment_after_the_hold_ran_out_alerts_the_studio_and_books_nothing() {
    let w = world(30);
    w.customer_wrote("c1").await;
    let booking = w.pending("c1", 12).await;
    w.clock.advance(Duration::hours(25));
    let claims = w
        .stores
        .schedule
        .claim_jobs(10, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    let jobs =
        Jobs::new(w.stores.schedule.clone(), Arc::new(w.clock.clone())).with(w.lifecycle.clone());
    jobs.run(&claims[0]).await.unwrap();
    let paid = PaymentEvent {
        event_id: "evt_paid_late".into(),
        kind: PaymentEventKind::Completed {
            booking: BookingRef::new(booking.id.as_str()).unwrap(),
            payment_id: PaymentId::new("cs_late"),
            paid: None,
        },
    };
    assert_eq!(
        w.lifecycle.payment_event(&paid).await.unwrap(),
        PaymentOutcome::PaidAfterCancel(booking.id.clone())
    );
    let alerts = w.alerts.0.lock().unwrap().clone();
    assert!(
        alerts.contains(&("c1".to_owned(), "deposit_paid_after_cancel".to_owned())),
        "{alerts:?}"
    );
    assert!(w.confirmed.0.lock().unwrap().is_empty());
    assert!(
        w.calendar
            .upcoming_for(&conversation("c1"), w.clock.now())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn deposit_received_confirms_tells_the_observers_and_the_hold_no_longer_cancels() {
    let w = world(30);
    w.customer_wrote("c1").await;
    let booking = w.pending("c1", 12).await;
    let confirmed = w.lifecycle.deposit_received(&booking.id).await.unwrap();
    assert_eq!(confirmed.status, BookingStatus::Confirmed);
    assert_eq!(*w.confirmed.0.lock().unwrap(), vec![booking.id.to_string()]);
    assert!(w.messenger.texts()[0].contains("Λάβαμε την προκαταβολή"));
    // Marked twice: refused, nobody told again.
    assert!(w.lifecycle.deposit_received(&booking.id).await.is_err());
    assert_eq!(w.messenger.sent().len(), 1);
    // The hold's end passes: nothing is cancelled (the job was withdrawn, and a late run
    // would find the booking confirmed).
    w.clock.advance(Duration::hours(25));
    assert!(
        w.stores
            .schedule
            .claim_jobs(10, std::time::Duration::from_secs(60))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        w.lifecycle
            .expire_unpaid(&booking.id, None)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        w.calendar.get(&booking.id).await.unwrap().status,
        BookingStatus::Confirmed
    );
}
