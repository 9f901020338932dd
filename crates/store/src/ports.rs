//! The store's ports: one trait per kind of state, each used as `Arc<dyn Port>`.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use inkdesk_domain::ConversationId;

use crate::StoreError;
use crate::change::MessageChange;
use crate::model::{
    Claim, ConversationSummary, Hold, HoldOutcome, IncomingMessage, IntakeOutcome, JournalEntry,
    ModelUsage, Mute, PendingMessage, SlotKey, Turn,
};

/// Conversation history with retention.
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait ConversationLog: Send + Sync {
    /// Appends a turn and refreshes the conversation's retention.
    async fn append(&self, conversation: &ConversationId, turn: Turn) -> Result<(), StoreError>;
    /// The last `n` turns, oldest first.
    async fn recent(
        &self,
        conversation: &ConversationId,
        n: usize,
    ) -> Result<Vec<Turn>, StoreError>;
    /// Up to `limit` conversations, most recently active first (the admin inbox).
    async fn conversations(&self, limit: usize) -> Result<Vec<ConversationSummary>, StoreError>;
    /// Applies a change the sender made to message `message_id` after sending it (unsent or
    /// edited; what changes is decided by [`crate::change::plan`]) in one atomic step, and
    /// returns how many turns changed (0 when the message is not in the history).
    async fn change_message(
        &self,
        conversation: &ConversationId,
        message_id: &str,
        change: &MessageChange,
    ) -> Result<usize, StoreError>;
    /// Deletes everything this store holds about the conversation: history, pending
    /// messages, lease, turn journal, slot holds and mute (a privacy request).
    async fn delete_conversation(&self, conversation: &ConversationId) -> Result<(), StoreError>;
}

