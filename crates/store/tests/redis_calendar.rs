//! The Redis calendar against a real Redis: the calendar crate's behaviour suite (the one
//! the embedded and Google adapters pass), and what two replicas on one Redis see.
//!
//! Each test starts its own `redis-server` (or uses `REDIS_URL`, with a key prefix of its
//! own); without the binary the tests print `SKIPPED` and pass, unless
//! `INKDESK_REQUIRE_REDIS=1`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use inkdesk_calendar::testing::{at, keyed_booking, new_booking, suite_now, suite_profile};
use inkdesk_calendar::{Calendar, CalendarError, Interval};
use inkdesk_domain::{Clock, FixedClock};
use inkdesk_store::testing::redis_server::{RedisServer, server};
use inkdesk_store::{RedisCalendar, RedisConfig, RedisStore, StoreOptions, Stores};

/// A key prefix no other test (in this process or another) uses.
fn prefix() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "inkdesk-test-cal:{}:{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The store on `url`, retrying while a fresh server starts.
async fn store(url: &str, prefix: &str) -> Arc<RedisStore> {
    let options = StoreOptions {
        key_prefix: prefix.to_owned(),
        ..StoreOptions::default()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match Stores::redis_store(RedisConfig::from_url(url), options.clone()).await {
            Ok(store) => return store,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("redis at {url} never answered: {e:?}"),
        }
    }
}

fn calendar(store: Arc<RedisStore>) -> RedisCalendar {
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(suite_now()));
    RedisCalendar::new(store, Arc::new(suite_profile()), clock)
}

async fn made() -> Option<(Arc<dyn Calendar>, Option<RedisServer>)> {
    let (url, server) = server()?;
    let cal = calendar(store(&url, &prefix()).await);
    Some((Arc::new(cal) as Arc<dyn Calendar>, server))
}

inkdesk_calendar::calendar_behaviour_suite!(optional made);

/// The artist suite, on the artist suite's profile.
mod artist_suite {
    use super::*;

    async fn made() -> Option<(Arc<dyn Calendar>, Option<RedisServer>)> {
        let (url, server) = server()?;
        let clock: Arc<dyn Clock> = Arc::new(FixedClock(suite_now()));
        let cal = RedisCalendar::new(
            store(&url, &prefix()).await,
            Arc::new(inkdesk_calendar::testing::artist_suite_profile()),
            clock,
        );
        Some((Arc::new(cal) as Arc<dyn Calendar>, server))
    }

    inkdesk_calendar::calendar_artist_suite!(optional made);
}

fn december(day: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 12, day).unwrap()
}

/// Two replicas (two connections, two calendar values) on one Redis: a booking made
/// through one is read by the other, and they cannot both take the last unit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_share_bookings_and_capacity() {
    let Some((url, _server)) = server() else {
        return;
    };
    let prefix = prefix();
    let a = Arc::new(calendar(store(&url, &prefix).await));
    let b = Arc::new(calendar(store(&url, &prefix).await));
    let start = at(december(2), 12, 0);
    let made = a.create(new_booking("conv-0", start, 60)).await.unwrap();
    assert_eq!(b.get(&made.id).await.unwrap(), made);
    assert_eq!(
        b.list_upcoming(suite_now(), 10).await.unwrap(),
        std::slice::from_ref(&made)
    );
    // One unit left (capacity 2): eight requests race for it from both replicas.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let cal: Arc<dyn Calendar> = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move {
                cal.create(new_booking(&format!("conv-{}", i + 1), start, 60))
                    .await
            })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => won += 1,
            Err(CalendarError::SlotTaken { .. }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(a.list_upcoming(suite_now(), 10).await.unwrap().len(), 2);
    // A cancel through one replica frees the unit for the other.
    b.cancel(&made.id).await.unwrap();
    assert!(matches!(a.get(&made.id).await, Err(CalendarError::Gone(_))));
    a.create(new_booking("conv-9", start, 60)).await.unwrap();
}

