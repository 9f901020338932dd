//! What an unsent or edited message does to a conversation's stored turns, decided once
//! for every adapter.
//!
//! Instagram lets a customer unsend a message (`is_deleted`) or edit its text
//! (`message_edit`). The adapters read the conversation's turns, ask [`plan`] which turns
//! change and how, and write the changes back in one atomic step.
//!
//! - **Unsent**: the message's own turn keeps its place, role, id and time, but its text
//!   becomes [`UNSENT_TEXT`] and its data `{"unsent": true}`; a stored analysis of an image
//!   or a transcript of a voice note that came with it is dropped the same way. Every other
//!   turn's *data* (traces: tool arguments and results) is scrubbed of the message's text
//!   (a voice note's transcript included): the whole text, each of its
//!   lines, and every phone-number-like run of digits in it (as written, digits only, and
//!   in E.164 and national form), each replaced by [`SCRUBBED`]. Other turns' *text* (what
//!   the studio said) stays.
//! - **Edited**: the message's turn gets the new text, and so does its data's `text` field
//!   when it has one (the engine's own copy of the message). An unsent message stays
//!   unsent.

use inkdesk_domain::{PhoneNumber, Region};
use serde_json::{Value, json};

use crate::model::Turn;

/// The text an unsent message's turn keeps: what the transcript and the model see.
pub const UNSENT_TEXT: &str = "[message unsent]";
/// The text a dropped image analysis keeps.
pub const UNSENT_ANALYSIS_TEXT: &str = "[image analysis removed: its message was unsent]";
/// The text a dropped voice-note transcript keeps.
pub const UNSENT_TRANSCRIPT_TEXT: &str = "[voice note transcript removed: its message was unsent]";
/// What replaces the text of an unsent message inside traces.
pub const SCRUBBED: &str = "[removed]";
/// Shorter pieces of an unsent text are not scrubbed on their own (they would hit
/// unrelated words); the whole text always is.
const MIN_FRAGMENT_CHARS: usize = 4;
/// A run of phone-like characters counts as a number from this many digits on.
const MIN_PHONE_DIGITS: usize = 6;

/// A change the sender made to one of their messages after sending it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageChange {
    /// The message was unsent: its text goes from the log and from every trace.
    Unsent,
    /// The message's text is now `text`.
    Edited {
        /// The new text, in full.
        text: String,
    },
}

/// Which turns change: `(index into the turns given, the turn's new value)`, in order.
pub fn plan(turns: &[Turn], message_id: &str, change: &MessageChange) -> Vec<(usize, Turn)> {
    let is_target = |t: &Turn| t.message_id.as_deref() == Some(message_id);
    match change {
        MessageChange::Edited { text } => turns
            .iter()
            .enumerate()
            .filter(|(_, t)| is_target(t) && !is_unsent(t) && t.text != *text)
            .map(|(i, t)| (i, edited(t, text)))
            .collect(),
        MessageChange::Unsent => {
            let mut fragments = Vec::new();
            for turn in turns.iter().filter(|t| is_target(t) && !is_unsent(t)) {
                fragments.extend(fragments_of(&turn.text));
                if let Some(text) = turn
                    .data
                    .as_ref()
                    .and_then(|d| d.get("text"))
                    .and_then(Value::as_str)
                {
                    fragments.extend(fragments_of(text));
                }
            }
            for turn in turns.iter().filter(|t| transcribes(t, message_id)) {
                if let Some(text) = transcript_text(turn) {
                    fragments.extend(fragments_of(text));
                }
            }
            let fragments = with_escaped_forms(fragments);
            let mut out = Vec::new();
            for (i, turn) in turns.iter().enumerate() {
                if is_target(turn) {
                    if !is_unsent(turn) {
                        out.push((i, unsent(turn, UNSENT_TEXT)));
                    }
                } else if analyses(turn, message_id) {
                    out.push((i, unsent(turn, UNSENT_ANALYSIS_TEXT)));
                } else if transcribes(turn, message_id) {
                    out.push((i, unsent(turn, UNSENT_TRANSCRIPT_TEXT)));
                } else if let Some(data) = &turn.data {
                    let mut data = data.clone();
                    if scrub(&mut data, &fragments) {
                        out.push((
                            i,
                            Turn {
                                data: Some(data),
                                ..turn.clone()
                            },
                        ));
                    }
                }
            }
            out
        }
    }
}

