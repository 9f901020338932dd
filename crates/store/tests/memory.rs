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

fn schedule_harness(options: StoreOptions) -> (Harness, Arc<dyn inkdesk_store::Schedule>) {
    let h = harness(options);
    let clock = ManualClock::new(h.now());
    // The schedule reads the harness's clock: advance it through the harness.
    let h = Harness::manual(h.stores.clone(), clock.clone());
    (
        h,
        Arc::new(inkdesk_store::MemorySchedule::new(Arc::new(clock))),
    )
}

inkdesk_store::schedule_suite!(schedule, |options| async move {
    Some(schedule_harness(options))
});
