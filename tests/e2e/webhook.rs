//! The webhook's answers to Meta: status codes for every kind of input.

use std::time::Duration;

use serde_json::json;

use crate::support::{ACCOUNT, graph_accepts_sends, model_replies, spawn_app, text_event};

#[tokio::test]
async fn verification_answers_the_challenge_only_with_the_right_token() {
    let app = spawn_app().await;
    let ok =
        app.client
            .get(app.url(
                "/webhook?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444",
            ))
            .send()
            .await
            .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    let bad = app
        .client
        .get(app.url("/webhook?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 403);
}

#[tokio::test]
async fn bad_signature_is_403_malformed_is_400_oversize_is_413() {
    let app = spawn_app().await;
    let body = text_event("5550001", "m_sig", "Γεια σας");
    let forged = app
        .client
        .post(app.url("/webhook"))
        .header("x-hub-signature-256", format!("sha256={}", "0".repeat(64)))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let unsigned = app
        .client
        .post(app.url("/webhook"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 403);
    assert_eq!(app.post_signed("{not json").await.status(), 400);
    let huge = format!(
        "{{\"object\":\"instagram\",\"pad\":\"{}\"}}",
        "x".repeat(2 * 1024 * 1024)
    );
    assert_eq!(app.post_signed(&huge).await.status(), 413);
    // Nothing was queued by any of them.
    assert_eq!(app.running.app.stores.inbox.next_due().await.unwrap(), None);
}

#[tokio::test]
async fn unknown_events_and_other_accounts_are_acknowledged_and_ignored() {
    let app = spawn_app().await;
    let unknown = json!({"object":"instagram","entry":[{"id": ACCOUNT, "time": 1,
        "messaging":[{"sender":{"id":"5550002"},"recipient":{"id": ACCOUNT},"timestamp":crate::support::now_ms(),
        "message_edit":{"mid":"m_e","text":"edited"}}]}]})
    .to_string();
    assert_eq!(app.post_signed(&unknown).await.status(), 200);
    let other = text_event("5550002", "m_other", "hi").replace(ACCOUNT, "17841499999999999");
    assert_eq!(app.post_signed(&other).await.status(), 200);
    assert_eq!(app.running.app.stores.inbox.next_due().await.unwrap(), None);
}

#[tokio::test]
async fn metrics_count_webhook_outcomes() {
    let app = spawn_app().await;
    graph_accepts_sends(&app.graph).await;
    model_replies(&app.model, "Καλημέρα! ❤️🐼").await;
    app.post_signed(&text_event("5550003", "m_metrics", "Γεια"))
        .await;
    app.post_signed("{oops").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("inkdesk_webhook_requests_total{label=\"ok\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("inkdesk_webhook_requests_total{label=\"malformed\"} 1"),
        "{text}"
    );
}