/// The debounce queue: pending messages per conversation, claimed with a lease.
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait Inbox: Send + Sync {
    /// Queues a message and makes the conversation due at `now + debounce` (each new
    /// message pushes it back). A message id already pending is ignored.
    async fn push(
        &self,
        conversation: &ConversationId,
        message: PendingMessage,
        debounce: Duration,
    ) -> Result<(), StoreError>;
    /// Leases up to `max` due conversations (earliest first) for `lease`, with their
    /// pending messages. Conversations under a live lease are skipped; expired leases are
    /// reclaimed.
    async fn claim_due(&self, max: usize, lease: Duration) -> Result<Vec<Claim>, StoreError>;
    /// Removes exactly the `handled` messages, closes the turn journal (see
    /// [`TurnJournal`]), resets the attempt count and ends the lease, all in one atomic
    /// step. Messages left (pushed during the turn, or beyond the turn's bound) stay queued
    /// and become due at their own due time.
    /// [`StoreError::StaleLease`] if the conversation was reclaimed since.
    async fn ack(&self, claim: &Claim, handled: &[String]) -> Result<(), StoreError>;
    /// Gives the lease back without handling anything: the conversation is due again now.
    /// The attempt count and the journal are kept.
    /// [`StoreError::StaleLease`] if the conversation was reclaimed since.
    async fn release(&self, claim: &Claim) -> Result<(), StoreError>;
    /// Like [`Inbox::release`], but the conversation becomes claimable only at `at` (a
    /// retry with backoff). The attempt count and the journal are kept.
    /// [`StoreError::StaleLease`] if the conversation was reclaimed since.
    async fn postpone(&self, claim: &Claim, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Extends a live lease to `now + lease` and returns its new end (the turn's
    /// heartbeat). [`StoreError::StaleLease`] if the conversation was reclaimed since or
    /// the lease has already run out: a turn that gets it must stop acting.
    async fn renew(&self, claim: &Claim, lease: Duration) -> Result<DateTime<Utc>, StoreError>;
    /// Drops one pending message (the customer deleted it).
    async fn remove_message(
        &self,
        conversation: &ConversationId,
        message_id: &str,
    ) -> Result<(), StoreError>;
    /// Gives a pending message its edited text ([`crate::change::edit_payload`]); false
    /// when the message is not pending (or nothing changed). Its place and due time stay.
    async fn edit_message(
        &self,
        conversation: &ConversationId,
        message_id: &str,
        text: &str,
    ) -> Result<bool, StoreError>;
    /// When the next conversation becomes claimable (due or lease expiry), if any.
    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError>;
}

/// First-seen check of platform message ids.
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait Dedupe: Send + Sync {
    /// True the first time `id` is seen within `ttl`; false for a redelivery.
    async fn first_seen(&self, id: &str, ttl: Duration) -> Result<bool, StoreError>;
    /// Forgets `id`, so its next delivery counts as first seen again (used when recording
    /// an event failed after it was marked seen: the redelivery must not be dropped).
    async fn forget(&self, id: &str) -> Result<(), StoreError>;
}

/// Small JSON values scoped to a conversation, with a time to live (pending
/// confirmations, per-conversation flags). Deleted with the conversation.
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait Keyed: Send + Sync {
    /// Stores `value` under `key` for `ttl`, replacing any earlier value.
    async fn put(
        &self,
        conversation: &ConversationId,
        key: &str,
        value: serde_json::Value,
        ttl: Duration,
    ) -> Result<(), StoreError>;
    /// The live value under `key`, if any.
    async fn get(
        &self,
        conversation: &ConversationId,
        key: &str,
    ) -> Result<Option<serde_json::Value>, StoreError>;
    /// Removes the value under `key`.
    async fn delete(&self, conversation: &ConversationId, key: &str) -> Result<(), StoreError>;
    /// Adds one to the counter under `key` in one atomic step and returns the new count. A
    /// missing or expired counter (or a value that is not a count) starts again at 1 and
    /// lives for `ttl` from now; later increments keep that expiry (a fixed window).
    async fn increment(
        &self,
        conversation: &ConversationId,
        key: &str,
        ttl: Duration,
    ) -> Result<u64, StoreError>;
}

/// Human takeover: per-conversation mutes and a global pause switch.
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait Takeover: Send + Sync {
    /// Mutes the bot for the conversation until `until` (replacing any mute).
    async fn mute(
        &self,
        conversation: &ConversationId,
        until: DateTime<Utc>,
        reason: String,
    ) -> Result<(), StoreError>;
    /// Ends a mute early.
    async fn unmute(&self, conversation: &ConversationId) -> Result<(), StoreError>;
    /// The conversation's live mute, if any.
    async fn muted(&self, conversation: &ConversationId) -> Result<Option<Mute>, StoreError>;
    /// Every live mute.
    async fn list_muted(&self) -> Result<Vec<(ConversationId, Mute)>, StoreError>;
    /// Turns the bot off (true) or on (false) for every conversation.
    async fn set_paused(&self, paused: bool) -> Result<(), StoreError>;
    /// Whether the global switch is off.
    async fn is_paused(&self) -> Result<bool, StoreError>;
}

/// Temporary holds on slot capacity while a customer confirms.
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait SlotHolds: Send + Sync {
    /// Atomically holds one unit of `slot` for `ttl`: never more distinct conversations
    /// than `capacity`; the same conversation holding again refreshes its expiry.
    async fn hold(
        &self,
        slot: SlotKey,
        conversation: &ConversationId,
        capacity: u32,
        ttl: Duration,
    ) -> Result<HoldOutcome, StoreError>;
    /// Releases the conversation's hold on one slot.
    async fn release(
        &self,
        slot: &SlotKey,
        conversation: &ConversationId,
    ) -> Result<(), StoreError>;
    /// Releases every hold of the conversation.
    async fn release_all(&self, conversation: &ConversationId) -> Result<(), StoreError>;
    /// Unexpired holds on slots overlapping `[from, to)`.
    async fn active(&self, from: DateTime<Utc>, to: DateTime<Utc>)
    -> Result<Vec<Hold>, StoreError>;
}

/// The journal of a claimed turn: what the turn decided and which of its side effects
/// are done, so that a turn claimed again after a crash or a lost lease resumes instead of
/// starting over (unsent chunks are sent, nothing is booked or asked twice).
///
/// One journal per conversation, an opaque JSON document the store never looks inside.
/// Writes are fenced by the inbox lease: a write succeeds only while `claim.token` is the
/// conversation's current fencing token and its lease has not run out, so a worker that
/// lost its lease can never overwrite the journal of the worker that took over. The
/// journal is closed (deleted) by [`Inbox::ack`] in the same atomic step that removes the
/// handled messages, and by [`ConversationLog::delete_conversation`].
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait TurnJournal: Send + Sync {
    /// Writes (replaces) the conversation's journal under `claim`'s fencing token.
    /// [`StoreError::StaleLease`] if the token is not current or the lease ran out.
    async fn write_journal(&self, claim: &Claim, body: serde_json::Value)
    -> Result<(), StoreError>;
    /// The conversation's open journal, if any, with the token it was written under.
    async fn read_journal(
        &self,
        conversation: &ConversationId,
    ) -> Result<Option<JournalEntry>, StoreError>;
}

/// Ids of messages inkdesk sent, to tell our own echoes from a human's replies.
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Remembers a sent message id for `ttl`.
    async fn remember(&self, message_id: &str, ttl: Duration) -> Result<(), StoreError>;
    /// Whether we sent this message (within its ttl).
    async fn contains(&self, message_id: &str) -> Result<bool, StoreError>;
}

/// The webhook's hot path: one customer message recorded in one atomic store call.
///
/// Equivalent to [`Dedupe::first_seen`], then [`ConversationLog::append`], then — unless the
/// message is not answerable, the assistant is paused or the conversation muted —
/// [`Inbox::push`], but all or nothing and in one round trip: a failure leaves no dedupe mark
/// behind (the redelivery is processed afresh) and a success leaves nothing half done.
/// The embedded store may answer [`IntakeOutcome::Spooled`]
/// before its commit: the message is then durable in its intake spool and recorded ahead of
/// any later call.
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait Intake: Send + Sync {
    /// Records `message` in `conversation` unless its event key was seen within its TTL.
    async fn record_message(
        &self,
        conversation: &ConversationId,
        message: IncomingMessage,
    ) -> Result<IntakeOutcome, StoreError>;
}

/// Readiness of the backend.
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait Health: Send + Sync {
    /// Ok when the backend answers.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Model usage totals per model, by the studio's day and by conversation, shared by every
/// replica (so each one and a restart show the same figures). A day's totals are kept
/// [`USAGE_DAYS_KEPT`](crate::model::USAGE_DAYS_KEPT) days; a conversation's as long as its
/// history, and they go with it on `delete_conversation`.
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait UsageTotals: Send + Sync {
    /// Adds `usage` (of one or more calls to `model`) to the totals of `day` and of
    /// `conversation`. Each counter is incremented atomically.
    async fn add_usage(
        &self,
        conversation: &ConversationId,
        day: chrono::NaiveDate,
        model: &str,
        usage: ModelUsage,
    ) -> Result<(), StoreError>;
    /// The totals of `day`, per model, sorted by model.
    async fn day_usage(
        &self,
        day: chrono::NaiveDate,
    ) -> Result<Vec<(String, ModelUsage)>, StoreError>;
    /// The totals of `conversation`, per model, sorted by model.
    async fn conversation_usage(
        &self,
        conversation: &ConversationId,
    ) -> Result<Vec<(String, ModelUsage)>, StoreError>;
}
