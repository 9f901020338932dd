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
        "pass_thread_control":{"new_owner_app_id":"123","metadata":"m"}}]}]})
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

/// The embedded store's promise: a message the webhook acknowledged is in the file for
/// the next process, even when this one is killed with SIGKILL right after answering
/// (`synchronous=NORMAL`: the commit is in the OS page cache before the 200).
#[tokio::test]
async fn acknowledged_messages_survive_kill_9_of_the_process() {
    kill_9_after_acknowledging(400, false).await;
}

/// The same promise when no commit can happen at all: another connection holds the
/// database's write lock (as the WAL restart does, for longer) while the messages come
/// in and when the process is killed. Every webhook is still answered 200 at once, from
/// the intake spool, and the next process records every one of them.
#[tokio::test]
async fn messages_acknowledged_from_the_intake_spool_survive_kill_9() {
    kill_9_after_acknowledging(200, true).await;
}

/// Sends `messages` signed webhooks from 20 senders to `inkdesk serve` on the embedded
/// store, SIGKILLs it right after the last answer, and checks that the next opening of
/// the file has every message. With `lock_held`, the test holds the database's write
/// lock from before the first message until after the kill.
async fn kill_9_after_acknowledging(messages: usize, lock_held: bool) {
    use std::collections::HashSet;
    use std::process::{Command, Stdio};
    use std::sync::Arc;

    use futures::StreamExt;
    use inkdesk_domain::{ConversationId, SystemClock};
    use inkdesk_messaging::signature::SIGNATURE_HEADER;
    use inkdesk_messaging::signature_header;
    use inkdesk_store::{StoreOptions, Stores};
    use secrecy::SecretString;

    use crate::support::APP_SECRET;

    const SENDERS: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_inkdesk"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORT", port.to_string())
        .env("IG_APP_SECRET", APP_SECRET)
        .env("IG_ACCOUNT_ID", ACCOUNT)
        .env("INKDESK_DATA_DIR", dir.path())
        // Without the lock, every answer waits for its commit (`0`), so this checks the
        // commit's own durability; with it, the spool's (the default wait).
        .env("INKDESK_INTAKE_ACK_MS", if lock_held { "2" } else { "0" })
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..1_000 {
        if let Ok(r) = client.get(format!("{base}/health")).send().await {
            up = r.status().is_success();
            if up {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(up, "inkdesk serve did not come up");
    let lock = lock_held.then(|| {
        let other = rusqlite::Connection::open(dir.path().join("store.sqlite3")).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        other
    });
    let started = std::time::Instant::now();
    let sender = |i: usize| format!("{}", 17_841_400_000_500_000u64 + (i % SENDERS) as u64);
    let secret = SecretString::from(APP_SECRET);
    let statuses: Vec<u16> = futures::stream::iter(0..messages)
        .map(|i| {
            let body = text_event(&sender(i), &format!("kill-{i}"), "Γεια σας, τιμή;");
            let signature = signature_header(&secret, body.as_bytes()).unwrap();
            let request = client
                .post(format!("{base}/webhook"))
                .header("content-type", "application/json")
                .header(SIGNATURE_HEADER, signature)
                .body(body);
            async move { request.send().await.map_or(0, |r| r.status().as_u16()) }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    // SIGKILL right after the last answer: no shutdown, no final checkpoint.
    let answered_in = started.elapsed();
    server.kill().unwrap();
    server.wait().unwrap();
    drop(lock);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    if lock_held {
        // Nothing could commit: every answer came from the spool, none waited for the
        // lock (SQLite's busy wait alone is 5 s).
        assert!(answered_in < Duration::from_secs(4), "{answered_in:?}");
        let spool = std::fs::metadata(dir.path().join("store.sqlite3-intake")).unwrap();
        assert!(spool.len() > 0);
    }

    let stores = Stores::sqlite(
        dir.path().join("store.sqlite3"),
        Arc::new(SystemClock),
        StoreOptions::default(),
    )
    .await
    .unwrap();
    let mut kept = HashSet::new();
    for s in 0..SENDERS {
        let conversation = ConversationId::parse(sender(s)).unwrap();
        for turn in stores.log.recent(&conversation, messages).await.unwrap() {
            kept.extend(turn.message_id);
        }
    }
    assert_eq!(
        kept.len(),
        messages,
        "every acknowledged message is in the file"
    );
}
