//! Telling our own echoes from a person's replies.
//!
//! Meta sends an echo of every message the studio's account sends — ours included — and
//! may deliver it before the Send API has answered with the message's id, while the next
//! chunk of the same reply is still going out. An echo is ours when its id is in the
//! outbox, or when its text is a chunk of the reply the conversation's open turn journal
//! is sending, or a console reply being sent right now.

use std::time::Duration;

use inkdesk_domain::ConversationId;
use inkdesk_store::{Keyed, Outbox, StoreError, TurnJournal};
use serde_json::Value;

use super::journal::Journal;

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

/// Whether the echo `mid` (with `text`) of a message to `conversation` is one we sent.
pub async fn is_own_echo(
    stores: EchoStores<'_>,
    conversation: &ConversationId,
    mid: &str,
    text: Option<&str>,
) -> Result<bool, StoreError> {
    if stores.outbox.contains(mid).await? {
        return Ok(true);
    }
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(false);
    };
    if let Some(entry) = stores.journal.read_journal(conversation).await?
        && let Some(plan) = Journal::from_value(&entry.body).and_then(|j| j.plan)
        && plan.has_chunk(text)
    {
        return Ok(true);
    }
    let sending = stores.keyed.get(conversation, CONSOLE_SENDING).await?;
    Ok(console_texts(sending.as_ref())
        .iter()
        .any(|t| t.trim() == text))
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
