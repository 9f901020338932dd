//! Whole conversations through the service: webhook → debounce → turn → Graph send.

use std::time::Duration;

use inkdesk_messaging::MAX_MESSAGE_BYTES;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support::{
    SEND_PATH, echo_event, graph_accepts_sends, model_replies, send_reply_completion, spawn_app,
    text_event,
};

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_signed_text_is_answered_once_after_the_quiet_time() {
    let app = spawn_app().await;
    Mock::given(method("POST"))
        .and(path(SEND_PATH))
        .and(header("authorization", "Bearer IGAA-test-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"recipient_id": "5551001", "message_id": "aWdfZAG1faWQ-1"}),
        ))
        .expect(1)
        .mount(&app.graph)
        .await;
    model_replies(
        &app.model,
        "Καλησπέρα σας! Πείτε μας τι σχέδιο έχετε στο μυαλό σας. ❤️🐼",
    )
    .await;

    let response = app
        .post_signed(&text_event("5551001", "m_hello", "Γεια σας"))
        .await;
    assert_eq!(response.status(), 200);
    // Debounced: nothing goes out before the quiet time has passed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.sent().await.is_empty());

    let sent = app.wait_for_sends(1, WAIT).await;
    assert_eq!(
        sent,
        vec![serde_json::json!({
            "recipient": {"id": "5551001"},
            "message": {"text": "Καλησπέρα σας! Πείτε μας τι σχέδιο έχετε στο μυαλό σας. ❤️🐼"}
        })]
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.sent().await.len(), 1);
}

