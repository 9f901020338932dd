//! The typed turn journal the runner keeps in the store's [`TurnJournal`] port.
//!
//! [`TurnJournal`]: inkdesk_store::TurnJournal

use serde::{Deserialize, Serialize};

use crate::confirm::TurnId;
use crate::engine::{NewAnalysis, NewTranscript, TurnRecord};

/// Where a turn stands: written before its first side effect and after each one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Journal {
    /// The turn (stable across resumes: calendar idempotency keys are built from it).
    pub turn: TurnId,
    /// The queued messages this turn answers (acked when it ends).
    pub handled: Vec<String>,
    /// Calendar changes already made, with the answer the model got.
    pub effects: Vec<Effect>,
    /// What to send, once decided.
    pub plan: Option<Plan>,
    /// The log entries and the mute of the outcome are written. Saved only together with
    /// `notified` (a turn without a handoff goes from its last chunk to the ack; a resume
    /// before the ack skips the entries already logged).
    pub recorded: bool,
    /// The studio was notified of the handoff.
    pub notified: bool,
    /// Attempts of this turn that failed and were postponed (a crash is not one).
    #[serde(default)]
    pub failures: u32,
    /// Claims that found the assistant paused and put the turn back (not attempts).
    #[serde(default)]
    pub held: u32,
}

/// One performed side effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Effect {
    /// The effect's key (see the engine's ledger).
    pub key: String,
    /// The tool answer it produced.
    pub result: serde_json::Value,
}

/// What the turn decided to send and do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The reply, cut into the chunks Instagram accepts, in order.
    pub chunks: Vec<Chunk>,
    /// Hand the conversation to a person after sending.
    pub handoff: Option<HandoffPlan>,
    /// New image analyses, logged with the outcome.
    pub analyses: Vec<NewAnalysis>,
    /// New voice-note transcripts, logged with the outcome.
    #[serde(default)]
    pub transcripts: Vec<NewTranscript>,
    /// The reply asked to confirm a cancel or a move (a ❤ on it counts as yes).
    pub asked_confirmation: bool,
    /// The engine's record of the turn, when the engine ran.
    pub record: Option<TurnRecord>,
    /// The outcome's label for metrics.
    pub label: String,
}

/// One chunk of the reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    /// The text (at most 1000 bytes).
    pub text: String,
    /// The Graph message id, once Instagram accepted it.
    pub sent: Option<String>,
}

/// A handoff to perform once the reply is out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandoffPlan {
    /// Why (shown in the console and the notification).
    pub reason: String,
    /// A line for the studio.
    pub note: Option<String>,
}

impl Journal {
    /// A fresh journal for a turn answering `handled`.
    pub fn new(turn: TurnId, handled: Vec<String>) -> Self {
        Self {
            turn,
            handled,
            effects: Vec::new(),
            plan: None,
            recorded: false,
            notified: false,
            failures: 0,
            held: 0,
        }
    }

    /// Reads a stored journal (`None` when it cannot be decoded: it is then ignored).
    pub fn from_value(value: &serde_json::Value) -> Option<Self> {
        serde_json::from_value(value.clone()).ok()
    }

    /// The JSON stored.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// The recorded result of effect `key`.
    pub fn effect(&self, key: &str) -> Option<&serde_json::Value> {
        self.effects
            .iter()
            .find(|e| e.key == key)
            .map(|e| &e.result)
    }
}

impl Plan {
    /// The text of the chunks Instagram accepted, in order.
    pub fn sent_text(&self) -> String {
        self.chunks
            .iter()
            .filter(|c| c.sent.is_some())
            .map(|c| c.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Ids of the chunks sent.
    pub fn sent_ids(&self) -> Vec<String> {
        self.chunks.iter().filter_map(|c| c.sent.clone()).collect()
    }

    /// Whether `text` is one of this plan's chunks (an echo that may arrive before the
    /// Send API has answered with its id).
    pub fn has_chunk(&self, text: &str) -> bool {
        let text = text.trim();
        !text.is_empty() && self.chunks.iter().any(|c| c.text.trim() == text)
    }
}