/// A keyed booking retried on the other replica (a turn resumed elsewhere) is the same
/// booking, not a second one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_repeated_on_another_replica_finds_its_booking() {
    let Some((url, _server)) = server() else {
        return;
    };
    let prefix = prefix();
    let a = calendar(store(&url, &prefix).await);
    let b = calendar(store(&url, &prefix).await);
    let start = at(december(1), 15, 0);
    let first = a
        .create(keyed_booking("conv-a", "conv-a/t1/15:00/60", start, 60))
        .await
        .unwrap();
    let again = b
        .create(keyed_booking("conv-a", "conv-a/t1/15:00/60", start, 60))
        .await
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(b.list_upcoming(suite_now(), 10).await.unwrap().len(), 1);
}

/// Another prefix is another studio: nothing is shared across prefixes.
#[tokio::test]
async fn prefixes_keep_calendars_apart() {
    let Some((url, _server)) = server() else {
        return;
    };
    let a = calendar(store(&url, &prefix()).await);
    let b = calendar(store(&url, &prefix()).await);
    a.create(new_booking("conv-a", at(december(1), 12, 0), 60))
        .await
        .unwrap();
    assert!(b.list_upcoming(suite_now(), 10).await.unwrap().is_empty());
}

fn key(text: &str) -> inkdesk_domain::ArtistKey {
    inkdesk_domain::ArtistKey::parse(text).unwrap()
}

/// The suite's profile with two artists: each takes one appointment at a time.
fn with_artists() -> inkdesk_domain::StudioProfile {
    let mut profile = suite_profile();
    for (k, name) in [("maria", "Μαρία"), ("nikos", "Νίκος")] {
        profile.artists.push(inkdesk_domain::profile::Artist {
            key: key(k),
            name: name.into(),
            styles: vec!["fine line".into()],
            hours: Default::default(),
            google_calendar_id: None,
        });
    }
    profile
}

/// A closure added through one replica refuses bookings through the other on its dates,
/// is listed by both, and once removed the date books again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closure_added_on_one_replica_closes_the_date_on_the_other() {
    let Some((url, _server)) = server() else {
        return;
    };
    let prefix = prefix();
    let a = calendar(store(&url, &prefix).await);
    let b = calendar(store(&url, &prefix).await);
    let closure = inkdesk_domain::Closure::new(
        december(3),
        december(4),
        None,
        Some("Χριστουγεννιάτικη αργία".into()),
    )
    .unwrap();
    let stored = a.add_closure(closure).await.unwrap();
    let listed = b.closures(december(1), december(31)).await.unwrap();
    assert_eq!(listed, std::slice::from_ref(&stored));
    assert!(
        b.closures(december(5), december(31))
            .await
            .unwrap()
            .is_empty()
    );
    match b
        .create(new_booking("conv-a", at(december(4), 12, 0), 60))
        .await
    {
        Err(CalendarError::SlotTaken { alternatives }) => {
            assert!(
                alternatives
                    .iter()
                    .all(|s| s.start.date_naive() > december(4))
            );
        }
        other => panic!("expected SlotTaken, got {other:?}"),
    }
    b.remove_closure(&stored.id).await.unwrap();
    assert!(matches!(
        a.remove_closure(&stored.id).await,
        Err(CalendarError::NotFound(_))
    ));
    a.create(new_booking("conv-a", at(december(4), 12, 0), 60))
        .await
        .unwrap();
}