/// Applies [`MessageChange::Edited`] to a pending message's payload: its `text` field, when
/// it has one, becomes `text`. `None` when nothing changes.
pub fn edit_payload(payload: &Value, text: &str) -> Option<Value> {
    let current = payload.get("text")?;
    if current.as_str() == Some(text) {
        return None;
    }
    let mut payload = payload.clone();
    payload["text"] = Value::String(text.to_owned());
    Some(payload)
}

/// Whether a turn is the tombstone of an unsent message.
pub fn is_unsent(turn: &Turn) -> bool {
    turn.data
        .as_ref()
        .and_then(|d| d.get("unsent"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn unsent(turn: &Turn, text: &str) -> Turn {
    Turn {
        role: turn.role,
        text: text.to_owned(),
        message_id: turn.message_id.clone(),
        at: turn.at,
        data: Some(json!({"unsent": true})),
    }
}

fn edited(turn: &Turn, text: &str) -> Turn {
    let data = turn.data.as_ref().map(|d| match d.get("text") {
        Some(_) => edit_payload(d, text).unwrap_or_else(|| d.clone()),
        None => d.clone(),
    });
    Turn {
        text: text.to_owned(),
        data,
        ..turn.clone()
    }
}

/// Whether `turn` stores the analysis of an image of message `mid`.
fn analyses(turn: &Turn, mid: &str) -> bool {
    turn.data
        .as_ref()
        .and_then(|d| d.get("image_analysis"))
        .and_then(|a| a.get("mid"))
        .and_then(Value::as_str)
        == Some(mid)
}

/// Whether `turn` stores the transcript of a voice note of message `mid`.
fn transcribes(turn: &Turn, mid: &str) -> bool {
    turn.data
        .as_ref()
        .and_then(|d| d.get("voice_transcript"))
        .and_then(|a| a.get("mid"))
        .and_then(Value::as_str)
        == Some(mid)
}

fn transcript_text(turn: &Turn) -> Option<&str> {
    turn.data
        .as_ref()?
        .get("voice_transcript")?
        .get("transcript")?
        .get("text")?
        .as_str()
}

/// The pieces of `text` that must not survive in traces, longest first.
pub fn fragments_of(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let whole = text.trim();
    if whole.is_empty() {
        return out;
    }
    out.push(whole.to_owned());
    for line in whole.lines().map(str::trim) {
        if line.chars().count() >= MIN_FRAGMENT_CHARS {
            out.push(line.to_owned());
        }
    }
    for run in phone_runs(whole) {
        let digits: String = run.chars().filter(char::is_ascii_digit).collect();
        if let Ok(phone) = PhoneNumber::parse(&run, Region::default()) {
            out.push(phone.e164().to_owned());
            out.push(phone.national().to_owned());
        }
        out.push(run);
        out.push(digits);
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.len()));
    out.dedup();
    out
}

/// Maximal runs of digits, spaces, `+`, `-`, `.` and brackets holding at least
/// [`MIN_PHONE_DIGITS`] digits, trimmed.
fn phone_runs(text: &str) -> Vec<String> {
    let phone_char = |c: char| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '.' | '(' | ')');
    let mut runs = Vec::new();
    let mut current = String::new();
    for c in text.chars().chain(std::iter::once('x')) {
        if phone_char(c) {
            current.push(c);
            continue;
        }
        let run = current.trim_matches(|c: char| !c.is_ascii_digit() && c != '+' && c != '(');
        if run.chars().filter(char::is_ascii_digit).count() >= MIN_PHONE_DIGITS {
            runs.push(run.to_owned());
        }
        current.clear();
    }
    runs
}

/// Adds each fragment's JSON-escaped form (tool arguments are JSON text inside a string).
fn with_escaped_forms(fragments: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(fragments.len() * 2);
    for fragment in fragments {
        let quoted = Value::String(fragment.clone()).to_string();
        let escaped = &quoted[1..quoted.len() - 1];
        if escaped != fragment {
            out.push(escaped.to_owned());
        }
        out.push(fragment);
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.len()));
    out.dedup();
    out
}

