//! The behaviour suite every `Calendar` adapter passes, and mockall mocks of the port.
//!
//! Each behaviour is an async function over `Arc<dyn Calendar>`. The adapter under test
//! must be built with [`suite_profile`] and a clock fixed at [`suite_now`]. The
//! [`calendar_behaviour_suite!`](crate::calendar_behaviour_suite) macro turns the list into
//! one `#[tokio::test]` per behaviour:
//!
//! ```ignore
//! inkdesk_calendar::calendar_behaviour_suite!(|| async {
//!     let cal = EmbeddedCalendar::open_in_memory(profile, clock).unwrap();
//!     (Arc::new(cal) as Arc<dyn Calendar>, ())
//! });
//! ```
//!
//! The second value of the tuple is kept alive for the test (a mock server, a temp dir).
//! The functions panic on failure: they are tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use inkdesk_domain::profile::{Artist, DayHours, HoursOverride};
use inkdesk_domain::{
    AppointmentDuration, ArtistKey, Closure, ConversationId, CustomerName, EventId, FreeText,
    PhoneNumber, Price, Region, StudioProfile, ValidationError,
};
use rust_decimal::Decimal;

use crate::Interval;
use crate::lifecycle::{BookingStatus, CancelledBy, DepositHold, StatusChange, TransitionError};
pub use crate::port::MockCalendar;
use crate::port::{Calendar, CalendarError, NewBooking, event_id_for_key};

/// The profile adapters under test use: the first studio's defaults (Athens,
/// Monday–Saturday 11:00–20:00, capacity 2, 3 h notice).
pub fn suite_profile() -> StudioProfile {
    StudioProfile::default()
}

/// The profile of the artist suite ([`calendar_artist_suite!`](crate::calendar_artist_suite)):
/// [`suite_profile`] with two artists, `maria` (realism) and `nikos` (line work, on Tuesdays
/// 11:00–14:00 and 17:00–20:00 only).
pub fn artist_suite_profile() -> StudioProfile {
    let mut profile = suite_profile();
    profile.artists = vec![
        Artist {
            key: artist("maria"),
            name: "Μαρία".to_owned(),
            styles: vec!["realistic".to_owned()],
            hours: HoursOverride::default(),
            google_calendar_id: None,
        },
        Artist {
            key: artist("nikos"),
            name: "Νίκος".to_owned(),
            styles: vec!["line_work".to_owned(), "fine line".to_owned()],
            hours: HoursOverride {
                tuesday: Some(DayHours::try_from("11:00-14:00, 17:00-20:00".to_owned()).unwrap()),
                ..HoursOverride::default()
            },
            google_calendar_id: None,
        },
    ];
    profile
}

/// An artist key.
pub fn artist(key: &str) -> ArtistKey {
    ArtistKey::parse(key).unwrap()
}

/// The fixed "now" of the suite: Monday 30 November 2026, 07:00 in Athens.
pub fn suite_now() -> DateTime<Utc> {
    at(date(2026, 11, 30), 7, 0)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// An instant given as a date and wall-clock time in Athens.
pub fn at(day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    inkdesk_domain::schedule::resolve_local(
        chrono_tz::Europe::Athens,
        day,
        NaiveTime::from_hms_opt(hour, minute, 0).unwrap(),
    )
    .unwrap()
    .with_timezone(&Utc)
}

fn tuesday() -> NaiveDate {
    date(2026, 12, 1)
}

fn wednesday() -> NaiveDate {
    date(2026, 12, 2)
}

/// A valid booking request for `conversation` at `start`.
pub fn new_booking(conversation: &str, start: DateTime<Utc>, minutes: i64) -> NewBooking {
    NewBooking {
        conversation: ConversationId::parse(conversation).unwrap(),
        customer: CustomerName::parse("Γιάννης Παπαδόπουλος").unwrap(),
        phone: PhoneNumber::parse("6912345678", Region::GREECE).unwrap(),
        design: Some(FreeText::parse("τριαντάφυλλο στον καρπό, fine line").unwrap()),
        price: Some(Price::new(Decimal::from(150), Decimal::from(5000)).unwrap()),
        start,
        duration: AppointmentDuration::from_minutes(minutes, 600).unwrap(),
        artist: None,
        idempotency_key: None,
        deposit: None,
        sms_consent: false,
    }
}

/// [`new_booking`] with `artist`.
pub fn booking_with(
    conversation: &str,
    start: DateTime<Utc>,
    minutes: i64,
    artist_key: Option<&str>,
) -> NewBooking {
    NewBooking {
        artist: artist_key.map(artist),
        ..new_booking(conversation, start, minutes)
    }
}

/// [`new_booking`] with an idempotency key.
pub fn keyed_booking(
    conversation: &str,
    key: &str,
    start: DateTime<Utc>,
    minutes: i64,
) -> NewBooking {
    NewBooking {
        idempotency_key: Some(key.to_owned()),
        ..new_booking(conversation, start, minutes)
    }
}

/// Generates one `#[tokio::test]` per behaviour; `$make` is a closure returning a future
/// of `(Arc<dyn Calendar>, keep_alive)`, or with `optional` before it of an `Option` of
/// that (`None` skips).
#[macro_export]
macro_rules! calendar_behaviour_suite {
    (@cases $kind:tt $make:expr; $($name:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let (calendar, _keep) =
                    $crate::calendar_behaviour_suite!(@made $kind ($make)().await);
                $crate::testing::$name(calendar).await;
            }
        )+
    };
    (@made [] $made:expr) => { $made };
    (@made [optional] $made:expr) => {
        match $made {
            Some(made) => made,
            None => {
                println!("SKIPPED: the backend is not available");
                return;
            }
        }
    };
    (@all $kind:tt $make:expr) => {
        $crate::calendar_behaviour_suite!(@cases $kind $make;
            created_booking_reads_back_with_every_field,
            busy_lists_live_bookings_in_the_range_only,
            a_full_slot_is_refused_with_alternatives,
            times_outside_the_rules_are_refused,
            reschedule_keeps_the_duration_unless_given,
            reschedule_into_a_full_slot_is_refused_but_its_own_slot_is_fine,
            cancel_frees_the_unit_and_the_id_is_gone,
            an_unknown_id_is_not_found,
            upcoming_for_lists_only_that_conversations_future_bookings,
            list_upcoming_is_sorted_and_limited,
            concurrent_creates_never_exceed_capacity,
            creating_twice_with_the_same_key_gives_one_booking,
            a_keys_own_booking_never_makes_its_slot_taken,
            concurrent_creates_with_one_key_make_one_booking,
            a_key_whose_booking_was_cancelled_is_not_booked_again,
            rescheduling_twice_to_the_same_time_is_one_move,
            forget_customer_keeps_the_time_blocked_without_the_customer,
            a_closure_closes_its_dates_until_removed,
            a_pending_booking_reads_back_with_its_deposit_and_blocks_its_slot,
            a_deposit_received_confirms_and_a_hold_expiry_frees_the_slot,
            changes_the_lifecycle_forbids_are_refused,
            bookings_between_and_of_read_every_status_but_cancelled,
            racing_status_changes_apply_once,
        );
    };
    // `$make` returns `Option<(calendar, keep_alive)>`; `None` skips the test (a backend
    // that is not installed, e.g. `redis-server` outside CI).
    (optional $make:expr) => {
        $crate::calendar_behaviour_suite!(@all [optional] $make);
    };
    (@each $make:expr; $($name:ident),+ $(,)?) => {
        $crate::calendar_behaviour_suite!(@cases [] $make; $($name),+);
    };
    ($make:expr) => {
        $crate::calendar_behaviour_suite!(@all [] $make);
    };
}

