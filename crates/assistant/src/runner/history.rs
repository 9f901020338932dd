//! What a turn reads: the bounded set of queued messages it answers, and the history
//! window before them.

use std::collections::{HashMap, HashSet};

use inkdesk_store::{PendingMessage, Role, Turn};

use super::data::TurnData;
use crate::history::{HistoryEntry, Speaker, window_start};
use crate::message::{
    AttachmentKind, CustomerMessage, ImageAnalysis, Measurements, VoiceTranscript, combine,
    image_ref,
};

/// What earlier turns learnt about attachments: image analyses and voice transcripts.
#[derive(Default)]
struct Learnt {
    analyses: HashMap<(String, usize), ImageAnalysis>,
    transcripts: HashMap<(String, usize), VoiceTranscript>,
}

/// The queued messages one turn answers: the oldest first, at most `max_messages` and at
/// most `max_images` images (always at least one message, so a single large message
/// cannot block the queue). The rest stay queued for the next turn. Messages that cannot
/// be decoded are handled (acknowledged) without being answered.
pub fn select_bounded(
    queued: &[PendingMessage],
    max_messages: usize,
    max_images: usize,
) -> (Vec<CustomerMessage>, Vec<String>) {
    let mut messages = Vec::new();
    let mut handled = Vec::new();
    let mut images = 0usize;
    for pending in queued {
        if handled.len() >= max_messages.max(1) {
            break;
        }
        match serde_json::from_value::<CustomerMessage>(pending.payload.clone()) {
            Ok(message) => {
                let count = message
                    .attachments
                    .iter()
                    .filter(|a| a.kind == AttachmentKind::Image)
                    .count();
                if !handled.is_empty() && images + count > max_images {
                    break;
                }
                images += count;
                messages.push(message);
            }
            Err(error) => {
                tracing::warn!(%error, "undecodable queued message skipped");
            }
        }
        handled.push(pending.message_id.clone());
    }
    (messages, handled)
}

/// Earlier turns for the model (without the messages still queued) and the measurements
/// of images analysed before.
///
/// A customer's message is shown as the engine showed it when it was new: with its images
/// as their references and measurements (so a later "and with colour?" can still be
/// priced), not as its bare text. The window holds at most `limit` entries and slides by
/// half of it at a time ([`window_start`]), so the provider's cached prefix survives for
/// several turns of a long conversation.
pub fn history_of(
    turns: &[Turn],
    queued: &HashSet<&str>,
    limit: usize,
) -> (Vec<HistoryEntry>, HashMap<String, Measurements>) {
    let mut known = HashMap::new();
    let mut learnt = Learnt::default();
    for turn in turns {
        match TurnData::of(turn.data.as_ref()) {
            Some(TurnData::ImageAnalysis {
                mid,
                index,
                analysis,
            }) => {
                if let ImageAnalysis::Measured(m) = &analysis {
                    known.insert(image_ref(&mid, index), m.clone());
                }
                learnt.analyses.insert((mid, index), analysis);
            }
            Some(TurnData::VoiceTranscript {
                mid,
                index,
                transcript,
            }) => {
                learnt.transcripts.insert((mid, index), transcript);
            }
            _ => {}
        }
    }
    let mut history = Vec::new();
    for turn in turns {
        if matches!(
            TurnData::of(turn.data.as_ref()),
            Some(TurnData::ImageAnalysis { .. } | TurnData::VoiceTranscript { .. })
        ) {
            continue;
        }
        if turn
            .message_id
            .as_deref()
            .is_some_and(|id| queued.contains(id))
        {
            continue;
        }
        let entry = match turn.role {
            Role::Customer => HistoryEntry::customer(customer_text(turn, &learnt), turn.at),
            Role::Assistant => HistoryEntry::assistant(turn.text.clone(), turn.at),
            Role::Staff => HistoryEntry {
                speaker: Speaker::Staff,
                text: turn.text.clone(),
                at: turn.at,
            },
            Role::Tool => continue,
        };
        history.push(entry);
    }
    let start = window_start(history.len(), limit, limit / 2);
    (history.split_off(start), known)
}