/// With artists, each takes one appointment at a time: a booking naming none gets the
/// first free artist, one naming an artist keeps them, and the artist shows in `busy`;
/// an artist's closure leaves the other bookable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn artists_each_take_one_appointment_and_their_closures_are_theirs() {
    let Some((url, _server)) = server() else {
        return;
    };
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(suite_now()));
    let cal = RedisCalendar::new(
        store(&url, &prefix()).await,
        Arc::new(with_artists()),
        clock,
    );
    let start = at(december(1), 12, 0);
    let mut asked = new_booking("conv-a", start, 60);
    asked.artist = Some(key("nikos"));
    let nikos = cal.create(asked).await.unwrap();
    assert_eq!(nikos.artist, Some(key("nikos")));
    let any = cal.create(new_booking("conv-b", start, 60)).await.unwrap();
    assert_eq!(any.artist, Some(key("maria")));
    assert_eq!(cal.get(&any.id).await.unwrap().artist, Some(key("maria")));
    assert!(matches!(
        cal.create(new_booking("conv-c", start, 60)).await,
        Err(CalendarError::SlotTaken { .. })
    ));
    let busy = cal
        .busy(Interval::new(start, start + chrono::Duration::hours(1)))
        .await
        .unwrap();
    let mut artists: Vec<_> = busy.iter().filter_map(|b| b.artist.clone()).collect();
    artists.sort();
    assert_eq!(artists, [key("maria"), key("nikos")]);
    // A move keeps the booking's artist.
    let moved = cal
        .reschedule(&nikos.id, at(december(2), 12, 0), None)
        .await
        .unwrap();
    assert_eq!(moved.artist, Some(key("nikos")));
    // Maria away on the 3rd: Nikos still takes a booking there, a second one is refused.
    cal.add_closure(
        inkdesk_domain::Closure::new(december(3), december(3), Some(key("maria")), None).unwrap(),
    )
    .await
    .unwrap();
    let third = cal
        .create(new_booking("conv-d", at(december(3), 12, 0), 60))
        .await
        .unwrap();
    assert_eq!(third.artist, Some(key("nikos")));
    assert!(matches!(
        cal.create(new_booking("conv-e", at(december(3), 12, 0), 60))
            .await,
        Err(CalendarError::SlotTaken { .. })
    ));
}

#[tokio::test]
async fn completed_and_no_show_are_marked_after_the_start() {
    let Some((url, _server)) = server() else {
        println!("SKIPPED: the backend is not available");
        return;
    };
    let clock = inkdesk_domain::ManualClock::new(suite_now());
    let cal = RedisCalendar::new(
        store(&url, &prefix()).await,
        Arc::new(suite_profile()),
        Arc::new(clock.clone()),
    );
    inkdesk_calendar::testing::completed_and_no_show_are_marked_after_the_start(
        Arc::new(cal),
        clock,
    )
    .await;
}

/// A booking stored before the lifecycle (JSON without status, deposit or consent) reads
/// back as confirmed without consent.
#[tokio::test]
async fn a_booking_stored_before_the_lifecycle_reads_as_confirmed() {
    let Some((url, _server)) = server() else {
        println!("SKIPPED: the backend is not available");
        return;
    };
    let prefix = prefix();
    let cal = calendar(store(&url, &prefix).await);
    let made = cal
        .create(new_booking("conv-a", at(december(1), 12, 0), 60))
        .await
        .unwrap();
    // Strip the new fields from the stored JSON, as an older version wrote it.
    let client = deadpool_redis::redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("{{{prefix}:cal}}:entries");
    let raw: String = deadpool_redis::redis::cmd("HGET")
        .arg(&key)
        .arg(made.id.as_str())
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut entry: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let booking = entry["booking"].as_object_mut().unwrap();
    for field in ["status", "deposit", "sms_consent"] {
        booking.remove(field);
    }
    let _: () = deadpool_redis::redis::cmd("HSET")
        .arg(&key)
        .arg(made.id.as_str())
        .arg(entry.to_string())
        .query_async(&mut conn)
        .await
        .unwrap();
    let read = cal.get(&made.id).await.unwrap();
    assert_eq!(read.status, inkdesk_calendar::BookingStatus::Confirmed);
    assert!(!read.sms_consent);
    assert_eq!(read, made);
}