/// Every field written comes back from `get`.
pub async fn created_booking_reads_back_with_every_field(cal: Arc<dyn Calendar>) {
    let new = new_booking("conv-a", at(tuesday(), 14, 0), 90);
    let made = cal.create(new.clone()).await.unwrap();
    assert_eq!(made.start, new.start);
    assert_eq!(made.end, new.start + Duration::minutes(90));
    let read = cal.get(&made.id).await.unwrap();
    assert_eq!(read, made);
    assert_eq!(read.conversation.as_str(), "conv-a");
    assert_eq!(read.customer, new.customer);
    assert_eq!(read.phone.e164(), "+306912345678");
    assert_eq!(read.design, new.design);
    assert_eq!(read.price, new.price);
    assert_eq!(read.duration.minutes(), 90);
    assert!(EventId::parse(read.id.as_str()).is_ok());
}

/// `busy` returns bookings overlapping the range and nothing else of ours.
pub async fn busy_lists_live_bookings_in_the_range_only(cal: Arc<dyn Calendar>) {
    let made = cal
        .create(new_booking("conv-a", at(tuesday(), 12, 0), 60))
        .await
        .unwrap();
    let tuesday_range = Interval::new(at(tuesday(), 0, 0), at(wednesday(), 0, 0));
    let busy = cal.busy(tuesday_range).await.unwrap();
    let ours: Vec<_> = busy
        .iter()
        .filter(|b| b.event.as_ref() == Some(&made.id))
        .collect();
    assert_eq!(ours.len(), 1, "{busy:?}");
    assert_eq!(
        ours[0].span,
        crate::BusySpan::Timed(Interval::new(made.start, made.end))
    );
    assert!(!ours[0].transparent);
    let wednesday_range = Interval::new(at(wednesday(), 0, 0), at(wednesday(), 23, 0));
    let busy = cal.busy(wednesday_range).await.unwrap();
    assert!(busy.iter().all(|b| b.event.as_ref() != Some(&made.id)));
}

/// With capacity 2, a third overlapping booking is refused with the next free times.
pub async fn a_full_slot_is_refused_with_alternatives(cal: Arc<dyn Calendar>) {
    let start = at(tuesday(), 11, 0);
    cal.create(new_booking("conv-a", start, 60)).await.unwrap();
    cal.create(new_booking("conv-b", start, 60)).await.unwrap();
    match cal.create(new_booking("conv-c", start, 60)).await {
        Err(CalendarError::SlotTaken { alternatives }) => {
            assert!(!alternatives.is_empty());
            let taken = Interval::new(start, start + Duration::minutes(60));
            assert!(alternatives.iter().all(|s| !s.interval().overlaps(&taken)));
            assert_eq!(
                alternatives[0].start.with_timezone(&Utc),
                at(tuesday(), 12, 0)
            );
        }
        other => panic!("expected SlotTaken, got {other:?}"),
    }
    assert_eq!(cal.list_upcoming(suite_now(), 10).await.unwrap().len(), 2);
}

/// Closed days, the minimum notice and closing time are enforced by the calendar.
pub async fn times_outside_the_rules_are_refused(cal: Arc<dyn Calendar>) {
    let sunday = date(2026, 12, 6);
    let cases = [
        (at(sunday, 12, 0), 60, ValidationError::ClosedDay),
        (
            at(date(2026, 11, 30), 9, 0),
            60,
            ValidationError::TooSoon { minutes: 180 },
        ),
        (
            at(tuesday(), 19, 0),
            90,
            ValidationError::EndsAfterClosing {
                close: "20:00".into(),
            },
        ),
    ];
    for (start, minutes, expected) in cases {
        match cal.create(new_booking("conv-a", start, minutes)).await {
            Err(CalendarError::Invalid(got)) => assert_eq!(got, expected),
            other => panic!("expected {expected:?}, got {other:?}"),
        }
    }
    assert!(cal.list_upcoming(suite_now(), 10).await.unwrap().is_empty());
}