#[tokio::test]
async fn a_burst_of_three_messages_gets_one_reply_and_one_model_call() {
    let app = spawn_app().await;
    graph_accepts_sends(&app.graph).await;
    model_replies(&app.model, "Βεβαίως! ❤️🐼").await;
    for (i, text) in ["Γεια", "θέλω ένα τατουάζ", "στον καρπό"]
        .iter()
        .enumerate()
    {
        let status = app
            .post_signed(&text_event("5551002", &format!("m_burst_{i}"), text))
            .await
            .status();
        assert_eq!(status, 200);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let sent = app.wait_for_sends(1, WAIT).await;
    assert_eq!(sent.len(), 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.sent().await.len(), 1);
    let calls = app.model.received_requests().await.unwrap();
    assert_eq!(calls.len(), 1);
    // The one call carried all three messages, in order.
    let body = String::from_utf8(calls[0].body.clone()).unwrap();
    let (a, b, c) = (
        body.find("Γεια").unwrap(),
        body.find("θέλω ένα τατουάζ").unwrap(),
        body.find("στον καρπό").unwrap(),
    );
    assert!(a < b && b < c);
}

#[tokio::test]
async fn redelivered_events_are_answered_once() {
    let app = spawn_app().await;
    graph_accepts_sends(&app.graph).await;
    model_replies(&app.model, "Γεια σας! ❤️🐼").await;
    let body = text_event("5551003", "m_again", "Γεια");
    for _ in 0..3 {
        assert_eq!(app.post_signed(&body).await.status(), 200);
    }
    app.wait_for_sends(1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.sent().await.len(), 1);
}

#[tokio::test]
async fn a_long_greek_reply_goes_out_in_ordered_chunks_within_the_byte_limit() {
    let app = spawn_app().await;
    graph_accepts_sends(&app.graph).await;
    let paragraph = "Το τατουάζ που περιγράφετε γίνεται σε μία συνεδρία και η τιμή είναι τελική. ";
    let reply: String = (0..12)
        .map(|i| format!("{i}. {}\n\n", paragraph.repeat(2)))
        .collect();
    assert!(reply.len() > 3 * MAX_MESSAGE_BYTES);
    model_replies(&app.model, reply.trim()).await;
    app.post_signed(&text_event("5551004", "m_long", "Πείτε μου τα πάντα"))
        .await;
    let sent = app.wait_for_sends(4, WAIT).await;
    assert!(sent.len() >= 4, "{}", sent.len());
    let texts: Vec<String> = sent
        .iter()
        .map(|b| b["message"]["text"].as_str().unwrap().to_owned())
        .collect();
    assert!(texts.iter().all(|t| t.len() <= MAX_MESSAGE_BYTES));
    let rejoined: String = texts.concat().split_whitespace().collect();
    let original: String = reply.split_whitespace().collect();
    assert_eq!(rejoined, original, "chunks out of order or text lost");
}

#[tokio::test]
async fn a_person_replying_in_the_app_mutes_the_bot() {
    let app = spawn_app().await;
    graph_accepts_sends(&app.graph).await;
    model_replies(&app.model, "Γεια σας! ❤️🐼").await;
    app.post_signed(&text_event("5551005", "m_customer", "Γεια"))
        .await;
    // A person answers from the Instagram app before the quiet time ends.
    app.post_signed(&echo_event(
        "5551005",
        "m_human_reply",
        "Γεια σου Μαρία, σε πήρα τηλέφωνο",
    ))
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(app.sent().await.is_empty());
    assert!(app.model.received_requests().await.unwrap().is_empty());
    let conversation = inkdesk_domain::ConversationId::parse("5551005").unwrap();
    let mute = app
        .running
        .app
        .stores
        .takeover
        .muted(&conversation)
        .await
        .unwrap();
    assert!(mute.is_some());
}

#[tokio::test]
async fn our_own_echo_does_not_mute() {
    let app = spawn_app().await;
    graph_accepts_sends(&app.graph).await;
    model_replies(&app.model, "Γεια σας! ❤️🐼").await;
    app.post_signed(&text_event("5551006", "m_q", "Γεια")).await;
    app.wait_for_sends(1, WAIT).await;
    // Meta echoes the message we sent, with the id Graph gave us.
    app.post_signed(&echo_event(
        "5551006",
        "aWdfZAG1faWQ-out-0",
        "Γεια σας! ❤️🐼",
    ))
    .await;
    let conversation = inkdesk_domain::ConversationId::parse("5551006").unwrap();
    assert!(
        app.running
            .app
            .stores
            .takeover
            .muted(&conversation)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn model_failures_end_in_an_apology_and_a_handoff() {
    let app = spawn_app().await;
    graph_accepts_sends(&app.graph).await;
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(ResponseTemplate::new(500).set_body_json(
            serde_json::json!({"error": {"message": "The server had an error", "type": "server_error"}}),
        ))
        .mount(&app.model)
        .await;
    app.post_signed(&text_event("5551007", "m_fail", "Γεια σας"))
        .await;
    let sent = app.wait_for_sends(1, WAIT).await;
    assert_eq!(sent.len(), 1);
    let text = sent[0]["message"]["text"].as_str().unwrap();
    assert!(
        !text.contains("500") && !text.to_lowercase().contains("error"),
        "{text}"
    );
    let conversation = inkdesk_domain::ConversationId::parse("5551007").unwrap();
    let mute = app
        .running
        .app
        .stores
        .takeover
        .muted(&conversation)
        .await
        .unwrap();
    assert!(mute.is_some_and(|m| m.reason.contains("handoff")));
}

#[tokio::test]
async fn without_a_model_conversations_are_recorded_not_answered() {
    let app = crate::support::spawn_with(
        crate::support::Options {
            with_model: false,
            ..Default::default()
        },
        None,
        None,
    )
    .await;
    graph_accepts_sends(&app.graph).await;
    app.post_signed(&text_event("5551008", "m_nomodel", "Γεια"))
        .await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert!(app.sent().await.is_empty());
    let conversation = inkdesk_domain::ConversationId::parse("5551008").unwrap();
    let log = app
        .running
        .app
        .stores
        .log
        .recent(&conversation, 10)
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].text, "Γεια");
    // The queue is empty again: the message was handled (recorded for a person).
    assert_eq!(app.running.app.stores.inbox.next_due().await.unwrap(), None);
    let _ = send_reply_completion("unused");
}

#[tokio::test]
async fn while_paused_or_on_standby_messages_are_recorded_not_answered() {
    let app = spawn_app().await;
    graph_accepts_sends(&app.graph).await;
    model_replies(&app.model, "Γεια σας!").await;
    let stores = &app.running.app.stores;
    stores.takeover.set_paused(true).await.unwrap();
    let paused = app
        .post_signed(&text_event("5551010", "m_paused", "Γεια"))
        .await;
    assert_eq!(paused.status(), 200);
    stores.takeover.set_paused(false).await.unwrap();
    // Another app owns this thread: Meta delivers its messages under "standby".
    let standby =
        text_event("5551011", "m_standby", "Καλησπέρα").replace("\"messaging\"", "\"standby\"");
    assert_eq!(app.post_signed(&standby).await.status(), 200);

    assert_eq!(
        stores.inbox.next_due().await.unwrap(),
        None,
        "nothing queued"
    );
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert!(app.sent().await.is_empty());
    assert!(app.model.received_requests().await.unwrap().is_empty());
    for (id, text) in [("5551010", "Γεια"), ("5551011", "Καλησπέρα")] {
        let conversation = inkdesk_domain::ConversationId::parse(id).unwrap();
        let log = stores.log.recent(&conversation, 10).await.unwrap();
        assert_eq!(log.len(), 1, "{id} recorded for the people");
        assert_eq!(log[0].text, text);
    }
}
