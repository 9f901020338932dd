//! What the runner stores on a turn of the conversation log (`Turn::data`), as one typed
//! value written and read by the same code (the admin console reads it back with
//! [`TurnData::of`]).
//!
//! The JSON is externally tagged — `{"trace": …}`, `{"image_analysis": …}`,
//! `{"handoff": …}` — the shape the log has always held, so older entries read back too.
//! A customer's turn keeps the [`CustomerMessage`](crate::message::CustomerMessage) itself.

use serde::{Deserialize, Serialize};

use crate::engine::TurnRecord;
use crate::message::ImageAnalysis;

/// The data of an assistant or tool turn in the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TurnData {
    /// The record of the turn that produced an assistant reply.
    Trace(TurnRecord),
    /// What vision read off one image of a customer's message.
    ImageAnalysis {
        /// The message the image came with.
        mid: String,
        /// Its position among the message's attachments.
        index: usize,
        /// The result.
        analysis: ImageAnalysis,
    },
    /// The conversation was handed to a person.
    Handoff {
        /// Why (a handoff reason of the model, or the runner's own).
        reason: String,
        /// A line for the studio.
        note: Option<String>,
    },
    /// A decided reply was not sent (a person took the conversation mid-turn, or the
    /// reply window closed).
    Withheld {
        /// Why.
        reason: String,
        /// The text that was not sent.
        text: String,
    },
}

impl TurnData {
    /// The typed data of a logged turn, when it holds runner data.
    pub fn of(data: Option<&serde_json::Value>) -> Option<Self> {
        data.and_then(|d| serde_json::from_value(d.clone()).ok())
    }

    /// The JSON stored in the log.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}