/// Moving a booking keeps its length unless a new one is given.
pub async fn reschedule_keeps_the_duration_unless_given(cal: Arc<dyn Calendar>) {
    let made = cal
        .create(new_booking("conv-a", at(tuesday(), 11, 0), 90))
        .await
        .unwrap();
    let moved = cal
        .reschedule(&made.id, at(wednesday(), 15, 0), None)
        .await
        .unwrap();
    assert_eq!(moved.id, made.id);
    assert_eq!(moved.start, at(wednesday(), 15, 0));
    assert_eq!(moved.duration.minutes(), 90);
    assert_eq!(cal.get(&made.id).await.unwrap(), moved);
    let longer = AppointmentDuration::from_minutes(120, 600).unwrap();
    let moved = cal
        .reschedule(&made.id, at(wednesday(), 16, 0), Some(longer))
        .await
        .unwrap();
    assert_eq!(moved.end, at(wednesday(), 18, 0));
    assert_eq!(cal.get(&made.id).await.unwrap().duration, longer);
}

/// A booking cannot move into a full slot, but may move within its own time.
pub async fn reschedule_into_a_full_slot_is_refused_but_its_own_slot_is_fine(
    cal: Arc<dyn Calendar>,
) {
    let full = at(wednesday(), 11, 0);
    let a = cal.create(new_booking("conv-a", full, 60)).await.unwrap();
    cal.create(new_booking("conv-b", full, 60)).await.unwrap();
    let c = cal
        .create(new_booking("conv-c", at(tuesday(), 11, 0), 60))
        .await
        .unwrap();
    match cal.reschedule(&c.id, full, None).await {
        Err(CalendarError::SlotTaken { .. }) => {}
        other => panic!("expected SlotTaken, got {other:?}"),
    }
    assert_eq!(cal.get(&c.id).await.unwrap().start, at(tuesday(), 11, 0));
    let longer = AppointmentDuration::from_minutes(60, 600).unwrap();
    let moved = cal.reschedule(&a.id, full, Some(longer)).await.unwrap();
    assert_eq!(moved.start, full);
}

/// Cancelling frees a unit; the cancelled id then answers `Gone`.
pub async fn cancel_frees_the_unit_and_the_id_is_gone(cal: Arc<dyn Calendar>) {
    let start = at(tuesday(), 13, 0);
    let a = cal.create(new_booking("conv-a", start, 60)).await.unwrap();
    cal.create(new_booking("conv-b", start, 60)).await.unwrap();
    cal.cancel(&a.id).await.unwrap();
    cal.create(new_booking("conv-c", start, 60)).await.unwrap();
    assert!(matches!(cal.get(&a.id).await, Err(CalendarError::Gone(id)) if id == a.id));
    assert!(matches!(
        cal.cancel(&a.id).await,
        Err(CalendarError::Gone(_))
    ));
    let busy = cal
        .busy(Interval::new(start, start + Duration::minutes(60)))
        .await
        .unwrap();
    assert!(busy.iter().all(|b| b.event.as_ref() != Some(&a.id)));
}

/// An id that was never issued is `NotFound`, for every operation.
pub async fn an_unknown_id_is_not_found(cal: Arc<dyn Calendar>) {
    let id = EventId::parse("nosuchbooking0").unwrap();
    assert!(matches!(
        cal.get(&id).await,
        Err(CalendarError::NotFound(_))
    ));
    assert!(matches!(
        cal.cancel(&id).await,
        Err(CalendarError::NotFound(_))
    ));
    assert!(matches!(
        cal.reschedule(&id, at(tuesday(), 12, 0), None).await,
        Err(CalendarError::NotFound(_))
    ));
}

/// A conversation sees its own bookings from `now` on, and nobody else's.
pub async fn upcoming_for_lists_only_that_conversations_future_bookings(cal: Arc<dyn Calendar>) {
    let first = cal
        .create(new_booking("conv-a", at(wednesday(), 12, 0), 60))
        .await
        .unwrap();
    let second = cal
        .create(new_booking("conv-a", at(tuesday(), 15, 0), 60))
        .await
        .unwrap();
    let cancelled = cal
        .create(new_booking("conv-a", at(tuesday(), 17, 0), 60))
        .await
        .unwrap();
    cal.cancel(&cancelled.id).await.unwrap();
    cal.create(new_booking("conv-b", at(tuesday(), 16, 0), 60))
        .await
        .unwrap();
    let conv = ConversationId::parse("conv-a").unwrap();
    let ids: Vec<_> = cal
        .upcoming_for(&conv, suite_now())
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(ids, [second.id.clone(), first.id.clone()]);
    let later = at(tuesday(), 15, 30);
    let ids: Vec<_> = cal
        .upcoming_for(&conv, later)
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(ids, [first.id]);
    let nobody = ConversationId::parse("conv-z").unwrap();
    assert!(
        cal.upcoming_for(&nobody, suite_now())
            .await
            .unwrap()
            .is_empty()
    );
}

/// The admin list is in start order and honours the limit.
pub async fn list_upcoming_is_sorted_and_limited(cal: Arc<dyn Calendar>) {
    for (conv, day, hour) in [
        ("conv-a", wednesday(), 11),
        ("conv-b", tuesday(), 18),
        ("conv-c", tuesday(), 12),
    ] {
        cal.create(new_booking(conv, at(day, hour, 0), 60))
            .await
            .unwrap();
    }
    let all = cal.list_upcoming(suite_now(), 10).await.unwrap();
    let starts: Vec<_> = all.iter().map(|b| b.start).collect();
    assert_eq!(
        starts,
        [
            at(tuesday(), 12, 0),
            at(tuesday(), 18, 0),
            at(wednesday(), 11, 0)
        ]
    );
    assert_eq!(cal.list_upcoming(suite_now(), 2).await.unwrap().len(), 2);
    let after = cal.list_upcoming(at(tuesday(), 13, 0), 10).await.unwrap();
    assert_eq!(after.len(), 2);
}