/// A customer turn as the model saw it: the stored message combined with its images'
/// analyses and its voice notes' transcripts, or the bare text when the turn holds no
/// message.
fn customer_text(turn: &Turn, learnt: &Learnt) -> String {
    let Some(mut message) = turn
        .data
        .clone()
        .and_then(|d| serde_json::from_value::<CustomerMessage>(d).ok())
    else {
        return turn.text.clone();
    };
    for (index, attachment) in message.attachments.iter_mut().enumerate() {
        let key = (message.mid.clone(), index);
        if attachment.analysis.is_none() {
            attachment.analysis = learnt.analyses.get(&key).cloned();
        }
        if attachment.transcript.is_none() {
            attachment.transcript = learnt.transcripts.get(&key).cloned();
        }
    }
    let combined = combine(std::slice::from_ref(&message)).text;
    if combined.is_empty() {
        turn.text.clone()
    } else {
        combined
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::message::AttachmentInfo;
    use chrono::{TimeZone, Utc};

    fn pending(id: &str, images: usize) -> PendingMessage {
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap();
        let mut message = CustomerMessage::text(id, at, "hi");
        for _ in 0..images {
            message.attachments.push(AttachmentInfo {
                kind: AttachmentKind::Image,
                url: Some("https://cdn.example/x.jpg".into()),
                analysis: None,
                transcript: None,
            });
        }
        PendingMessage {
            message_id: id.to_owned(),
            received_at: at,
            payload: serde_json::to_value(message).unwrap(),
        }
    }

    #[test]
    fn a_turn_takes_at_most_the_bound_and_leaves_the_rest_queued() {
        let queued: Vec<_> = (0..30).map(|i| pending(&format!("m{i}"), 0)).collect();
        let (messages, handled) = select_bounded(&queued, 20, 4);
        assert_eq!(messages.len(), 20);
        assert_eq!(handled.first().map(String::as_str), Some("m0"));
        assert_eq!(handled.last().map(String::as_str), Some("m19"));
    }

    #[test]
    fn images_beyond_the_bound_wait_for_the_next_turn() {
        let queued = vec![pending("a", 3), pending("b", 2), pending("c", 0)];
        let (messages, handled) = select_bounded(&queued, 20, 4);
        assert_eq!(handled, ["a"]);
        assert_eq!(messages.len(), 1);
        // One message over the bound on its own is still taken (and nothing after it).
        let queued = vec![pending("big", 6), pending("next", 0)];
        assert_eq!(select_bounded(&queued, 20, 4).1, ["big"]);
    }

    fn logged(role: Role, text: &str, mid: Option<&str>, data: Option<serde_json::Value>) -> Turn {
        Turn {
            role,
            text: text.to_owned(),
            message_id: mid.map(str::to_owned),
            at: Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap(),
            data,
        }
    }

    #[test]
    fn a_photo_stays_in_the_history_as_its_reference_and_measurements() {
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap();
        let photo = CustomerMessage::image("m1", at, "https://cdn.example/rose.jpg");
        let measured = Measurements {
            description: "rose".to_owned(),
            height_cm: rust_decimal::Decimal::from(7),
            width_cm: rust_decimal::Decimal::from(7),
            ink_coverage: rust_decimal::Decimal::new(3, 1),
            style: "light_shading".to_owned(),
        };
        let turns = vec![
            logged(
                Role::Customer,
                "",
                Some("m1"),
                Some(serde_json::to_value(&photo).unwrap()),
            ),
            logged(
                Role::Tool,
                "",
                None,
                Some(
                    TurnData::ImageAnalysis {
                        mid: "m1".to_owned(),
                        index: 0,
                        analysis: ImageAnalysis::Measured(measured.clone()),
                    }
                    .to_value(),
                ),
            ),
            logged(Role::Assistant, "60 € or 65 € ❤️🐼", None, None),
        ];
        let (history, known) = history_of(&turns, &HashSet::new(), 20);
        let reference = image_ref("m1", 0);
        assert_eq!(history.len(), 2);
        assert!(history[0].text.contains(&reference), "{}", history[0].text);
        assert!(history[0].text.contains("7 × 7 cm"), "{}", history[0].text);
        assert_eq!(known.get(&reference), Some(&measured));
    }

    #[test]
    fn a_voice_note_stays_in_the_history_as_its_transcript() {
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap();
        let voice = CustomerMessage {
            text: None,
            attachments: vec![AttachmentInfo::audio("https://cdn.example/v.mp4")],
            ..CustomerMessage::text("m1", at, "")
        };
        let turns = vec![
            logged(
                Role::Customer,
                "",
                Some("m1"),
                Some(serde_json::to_value(&voice).unwrap()),
            ),
            logged(
                Role::Tool,
                "voice note transcribed",
                None,
                Some(
                    TurnData::VoiceTranscript {
                        mid: "m1".to_owned(),
                        index: 0,
                        transcript: VoiceTranscript::Transcribed {
                            text: "Πόσο κάνει ένα τριαντάφυλλο;".to_owned(),
                            language: Some("el".to_owned()),
                        },
                    }
                    .to_value(),
                ),
            ),
            logged(Role::Assistant, "60 € ❤️🐼", None, None),
        ];
        let (history, _) = history_of(&turns, &HashSet::new(), 20);
        assert_eq!(history.len(), 2);
        assert_eq!(
            history[0].text,
            "[voice note, transcribed] Πόσο κάνει ένα τριαντάφυλλο;"
        );
    }

    #[test]
    fn the_history_window_slides_in_blocks() {
        let turns: Vec<Turn> = (0..25)
            .map(|i| logged(Role::Customer, &format!("line {i}"), None, None))
            .collect();
        let (history, _) = history_of(&turns, &HashSet::new(), 20);
        // 25 entries, limit 20, block 10: the oldest 10 went at once.
        assert_eq!(history.len(), 15);
        assert_eq!(history[0].text, "line 10");
        let (history, _) = history_of(&turns[..30.min(turns.len())], &HashSet::new(), 20);
        assert_eq!(history[0].text, "line 10");
    }

    #[test]
    fn undecodable_messages_are_handled_without_an_answer() {
        let mut bad = pending("bad", 0);
        bad.payload = serde_json::json!({"nonsense": true});
        let queued = vec![bad, pending("ok", 0)];
        let (messages, handled) = select_bounded(&queued, 20, 4);
        assert_eq!(handled, ["bad", "ok"]);
        assert_eq!(messages.len(), 1);
    }
}
