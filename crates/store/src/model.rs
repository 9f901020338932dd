//! Values the ports exchange.

use std::time::Duration;

use chrono::{DateTime, Utc};
use inkdesk_domain::{ArtistKey, ConversationId};
use serde::{Deserialize, Serialize};

/// Who said a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The customer writing to the studio.
    Customer,
    /// The bot.
    Assistant,
    /// A human from the studio answering in the app.
    Staff,
    /// A summary of a tool call.
    Tool,
}

/// One entry of a conversation's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    /// Who said it.
    pub role: Role,
    /// What was said.
    pub text: String,
    /// The platform's message id, when the turn is a message.
    pub message_id: Option<String>,
    /// When it was said.
    pub at: DateTime<Utc>,
    /// Opaque extra data (attachments' analyses, tool calls); the store never looks inside.
    pub data: Option<serde_json::Value>,
}

/// One line of the admin inbox.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationSummary {
    /// Which conversation.
    pub conversation: ConversationId,
    /// Time of its latest turn.
    pub last_at: DateTime<Utc>,
    /// The latest turn's text, cut to at most [`PREVIEW_CHARS`] characters.
    pub last_preview: String,
    /// How many turns are kept for it.
    pub turns: u64,
}

/// Model usage summed over calls: tokens, audio seconds and the estimated cost, for one
/// model over a day or a conversation ([`crate::UsageTotals`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ModelUsage {
    /// Calls made.
    pub calls: u64,
    /// Prompt (input) tokens, cached ones included.
    pub prompt_tokens: u64,
    /// Of which served from the provider's prompt cache.
    pub cached_tokens: u64,
    /// Completion (output) tokens.
    pub completion_tokens: u64,
    /// Seconds of audio (transcription models billed by duration).
    pub audio_seconds: u64,
    /// Estimated cost in billionths of a US dollar, at the prices when each call was made.
    pub cost_nanos: u64,
}

impl ModelUsage {
    /// The field-wise sum (saturating).
    pub fn plus(self, other: ModelUsage) -> ModelUsage {
        ModelUsage {
            calls: self.calls.saturating_add(other.calls),
            prompt_tokens: self.prompt_tokens.saturating_add(other.prompt_tokens),
            cached_tokens: self.cached_tokens.saturating_add(other.cached_tokens),
            completion_tokens: self
                .completion_tokens
                .saturating_add(other.completion_tokens),
            audio_seconds: self.audio_seconds.saturating_add(other.audio_seconds),
            cost_nanos: self.cost_nanos.saturating_add(other.cost_nanos),
        }
    }

    /// The counters by name, in a fixed order (the adapters' field names).
    pub fn fields(&self) -> [(&'static str, u64); 6] {
        [
            ("calls", self.calls),
            ("prompt", self.prompt_tokens),
            ("cached", self.cached_tokens),
            ("completion", self.completion_tokens),
            ("audio_seconds", self.audio_seconds),
            ("cost_nanos", self.cost_nanos),
        ]
    }

    /// Sets the counter named `name` (one of [`Self::fields`]); unknown names are ignored.
    pub fn set(&mut self, name: &str, value: u64) {
        match name {
            "calls" => self.calls = value,
            "prompt" => self.prompt_tokens = value,
            "cached" => self.cached_tokens = value,
            "completion" => self.completion_tokens = value,
            "audio_seconds" => self.audio_seconds = value,
            "cost_nanos" => self.cost_nanos = value,
            _ => {}
        }
    }
}

/// How long a day's usage totals are kept.
pub const USAGE_DAYS_KEPT: u64 = 400;

/// Longest preview in a [`ConversationSummary`], in characters.
pub const PREVIEW_CHARS: usize = 80;

/// Cuts `text` to at most [`PREVIEW_CHARS`] characters (never inside a character).
pub fn preview(text: &str) -> String {
    text.chars().take(PREVIEW_CHARS).collect()
}

/// A message waiting in the debounce queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingMessage {
    /// The platform's message id; the queue keeps one message per id.
    pub message_id: String,
    /// When the webhook received it.
    pub received_at: DateTime<Utc>,
    /// Opaque content; the store never looks inside.
    pub payload: serde_json::Value,
}

/// A conversation leased to one worker by [`crate::Inbox::claim_due`].
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    /// Which conversation.
    pub conversation: ConversationId,
    /// Fencing token: grows with every claim; an ack with an older token is refused.
    pub token: u64,
    /// When the lease runs out and anyone may reclaim the conversation.
    pub lease_until: DateTime<Utc>,
    /// How many times the conversation has been claimed since its last ack, this claim
    /// included (1 for a first attempt). A crashed, postponed or released turn counts.
    pub attempt: u32,
    /// The pending messages at claim time, in push order.
    pub messages: Vec<PendingMessage>,
}