/// Five simultaneous requests for one slot with capacity 2: exactly two win.
pub async fn concurrent_creates_never_exceed_capacity(cal: Arc<dyn Calendar>) {
    let start = at(tuesday(), 16, 0);
    let tasks: Vec<_> = (0..5)
        .map(|i| {
            let cal = Arc::clone(&cal);
            tokio::spawn(async move {
                cal.create(new_booking(&format!("conv-{i}"), start, 60))
                    .await
            })
        })
        .collect();
    let mut won = 0;
    let mut taken = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => won += 1,
            Err(CalendarError::SlotTaken { .. }) => taken += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((won, taken), (2, 3));
    assert_eq!(cal.list_upcoming(suite_now(), 10).await.unwrap().len(), 2);
}

/// A privacy request: the conversation's bookings lose every personal field and stop being
/// bookings, but their time stays blocked; other customers' bookings are untouched.
pub async fn forget_customer_keeps_the_time_blocked_without_the_customer(cal: Arc<dyn Calendar>) {
    let late = cal
        .create(new_booking("conv-a", at(wednesday(), 12, 0), 60))
        .await
        .unwrap();
    let early = cal
        .create(new_booking("conv-a", at(tuesday(), 15, 0), 60))
        .await
        .unwrap();
    let other = cal
        .create(new_booking("conv-b", at(tuesday(), 15, 0), 60))
        .await
        .unwrap();
    let conv = ConversationId::parse("conv-a").unwrap();
    let forgotten = cal.forget_customer(&conv).await.unwrap();
    let ids: Vec<_> = forgotten.iter().map(|f| f.id.clone()).collect();
    assert_eq!(ids, [early.id.clone(), late.id.clone()]);
    assert_eq!(
        (forgotten[0].start, forgotten[0].end),
        (early.start, early.end)
    );
    assert!(
        cal.upcoming_for(&conv, suite_now())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        cal.get(&early.id).await,
        Err(CalendarError::NotFound(_) | CalendarError::Gone(_))
    ));
    let listed: Vec<_> = cal
        .list_upcoming(suite_now(), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(listed, std::slice::from_ref(&other.id));
    // The time is still taken: Tuesday 15:00 is full (the kept entry and conv-b).
    let busy = cal
        .busy(Interval::new(at(tuesday(), 0, 0), at(wednesday(), 23, 0)))
        .await
        .unwrap();
    assert_eq!(busy.len(), 3, "{busy:?}");
    assert!(matches!(
        cal.create(new_booking("conv-c", at(tuesday(), 15, 0), 60))
            .await,
        Err(CalendarError::SlotTaken { .. })
    ));
    // Nothing is left to forget; the other customer keeps everything.
    assert!(cal.forget_customer(&conv).await.unwrap().is_empty());
    assert_eq!(cal.get(&other.id).await.unwrap(), other);
}

/// A keyed booking's id is derived from the key; creating again with the key returns that
/// booking, and only a different key makes a second one.
pub async fn creating_twice_with_the_same_key_gives_one_booking(cal: Arc<dyn Calendar>) {
    let start = at(tuesday(), 14, 0);
    let first = cal
        .create(keyed_booking("conv-a", "conv-a/turn-1/14:00/60", start, 60))
        .await
        .unwrap();
    assert_eq!(
        first.id,
        event_id_for_key("conv-a/turn-1/14:00/60").unwrap()
    );
    let again = cal
        .create(keyed_booking("conv-a", "conv-a/turn-1/14:00/60", start, 60))
        .await
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(cal.get(&first.id).await.unwrap(), first);
    let conv = ConversationId::parse("conv-a").unwrap();
    assert_eq!(
        cal.upcoming_for(&conv, suite_now()).await.unwrap(),
        std::slice::from_ref(&first)
    );
    let busy = cal
        .busy(Interval::new(start, start + Duration::minutes(60)))
        .await
        .unwrap();
    assert_eq!(busy.len(), 1, "{busy:?}");
    let other = cal
        .create(keyed_booking("conv-a", "conv-a/turn-2/14:00/60", start, 60))
        .await
        .unwrap();
    assert_ne!(other.id, first.id);
    assert_eq!(cal.list_upcoming(suite_now(), 10).await.unwrap().len(), 2);
}

/// With the slot full — its own booking and another conversation's — repeating the key
/// still answers with its booking, never `SlotTaken`; anyone else is refused.
pub async fn a_keys_own_booking_never_makes_its_slot_taken(cal: Arc<dyn Calendar>) {
    let start = at(wednesday(), 12, 0);
    let mine = cal
        .create(keyed_booking("conv-a", "conv-a/t1/slot", start, 90))
        .await
        .unwrap();
    cal.create(new_booking("conv-b", start, 60)).await.unwrap();
    let again = cal
        .create(keyed_booking("conv-a", "conv-a/t1/slot", start, 90))
        .await
        .unwrap();
    assert_eq!(again.id, mine.id);
    assert_eq!(again.duration.minutes(), 90);
    match cal
        .create(keyed_booking("conv-c", "conv-c/t1/slot", start, 60))
        .await
    {
        Err(CalendarError::SlotTaken { alternatives }) => assert!(!alternatives.is_empty()),
        other => panic!("expected SlotTaken, got {other:?}"),
    }
    assert_eq!(cal.list_upcoming(suite_now(), 10).await.unwrap().len(), 2);
}

/// Two simultaneous creates with one key (a turn run twice at once): one booking, both
/// callers get it.
pub async fn concurrent_creates_with_one_key_make_one_booking(cal: Arc<dyn Calendar>) {
    let start = at(tuesday(), 17, 0);
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let cal = Arc::clone(&cal);
            tokio::spawn(async move {
                cal.create(keyed_booking("conv-a", "conv-a/t9/17:00", start, 60))
                    .await
            })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap().unwrap().id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(cal.list_upcoming(suite_now(), 10).await.unwrap().len(), 1);
}

