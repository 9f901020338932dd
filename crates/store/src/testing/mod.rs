//! Test support (feature `testing`): the [`Harness`] an adapter's tests build, and the
//! conformance suite every adapter runs through [`conformance_suite!`](crate::conformance_suite).
//!
//! Each suite function takes a fresh [`Harness`] and panics on a broken behaviour. Time moves
//! through [`Harness::advance`]: instantly on a [`ManualClock`] (memory, SQLite), by a real
//! sleep where the backend keeps its own time (Redis), so every duration here is short.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod change;
mod inbox;
mod intake;
mod journal;
pub mod redis_server;
mod schedule;
mod state;
mod usage;

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use inkdesk_domain::{Clock, ConversationId, ManualClock, SystemClock};

use crate::model::{PendingMessage, Role, StoreOptions, Turn};
use crate::stores::Stores;

pub use change::*;
pub use inbox::*;
pub use intake::*;
pub use journal::*;
pub use schedule::*;
pub use state::*;
pub use usage::*;

/// Debounce window used by the suite.
pub const DEBOUNCE: Duration = Duration::from_millis(600);
/// A step shorter than [`DEBOUNCE`]; two steps are longer.
pub const STEP: Duration = Duration::from_millis(350);
/// Lease used where the suite lets leases expire.
pub const LEASE: Duration = Duration::from_millis(500);
/// Lease long enough never to expire during a test.
pub const LONG: Duration = Duration::from_secs(60);
/// TTL of dedupe, outbox, mute and hold entries in the expiry tests.
pub const TTL: Duration = Duration::from_millis(400);
/// History retention given to every adapter under test.
pub const RETENTION: Duration = Duration::from_millis(800);
/// Turns kept per conversation under test.
pub const MAX_TURNS: usize = 50;

/// Options for one test: suite retention and a key prefix unique to the test and process.
pub fn options(test: &str) -> StoreOptions {
    StoreOptions {
        retention: RETENTION,
        max_turns: MAX_TURNS,
        key_prefix: format!("inkdesk-test:{}:{test}", std::process::id()),
        // The suite checks each outcome exactly; a loaded machine must not turn one into
        // `Spooled` (the spool has tests of its own).
        intake_ack_within: None,
    }
}

/// A store under test plus the means to move its time.
pub struct Harness {
    /// The ports under test.
    pub stores: Stores,
    clock: Arc<dyn Clock>,
    manual: Option<ManualClock>,
    _guard: Option<Box<dyn Any + Send + Sync>>,
}

impl Harness {
    /// Stores reading time from `clock`, which the suite advances instantly.
    pub fn manual(stores: Stores, clock: ManualClock) -> Self {
        Self {
            stores,
            clock: Arc::new(clock.clone()),
            manual: Some(clock),
            _guard: None,
        }
    }

    /// Stores on the system clock; the suite sleeps to move time. `guard` is kept alive
    /// as long as the harness (e.g. a server process stopped on drop).
    pub fn real(stores: Stores, guard: Option<Box<dyn Any + Send + Sync>>) -> Self {
        Self {
            stores,
            clock: Arc::new(SystemClock),
            manual: None,
            _guard: guard,
        }
    }

    /// Keeps `guard` alive as long as the harness (a temp dir, a server process).
    pub fn keep(&mut self, guard: Box<dyn Any + Send + Sync>) {
        self._guard = Some(guard);
    }

    /// The current instant as the store sees it.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Moves time forward by `by`.
    pub async fn advance(&self, by: Duration) {
        match &self.manual {
            Some(clock) => clock.advance(chrono::Duration::from_std(by).unwrap()),
            None => tokio::time::sleep(by).await,
        }
    }
}

/// A conversation id from test text.
pub fn conv(id: &str) -> ConversationId {
    ConversationId::parse(id).unwrap()
}

/// A pending message whose payload names it.
pub fn msg(h: &Harness, id: &str) -> PendingMessage {
    PendingMessage {
        message_id: id.to_owned(),
        received_at: h.now(),
        payload: serde_json::json!({ "text": format!("text of {id}"), "n": [1, 2] }),
    }
}

/// A customer turn at the harness's now.
pub fn turn(h: &Harness, text: &str) -> Turn {
    Turn {
        role: Role::Customer,
        text: text.to_owned(),
        message_id: Some(format!("mid-{text}")),
        at: h.now(),
        data: Some(serde_json::json!({ "attachments": [] })),
    }
}

/// Ids of a claim's messages, in order.
pub fn ids(messages: &[PendingMessage]) -> Vec<&str> {
    messages.iter().map(|m| m.message_id.as_str()).collect()
}

/// Runs the whole conformance suite as `#[tokio::test]`s inside `mod $name`.
///
/// `$factory` is called as `factory(options).await` with [`options`] for each test and
/// returns `Option<Harness>`; `None` skips the test (backend not available).
#[macro_export]
macro_rules! conformance_suite {
    ($name:ident, $factory:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_suite!(@tests $factory;
                sliding_due_times,
                concurrent_claimers_never_share_a_conversation,
                expired_lease_is_reclaimed_and_stale_ack_refused,
                messages_pushed_during_turn_survive_ack,
                duplicate_push_is_stored_once,
                deleted_message_leaves_queue,
                release_makes_conversation_due_again_now,
                next_due_reports_earliest_claimable_time,
                holds_never_exceed_capacity_under_50_tasks,
                hold_refresh_release_and_active_range,
                holds_of_different_artists_never_block_each_other,
                ttls_expire,
                history_is_ordered_listed_and_capped,
                retention_drops_idle_conversations,
                delete_conversation_removes_everything,
                mutes_and_global_switch,
                health_ping_answers,
                dedupe_forget_lets_a_redelivery_through,
                keyed_values_expire_and_go_with_the_conversation,
                keyed_counters_count_atomically_in_a_fixed_window,
                intake_records_queues_and_dedupes,
                intake_holds_back_for_pause_mute_and_standby,
                intake_during_a_turn_waits_for_the_lease,
                unsent_message_leaves_history_traces_and_preview,
                edited_message_changes_history_and_pending_copy,
                message_change_races_appends_safely,
                journal_is_fenced_by_the_lease_and_closed_by_ack,
                journal_stays_through_release_and_goes_with_the_conversation,
                renew_extends_a_live_lease_only,
                postpone_delays_the_retry_and_attempts_count_until_ack,
                usage_adds_up_per_day_and_conversation_and_goes_with_it,
            );
        }
    };
    (@tests $factory:expr; $($test:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $test() {
                let factory = $factory;
                if let Some(harness) = factory($crate::testing::options(stringify!($test))).await {
                    $crate::testing::$test(harness).await;
                }
            }
        )*
    };
}
