//! Cost you can see: a turn's tokens (from the model's `usage` object) and its estimated
//! cost at list prices reach `/metrics` (this replica's counters) and the console's status
//! and conversation pages (the store's totals, which a restarted process still shows).

use std::time::Duration;

use inkdesk_webhook::app::StoreChoice;
use serde_json::Value;

use crate::admin::{client, login_at};
use crate::support::{
    ADMIN_TOKEN, Options, TestApp, graph_accepts_sends, model_replies, spawn_with, text_event,
};

const WAIT: Duration = Duration::from_secs(10);
/// The scripted reply's usage (`send_reply_completion`): 3,600 prompt tokens of which
/// 3,456 cached, 40 completion, answered by `gpt-4o-2024-08-06` (priced as `gpt-4o`):
/// 144 × 2.50 + 3,456 × 1.25 + 40 × 10.00 per million = 0.00508 $.
const MODEL: &str = "gpt-4o-2024-08-06";
const COST: &str = "0.005080";

async fn metrics(app: &TestApp) -> String {
    client()
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn api(app: &TestApp, path: &str) -> Value {
    client()
        .get(app.url(&format!("/admin/api{path}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn page(app: &TestApp, path: &str) -> String {
    let session = login_at(&app.url("")).await;
    client()
        .get(app.url(path))
        .header("cookie", format!("inkdesk_admin={session}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Waits until the store's totals for today show `calls` calls (written beside the turn).
async fn wait_for_calls(app: &TestApp, calls: u64) -> Value {
    let until = tokio::time::Instant::now() + WAIT;
    loop {
        let status = api(app, "/status").await;
        if status["usage_today"]["calls"].as_u64() == Some(calls)
            || tokio::time::Instant::now() > until
        {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn start(file: &std::path::Path) -> TestApp {
    let options = Options {
        store: StoreChoice::Sqlite(file.to_owned()),
        ..Options::default()
    };
    spawn_with(options, None, None).await
}

#[tokio::test]
async fn tokens_and_cost_reach_metrics_and_the_console_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("store.sqlite3");
    let app = start(&file).await;
    graph_accepts_sends(&app.graph).await;
    model_replies(&app.model, "Γεια σας! ❤️🐼").await;
    app.post_signed(&text_event("5554001", "m_cost_1", "Γεια σας"))
        .await;
    app.wait_for_sends(1, WAIT).await;

    let status = wait_for_calls(&app, 1).await;
    let today = &status["usage_today"];
    assert_eq!(today["cost_usd"], COST, "{status}");
    let row = &today["models"][0];
    assert_eq!(row["model"], MODEL, "{status}");
    assert_eq!(row["prompt_tokens"], 3600);
    assert_eq!(row["cached_tokens"], 3456);
    assert_eq!(row["completion_tokens"], 40);

    // This replica's Prometheus counters, by model and kind.
    let text = metrics(&app).await;
    for line in [
        format!("inkdesk_model_tokens_total{{model=\"{MODEL}\",kind=\"prompt\"}} 3600"),
        format!("inkdesk_model_tokens_total{{model=\"{MODEL}\",kind=\"cached\"}} 3456"),
        format!("inkdesk_model_tokens_total{{model=\"{MODEL}\",kind=\"completion\"}} 40"),
        format!("inkdesk_model_cost_usd_total{{model=\"{MODEL}\"}} 0.00508"),
    ] {
        assert!(text.contains(&line), "{line} missing in\n{text}");
    }

    // The console: today on the status page, the conversation's own on its page.
    let html = page(&app, "/admin/status").await;
    assert!(html.contains("usage-today"), "{html}");
    assert!(
        html.contains(MODEL) && html.contains(&format!("${COST}")),
        "{html}"
    );
    let conversation = api(&app, "/conversations/5554001").await;
    assert_eq!(conversation["usage"]["cost_usd"], COST, "{conversation}");
    assert_eq!(conversation["usage"]["models"][0]["calls"], 1);
    let html = page(&app, "/admin/c/5554001").await;
    assert!(
        html.contains("usage-conversation") && html.contains(&format!("${COST}")),
        "{html}"
    );

    // A second conversation adds to the day, not to the first conversation.
    app.post_signed(&text_event("5554002", "m_cost_2", "Καλησπέρα"))
        .await;
    app.wait_for_sends(2, WAIT).await;
    let status = wait_for_calls(&app, 2).await;
    assert_eq!(status["usage_today"]["cost_usd"], "0.010160", "{status}");
    let first = api(&app, "/conversations/5554001").await;
    assert_eq!(first["usage"]["calls"], 1, "{first}");

    // A restart: the process's counters start again, the store's totals do not.
    let TestApp { running, .. } = app;
    running.stop().await;
    let again = start(&file).await;
    let status = api(&again, "/status").await;
    assert_eq!(status["usage_today"]["cost_usd"], "0.010160", "{status}");
    assert_eq!(status["usage_today"]["models"][0]["prompt_tokens"], 7200);
    let text = metrics(&again).await;
    assert!(!text.contains(&format!("model=\"{MODEL}\"")), "{text}");
}