/// A key whose booking was cancelled answers `Gone`: repeating the request does not bring
/// the appointment back.
pub async fn a_key_whose_booking_was_cancelled_is_not_booked_again(cal: Arc<dyn Calendar>) {
    let start = at(tuesday(), 12, 0);
    let made = cal
        .create(keyed_booking("conv-a", "conv-a/t2/12:00", start, 60))
        .await
        .unwrap();
    cal.cancel(&made.id).await.unwrap();
    match cal
        .create(keyed_booking("conv-a", "conv-a/t2/12:00", start, 60))
        .await
    {
        Err(CalendarError::Gone(id)) => assert_eq!(id, made.id),
        other => panic!("expected Gone, got {other:?}"),
    }
    assert!(cal.list_upcoming(suite_now(), 10).await.unwrap().is_empty());
}

/// Moving a booking to where it already is (a repeated reschedule) succeeds, even when
/// the slot is otherwise full, and changes nothing.
pub async fn rescheduling_twice_to_the_same_time_is_one_move(cal: Arc<dyn Calendar>) {
    let target = at(wednesday(), 15, 0);
    let made = cal
        .create(new_booking("conv-a", at(tuesday(), 11, 0), 60))
        .await
        .unwrap();
    let moved = cal.reschedule(&made.id, target, None).await.unwrap();
    cal.create(new_booking("conv-b", target, 60)).await.unwrap();
    let again = cal.reschedule(&made.id, target, None).await.unwrap();
    assert_eq!(again, moved);
    assert_eq!(cal.get(&made.id).await.unwrap(), moved);
    assert_eq!(cal.list_upcoming(suite_now(), 10).await.unwrap().len(), 2);
}

/// A stored closure closes its dates for the studio (bookings refused, `busy` shows it as
/// an all-day entry), is listed by `closures` and stops when removed; removing it twice
/// is `NotFound`.
pub async fn a_closure_closes_its_dates_until_removed(cal: Arc<dyn Calendar>) {
    let closure = Closure::new(tuesday(), wednesday(), None, Some("Christmas".into())).unwrap();
    let stored = cal.add_closure(closure.clone()).await.unwrap();
    assert_eq!(stored.closure, closure);
    match cal
        .create(new_booking("conv-a", at(tuesday(), 12, 0), 60))
        .await
    {
        Err(CalendarError::SlotTaken { alternatives }) => {
            assert!(
                alternatives.iter().all(|s| s.date() > wednesday()),
                "{alternatives:?}"
            );
        }
        other => panic!("expected SlotTaken, got {other:?}"),
    }
    let listed = cal
        .closures(date(2026, 11, 30), date(2026, 12, 31))
        .await
        .unwrap();
    assert_eq!(listed, vec![stored.clone()]);
    assert!(
        cal.closures(date(2026, 12, 3), date(2026, 12, 31))
            .await
            .unwrap()
            .is_empty()
    );
    let busy = cal
        .busy(Interval::new(at(wednesday(), 0, 0), at(wednesday(), 23, 0)))
        .await
        .unwrap();
    assert!(
        busy.iter()
            .any(|b| matches!(b.span, crate::BusySpan::AllDay { first, end }
            if first <= wednesday() && wednesday() < end)
                && b.artist.is_none()),
        "{busy:?}"
    );
    cal.remove_closure(&stored.id).await.unwrap();
    assert!(matches!(
        cal.remove_closure(&stored.id).await,
        Err(CalendarError::NotFound(_))
    ));
    cal.create(new_booking("conv-a", at(tuesday(), 12, 0), 60))
        .await
        .unwrap();
    assert!(
        cal.closures(date(2026, 11, 30), date(2026, 12, 31))
            .await
            .unwrap()
            .is_empty()
    );
}

/// Generates one `#[tokio::test]` per artist behaviour; the adapter must be built with
/// [`artist_suite_profile`] and a clock fixed at [`suite_now`].
#[macro_export]
macro_rules! calendar_artist_suite {
    (@all $kind:tt $make:expr) => {
        $crate::calendar_behaviour_suite!(@cases $kind $make;
            an_artist_takes_one_appointment_at_a_time_and_the_booking_names_them,
            a_booking_without_an_artist_gets_the_first_free_one,
            an_artists_own_split_hours_are_enforced,
            an_artists_closure_keeps_only_them_away,
            reschedule_keeps_the_artist,
            a_refusal_for_an_artist_offers_that_artists_times,
        );
    };
    // As in `calendar_behaviour_suite!`: `None` from `$make` skips.
    (optional $make:expr) => {
        $crate::calendar_artist_suite!(@all [optional] $make);
    };
    ($make:expr) => {
        $crate::calendar_artist_suite!(@all [] $make);
    };
}

/// A booking records its artist (`get`, `busy`, `upcoming_for`), and that artist cannot
/// take a second appointment at the same time while the other artist can.
pub async fn an_artist_takes_one_appointment_at_a_time_and_the_booking_names_them(
    cal: Arc<dyn Calendar>,
) {
    let start = at(wednesday(), 12, 0);
    let made = cal
        .create(booking_with("conv-a", start, 60, Some("maria")))
        .await
        .unwrap();
    assert_eq!(made.artist, Some(artist("maria")));
    assert_eq!(
        cal.get(&made.id).await.unwrap().artist,
        Some(artist("maria"))
    );
    let upcoming = cal
        .upcoming_for(&ConversationId::parse("conv-a").unwrap(), suite_now())
        .await
        .unwrap();
    assert_eq!(upcoming[0].artist, Some(artist("maria")));
    let busy = cal
        .busy(Interval::new(at(wednesday(), 0, 0), at(wednesday(), 23, 0)))
        .await
        .unwrap();
    let ours = busy
        .iter()
        .find(|b| b.event.as_ref() == Some(&made.id))
        .unwrap();
    assert_eq!(ours.artist, Some(artist("maria")));
    assert!(matches!(
        cal.create(booking_with(
            "conv-b",
            start + Duration::minutes(30),
            60,
            Some("maria")
        ))
        .await,
        Err(CalendarError::SlotTaken { .. })
    ));
    let other = cal
        .create(booking_with("conv-b", start, 60, Some("nikos")))
        .await
        .unwrap();
    assert_eq!(other.artist, Some(artist("nikos")));
    assert!(matches!(
        cal.create(booking_with("conv-c", start, 60, Some("petros")))
            .await,
        Err(CalendarError::Invalid(
            ValidationError::UnknownArtist { .. }
        ))
    ));
}

