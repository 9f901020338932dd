//! The embedded calendar: the shared behaviour suite, persistence across restarts and
//! capacity across two connections to one file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use inkdesk_calendar::testing::{at, new_booking, suite_now, suite_profile};
use inkdesk_calendar::{
    BusyInterval, Calendar, CalendarError, EmbeddedCalendar, Interval, SlotRequest, available_slots,
};
use inkdesk_domain::{Clock, FixedClock};

fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock(suite_now()))
}

mod in_memory {
    use super::*;
    inkdesk_calendar::calendar_behaviour_suite!(|| async {
        let cal = EmbeddedCalendar::open_in_memory(Arc::new(suite_profile()), clock()).unwrap();
        (Arc::new(cal) as Arc<dyn Calendar>, ())
    });
}

mod artists {
    use super::*;
    inkdesk_calendar::calendar_artist_suite!(|| async {
        let profile = inkdesk_calendar::testing::artist_suite_profile();
        let cal = EmbeddedCalendar::open_in_memory(Arc::new(profile), clock()).unwrap();
        (Arc::new(cal) as Arc<dyn Calendar>, ())
    });
}

mod on_disk {
    use super::*;
    inkdesk_calendar::calendar_behaviour_suite!(|| async {
        let dir = tempfile::tempdir().unwrap();
        let cal = EmbeddedCalendar::open(dir.path(), Arc::new(suite_profile()), clock())
            .await
            .unwrap();
        (Arc::new(cal) as Arc<dyn Calendar>, dir)
    });
}

fn day(d: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
}

#[tokio::test]
async fn bookings_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let profile = Arc::new(suite_profile());
    let made = {
        let cal = EmbeddedCalendar::open(dir.path(), profile.clone(), clock())
            .await
            .unwrap();
        cal.create(new_booking("conv-a", at(day(1), 12, 0), 60))
            .await
            .unwrap()
    };
    let reopened = EmbeddedCalendar::open(dir.path(), profile, clock())
        .await
        .unwrap();
    assert_eq!(reopened.get(&made.id).await.unwrap(), made);
    assert!(dir.path().join("calendar.sqlite3").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_connections_to_one_file_cannot_both_take_the_last_unit() {
    let dir = tempfile::tempdir().unwrap();
    let profile = Arc::new(suite_profile());
    let a = EmbeddedCalendar::open(dir.path(), profile.clone(), clock())
        .await
        .unwrap();
    let b = EmbeddedCalendar::open(dir.path(), profile, clock())
        .await
        .unwrap();
    let start = at(day(2), 12, 0);
    a.create(new_booking("conv-0", start, 60)).await.unwrap();
    // One unit left; race for it from both connections, several times over.
    let mut tasks = Vec::new();
    for i in 0..6 {
        let cal = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            cal.create(new_booking(&format!("conv-{}", i + 1), start, 60))
                .await
        }));
    }
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => won += 1,
            Err(CalendarError::SlotTaken { .. }) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(b.list_upcoming(suite_now(), 10).await.unwrap().len(), 2);
}

#[tokio::test]
async fn blocks_close_days_and_transparent_blocks_do_not() {
    let cal = EmbeddedCalendar::open_in_memory(Arc::new(suite_profile()), clock()).unwrap();
    cal.block(
        BusyInterval::all_day(day(3), day(4)),
        Some("holiday".into()),
    )
    .await
    .unwrap();
    cal.block(
        BusyInterval::all_day(day(4), day(5)).with_transparent(true),
        None,
    )
    .await
    .unwrap();
    match cal
        .create(new_booking("conv-a", at(day(3), 12, 0), 60))
        .await
    {
        Err(CalendarError::SlotTaken { alternatives }) => {
            assert!(alternatives.iter().all(|s| s.date() != day(3)));
            assert_eq!(alternatives[0].date(), day(4));
        }
        other => panic!("{other:?}"),
    }
    cal.create(new_booking("conv-a", at(day(4), 12, 0), 60))
        .await
        .unwrap();
    let busy = cal
        .busy(Interval::new(at(day(3), 0, 0), at(day(5), 0, 0)))
        .await
        .unwrap();
    assert_eq!(busy.iter().filter(|b| b.transparent).count(), 1);
    assert_eq!(busy.len(), 3);
}

