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
