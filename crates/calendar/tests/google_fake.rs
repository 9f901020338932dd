//! The Google adapter on a stateful fake of the Calendar API: the shared behaviour suite,
//! and what the studio's own entries do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use inkdesk_calendar::testing::{at, keyed_booking, new_booking, suite_now};
use inkdesk_calendar::{Calendar, CalendarError};
use inkdesk_domain::EventId;
use serde_json::json;
use support::fake_google::FakeGoogle;
use support::google_client::*;

mod behaviour_on_the_fake {
    use super::*;
    inkdesk_calendar::calendar_behaviour_suite!(|| async {
        let fake = FakeGoogle::start(2).await;
        let cal = calendar(&fake.server);
        (Arc::new(cal) as Arc<dyn Calendar>, fake)
    });
}

mod artists_on_the_fake {
    use super::*;
    inkdesk_calendar::calendar_artist_suite!(|| async {
        let fake = FakeGoogle::start(2).await;
        let cal = artist_calendar(&fake.server);
        (Arc::new(cal) as Arc<dyn Calendar>, fake)
    });
}

#[tokio::test]
async fn events_not_made_by_inkdesk_are_not_bookings() {
    let fake = FakeGoogle::start(10).await;
    let id = fake.seed(json!({
        "id": "studio0001",
        "summary": "Artist meeting",
        "start": {"dateTime": "2026-12-01T11:00:00+02:00"},
        "end": {"dateTime": "2026-12-01T12:00:00+02:00"}
    }));
    let cal = calendar(&fake.server);
    let id = EventId::parse(&id).unwrap();
    assert!(matches!(
        cal.get(&id).await,
        Err(CalendarError::NotFound(_))
    ));
    assert!(matches!(
        cal.cancel(&id).await,
        Err(CalendarError::NotFound(_))
    ));
    assert_eq!(fake.event(id.as_str()).unwrap()["status"], "confirmed");
    assert!(cal.list_upcoming(suite_now(), 10).await.unwrap().is_empty());
    // But it still takes a unit of capacity.
    assert_eq!(cal.busy(week()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn studio_entries_in_google_close_days_and_fill_slots() {
    let fake = FakeGoogle::start(2).await;
    fake.seed(json!({"summary": "Holiday", "start": {"date": "2026-12-01"}, "end": {"date": "2026-12-02"}}));
    fake.seed(json!({"summary": "Ink delivery", "transparency": "transparent",
        "start": {"dateTime": "2026-12-02T11:00:00+02:00"}, "end": {"dateTime": "2026-12-02T20:00:00+02:00"}}));
    let cal = calendar(&fake.server);
    match cal
        .create(new_booking("conv-a", at(december(1), 12, 0), 60))
        .await
    {
        Err(CalendarError::SlotTaken { alternatives }) => {
            assert!(alternatives.iter().all(|s| s.date() != december(1)));
        }
        other => panic!("{other:?}"),
    }
    cal.create(new_booking("conv-a", at(december(2), 12, 0), 60))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_forgotten_customer_leaves_no_name_phone_or_design_in_the_google_event() {
    let fake = FakeGoogle::start(10).await;
    let cal = calendar(&fake.server);
    let booking = cal
        .create(new_booking("conv-a", at(december(1), 12, 0), 60))
        .await
        .unwrap();
    let before = fake.event(booking.id.as_str()).unwrap().to_string();
    assert!(before.contains("Παπαδόπουλος") && before.contains("6912345678"));
    let conv = inkdesk_domain::ConversationId::parse("conv-a").unwrap();
    assert_eq!(cal.forget_customer(&conv).await.unwrap().len(), 1);
    let event = fake.event(booking.id.as_str()).unwrap();
    let text = event.to_string();
    for personal in [
        "Γιάννης",
        "Παπαδόπουλος",
        "6912345678",
        "τριαντάφυλλο",
        "conv-a",
    ] {
        assert!(!text.contains(personal), "{personal} left in {text}");
    }
    assert_eq!(event["status"], "confirmed", "the time stays blocked");
    assert_eq!(
        event["summary"],
        "Τατουάζ (τα στοιχεία του πελάτη διαγράφηκαν)"
    );
    assert_eq!(
        event["extendedProperties"]["private"]["inkdeskDurationMinutes"],
        "60"
    );
}

#[tokio::test]
async fn an_insert_whose_answer_was_lost_is_read_back_from_its_409() {
    let fake = FakeGoogle::start(10).await;
    let cal = calendar(&fake.server);
    fake.lose_next_insert_answer();
    let made = cal
        .create(new_booking("conv-a", at(december(1), 12, 0), 60))
        .await
        .unwrap();
    assert_eq!(fake.live_ids(), [made.id.to_string()]);
    assert_eq!(cal.get(&made.id).await.unwrap(), made);
    let inserts = fake
        .server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path().ends_with("/events"))
        .count();
    assert_eq!(inserts, 2, "the retry met the stored event");
}

#[tokio::test]
async fn a_keyed_id_holding_another_conversations_event_is_never_returned() {
    let fake = FakeGoogle::start(10).await;
    let cal = calendar(&fake.server);
    let start = at(december(1), 12, 0);
    let theirs = cal
        .create(keyed_booking("conv-b", "shared-key", start, 60))
        .await
        .unwrap();
    match cal
        .create(keyed_booking("conv-a", "shared-key", start, 60))
        .await
    {
        Err(CalendarError::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert_eq!(fake.live_ids(), [theirs.id.to_string()]);
}

#[tokio::test]
async fn a_keyed_id_taken_by_a_studio_event_is_an_error_not_a_booking() {
    let fake = FakeGoogle::start(10).await;
    let start = at(december(1), 12, 0);
    let new = keyed_booking("conv-a", "conv-a/t1/12:00", start, 60);
    let id = new.event_id().unwrap();
    fake.seed(json!({
        "id": id.as_str(),
        "summary": "Artist meeting",
        "start": {"dateTime": "2026-12-03T11:00:00+02:00"},
        "end": {"dateTime": "2026-12-03T12:00:00+02:00"}
    }));
    let cal = calendar(&fake.server);
    match cal.create(new).await {
        Err(CalendarError::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert_eq!(fake.live_ids(), [id.to_string()]);
}

#[tokio::test]
async fn completed_and_no_show_are_marked_after_the_start() {
    let fake = FakeGoogle::start(2).await;
    let clock = inkdesk_domain::ManualClock::new(suite_now());
    let cal = inkdesk_calendar::GoogleCalendar::new(
        config(&fake.server),
        installed_app(&fake.server),
        Arc::new(inkdesk_calendar::testing::suite_profile()),
        Arc::new(clock.clone()),
    )
    .unwrap();
    inkdesk_calendar::testing::completed_and_no_show_are_marked_after_the_start(
        Arc::new(cal),
        clock,
    )
    .await;
}

#[tokio::test]
async fn a_pending_booking_is_a_tentative_banana_event_and_confirmed_turns_basil() {
    let fake = FakeGoogle::start(10).await;
    let cal = calendar(&fake.server);
    let made = cal
        .create(inkdesk_calendar::testing::pending_booking(
            "conv-a",
            at(december(1), 12, 0),
            60,
            suite_now() + chrono::Duration::hours(24),
        ))
        .await
        .unwrap();
    let event = fake.event(made.id.as_str()).unwrap();
    assert_eq!(event["status"], "tentative");
    assert_eq!(event["colorId"], "5");
    let private = &event["extendedProperties"]["private"];
    assert_eq!(private["inkdeskStatus"], "pending_deposit");
    assert_eq!(private["inkdeskHoldUntil"], "2026-12-01T05:00:00Z");
    assert_eq!(private["inkdeskDeposit"], "45");
    assert_eq!(private["inkdeskSmsConsent"], "1");
    cal.set_status(&made.id, inkdesk_calendar::StatusChange::Confirm)
        .await
        .unwrap();
    let event = fake.event(made.id.as_str()).unwrap();
    assert_eq!(event["status"], "confirmed");
    assert_eq!(event["colorId"], "10");
    assert_eq!(
        event["extendedProperties"]["private"]["inkdeskStatus"],
        "confirmed"
    );
    // Cancelled unpaid: who cancelled stays on the deleted event.
    let other = cal
        .create(inkdesk_calendar::testing::pending_booking(
            "conv-b",
            at(december(1), 14, 0),
            60,
            suite_now() + chrono::Duration::hours(24),
        ))
        .await
        .unwrap();
    cal.set_status(
        &other.id,
        inkdesk_calendar::StatusChange::Cancel(inkdesk_calendar::CancelledBy::Unpaid),
    )
    .await
    .unwrap();
    let event = fake.event(other.id.as_str()).unwrap();
    assert_eq!(event["status"], "cancelled");
    assert_eq!(
        event["extendedProperties"]["private"]["inkdeskStatus"],
        "cancelled_unpaid"
    );
}

/// Two processes (two adapters on one calendar, no shared lock) racing status changes of
/// one booking: the etag makes one of them win and the other read again and be refused.
#[tokio::test]
async fn two_replicas_racing_a_status_change_apply_it_once() {
    let fake = FakeGoogle::start(10).await;
    let first = Arc::new(calendar(&fake.server));
    let second = Arc::new(calendar(&fake.server));
    for hour in [12, 14, 16] {
        let booking = first
            .create(inkdesk_calendar::testing::pending_booking(
                "conv-a",
                at(december(1), hour, 0),
                60,
                suite_now() + chrono::Duration::hours(24),
            ))
            .await
            .unwrap();
        let (a, b) = (first.clone(), second.clone());
        let (x, y) = (booking.id.clone(), booking.id.clone());
        let pay = tokio::spawn(async move {
            a.set_status(&x, inkdesk_calendar::StatusChange::Confirm)
                .await
        });
        let expire = tokio::spawn(async move {
            b.set_status(
                &y,
                inkdesk_calendar::StatusChange::Cancel(inkdesk_calendar::CancelledBy::Unpaid),
            )
            .await
        });
        let (pay, expire) = (pay.await.unwrap(), expire.await.unwrap());
        assert!(pay.is_ok() != expire.is_ok(), "{pay:?} {expire:?}");
        let event = fake.event(booking.id.as_str()).unwrap();
        let stored = event["extendedProperties"]["private"]["inkdeskStatus"].clone();
        if pay.is_ok() {
            assert_eq!(stored, "confirmed");
            assert_eq!(event["status"], "confirmed");
        } else {
            assert_eq!(stored, "cancelled_unpaid");
            assert_eq!(event["status"], "cancelled");
        }
    }
}
