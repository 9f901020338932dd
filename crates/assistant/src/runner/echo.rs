//! Telling our own echoes from a person's replies.
//!
//! Meta sends an echo of every message the studio's account sends — ours included — and
//! may deliver it before the Send API has answered with the message's id, while the next
//! chunk of the same reply is still going out. An echo is ours when its id is in the
//! outbox, or when its text is a chunk of the reply the conversation's open turn journal
//! is sending, or a console reply being sent right now.
//!
//! An echo matched by its text is also kept as proof that Instagram accepted the chunk
//! ([`note_chunk_echo`]): a turn resumed after its sender died between Instagram's answer
//! and recording the id reads it ([`chunk_echo`]) instead of sending the chunk again.

use std::time::Duration;

use inkdesk_domain::ConversationId;
use inkdesk_store::{Keyed, Outbox, StoreError, TurnJournal};
use serde_json::Value;

use super::journal::Journal;
use crate::confirm::TurnId;

/// The `Keyed` key under which console replies being sent are noted.
const CONSOLE_SENDING: &str = "console-sending";

/// How long a console reply counts as being sent (its echo arrives within seconds).
const CONSOLE_SENDING_TTL: Duration = Duration::from_secs(600);

/// The stores the echo check reads.
#[derive(Clone, Copy)]
pub struct EchoStores<'a> {
    /// Ids of messages we sent.
    pub outbox: &'a dyn Outbox,
    /// Open turn journals.
    pub journal: &'a dyn TurnJournal,
    /// Console replies being sent.
    pub keyed: &'a dyn Keyed,
}

/// Whose message an echo is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EchoOrigin {
    /// A message we sent whose id is recorded.
    Sent,
    /// A chunk of the reply an open turn is sending, recognised by its text (its id may
    /// not be recorded yet). Keep it with [`note_chunk_echo`]: it is the proof a resumed
    /// turn needs that Instagram already had the chunk.
    Chunk {
        /// The turn sending it.
        turn: TurnId,
    },
    /// A console reply being sent.
    Console,
    /// Nobody we know: a person replied from the studio's account.
    Person,
}

impl EchoOrigin {
    /// Whether we sent it.
    pub fn is_ours(&self) -> bool {
        !matches!(self, Self::Person)
    }
}

/// Whose message the echo `mid` (with `text`) to `conversation` is.
pub async fn echo_origin(
    stores: EchoStores<'_>,
    conversation: &ConversationId,
    mid: &str,
    text: Option<&str>,
) -> Result<EchoOrigin, StoreError> {
    if stores.outbox.contains(mid).await? {
        return Ok(EchoOrigin::Sent);
    }
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(EchoOrigin::Person);
    };
    if let Some(entry) = stores.journal.read_journal(conversation).await?
        && let Some(journal) = Journal::from_value(&entry.body)
        && journal
            .plan
            .as_ref()
            .is_some_and(|plan| plan.has_chunk(text))
    {
        return Ok(EchoOrigin::Chunk { turn: journal.turn });
    }
    if let Some(turn) = reminder_sending(stores.keyed, conversation, text).await? {
        return Ok(EchoOrigin::Chunk { turn });
    }
    let sending = stores.keyed.get(conversation, CONSOLE_SENDING).await?;
    if console_texts(sending.as_ref())
        .iter()
        .any(|t| t.trim() == text)
    {
        return Ok(EchoOrigin::Console);
    }
    Ok(EchoOrigin::Person)
}

/// Whether the echo `mid` (with `text`) of a message to `conversation` is one we sent.
pub async fn is_own_echo(
    stores: EchoStores<'_>,
    conversation: &ConversationId,
    mid: &str,
    text: Option<&str>,
) -> Result<bool, StoreError> {
    Ok(echo_origin(stores, conversation, mid, text)
        .await?
        .is_ours())
}

/// How long the proof of a delivered chunk is kept: longer than any turn can stay open
/// (a resumed turn past Meta's 24-hour window sends nothing anyway).
const CHUNK_ECHO_TTL: Duration = Duration::from_secs(48 * 3600);