/// With no artist asked for, the calendar places the booking with the first artist (the
/// profile's order) free then, and refuses when every artist is busy.
pub async fn a_booking_without_an_artist_gets_the_first_free_one(cal: Arc<dyn Calendar>) {
    let start = at(wednesday(), 15, 0);
    let first = cal
        .create(booking_with("conv-a", start, 60, None))
        .await
        .unwrap();
    assert_eq!(first.artist, Some(artist("maria")));
    let second = cal
        .create(booking_with("conv-b", start, 60, None))
        .await
        .unwrap();
    assert_eq!(second.artist, Some(artist("nikos")));
    assert!(matches!(
        cal.create(booking_with("conv-c", start, 60, None)).await,
        Err(CalendarError::SlotTaken { .. })
    ));
    assert_eq!(
        cal.get(&second.id).await.unwrap().artist,
        Some(artist("nikos"))
    );
}

/// Nikos works Tuesdays 11:00–14:00 and 17:00–20:00: not in the break, not across it.
pub async fn an_artists_own_split_hours_are_enforced(cal: Arc<dyn Calendar>) {
    assert!(matches!(
        cal.create(booking_with(
            "conv-a",
            at(tuesday(), 15, 0),
            60,
            Some("nikos")
        ))
        .await,
        Err(CalendarError::Invalid(ValidationError::OutsideHours { .. }))
    ));
    assert!(matches!(
        cal.create(booking_with(
            "conv-a",
            at(tuesday(), 13, 0),
            120,
            Some("nikos")
        ))
        .await,
        Err(CalendarError::Invalid(
            ValidationError::EndsAfterClosing { .. }
        ))
    ));
    let evening = cal
        .create(booking_with(
            "conv-a",
            at(tuesday(), 17, 0),
            120,
            Some("nikos"),
        ))
        .await
        .unwrap();
    assert_eq!(evening.artist, Some(artist("nikos")));
    // Maria keeps the studio's hours that afternoon; unnamed, the booking goes to her.
    let afternoon = cal
        .create(booking_with("conv-b", at(tuesday(), 15, 0), 60, None))
        .await
        .unwrap();
    assert_eq!(afternoon.artist, Some(artist("maria")));
}

/// A closure of one artist closes their dates only.
pub async fn an_artists_closure_keeps_only_them_away(cal: Arc<dyn Calendar>) {
    let away = Closure::new(wednesday(), wednesday(), Some(artist("maria")), None).unwrap();
    let stored = cal.add_closure(away).await.unwrap();
    assert_eq!(stored.closure.artist, Some(artist("maria")));
    let start = at(wednesday(), 12, 0);
    assert!(matches!(
        cal.create(booking_with("conv-a", start, 60, Some("maria")))
            .await,
        Err(CalendarError::SlotTaken { .. })
    ));
    let placed = cal
        .create(booking_with("conv-a", start, 60, None))
        .await
        .unwrap();
    assert_eq!(placed.artist, Some(artist("nikos")));
    let listed = cal.closures(wednesday(), wednesday()).await.unwrap();
    assert_eq!(listed, vec![stored]);
}

/// A moved booking keeps its artist, and is checked against that artist's calendar.
pub async fn reschedule_keeps_the_artist(cal: Arc<dyn Calendar>) {
    let made = cal
        .create(booking_with(
            "conv-a",
            at(wednesday(), 12, 0),
            60,
            Some("nikos"),
        ))
        .await
        .unwrap();
    cal.create(booking_with(
        "conv-b",
        at(wednesday(), 16, 0),
        60,
        Some("nikos"),
    ))
    .await
    .unwrap();
    let moved = cal
        .reschedule(&made.id, at(wednesday(), 14, 0), None)
        .await
        .unwrap();
    assert_eq!(moved.artist, Some(artist("nikos")));
    assert_eq!(
        cal.get(&made.id).await.unwrap().artist,
        Some(artist("nikos"))
    );
    assert!(matches!(
        cal.reschedule(&made.id, at(wednesday(), 16, 0), None).await,
        Err(CalendarError::SlotTaken { .. })
    ));
}

/// [`new_booking`] waiting for a deposit of 45 held until `hold_until`, with the
/// customer's SMS consent.
pub fn pending_booking(
    conversation: &str,
    start: DateTime<Utc>,
    minutes: i64,
    hold_until: DateTime<Utc>,
) -> NewBooking {
    NewBooking {
        deposit: Some(DepositHold {
            amount: Price::new(Decimal::from(45), Decimal::from(5000)).unwrap(),
            hold_until,
        }),
        sms_consent: true,
        ..new_booking(conversation, start, minutes)
    }
}

