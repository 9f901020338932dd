//! The conformance suite against the embedded SQLite adapter (a fresh file per test).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::TimeZone;
use inkdesk_domain::ManualClock;
use inkdesk_store::testing::Harness;
use inkdesk_store::{StoreOptions, Stores};

async fn harness(options: StoreOptions) -> Harness {
    let clock = ManualClock::new(chrono::Utc.with_ymd_and_hms(2031, 5, 6, 8, 0, 0).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let stores = Stores::sqlite(
        dir.path().join("inkdesk.db"),
        Arc::new(clock.clone()),
        options,
    )
    .await
    .unwrap();
    let mut h = Harness::manual(stores, clock);
    h.keep(Box::new(dir));
    h
}

inkdesk_store::conformance_suite!(
    sqlite,
    |options| async move { Some(harness(options).await) }
);

#[tokio::test]
async fn state_survives_reopening_the_file() {
    use inkdesk_store::testing::{conv, msg, turn};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inkdesk.db");
    let clock = ManualClock::new(chrono::Utc.with_ymd_and_hms(2031, 5, 6, 8, 0, 0).unwrap());
    let options = || StoreOptions {
        retention: std::time::Duration::from_secs(3600),
        ..StoreOptions::default()
    };
    {
        let stores = Stores::sqlite(&path, Arc::new(clock.clone()), options())
            .await
            .unwrap();
        let h = Harness::manual(stores, clock.clone());
        h.stores
            .log
            .append(&conv("c"), turn(&h, "hello"))
            .await
            .unwrap();
        h.stores
            .inbox
            .push(&conv("c"), msg(&h, "m1"), std::time::Duration::ZERO)
            .await
            .unwrap();
        h.stores.takeover.set_paused(true).await.unwrap();
    }
    let stores = Stores::sqlite(&path, Arc::new(clock.clone()), options())
        .await
        .unwrap();
    assert_eq!(
        stores.log.recent(&conv("c"), 5).await.unwrap()[0].text,
        "hello"
    );
    let claims = stores
        .inbox
        .claim_due(5, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(claims[0].messages[0].message_id, "m1");
    assert!(stores.takeover.is_paused().await.unwrap());
}

#[tokio::test]
async fn unwritable_path_is_unavailable() {
    let clock = ManualClock::new(chrono::Utc.with_ymd_and_hms(2031, 5, 6, 8, 0, 0).unwrap());
    let err = Stores::sqlite(
        "/nonexistent-dir/x/inkdesk.db",
        Arc::new(clock),
        StoreOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, inkdesk_store::StoreError::Unavailable(_)),
        "{err:?}"
    );
}

async fn schedule_harness(options: StoreOptions) -> (Harness, Arc<dyn inkdesk_store::Schedule>) {
    let clock = ManualClock::new(chrono::Utc.with_ymd_and_hms(2031, 5, 6, 8, 0, 0).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let store = inkdesk_store::SqliteStore::open(
        dir.path().join("inkdesk.db"),
        Arc::new(clock.clone()),
        options.clone(),
    )
    .await
    .unwrap();
    // The harness is used for time only.
    let mut h = Harness::manual(Stores::memory(Arc::new(clock.clone()), options), clock);
    h.keep(Box::new(dir));
    (h, Arc::new(store))
}

inkdesk_store::schedule_suite!(schedule, |options| async move {
    Some(schedule_harness(options).await)
});

/// A file made before holds carried the artist: opening it replaces the holds table (holds
/// last minutes), and holds of two artists at one time then both take.
#[tokio::test]
async fn an_older_holds_table_is_replaced_by_one_keyed_by_artist() {
    use inkdesk_store::testing::conv;
    use inkdesk_store::{HoldOutcome, SlotKey};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inkdesk.db");
    {
        let old = inkdesk_sqlite::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE holds (slot_start INTEGER NOT NULL, slot_end INTEGER NOT NULL,
                 conv TEXT NOT NULL, expires_at INTEGER NOT NULL,
                 PRIMARY KEY (slot_start, slot_end, conv));
             INSERT INTO holds VALUES (1, 2, 'old', 9999999999999);",
        )
        .unwrap();
    }
    let clock = ManualClock::new(chrono::Utc.with_ymd_and_hms(2031, 5, 6, 8, 0, 0).unwrap());
    let stores = Stores::sqlite(&path, Arc::new(clock), StoreOptions::default())
        .await
        .unwrap();
    let start = chrono::Utc.with_ymd_and_hms(2031, 5, 7, 10, 0, 0).unwrap();
    let end = start + chrono::Duration::hours(1);
    let key = |artist: &str| SlotKey {
        artist: Some(inkdesk_domain::ArtistKey::parse(artist).unwrap()),
        ..SlotKey::studio(start, end)
    };
    let ttl = std::time::Duration::from_secs(600);
    for (artist, who) in [("maria", "a"), ("nikos", "b")] {
        assert_eq!(
            stores
                .holds
                .hold(key(artist), &conv(who), 1, ttl)
                .await
                .unwrap(),
            HoldOutcome::Held
        );
    }
    assert_eq!(
        stores
            .holds
            .hold(key("maria"), &conv("c"), 1, ttl)
            .await
            .unwrap(),
        HoldOutcome::Full
    );
    assert_eq!(stores.holds.active(start, end).await.unwrap().len(), 2);
}