#[tokio::test]
async fn ical_feed_lists_live_bookings() {
    let cal = EmbeddedCalendar::open_in_memory(Arc::new(suite_profile()), clock()).unwrap();
    let kept = cal
        .create(new_booking("conv-a", at(day(1), 12, 0), 60))
        .await
        .unwrap();
    let gone = cal
        .create(new_booking("conv-b", at(day(1), 14, 0), 60))
        .await
        .unwrap();
    cal.cancel(&gone.id).await.unwrap();
    let feed = cal.ical_feed("Panda Ink").await.unwrap();
    assert!(feed.contains(&format!("UID:{}@inkdesk", kept.id)));
    assert!(!feed.contains(gone.id.as_str()));
    assert!(feed.contains("DTSTART:20261201T100000Z\r\n"));
}

#[tokio::test]
async fn available_slots_reads_the_window_and_skips_full_times() {
    let profile = suite_profile();
    let cal = EmbeddedCalendar::open_in_memory(Arc::new(profile.clone()), clock()).unwrap();
    for conv in ["conv-a", "conv-b"] {
        cal.create(new_booking(conv, at(day(1), 11, 0), 60))
            .await
            .unwrap();
    }
    let duration = inkdesk_domain::AppointmentDuration::from_minutes(60, 600).unwrap();
    let request = SlotRequest::day(day(1), duration);
    let window = request.window(&profile);
    assert_eq!(window, Interval::new(at(day(1), 0, 0), at(day(2), 0, 0)));
    let slots = available_slots(&cal, &profile, &[], &request, suite_now())
        .await
        .unwrap();
    let json = serde_json::to_value(&slots).unwrap();
    assert_eq!(json[0]["start"], "2026-12-01T12:00:00+02:00");
    assert_eq!(json[0]["end"], "2026-12-01T13:00:00+02:00");
    assert_eq!(slots.len(), 3);
}

#[tokio::test]
async fn completed_and_no_show_are_marked_after_the_start() {
    let clock = inkdesk_domain::ManualClock::new(suite_now());
    let cal = EmbeddedCalendar::open_in_memory(Arc::new(suite_profile()), Arc::new(clock.clone()))
        .unwrap();
    inkdesk_calendar::testing::completed_and_no_show_are_marked_after_the_start(
        Arc::new(cal),
        clock,
    )
    .await;
}

/// A file written before the lifecycle (no status, deposit or consent columns) opens, its
/// bookings read back as confirmed without consent, and new ones take the new columns.
#[tokio::test]
async fn a_file_from_before_the_lifecycle_reads_its_bookings_as_confirmed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calendar.sqlite3");
    {
        let conn = inkdesk_sqlite::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE bookings (
                id TEXT PRIMARY KEY, conversation TEXT NOT NULL, customer TEXT NOT NULL,
                phone TEXT NOT NULL, design TEXT, price TEXT, start_utc INTEGER NOT NULL,
                end_utc INTEGER NOT NULL, duration_min INTEGER NOT NULL,
                created_utc INTEGER NOT NULL, cancelled_utc INTEGER, artist TEXT);
             CREATE TABLE blocks (id TEXT PRIMARY KEY, start_utc INTEGER, end_utc INTEGER,
                first_date TEXT, end_date TEXT, transparent INTEGER NOT NULL, note TEXT,
                artist TEXT);
             PRAGMA user_version = 2;",
        )
        .unwrap();
        let start = at(chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(), 12, 0);
        conn.execute(
            "INSERT INTO bookings VALUES ('oldbooking1', 'conv-a', 'Νίκος', '+306912345678',
                NULL, '120', ?1, ?2, 60, ?1, NULL, NULL)",
            rusqlite::params![start.timestamp(), start.timestamp() + 3600],
        )
        .unwrap();
    }
    let cal = EmbeddedCalendar::open_file(&path, Arc::new(suite_profile()), clock())
        .await
        .unwrap();
    let old = cal
        .get(&inkdesk_domain::EventId::parse("oldbooking1").unwrap())
        .await
        .unwrap();
    assert_eq!(old.status, inkdesk_calendar::BookingStatus::Confirmed);
    assert_eq!(old.deposit, None);
    assert!(!old.sms_consent);
    let pending = cal
        .create(inkdesk_calendar::testing::pending_booking(
            "conv-b",
            at(chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(), 15, 0),
            60,
            suite_now() + chrono::Duration::hours(24),
        ))
        .await
        .unwrap();
    drop(cal);
    let reopened = EmbeddedCalendar::open_file(&path, Arc::new(suite_profile()), clock())
        .await
        .unwrap();
    assert_eq!(reopened.get(&pending.id).await.unwrap(), pending);
}