/// A booking made with a deposit is `pending_deposit` with its hold, deposit and SMS
/// consent, read back by `get`, the listings and `busy`; it takes its unit of capacity.
pub async fn a_pending_booking_reads_back_with_its_deposit_and_blocks_its_slot(
    cal: Arc<dyn Calendar>,
) {
    let start = at(tuesday(), 15, 0);
    let hold = suite_now() + Duration::hours(24);
    let made = cal
        .create(pending_booking("conv-a", start, 60, hold))
        .await
        .unwrap();
    assert_eq!(
        made.status,
        BookingStatus::PendingDeposit { hold_until: hold }
    );
    assert_eq!(made.deposit.map(|d| d.amount()), Some(Decimal::from(45)));
    assert!(made.sms_consent);
    assert_eq!(cal.get(&made.id).await.unwrap(), made);
    let upcoming = cal.list_upcoming(suite_now(), 10).await.unwrap();
    assert_eq!(upcoming, vec![made.clone()]);
    // A booking without a deposit is confirmed, without consent unless given.
    let plain = cal.create(new_booking("conv-b", start, 60)).await.unwrap();
    let plain = cal.get(&plain.id).await.unwrap();
    assert_eq!(plain.status, BookingStatus::Confirmed);
    assert_eq!(plain.deposit, None);
    assert!(!plain.sms_consent);
    // Capacity 2: the pending booking and the plain one fill the slot.
    assert!(matches!(
        cal.create(new_booking("conv-c", start, 60)).await,
        Err(CalendarError::SlotTaken { .. })
    ));
}

/// "Deposit received" confirms a pending booking (and it keeps its slot); a hold that ran
/// out cancels another as unpaid, which frees its unit and leaves the id `Gone`.
pub async fn a_deposit_received_confirms_and_a_hold_expiry_frees_the_slot(cal: Arc<dyn Calendar>) {
    let start = at(tuesday(), 16, 0);
    let hold = suite_now() + Duration::hours(24);
    let paid = cal
        .create(pending_booking("conv-a", start, 60, hold))
        .await
        .unwrap();
    let unpaid = cal
        .create(pending_booking("conv-b", start, 60, hold))
        .await
        .unwrap();
    let confirmed = cal
        .set_status(&paid.id, StatusChange::Confirm)
        .await
        .unwrap();
    assert_eq!(confirmed.status, BookingStatus::Confirmed);
    assert_eq!(confirmed.deposit, paid.deposit);
    let read = cal.get(&paid.id).await.unwrap();
    assert_eq!(read.status, BookingStatus::Confirmed);
    assert_eq!(read.deposit, paid.deposit);
    assert!(read.sms_consent);

    let cancelled = cal
        .set_status(&unpaid.id, StatusChange::Cancel(CancelledBy::Unpaid))
        .await
        .unwrap();
    assert_eq!(
        cancelled.status,
        BookingStatus::Cancelled {
            by: CancelledBy::Unpaid
        }
    );
    assert!(matches!(
        cal.get(&unpaid.id).await,
        Err(CalendarError::Gone(_))
    ));
    assert!(matches!(
        cal.set_status(&unpaid.id, StatusChange::Confirm).await,
        Err(CalendarError::Gone(_))
    ));
    // Its unit is free again.
    cal.create(new_booking("conv-c", start, 60)).await.unwrap();
    let busy = cal
        .busy(Interval::new(start, start + Duration::minutes(60)))
        .await
        .unwrap();
    assert!(busy.iter().all(|b| b.event.as_ref() != Some(&unpaid.id)));
}

/// Changes outside the lifecycle are refused and change nothing: a paid booking is never
/// cancelled as unpaid, a confirmed one is not confirmed twice, a future one is not marked
/// completed or no-show; an unknown id is `NotFound`.
pub async fn changes_the_lifecycle_forbids_are_refused(cal: Arc<dyn Calendar>) {
    let made = cal
        .create(new_booking("conv-a", at(tuesday(), 12, 0), 60))
        .await
        .unwrap();
    assert!(matches!(
        cal.set_status(&made.id, StatusChange::Cancel(CancelledBy::Unpaid))
            .await,
        Err(CalendarError::Transition(
            TransitionError::NotAllowed { .. }
        ))
    ));
    assert!(matches!(
        cal.set_status(&made.id, StatusChange::Confirm).await,
        Err(CalendarError::Transition(
            TransitionError::NotAllowed { .. }
        ))
    ));
    for change in [StatusChange::Complete, StatusChange::NoShow] {
        assert!(matches!(
            cal.set_status(&made.id, change).await,
            Err(CalendarError::Transition(TransitionError::NotYet { .. }))
        ));
    }
    let pending = cal
        .create(pending_booking(
            "conv-b",
            at(tuesday(), 12, 0),
            60,
            suite_now() + Duration::hours(2),
        ))
        .await
        .unwrap();
    assert!(matches!(
        cal.set_status(&pending.id, StatusChange::NoShow).await,
        Err(CalendarError::Transition(_))
    ));
    assert_eq!(
        cal.get(&made.id).await.unwrap().status,
        BookingStatus::Confirmed
    );
    assert_eq!(cal.get(&pending.id).await.unwrap().status, pending.status);
    assert!(matches!(
        cal.set_status(
            &EventId::parse("nosuchbooking0").unwrap(),
            StatusChange::Confirm
        )
        .await,
        Err(CalendarError::NotFound(_))
    ));
    // The studio cancels a confirmed booking.
    let cancelled = cal
        .set_status(&made.id, StatusChange::Cancel(CancelledBy::Studio))
        .await
        .unwrap();
    assert_eq!(
        cancelled.status,
        BookingStatus::Cancelled {
            by: CancelledBy::Studio
        }
    );
}

/// `bookings_between` lists the bookings starting in the range (pending and confirmed,
/// not cancelled), `bookings_of` a conversation's, earliest first.
pub async fn bookings_between_and_of_read_every_status_but_cancelled(cal: Arc<dyn Calendar>) {
    let hold = suite_now() + Duration::hours(24);
    let first = cal
        .create(pending_booking("conv-a", at(tuesday(), 12, 0), 60, hold))
        .await
        .unwrap();
    let second = cal
        .create(new_booking("conv-b", at(tuesday(), 14, 0), 60))
        .await
        .unwrap();
    let later = cal
        .create(new_booking("conv-a", at(wednesday(), 12, 0), 60))
        .await
        .unwrap();
    let gone = cal
        .create(new_booking("conv-a", at(tuesday(), 16, 0), 60))
        .await
        .unwrap();
    cal.cancel(&gone.id).await.unwrap();
    let tuesday_range = Interval::new(at(tuesday(), 0, 0), at(wednesday(), 0, 0));
    let ids = |list: Vec<crate::Booking>| list.into_iter().map(|b| b.id).collect::<Vec<_>>();
    assert_eq!(
        ids(cal.bookings_between(tuesday_range).await.unwrap()),
        vec![first.id.clone(), second.id.clone()]
    );
    // A booking that started before the range is not in it.
    let from_one = Interval::new(at(tuesday(), 12, 30), at(wednesday(), 23, 0));
    assert_eq!(
        ids(cal.bookings_between(from_one).await.unwrap()),
        vec![second.id.clone(), later.id.clone()]
    );
    let of_a = cal
        .bookings_of(&ConversationId::parse("conv-a").unwrap())
        .await
        .unwrap();
    assert_eq!(of_a[0].status, first.status);
    assert_eq!(ids(of_a), vec![first.id, later.id]);
}

