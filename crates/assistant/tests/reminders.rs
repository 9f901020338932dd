//! The reminder sender on in-memory ports with an injected clock: SMS edge cases (a crash
//! after Twilio took it, a timeout, STOP, an outage), a booking moved behind the planner's
//! back, the pause, and bookings waiting for a deposit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use inkdesk_assistant::jobs::{JobResult, Jobs};
use inkdesk_assistant::reminders::{
    ReminderPlanner, ReminderPorts, ReminderSender, ReminderStep, ReminderTexts, RemindingCalendar,
    job_key,
};
use inkdesk_calendar::{
    Booking, BookingStatus, Calendar, DepositHold, EmbeddedCalendar, NewBooking, StatusChange,
};
use inkdesk_domain::{
    AppointmentDuration, Clock, ConversationId, CustomerName, ManualClock, PhoneNumber, Price,
    Region, StudioProfile,
};
use inkdesk_messaging::sms::{Sms, SmsError, SmsReceipt, TwilioApiError};
use inkdesk_messaging::{Messenger, RecordingMessenger};
use inkdesk_store::{JobState, StoreOptions, Stores};
use rust_decimal::dec;

/// Wednesday 2026-11-18 09:30 UTC (11:30 in Athens).
fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 18, 9, 30, 0).unwrap()
}

/// Friday 2026-11-20 12:00 in Athens.
fn appointment() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap()
}

const LEASE: Duration = Duration::from_secs(60);

/// Twilio, scripted: answers from a queue (default: accepted).
#[derive(Default)]
struct FakeSms {
    answers: Mutex<Vec<SmsError>>,
    sent: AtomicUsize,
}

#[async_trait]
impl Sms for FakeSms {
    async fn send_sms(&self, to: &PhoneNumber, body: &str) -> Result<SmsReceipt, SmsError> {
        assert_eq!(to.e164(), "+306912345678");
        assert!(body.contains("Αιόλου 42"));
        if let Some(error) = self.answers.lock().unwrap().pop() {
            return Err(error);
        }
        let n = self.sent.fetch_add(1, Ordering::SeqCst);
        Ok(SmsReceipt {
            sid: format!("SM{n:032}"),
            status: "queued".to_owned(),
        })
    }
}

struct World {
    planner: ReminderPlanner,
    clock: Arc<ManualClock>,
    stores: Stores,
    inner: Arc<dyn Calendar>,
    calendar: Arc<dyn Calendar>,
    messenger: Arc<RecordingMessenger>,
    sms: Arc<FakeSms>,
    jobs: Jobs,
}

impl World {
    fn new(faults: Option<Arc<dyn Fn(ReminderStep) -> bool + Send + Sync>>) -> Self {
        let clock = Arc::new(ManualClock::new(start_time()));
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let profile = Arc::new(StudioProfile::example());
        let stores = Stores::memory(dyn_clock.clone(), StoreOptions::default());
        let inner: Arc<dyn Calendar> =
            Arc::new(EmbeddedCalendar::open_in_memory(profile.clone(), dyn_clock.clone()).unwrap());
        let planner = ReminderPlanner::new(stores.schedule.clone(), dyn_clock.clone(), 24);
        let calendar: Arc<dyn Calendar> =
            Arc::new(RemindingCalendar::new(inner.clone(), planner.clone()));
        let messenger = Arc::new(RecordingMessenger::new());
        let sms = Arc::new(FakeSms::default());
        let ports = ReminderPorts {
            schedule: stores.schedule.clone(),
            planner: planner.clone(),
            calendar: calendar.clone(),
            log: stores.log.clone(),
            outbox: stores.outbox.clone(),
            keyed: stores.keyed.clone(),
            takeover: stores.takeover.clone(),
            messenger: Some(messenger.clone() as Arc<dyn Messenger>),
            sms: Some(sms.clone() as Arc<dyn Sms>),
            profile,
            texts: ReminderTexts::new().unwrap(),
            observer: Arc::new(()),
            clock: dyn_clock.clone(),
        };
        let mut sender = ReminderSender::new(ports, Default::default());
        if let Some(faults) = faults {
            sender = sender.with_faults(move |step| faults(step));
        }
        let jobs = Jobs::new(stores.schedule.clone(), dyn_clock).with(Arc::new(sender));
        Self {
            planner,
            clock,
            stores,
            inner,
            calendar,
            messenger,
            sms,
            jobs,
        }
    }

