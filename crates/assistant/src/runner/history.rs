//! What a turn reads: the bounded set of queued messages it answers, and the history
//! window before them.

use std::collections::{HashMap, HashSet};

use inkdesk_store::{PendingMessage, Role, Turn};

use super::data::TurnData;
use crate::history::{HistoryEntry, Speaker};
use crate::message::{AttachmentKind, CustomerMessage, ImageAnalysis, Measurements, image_ref};

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
pub fn history_of(
    turns: &[Turn],
    queued: &HashSet<&str>,
    limit: usize,
) -> (Vec<HistoryEntry>, HashMap<String, Measurements>) {
    let mut known = HashMap::new();
    let mut history = Vec::new();
    for turn in turns {
        if let Some(TurnData::ImageAnalysis {
            mid,
            index,
            analysis: ImageAnalysis::Measured(m),
        }) = TurnData::of(turn.data.as_ref())
        {
            known.insert(image_ref(&mid, index), m);
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
            Role::Customer => HistoryEntry::customer(turn.text.clone(), turn.at),
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
    let skip = history.len().saturating_sub(limit);
    (history.split_off(skip), known)
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