/// An open turn journal, as [`crate::TurnJournal::read_journal`] returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalEntry {
    /// The fencing token of the claim that wrote it last.
    pub token: u64,
    /// The journal itself (opaque to the store).
    pub body: serde_json::Value,
}

/// One customer message as the webhook records it: everything
/// [`crate::Intake::record_message`] needs to do the whole fast path in one store call.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingMessage {
    /// The event's dedupe key (the same namespace as [`crate::Dedupe::first_seen`]).
    pub event_key: String,
    /// How long the dedupe key is remembered.
    pub dedupe_ttl: Duration,
    /// The turn appended to the conversation's history.
    pub turn: Turn,
    /// The message queued for a turn of the assistant.
    pub pending: PendingMessage,
    /// The debounce window the queued message (re)starts.
    pub debounce: Duration,
    /// False when the message must only be recorded (e.g. a standby event: another app
    /// owns the thread).
    pub answerable: bool,
}

/// What [`crate::Intake::record_message`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntakeOutcome {
    /// The event key was seen before: nothing changed.
    Duplicate,
    /// Recorded in the history and queued for the assistant.
    Queued,
    /// Recorded in the history only, for the reason given.
    Recorded(NotQueued),
    /// Made durable in the embedded store's intake spool because its writer could not
    /// commit within [`StoreOptions::intake_ack_within`] (a WAL restart held the lock, say).
    /// The message's call is already queued, ahead of any call made after this answer,
    /// which therefore sees the message recorded (or found a duplicate) as usual. Only
    /// the SQLite adapter answers this.
    Spooled,
}

/// Why a recorded message was not queued for the assistant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotQueued {
    /// The caller said so ([`IncomingMessage::answerable`] was false).
    NotAnswerable,
    /// The assistant is switched off for every conversation.
    Paused,
    /// A person has the conversation (a live mute).
    Muted,
}

/// Why a conversation is muted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mute {
    /// When the mute ends by itself.
    pub until: DateTime<Utc>,
    /// Free text (e.g. "staff replied", "customer asked for a human").
    pub reason: String,
}

/// A bookable slot, identified by its bounds and the artist it is held for. Holds of one
/// key count against each other: an artist's key against that artist's one appointment at
/// a time, the artist-less key against the studio's capacity (the caller passes the
/// matching `capacity`), so two artists' holds at the same time never block each other.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SlotKey {
    /// Start of the slot.
    pub start: DateTime<Utc>,
    /// End of the slot.
    pub end: DateTime<Utc>,
    /// The artist held; `None`: a unit of the studio (no artists, or none chosen).
    pub artist: Option<ArtistKey>,
}

impl SlotKey {
    /// A key of the studio's capacity (no artist).
    pub fn studio(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Self {
            start,
            end,
            artist: None,
        }
    }
}

/// An unexpired hold of one unit of a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// The slot held.
    pub slot: SlotKey,
    /// Who holds it.
    pub conversation: ConversationId,
}

/// What [`crate::SlotHolds::hold`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldOutcome {
    /// A new unit is now held for this conversation.
    Held,
    /// This conversation already held a unit; its expiry was pushed back.
    Refreshed,
    /// Every unit is held by other conversations.
    Full,
}

/// Settings shared by every adapter.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// How long a conversation's history is kept after its latest turn.
    pub retention: Duration,
    /// Most turns kept per conversation (oldest dropped first).
    pub max_turns: usize,
    /// Prefix of every Redis key (ignored by the embedded and memory adapters).
    pub key_prefix: String,
    /// Embedded store only: the longest [`crate::Intake::record_message`] waits for its
    /// commit before it makes the message durable in the intake spool instead and answers
    /// [`IntakeOutcome::Spooled`], so a webhook is never kept waiting by a WAL restart or
    /// the fsync that follows it. `None`: always wait for the commit.
    pub intake_ack_within: Option<Duration>,
}

/// [`StoreOptions::intake_ack_within`] by default: an ordinary commit takes well under a
/// millisecond; a WAL restart holds the writer for 13–18 ms (docs/PERFORMANCE.md).
pub const DEFAULT_INTAKE_ACK_WITHIN: Duration = Duration::from_millis(2);

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            retention: Duration::from_secs(20 * 24 * 3600),
            max_turns: 200,
            key_prefix: "inkdesk".to_owned(),
            intake_ack_within: Some(DEFAULT_INTAKE_ACK_WITHIN),
        }
    }
}

/// `now + d`, saturating instead of overflowing.
pub(crate) fn after(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Milliseconds since the epoch, the unit every adapter stores times in.
#[allow(dead_code)] // used by the sqlite and redis adapters
pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// The instant `ms` milliseconds after the epoch.
#[allow(dead_code)]
pub(crate) fn from_ms(ms: i64) -> Result<DateTime<Utc>, crate::StoreError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| crate::StoreError::Corrupt(format!("bad timestamp {ms}")))
}