    async fn book(&self, consent: bool, deposit: bool) -> Booking {
        self.book_on(self.calendar.as_ref(), consent, deposit).await
    }

    async fn book_on(&self, calendar: &dyn Calendar, consent: bool, deposit: bool) -> Booking {
        calendar
            .create(NewBooking {
                conversation: ConversationId::parse("7001").unwrap(),
                customer: CustomerName::parse("Μαρία Παπαδοπούλου").unwrap(),
                phone: PhoneNumber::parse("6912345678", Region::GREECE).unwrap(),
                design: None,
                price: Some(Price::new(dec!(100), dec!(5000)).unwrap()),
                start: appointment(),
                duration: AppointmentDuration::from_minutes(60, 600).unwrap(),
                artist: None,
                idempotency_key: Some(format!("reminder-test-{consent}-{deposit}")),
                deposit: deposit.then(|| DepositHold {
                    amount: Price::new(dec!(30), dec!(5000)).unwrap(),
                    hold_until: start_time() + chrono::Duration::hours(24),
                }),
                sms_consent: consent,
            })
            .await
            .unwrap()
    }

    /// Moves the clock to `at` and runs every job claimable then; returns their results.
    async fn run_at(&self, at: DateTime<Utc>) -> Vec<JobResult> {
        self.clock.set(at);
        let mut results = Vec::new();
        for claim in self.stores.schedule.claim_jobs(10, LEASE).await.unwrap() {
            results.push(self.jobs.run(&claim).await.unwrap());
        }
        results
    }

    async fn settled(&self, booking: &Booking) -> Option<serde_json::Value> {
        let job = self
            .stores
            .schedule
            .job(&job_key(&booking.id))
            .await
            .unwrap()?;
        (job.state == JobState::Done).then(|| job.progress.unwrap()["settled"].clone())
    }
}

fn due() -> DateTime<Utc> {
    appointment() - chrono::Duration::hours(24)
}

#[tokio::test]
async fn an_sms_whose_sender_died_after_twilio_took_it_is_never_sent_twice() {
    let once = Arc::new(AtomicBool::new(false));
    let flag = once.clone();
    let world = World::new(Some(Arc::new(move |step| {
        step == ReminderStep::SentUnrecorded && !flag.swap(true, Ordering::SeqCst)
    })));
    let booking = world.book(true, false).await;
    // Nothing before it is due.
    assert!(
        world
            .run_at(due() - chrono::Duration::minutes(1))
            .await
            .is_empty()
    );
    assert_eq!(world.run_at(due()).await, [JobResult::Left], "it died");
    assert_eq!(world.sms.sent.load(Ordering::SeqCst), 1);
    // Another worker after the lease: Twilio may have it, so no second text.
    let after = due() + chrono::Duration::seconds(61);
    assert_eq!(world.run_at(after).await, [JobResult::Done]);
    assert_eq!(world.sms.sent.load(Ordering::SeqCst), 1);
    assert_eq!(
        world.settled(&booking).await.unwrap(),
        serde_json::json!({"outcome": "maybe_sent", "channel": "sms"})
    );
    assert!(world.messenger.sent().is_empty(), "no window, no DM");
}