/// Completed and no-show are marked once the appointment has started (the clock is moved
/// past it), and a mistaken mark can be corrected; neither can then be cancelled, and
/// `bookings_between` still lists it with its mark. `clock` is the adapter's clock, at
/// [`suite_now`].
pub async fn completed_and_no_show_are_marked_after_the_start(
    cal: Arc<dyn Calendar>,
    clock: inkdesk_domain::ManualClock,
) {
    let start = at(tuesday(), 12, 0);
    let a = cal.create(new_booking("conv-a", start, 60)).await.unwrap();
    let b = cal.create(new_booking("conv-b", start, 60)).await.unwrap();
    clock.advance(start - suite_now() + Duration::hours(2));
    let done = cal.set_status(&a.id, StatusChange::Complete).await.unwrap();
    assert_eq!(done.status, BookingStatus::Completed);
    let missed = cal.set_status(&b.id, StatusChange::NoShow).await.unwrap();
    assert_eq!(missed.status, BookingStatus::NoShow);
    assert_eq!(cal.get(&b.id).await.unwrap().status, BookingStatus::NoShow);
    assert!(matches!(
        cal.set_status(&b.id, StatusChange::Cancel(CancelledBy::Studio))
            .await,
        Err(CalendarError::Transition(_))
    ));
    // Corrected: the customer did come after all.
    let fixed = cal.set_status(&b.id, StatusChange::Complete).await.unwrap();
    assert_eq!(fixed.status, BookingStatus::Completed);
    let day = Interval::new(at(tuesday(), 0, 0), at(wednesday(), 0, 0));
    let listed = cal.bookings_between(day).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|b| b.status == BookingStatus::Completed));
    assert!(
        cal.list_upcoming(inkdesk_domain::Clock::now(&clock), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Racing changes of one booking's status — the hold's expiry against a payment, two
/// workers on one expiry — take effect once: of eight unpaid cancels exactly one succeeds
/// (the others find it gone), and a payment racing a cancel either confirms it (and every
/// cancel as unpaid is refused) or finds it gone.
pub async fn racing_status_changes_apply_once(cal: Arc<dyn Calendar>) {
    let hold = suite_now() + Duration::hours(24);
    let booking = cal
        .create(pending_booking("conv-a", at(tuesday(), 12, 0), 60, hold))
        .await
        .unwrap();
    let cancels = (0..8).map(|_| {
        let cal = Arc::clone(&cal);
        let id = booking.id.clone();
        tokio::spawn(async move {
            cal.set_status(&id, StatusChange::Cancel(CancelledBy::Unpaid))
                .await
        })
    });
    let results = futures_join(cancels.collect()).await;
    let done = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(done, 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(CalendarError::Gone(_)))),
        "{results:?}"
    );

    let other = cal
        .create(pending_booking("conv-b", at(tuesday(), 14, 0), 60, hold))
        .await
        .unwrap();
    let (pay, expire) = {
        let (a, b) = (Arc::clone(&cal), Arc::clone(&cal));
        let (x, y) = (other.id.clone(), other.id.clone());
        (
            tokio::spawn(async move { a.set_status(&x, StatusChange::Confirm).await }),
            tokio::spawn(async move {
                b.set_status(&y, StatusChange::Cancel(CancelledBy::Unpaid))
                    .await
            }),
        )
    };
    let (pay, expire) = (pay.await.unwrap(), expire.await.unwrap());
    assert!(pay.is_ok() != expire.is_ok(), "{pay:?} {expire:?}");
    match cal.get(&other.id).await {
        Ok(b) => {
            assert!(pay.is_ok());
            assert_eq!(b.status, BookingStatus::Confirmed);
        }
        Err(CalendarError::Gone(_)) => assert!(expire.is_ok()),
        unexpected => panic!("{unexpected:?}"),
    }
}

async fn futures_join<T>(handles: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

/// Maria is booked at 12:00 and Nikos is free then: a second booking asking for Maria at
/// 12:00 is refused with Maria's free times only (not Nikos's 12:00); one asking for no
/// artist is placed with Nikos.
pub async fn a_refusal_for_an_artist_offers_that_artists_times(cal: Arc<dyn Calendar>) {
    let start = at(wednesday(), 12, 0);
    cal.create(booking_with("conv-a", start, 60, Some("maria")))
        .await
        .unwrap();
    let Err(CalendarError::SlotTaken { alternatives }) = cal
        .create(booking_with("conv-b", start, 60, Some("maria")))
        .await
    else {
        panic!("Maria's 12:00 was booked twice");
    };
    assert!(!alternatives.is_empty());
    assert!(
        alternatives
            .iter()
            .all(|slot| slot.artist == Some(artist("maria"))),
        "{alternatives:?}"
    );
    assert!(
        alternatives.iter().all(|slot| slot.start != start),
        "{alternatives:?}"
    );
    let placed = cal
        .create(booking_with("conv-c", start, 60, None))
        .await
        .unwrap();
    assert_eq!(placed.artist, Some(artist("nikos")));
}
