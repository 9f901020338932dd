//! What the runner stores on a turn of the conversation log (`Turn::data`), as one typed
//! value written and read by the same code (the admin console reads it back with
//! [`TurnData::of`]).
//!
//! The JSON is externally tagged — `{"trace": …}`, `{"image_analysis": …}`,
//! `{"voice_transcript": …}`, `{"handoff": …}` — the shape the log has always held, so older entries read back too.
//! A customer's turn keeps the [`CustomerMessage`](crate::message::CustomerMessage) itself.

use serde::{Deserialize, Serialize};

use crate::engine::TurnRecord;
use crate::message::{ImageAnalysis, VoiceTranscript};

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
    /// What a customer's voice note said (or why it was not transcribed).
    VoiceTranscript {
        /// The message the voice note came with.
        mid: String,
        /// Its position among the message's attachments.
        index: usize,
        /// The result.
        transcript: VoiceTranscript,
    },
    /// The conversation was handed to a person.
    Handoff {
        /// Why (a handoff reason of the model, or the runner's own).
        reason: String,
        /// A line for the studio.
        note: Option<String>,
    },
    /// A reminder of an appointment sent to the customer (the entry's text is what was
    /// sent; an SMS is marked as such).
    Reminder {
        /// The booking reminded of.
        booking: String,
        /// `dm` or `sms`.
        channel: String,
        /// The appointment's start it reminded of (a moved booking is reminded again).
        #[serde(default)]
        start: Option<chrono::DateTime<chrono::Utc>>,
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_older_trace_without_tone_reads_back() {
        let stored = serde_json::json!({"trace": {
            "turn": "t1", "conversation": "5552001", "intents": ["pricing_without_image"],
            "tools": [{"name": "quote_price", "arguments": "{}", "result": "150 €", "ok": true,
                       "latency": {"secs": 0, "nanos": 2000000}}],
            "model_calls": [{"kind": "reply", "model": "gpt-4o", "prompt_tokens": 3600,
                             "cached_tokens": 3456, "completion_tokens": 40,
                             "latency": {"secs": 1, "nanos": 200000000}, "ok": true}],
            "rounds": 1, "outcome": {"kind": "replied"}, "failure": null,
            "latency": {"secs": 1, "nanos": 300000000}
        }});
        let Some(TurnData::Trace(record)) = TurnData::of(Some(&stored)) else {
            panic!("{:?}", serde_json::from_value::<TurnData>(stored));
        };
        assert_eq!(record.model_calls[0].prompt_tokens, 3600);
        // Written and read by the same code.
        let again = TurnData::Trace(record.clone()).to_value();
        assert_eq!(TurnData::of(Some(&again)), Some(TurnData::Trace(record)));
    }

    #[test]
    fn handoff_and_image_analysis_keep_their_stored_shape() {
        let handoff = TurnData::Handoff {
            reason: "Complaint".into(),
            note: None,
        };
        assert_eq!(
            handoff.to_value(),
            serde_json::json!({"handoff": {"reason": "Complaint", "note": null}})
        );
        let voice = TurnData::VoiceTranscript {
            mid: "m1".into(),
            index: 0,
            transcript: VoiceTranscript::Transcribed {
                text: "γεια".into(),
                language: Some("el".into()),
            },
        };
        assert_eq!(
            voice.to_value(),
            serde_json::json!({"voice_transcript": {"mid": "m1", "index": 0,
                "transcript": {"outcome": "transcribed", "text": "γεια", "language": "el"}}})
        );
        assert_eq!(TurnData::of(Some(&voice.to_value())), Some(voice));
    }
}