/// Replaces every fragment in every string inside `value` (keys stay); true if any did.
fn scrub(value: &mut Value, fragments: &[String]) -> bool {
    match value {
        Value::String(s) => {
            let mut changed = false;
            for fragment in fragments {
                if s.contains(fragment.as_str()) {
                    *s = s.replace(fragment.as_str(), SCRUBBED);
                    changed = true;
                }
            }
            changed
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |acc, v| scrub(v, fragments) | acc),
        Value::Object(map) => map
            .values_mut()
            .fold(false, |acc, v| scrub(v, fragments) | acc),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;
    use chrono::{TimeZone, Utc};

    fn turn(role: Role, text: &str, mid: Option<&str>, data: Option<Value>) -> Turn {
        Turn {
            role,
            text: text.to_owned(),
            message_id: mid.map(str::to_owned),
            at: Utc.with_ymd_and_hms(2026, 11, 18, 9, 0, 0).unwrap(),
            data,
        }
    }

    fn conversation() -> Vec<Turn> {
        vec![
            turn(
                Role::Customer,
                "Maria Papadaki\nτο κινητό μου 69 1234 5678",
                Some("m1"),
                Some(json!({"mid": "m1", "text": "Maria Papadaki\nτο κινητό μου 69 1234 5678"})),
            ),
            turn(
                Role::Tool,
                "image analysed",
                None,
                Some(
                    json!({"image_analysis": {"mid": "m1", "index": 0, "analysis": {"outcome": "not_a_design", "description": "a selfie"}}}),
                ),
            ),
            turn(
                Role::Assistant,
                "Κλείσαμε! 6912345678 ❤️🐼",
                Some("out1"),
                Some(json!({"trace": {"tools": [{
                    "name": "book_appointment",
                    "arguments": "{\"name\":\"Maria Papadaki\",\"phone\":\"69 1234 5678\"}",
                    "result": "{\"booked\":true,\"phone\":\"+306912345678\"}",
                }], "rounds": 1}})),
            ),
            turn(
                Role::Customer,
                "ευχαριστώ",
                Some("m2"),
                Some(json!({"mid": "m2", "text": "ευχαριστώ"})),
            ),
        ]
    }

    #[test]
    fn an_unsent_voice_note_takes_its_transcript_and_its_words_in_traces_with_it() {
        let turns = vec![
            turn(
                Role::Customer,
                "",
                Some("v1"),
                Some(json!({"mid": "v1", "text": null, "attachments": [{"kind": "audio"}]})),
            ),
            turn(
                Role::Tool,
                "voice note transcribed",
                None,
                Some(
                    json!({"voice_transcript": {"mid": "v1", "index": 0, "transcript": {
                    "outcome": "transcribed", "text": "Είμαι η Μαρία Παπαδάκη, 6912345678", "language": "el"}}}),
                ),
            ),
            turn(
                Role::Assistant,
                "Κλείσαμε! ❤️🐼",
                Some("out1"),
                Some(json!({"trace": {"tools": [{
                    "name": "book_appointment",
                    "arguments": "{\"name\":\"Μαρία Παπαδάκη\",\"phone\":\"6912345678\"}",
                }]}})),
            ),
        ];
        let changes = plan(&turns, "v1", &MessageChange::Unsent);
        let changed: Vec<usize> = changes.iter().map(|(i, _)| *i).collect();
        assert_eq!(changed, [0, 1, 2]);
        assert_eq!(changes[1].1.text, UNSENT_TRANSCRIPT_TEXT);
        assert_eq!(changes[1].1.data, Some(json!({"unsent": true})));
        let trace = serde_json::to_string(&changes[2].1.data).unwrap();
        assert!(!trace.contains("6912345678"), "{trace}");
    }

    #[test]
    fn an_unsent_message_leaves_a_tombstone_and_no_trace_of_its_text() {
        let turns = conversation();
        let changes = plan(&turns, "m1", &MessageChange::Unsent);
        let changed: Vec<usize> = changes.iter().map(|(i, _)| *i).collect();
        assert_eq!(changed, [0, 1, 2]);
        let tombstone = &changes[0].1;
        assert_eq!(tombstone.text, UNSENT_TEXT);
        assert_eq!(tombstone.message_id.as_deref(), Some("m1"));
        assert_eq!(tombstone.at, turns[0].at);
        assert_eq!(tombstone.data, Some(json!({"unsent": true})));
        assert!(is_unsent(tombstone));
        assert_eq!(changes[1].1.text, UNSENT_ANALYSIS_TEXT);
        let trace = serde_json::to_string(&changes[2].1.data).unwrap();
        for secret in ["Papadaki", "1234", "6912345678"] {
            assert!(!trace.contains(secret), "{secret} in {trace}");
        }
        assert!(trace.contains(SCRUBBED));
        assert!(trace.contains("book_appointment"), "{trace}");
        // What the studio said stays as it was said.
        assert_eq!(changes[2].1.text, turns[2].text);

        // Doing it again changes nothing.
        let mut after = turns.clone();
        for (i, t) in changes {
            after[i] = t;
        }
        assert_eq!(plan(&after, "m1", &MessageChange::Unsent), Vec::new());
        assert_eq!(plan(&after, "unknown", &MessageChange::Unsent), Vec::new());
    }

    #[test]
    fn an_edit_replaces_the_text_and_the_engines_copy_but_not_an_unsent_message() {
        let turns = conversation();
        let edit = MessageChange::Edited {
            text: "ευχαριστώ πολύ!".to_owned(),
        };
        let changes = plan(&turns, "m2", &edit);
        assert_eq!(changes.len(), 1);
        let (i, t) = &changes[0];
        assert_eq!(*i, 3);
        assert_eq!(t.text, "ευχαριστώ πολύ!");
        assert_eq!(
            t.data,
            Some(json!({"mid": "m2", "text": "ευχαριστώ πολύ!"}))
        );
        let mut after = turns.clone();
        after[3] = t.clone();
        assert_eq!(plan(&after, "m2", &edit), Vec::new());

        after[0] = unsent(&after[0], UNSENT_TEXT);
        assert_eq!(plan(&after, "m1", &edit), Vec::new());
    }

    #[test]
    fn fragments_cover_lines_and_every_form_of_a_phone_number() {
        let f = fragments_of("  Γεια!\nτηλ: +30 691-234-5678  \nok");
        for want in [
            "Γεια!\nτηλ: +30 691-234-5678  \nok",
            "τηλ: +30 691-234-5678",
            "+30 691-234-5678",
            "306912345678",
            "+306912345678",
            "6912345678",
            "Γεια!",
        ] {
            assert!(f.iter().any(|x| x == want.trim()), "{want:?} not in {f:?}");
        }
        // Two letters alone would hit unrelated words.
        assert!(!f.iter().any(|x| x == "ok"));
        assert!(fragments_of("   ").is_empty());
        assert!(phone_runs("room 12, 3 people").is_empty());
    }

    #[test]
    fn a_pending_payload_gets_the_edited_text() {
        let payload = json!({"mid": "m", "text": "old", "attachments": []});
        assert_eq!(
            edit_payload(&payload, "new"),
            Some(json!({"mid": "m", "text": "new", "attachments": []}))
        );
        assert_eq!(edit_payload(&payload, "old"), None);
        assert_eq!(edit_payload(&json!({"reaction": {}}), "new"), None);
    }
}
