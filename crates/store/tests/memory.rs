//! The conformance suite against the in-memory adapter.

use std::sync::Arc;

use chrono::TimeZone;
use inkdesk_domain::ManualClock;
use inkdesk_store::testing::Harness;
use inkdesk_store::{StoreOptions, Stores};

fn harness(options: StoreOptions) -> Harness {
    let clock = ManualClock::new(chrono::Utc.with_ymd_and_hms(2031, 5, 6, 8, 0, 0).unwrap());
    Harness::manual(Stores::memory(Arc::new(clock.clone()), options), clock)
}

inkdesk_store::conformance_suite!(memory, |options| async move { Some(harness(options)) });
