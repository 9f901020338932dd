//! The bundle of ports the service holds.

use std::sync::Arc;

use inkdesk_domain::{Clock, SystemClock};

use crate::StoreError;
use crate::memory::MemoryStore;
use crate::model::StoreOptions;
use crate::ports::{
    ConversationLog, Dedupe, Health, Inbox, Intake, Keyed, Outbox, SlotHolds, Takeover,
    TurnJournal, UsageTotals,
};
use crate::redis::{RedisConfig, RedisStore};
use crate::schedule::{MemorySchedule, Schedule};
use crate::sqlite::SqliteStore;

/// Every port but the schedule, implemented by one adapter value (the memory store keeps
/// its schedule apart, see [`Stores::memory`]).
pub trait AdapterPorts:
    ConversationLog
    + Inbox
    + Dedupe
    + Takeover
    + SlotHolds
    + Outbox
    + Health
    + Keyed
    + Intake
    + TurnJournal
    + UsageTotals
    + 'static
{
}

impl<T> AdapterPorts for T where
    T: ConversationLog
        + Inbox
        + Dedupe
        + Takeover
        + SlotHolds
        + Outbox
        + Health
        + Keyed
        + Intake
        + TurnJournal
        + UsageTotals
        + 'static
{
}

/// Every port, each as `Arc<dyn Port>`; usually all backed by one adapter.
#[derive(Clone)]
pub struct Stores {
    /// Conversation history.
    pub log: Arc<dyn ConversationLog>,
    /// The debounce queue.
    pub inbox: Arc<dyn Inbox>,
    /// Seen message ids.
    pub dedupe: Arc<dyn Dedupe>,
    /// Mutes and the global switch.
    pub takeover: Arc<dyn Takeover>,
    /// Slot holds.
    pub holds: Arc<dyn SlotHolds>,
    /// Ids of messages we sent.
    pub outbox: Arc<dyn Outbox>,
    /// Backend readiness.
    pub health: Arc<dyn Health>,
    /// Small per-conversation values (pending confirmations).
    pub keyed: Arc<dyn Keyed>,
    /// The webhook's one-call recording of a customer message.
    pub intake: Arc<dyn Intake>,
    /// Journals of claimed turns (what a re-claimed turn resumes).
    pub journal: Arc<dyn TurnJournal>,
    /// Model usage totals by day and conversation.
    pub usage: Arc<dyn UsageTotals>,
    /// Durable jobs due at a time (reminders, deposit-hold expiries).
    pub schedule: Arc<dyn Schedule>,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores").finish_non_exhaustive()
    }
}

impl Stores {
    /// Every port backed by one adapter value.
    pub fn from_adapter<A>(adapter: A) -> Self
    where
        A: AdapterPorts + Schedule,
    {
        Self::from_shared(Arc::new(adapter))
    }

    /// Every port backed by one shared adapter (which the caller also uses, e.g. a Redis
    /// store whose connection the calendar shares).
    pub fn from_shared<A>(a: Arc<A>) -> Self
    where
        A: AdapterPorts + Schedule,
    {
        let schedule: Arc<dyn Schedule> = a.clone();
        Self::with_schedule(a, schedule)
    }

    /// Every port but the schedule backed by `a`, the schedule by `schedule`.
    fn with_schedule<A>(a: Arc<A>, schedule: Arc<dyn Schedule>) -> Self
    where
        A: AdapterPorts,
    {
        Self {
            log: a.clone(),
            inbox: a.clone(),
            dedupe: a.clone(),
            takeover: a.clone(),
            holds: a.clone(),
            outbox: a.clone(),
            health: a.clone(),
            keyed: a.clone(),
            intake: a.clone(),
            journal: a.clone(),
            usage: a,
            schedule,
        }
    }

    /// In-process stores (tests, `--ephemeral`).
    pub fn memory(clock: Arc<dyn Clock>, options: StoreOptions) -> Self {
        Self::with_schedule(
            Arc::new(MemoryStore::new(clock.clone(), options)),
            Arc::new(MemorySchedule::new(clock)),
        )
    }

    /// Stores in one SQLite file at `path` (created if missing).
    pub async fn sqlite(
        path: impl AsRef<std::path::Path>,
        clock: Arc<dyn Clock>,
        options: StoreOptions,
    ) -> Result<Self, StoreError> {
        Ok(Self::from_adapter(
            SqliteStore::open(path, clock, options).await?,
        ))
    }

    /// Stores on Redis, on the system clock; fails with `Unavailable` if Redis does not
    /// answer a PING within the configured timeouts.
    pub async fn redis(config: RedisConfig, options: StoreOptions) -> Result<Self, StoreError> {
        Ok(Self::from_shared(Self::redis_store(config, options).await?))
    }

    /// The Redis adapter itself, checked with a PING, for callers that build more on its
    /// connection ([`crate::RedisCalendar`]) and then [`Stores::from_shared`].
    pub async fn redis_store(
        config: RedisConfig,
        options: StoreOptions,
    ) -> Result<Arc<RedisStore>, StoreError> {
        let store = RedisStore::connect(&config, Arc::new(SystemClock), options)?;
        crate::ports::Health::ping(&store).await?;
        Ok(Arc::new(store))
    }
}
