//! Persistence for inkdesk: every piece of state that must outlive a request or be shared
//! between replicas, behind async object-safe ports.
//!
//! Map of the crate:
//!
//! - [`ports`]: the traits — [`ConversationLog`] (history, retention, privacy delete),
//!   [`Inbox`] (the debounce queue: push, claim with a lease and fencing token, ack, release),
//!   [`Dedupe`], [`Takeover`] (mutes, global pause), [`SlotHolds`], [`Outbox`], [`Health`],
//!   [`Intake`] (the webhook's whole fast path for one message in one atomic call) and
//!   [`UsageTotals`] (model tokens and estimated cost per day and per conversation).
//! - [`model`]: the values they exchange ([`Turn`], [`PendingMessage`], [`Claim`], …) and
//!   [`StoreOptions`].
//! - [`change`]: what an unsent or edited message ([`MessageChange`]) does to the stored
//!   turns and pending messages, decided once for every adapter.
//! - [`error`]: [`StoreError`] — `StaleLease`, `Unavailable` (answer 503), `Corrupt`,
//!   `Invalid`.
//! - [`memory`]: [`MemoryStore`], everything in one mutex (tests, `--ephemeral`).
//! - [`sqlite`]: [`SqliteStore`], one SQLite file (WAL), the default without Redis.
//! - [`redis`]: [`RedisStore`] and [`RedisConfig`], Lua scripts in `src/redis/scripts/`;
//!   [`RedisCalendar`] (`redis/calendar.rs`), the `inkdesk_calendar::Calendar` port on the
//!   same connection, so replicas on one Redis share their bookings.
//! - [`schedule`]: the [`Schedule`] port (durable jobs due at a time — reminders, hold
//!   expiries — claimed with a lease and fencing token; keys are idempotent), [`MemorySchedule`],
//!   and its SQLite and Redis implementations in `sqlite/schedule.rs`, `redis/schedule.rs`.
//!   Not part of [`Stores`] yet.
//! - [`Stores`]: the bundle of `Arc<dyn Port>` the service holds, built from one adapter.
//! - `testing` (feature `testing`): mockall mocks of every port (`MockInbox`, …) and the
//!   conformance suite every adapter's tests run through `conformance_suite!`.
//!
//! Choosing an adapter: [`Stores::redis`] when `REDIS_URL` (or the `REDIS_HOST`… parts, see
//! [`RedisConfig::from_parts`]) is set and several replicas share state; otherwise
//! [`Stores::sqlite`] on a file in the data dir; [`Stores::memory`] for tests.
//!
//! Redis Cluster: every key of one conversation shares the hash tag `{P:conv:ID}`, slot holds
//! share `{P:holds}`, and the queue's due set and token counter share `{P:queue}`. The
//! claim script reads the global due set and then the claimed conversations' own keys, and
//! the history listing reads the index then each conversation's log, and the intake script
//! touches the dedupe mark, the pause switch, the conversation and the due set; those keys live in
//! different slots, which Cluster refuses inside one script. **The choice made here: the
//! Redis adapter targets a single-shard deployment** (standalone Redis, a primary with
//! replicas, or a managed single-shard "cluster"). Spreading the Inbox over shards would need
//! one queue per shard (conversations assigned to a shard by their tag); that is not built.
//!
//! Time: every adapter takes "now" from an injected [`inkdesk_domain::Clock`] and stores
//! instants as milliseconds since the epoch.

pub mod change;
pub mod error;
pub mod memory;
pub mod model;
pub mod ports;
pub mod redis;
pub mod schedule;
pub mod sqlite;
mod stores;
#[cfg(feature = "testing")]
pub mod testing;

pub use change::MessageChange;
pub use error::StoreError;
pub use memory::MemoryStore;
pub use model::{
    Claim, ConversationSummary, DEFAULT_INTAKE_ACK_WITHIN, Hold, HoldOutcome, IncomingMessage,
    IntakeOutcome, JournalEntry, ModelUsage, Mute, NotQueued, PendingMessage, Role, SlotKey,
    StoreOptions, Turn,
};
pub use ports::{
    ConversationLog, Dedupe, Health, Inbox, Intake, Keyed, Outbox, SlotHolds, Takeover,
    TurnJournal, UsageTotals,
};
#[cfg(feature = "testing")]
pub use ports::{
    MockConversationLog, MockDedupe, MockHealth, MockInbox, MockIntake, MockOutbox, MockSlotHolds,
    MockTakeover, MockTurnJournal, MockUsageTotals,
};
pub use redis::RedisCalendar;
pub use redis::{RedisConfig, RedisStore};
#[cfg(feature = "testing")]
pub use schedule::MockSchedule;
pub use schedule::{JobClaim, JobInfo, JobState, MemorySchedule, Schedule};
pub use sqlite::SqliteStore;
pub use stores::{AdapterPorts, Stores};