/// The `Keyed` key of the echo of chunk `text` of `turn`. The text is hashed (FNV-1a,
/// stable across builds and replicas) so the key stays short.
fn chunk_echo_key(turn: &TurnId, text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.trim().as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("chunk-echo:{}:{hash:016x}", turn.0)
}

/// Keeps the id of the echo of chunk `text` of `turn`: Meta echoes only what Instagram
/// accepted, so a turn resumed after its sender died between Instagram's acceptance and
/// the id's record finds the chunk delivered here and does not send it again.
pub async fn note_chunk_echo(
    keyed: &dyn Keyed,
    conversation: &ConversationId,
    turn: &TurnId,
    text: &str,
    mid: &str,
) -> Result<(), StoreError> {
    keyed
        .put(
            conversation,
            &chunk_echo_key(turn, text),
            Value::String(mid.to_owned()),
            CHUNK_ECHO_TTL,
        )
        .await
}

/// The id of the echo kept for chunk `text` of `turn`, if Meta delivered one.
pub async fn chunk_echo(
    keyed: &dyn Keyed,
    conversation: &ConversationId,
    turn: &TurnId,
    text: &str,
) -> Result<Option<String>, StoreError> {
    Ok(keyed
        .get(conversation, &chunk_echo_key(turn, text))
        .await?
        .and_then(|v| v.as_str().map(str::to_owned)))
}

fn console_texts(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(|v| serde_json::from_value::<Vec<String>>(v.clone()).ok())
        .unwrap_or_default()
}

/// Notes that the console is about to send `chunks` to `conversation`, so their echoes
/// are recognised even before the Send API answers. Call before sending.
pub async fn note_console_send(
    keyed: &dyn Keyed,
    conversation: &ConversationId,
    chunks: &[String],
) -> Result<(), StoreError> {
    let mut texts = console_texts(keyed.get(conversation, CONSOLE_SENDING).await?.as_ref());
    texts.extend(chunks.iter().cloned());
    // A handful of replies at most are in flight; keep the note small.
    let skip = texts.len().saturating_sub(20);
    let texts: Vec<String> = texts.into_iter().skip(skip).collect();
    keyed
        .put(
            conversation,
            CONSOLE_SENDING,
            serde_json::to_value(texts).unwrap_or(Value::Null),
            CONSOLE_SENDING_TTL,
        )
        .await
}

/// The `Keyed` key under which reminder DMs being sent are noted.
const REMINDER_SENDING: &str = "reminder-sending";

#[derive(serde::Serialize, serde::Deserialize)]
struct ReminderSending {
    turn: TurnId,
    text: String,
}

fn reminder_notes(value: Option<&Value>) -> Vec<ReminderSending> {
    value
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

async fn reminder_sending(
    keyed: &dyn Keyed,
    conversation: &ConversationId,
    text: &str,
) -> Result<Option<TurnId>, StoreError> {
    let notes = reminder_notes(keyed.get(conversation, REMINDER_SENDING).await?.as_ref());
    Ok(notes
        .into_iter()
        .find(|n| n.text.trim() == text)
        .map(|n| n.turn))
}

/// Notes that a reminder (`turn`, its own id) is about to send `text` to `conversation`:
/// its echo is then ours (never a person's reply, so nothing is muted) and, like a turn's
/// chunk, kept as proof of delivery ([`note_chunk_echo`]) for a reminder whose sender died
/// before recording the send. Call before sending.
pub async fn note_reminder_send(
    keyed: &dyn Keyed,
    conversation: &ConversationId,
    turn: &TurnId,
    text: &str,
) -> Result<(), StoreError> {
    let mut notes = reminder_notes(keyed.get(conversation, REMINDER_SENDING).await?.as_ref());
    notes.retain(|n| n.turn != *turn);
    notes.push(ReminderSending {
        turn: turn.clone(),
        text: text.trim().to_owned(),
    });
    let skip = notes.len().saturating_sub(10);
    let notes: Vec<ReminderSending> = notes.into_iter().skip(skip).collect();
    keyed
        .put(
            conversation,
            REMINDER_SENDING,
            serde_json::to_value(notes).unwrap_or(Value::Null),
            CHUNK_ECHO_TTL,
        )
        .await
}
