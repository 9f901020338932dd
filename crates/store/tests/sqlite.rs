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
