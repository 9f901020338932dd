//! Conformance: unsent and edited messages.

use serde_json::json;

use crate::change::{MessageChange, SCRUBBED, UNSENT_TEXT};
use crate::model::{PendingMessage, Role, Turn};

use super::{Harness, LONG, conv, ids, turn};

fn customer(h: &Harness, mid: &str, text: &str) -> Turn {
    Turn {
        role: Role::Customer,
        text: text.to_owned(),
        message_id: Some(mid.to_owned()),
        at: h.now(),
        data: Some(json!({"mid": mid, "text": text, "attachments": []})),
    }
}

fn pending(h: &Harness, mid: &str, text: &str) -> PendingMessage {
    PendingMessage {
        message_id: mid.to_owned(),
        received_at: h.now(),
        payload: json!({"mid": mid, "text": text, "attachments": []}),
    }
}

pub async fn unsent_message_leaves_history_traces_and_preview(h: Harness) {
    let s = &h.stores;
    let (c, other) = (conv("unsend"), conv("unsend-other"));
    s.log
        .append(&c, customer(&h, "m1", "το κινητό μου 6912345678"))
        .await
        .unwrap();
    s.log
        .append(
            &c,
            Turn {
                role: Role::Assistant,
                text: "Σας κλείσαμε!".to_owned(),
                message_id: Some("out-1".to_owned()),
                at: h.now(),
                data: Some(json!({"trace": {"tools": [{"name": "book_appointment",
                    "arguments": "{\"phone\":\"6912345678\"}", "result": "{\"ok\":true}"}]}})),
            },
        )
        .await
        .unwrap();
    s.log
        .append(&c, customer(&h, "m2", "ο αριθμός: 6912345678"))
        .await
        .unwrap();
    s.log
        .append(&other, customer(&h, "m1", "6912345678 here"))
        .await
        .unwrap();

    assert_eq!(
        s.log
            .change_message(&c, "m2", &MessageChange::Unsent)
            .await
            .unwrap(),
        3,
        "the message, the trace mentioning its number and the other message's copy"
    );
    let turns = s.log.recent(&c, 10).await.unwrap();
    assert_eq!(turns.len(), 3, "the tombstone keeps its place");
    assert_eq!(turns[2].text, UNSENT_TEXT);
    assert_eq!(turns[2].message_id.as_deref(), Some("m2"));
    assert_eq!(turns[2].role, Role::Customer);
    let stored = serde_json::to_string(&turns).unwrap();
    assert!(!stored.contains("ο αριθμός"), "{stored}");
    // The trace lost the number; what was said before the unsent message stays.
    assert!(
        turns[1]
            .data
            .as_ref()
            .unwrap()
            .to_string()
            .contains(SCRUBBED),
        "{stored}"
    );
    assert_eq!(turns[1].text, "Σας κλείσαμε!");
    let summary = &s.log.conversations(10).await.unwrap();
    let row = summary.iter().find(|r| r.conversation == c).unwrap();
    assert_eq!(row.last_preview, crate::model::preview(UNSENT_TEXT));
    // Another conversation with the same message id is untouched.
    assert_eq!(
        s.log.recent(&other, 10).await.unwrap()[0].text,
        "6912345678 here"
    );
    // Again: nothing more to change; an unknown id changes nothing.
    for mid in ["m2", "nope"] {
        assert_eq!(
            s.log
                .change_message(&c, mid, &MessageChange::Unsent)
                .await
                .unwrap(),
            0
        );
    }
    assert_eq!(
        s.log
            .change_message(&conv("never-seen"), "m1", &MessageChange::Unsent)
            .await
            .unwrap(),
        0
    );
}