#[tokio::test]
async fn twilio_outages_are_retried_and_refusals_go_to_a_person() {
    let world = World::new(None);
    let booking = world.book(true, false).await;
    world
        .sms
        .answers
        .lock()
        .unwrap()
        .push(SmsError::Unavailable("HTTP 503".into()));
    let results = world.run_at(due()).await;
    let [JobResult::RetryAt(at)] = results[..] else {
        panic!("{results:?}");
    };
    assert!(at > due());
    assert_eq!(world.run_at(at).await, [JobResult::Done]);
    assert_eq!(world.sms.sent.load(Ordering::SeqCst), 1);
    assert_eq!(world.settled(&booking).await.unwrap()["outcome"], "sent");

    // A customer who replied STOP is left to a person, with a reason and no number.
    let world = World::new(None);
    let booking = world.book(true, false).await;
    world
        .sms
        .answers
        .lock()
        .unwrap()
        .push(SmsError::Unsubscribed(TwilioApiError {
            status: 400,
            code: Some(21610),
            message: Some("Attempt to send to unsubscribed recipient +306912345678".into()),
            more_info: None,
        }));
    assert_eq!(world.run_at(due()).await, [JobResult::Done]);
    let settled = world.settled(&booking).await.unwrap();
    assert_eq!(settled["outcome"], "by_hand");
    let reason = settled["reason"].as_str().unwrap();
    assert!(
        reason.contains("STOP") && !reason.contains("+30"),
        "{reason}"
    );

    // A timeout after sending: maybe sent, never again.
    let world = World::new(None);
    let booking = world.book(true, false).await;
    world
        .sms
        .answers
        .lock()
        .unwrap()
        .push(SmsError::Ambiguous("timed out".into()));
    assert_eq!(world.run_at(due()).await, [JobResult::Done]);
    assert_eq!(
        world.settled(&booking).await.unwrap()["outcome"],
        "maybe_sent"
    );
}

