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
use inkdesk_calendar::{Calendar, CalendarError};
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
        [made.clone()]
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