pub async fn edited_message_changes_history_and_pending_copy(h: Harness) {
    let s = &h.stores;
    let c = conv("edit");
    s.log.append(&c, turn(&h, "before")).await.unwrap();
    s.log
        .append(&c, customer(&h, "m1", "Παρασκευή στις 5"))
        .await
        .unwrap();
    s.inbox
        .push(&c, pending(&h, "m1", "Παρασκευή στις 5"), LONG)
        .await
        .unwrap();
    s.inbox
        .push(&c, pending(&h, "m2", "και κάτι ακόμα"), LONG)
        .await
        .unwrap();
    let edit = MessageChange::Edited {
        text: "Σάββατο στις 5".to_owned(),
    };
    assert_eq!(s.log.change_message(&c, "m1", &edit).await.unwrap(), 1);
    assert!(
        s.inbox
            .edit_message(&c, "m1", "Σάββατο στις 5")
            .await
            .unwrap()
    );
    let turns = s.log.recent(&c, 10).await.unwrap();
    assert_eq!(turns[0].text, "before");
    assert_eq!(turns[1].text, "Σάββατο στις 5");
    assert_eq!(turns[1].data.as_ref().unwrap()["text"], "Σάββατο στις 5");
    // The same edit again, or of a message not pending, does nothing.
    assert_eq!(s.log.change_message(&c, "m1", &edit).await.unwrap(), 0);
    assert!(
        !s.inbox
            .edit_message(&c, "m1", "Σάββατο στις 5")
            .await
            .unwrap()
    );
    assert!(!s.inbox.edit_message(&c, "m9", "x").await.unwrap());

    // The queue keeps its order and the edited text goes to the next turn.
    h.advance(std::time::Duration::from_millis(10)).await;
    let claims = s.inbox.claim_due(10, LONG).await.unwrap();
    assert!(claims.is_empty(), "the edit must not make the queue due");
    s.inbox
        .push(&c, pending(&h, "m3", "τέλος"), std::time::Duration::ZERO)
        .await
        .unwrap();
    let claims = s.inbox.claim_due(10, LONG).await.unwrap();
    assert_eq!(ids(&claims[0].messages), ["m1", "m2", "m3"]);
    assert_eq!(claims[0].messages[0].payload["text"], "Σάββατο στις 5");
    assert_eq!(claims[0].messages[1].payload["text"], "και κάτι ακόμα");

    // An edit of an unsent message does not bring it back.
    s.log
        .change_message(&c, "m1", &MessageChange::Unsent)
        .await
        .unwrap();
    assert_eq!(s.log.change_message(&c, "m1", &edit).await.unwrap(), 0);
    assert_eq!(s.log.recent(&c, 10).await.unwrap()[1].text, UNSENT_TEXT);
}

/// A burst of appends that trim the history while a change is applied: the change lands on
/// the right turn, never on a neighbour.
pub async fn message_change_races_appends_safely(h: Harness) {
    let s = h.stores.clone();
    let c = conv("change-race");
    for i in 0..super::MAX_TURNS {
        s.log
            .append(&c, customer(&h, &format!("m{i}"), &format!("text {i}")))
            .await
            .unwrap();
    }
    let writer = {
        let s = s.clone();
        let c = c.clone();
        let at = h.now();
        tokio::spawn(async move {
            for i in 0..40 {
                let turn = Turn {
                    role: Role::Assistant,
                    text: format!("reply {i}"),
                    message_id: None,
                    at,
                    data: None,
                };
                s.log.append(&c, turn).await.unwrap();
            }
        })
    };
    let target = format!("m{}", super::MAX_TURNS - 1);
    let edit = MessageChange::Edited {
        text: "changed".to_owned(),
    };
    let changed = s.log.change_message(&c, &target, &edit).await.unwrap();
    writer.await.unwrap();
    let turns = s.log.recent(&c, super::MAX_TURNS).await.unwrap();
    // The target is the newest of MAX_TURNS turns and 40 appends trim the oldest 40, so it is
    // still kept: exactly it changed, wherever the appends moved it.
    assert_eq!(changed, 1);
    let hits: Vec<_> = turns.iter().filter(|t| t.text == "changed").collect();
    assert_eq!(hits.len(), 1, "{turns:?}");
    assert_eq!(hits[0].message_id.as_deref(), Some(target.as_str()));
    assert_eq!(turns.len(), super::MAX_TURNS);
}
