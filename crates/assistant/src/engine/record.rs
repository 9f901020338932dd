//! What happened in a turn, for traces and metrics: intents, tool calls with arguments and
//! results, model calls with tokens and latency, and the outcome.
//!
//! Tool arguments and results may contain a customer's name and phone: the record is for
//! the trace store, and callers log it at DEBUG only.

use std::time::Duration;

use inkdesk_domain::ConversationId;
use inkdesk_openai::PriceTable;
use inkdesk_store::ModelUsage;
use serde::{Deserialize, Serialize};

use crate::confirm::TurnId;
use crate::intent::Intent;
use crate::tools::HandoffReason;

/// Which model call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    /// Image measurement.
    Vision,
    /// The reply with tools (one per round).
    Reply,
    /// A voice note transcribed.
    Transcribe,
}

/// One model call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelCallRecord {
    /// Vision or reply.
    pub kind: CallKind,
    /// The model that answered.
    pub model: String,
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Of which served from the provider's cache.
    pub cached_tokens: u32,
    /// Completion tokens.
    pub completion_tokens: u32,
    /// Seconds of audio billed (transcription models billed by duration; 0 otherwise).
    #[serde(default)]
    pub audio_seconds: u32,
    /// Wall time, retries included.
    pub latency: Duration,
    /// Whether it succeeded.
    pub ok: bool,
}

/// One tool call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolRecord {
    /// The tool's name.
    pub name: String,
    /// The arguments as the model wrote them.
    pub arguments: String,
    /// The result sent back to the model.
    pub result: String,
    /// False when the arguments were refused or the tool answered with an error.
    pub ok: bool,
    /// Wall time.
    pub latency: Duration,
}

impl ToolRecord {
    /// What a successful call did to the calendar: `created`, `rescheduled` or
    /// `cancelled` (for metrics); `None` for every other call.
    pub fn booking_effect(&self) -> Option<&'static str> {
        if !self.ok {
            return None;
        }
        match self.name.as_str() {
            crate::tools::schema::BOOK_APPOINTMENT => Some("created"),
            crate::tools::schema::CHANGE_BOOKING => {
                let args: serde_json::Value =
                    serde_json::from_str(&self.arguments).unwrap_or_default();
                match (args["action"].as_str(), args["step"].as_str()) {
                    (Some("move"), Some("confirm")) => Some("rescheduled"),
                    (Some("cancel"), Some("confirm")) => Some("cancelled"),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// One tone example shown to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToneHitRecord {
    /// The example's id in the index (position in the index file, or the Pinecone id).
    pub id: String,
    /// Its similarity to the customer's burst.
    pub score: f32,
}

/// What tone retrieval did in the turn.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ToneRecord {
    /// No tone source is configured, or the turn never got to asking it.
    #[default]
    NotAsked,
    /// Retrieval was off for this turn (embedder or index failed; logged as a warning).
    Off,
    /// Retrieval answered; `hits` (best first, possibly none) were shown to the model.
    Retrieved {
        /// The examples shown.
        hits: Vec<ToneHitRecord>,
    },
}

/// How the turn ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TurnOutcomeKind {
    /// The model's reply was produced.
    Replied,
    /// The model decided the customer's new messages need no answer: nothing is sent.
    NoReply,
    /// The conversation was handed to a person (with the fixed text).
    HandedOff {
        /// Why.
        reason: HandoffReason,
    },
    /// Something failed; the apology was produced and the conversation handed off.
    Failed,
    /// The conversation is muted: messages recorded, nothing answered.
    Muted,
    /// Nothing to answer (no pending messages).
    Nothing,
}

/// The record of one turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnRecord {
    /// The turn.
    pub turn: TurnId,
    /// The conversation.
    pub conversation: ConversationId,
    /// Intents in answering order.
    pub intents: Vec<Intent>,
    /// Tool calls in order.
    pub tools: Vec<ToolRecord>,
    /// Model calls in order (vision first).
    pub model_calls: Vec<ModelCallRecord>,
    /// Tool rounds used.
    pub rounds: u32,
    /// How it ended.
    pub outcome: TurnOutcomeKind,
    /// For failures: the error chain, for operators (never sent to the customer).
    pub failure: Option<String>,
    /// Tone examples shown to the model (ids and scores). Absent in records written before
    /// tone retrieval existed.
    #[serde(default)]
    pub tone: ToneRecord,
    /// Wall time of the whole turn.
    pub latency: Duration,
}

impl TurnRecord {
    pub(crate) fn new(turn: TurnId, conversation: ConversationId) -> Self {
        Self {
            turn,
            conversation,
            intents: Vec::new(),
            tools: Vec::new(),
            model_calls: Vec::new(),
            rounds: 0,
            outcome: TurnOutcomeKind::Nothing,
            failure: None,
            tone: ToneRecord::NotAsked,
            latency: Duration::ZERO,
        }
    }

    /// The turn's model usage summed per model (in the order first called), each with
    /// its estimated cost at `prices` (0 for a model the table does not list). Failed
    /// calls report no usage and are left out.
    pub fn usage_by_model(&self, prices: &PriceTable) -> Vec<(String, ModelUsage)> {
        let mut out: Vec<(String, ModelUsage)> = Vec::new();
        for call in self.model_calls.iter().filter(|c| !c.model.is_empty()) {
            let (prompt, cached, completion, audio) = (
                u64::from(call.prompt_tokens),
                u64::from(call.cached_tokens),
                u64::from(call.completion_tokens),
                u64::from(call.audio_seconds),
            );
            let usage = ModelUsage {
                calls: 1,
                prompt_tokens: prompt,
                cached_tokens: cached,
                completion_tokens: completion,
                audio_seconds: audio,
                cost_nanos: prices
                    .price_of(&call.model)
                    .map_or(0, |p| p.cost_nanos(prompt, cached, completion, audio)),
            };
            match out.iter_mut().find(|(m, _)| *m == call.model) {
                Some((_, total)) => *total = total.plus(usage),
                None => out.push((call.model.clone(), usage)),
            }
        }
        out
    }

    /// Prompt tokens over all calls of the turn.
    pub fn prompt_tokens(&self) -> u32 {
        self.model_calls.iter().map(|c| c.prompt_tokens).sum()
    }

    /// Reply calls (excluding vision).
    pub fn reply_calls(&self) -> usize {
        self.model_calls
            .iter()
            .filter(|c| c.kind == CallKind::Reply)
            .count()
    }
}