#[tokio::test]
async fn a_booking_moved_behind_the_planners_back_takes_its_reminder_along() {
    let world = World::new(None);
    let booking = world.book(true, false).await;
    // Moved in the calendar itself (as by hand in Google), not through the planner.
    let later = appointment() + chrono::Duration::hours(2);
    world
        .inner
        .reschedule(&booking.id, later, None)
        .await
        .unwrap();
    assert_eq!(world.run_at(due()).await, [JobResult::Left]);
    assert_eq!(
        world.sms.sent.load(Ordering::SeqCst),
        0,
        "not at the old time"
    );
    let job = world
        .stores
        .schedule
        .job(&job_key(&booking.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.due, later - chrono::Duration::hours(24));
    assert_eq!(world.run_at(job.due).await, [JobResult::Done]);
    assert_eq!(world.sms.sent.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn paused_assistant_and_unpaid_deposits_send_nothing() {
    let world = World::new(None);
    let booking = world.book(true, false).await;
    world.stores.takeover.set_paused(true).await.unwrap();
    assert_eq!(world.run_at(due()).await, [JobResult::Done]);
    assert_eq!(world.settled(&booking).await.unwrap()["outcome"], "by_hand");
    assert_eq!(world.sms.sent.load(Ordering::SeqCst), 0);

    // Waiting for its deposit: no reminder until it is paid.
    let world = World::new(None);
    let pending = world.book(true, true).await;
    assert!(matches!(
        pending.status,
        BookingStatus::PendingDeposit { .. }
    ));
    let key = job_key(&pending.id);
    assert_eq!(world.stores.schedule.job(&key).await.unwrap(), None);
    world
        .calendar
        .set_status(&pending.id, StatusChange::Confirm)
        .await
        .unwrap();
    assert!(world.stores.schedule.job(&key).await.unwrap().is_some());
    // Cancelled by the studio after that: the reminder goes with it.
    world
        .calendar
        .set_status(
            &pending.id,
            StatusChange::Cancel(inkdesk_calendar::CancelledBy::Studio),
        )
        .await
        .unwrap();
    assert_eq!(world.stores.schedule.job(&key).await.unwrap(), None);
    assert!(world.run_at(due()).await.is_empty());
}

#[tokio::test]
async fn the_sweep_schedules_reminders_of_bookings_made_behind_the_planners_back() {
    let world = World::new(None);
    // Booked on the calendar itself (the command line, or a crash before the job).
    let booking = world.book_on(world.inner.as_ref(), true, false).await;
    let key = job_key(&booking.id);
    assert_eq!(world.stores.schedule.job(&key).await.unwrap(), None);
    assert_eq!(
        world
            .planner
            .sweep(world.inner.as_ref(), 100)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        world
            .planner
            .sweep(world.inner.as_ref(), 100)
            .await
            .unwrap(),
        0,
        "once"
    );
    assert_eq!(world.run_at(due()).await, [JobResult::Done]);
    assert_eq!(world.sms.sent.load(Ordering::SeqCst), 1);
    // A sent reminder is not scheduled again by a later sweep.
    assert_eq!(
        world
            .planner
            .sweep(world.inner.as_ref(), 100)
            .await
            .unwrap(),
        0
    );
}

/// A DM whose sender died after Instagram took it: with Meta's echo kept (as the webhook
/// does) the next claim records it and sends nothing; without it (the named window) the
/// reminder goes once more.
#[tokio::test]
async fn a_dm_whose_sender_died_after_instagram_took_it_is_recovered_by_its_echo() {
    for echoed in [true, false] {
        let once = Arc::new(AtomicBool::new(false));
        let flag = once.clone();
        let world = World::new(Some(Arc::new(move |step| {
            step == ReminderStep::SentUnrecorded && !flag.swap(true, Ordering::SeqCst)
        })));
        let booking = world.book(false, false).await;
        let conversation = ConversationId::parse("7001").unwrap();
        // The customer wrote an hour before the reminder is due: the window is open.
        world
            .stores
            .log
            .append(
                &conversation,
                inkdesk_store::Turn {
                    role: inkdesk_store::Role::Customer,
                    text: "Ευχαριστώ!".into(),
                    message_id: Some("m-1".into()),
                    at: due() - chrono::Duration::hours(1),
                    data: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(world.run_at(due()).await, [JobResult::Left]);
        let sent = world.messenger.sent();
        assert_eq!(sent.len(), 1);
        if echoed {
            // What the webhook does with Meta's echo of it.
            let stores = inkdesk_assistant::runner::echo::EchoStores {
                outbox: world.stores.outbox.as_ref(),
                journal: world.stores.journal.as_ref(),
                keyed: world.stores.keyed.as_ref(),
            };
            let origin = inkdesk_assistant::runner::echo::echo_origin(
                stores,
                &conversation,
                "mid-echo",
                Some(&sent[0].text),
            )
            .await
            .unwrap();
            let inkdesk_assistant::runner::echo::EchoOrigin::Chunk { turn } = origin else {
                panic!("the reminder's echo is ours: {origin:?}");
            };
            inkdesk_assistant::runner::echo::note_chunk_echo(
                world.stores.keyed.as_ref(),
                &conversation,
                &turn,
                &sent[0].text,
                "mid-echo",
            )
            .await
            .unwrap();
        }
        let after = due() + chrono::Duration::seconds(61);
        assert_eq!(world.run_at(after).await, [JobResult::Done]);
        let expected = if echoed { 1 } else { 2 };
        assert_eq!(world.messenger.sent().len(), expected, "echoed: {echoed}");
        assert_eq!(
            world.settled(&booking).await.unwrap(),
            serde_json::json!({"outcome": "sent", "channel": "dm"})
        );
        let log = world.stores.log.recent(&conversation, 10).await.unwrap();
        let reminders = log
            .iter()
            .filter(|t| t.role == inkdesk_store::Role::Assistant)
            .count();
        assert_eq!(reminders, 1, "logged once");
    }
}

#[tokio::test]
async fn a_booking_moved_after_its_reminder_is_reminded_again_for_the_new_time() {
    let world = World::new(None);
    let booking = world.book(true, false).await;
    assert_eq!(world.run_at(due()).await, [JobResult::Done]);
    // Moved to the same time: nothing new (a repeated request).
    world
        .calendar
        .reschedule(&booking.id, appointment(), None)
        .await
        .unwrap();
    assert!(
        world
            .run_at(due() + chrono::Duration::minutes(1))
            .await
            .is_empty()
    );
    // Moved to the next Tuesday: a reminder for the new time, logged as its own entry.
    let later = appointment() + chrono::Duration::days(4);
    world
        .calendar
        .reschedule(&booking.id, later, None)
        .await
        .unwrap();
    let new_due = later - chrono::Duration::hours(24);
    assert_eq!(world.run_at(new_due).await, [JobResult::Done]);
    assert_eq!(world.sms.sent.load(Ordering::SeqCst), 2);
    let conversation = ConversationId::parse("7001").unwrap();
    let log = world.stores.log.recent(&conversation, 10).await.unwrap();
    let logged = log
        .iter()
        .filter(|t| t.role == inkdesk_store::Role::Assistant)
        .count();
    assert_eq!(logged, 2);
}
