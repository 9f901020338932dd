//! Inbox throughput and latency per adapter: push, then claim + ack everything.
//!
//! `cargo run --release -p inkdesk-store --example bench_inbox -- [memory|sqlite|redis|all] [pushes]`
//!
//! Redis: uses `REDIS_URL`, else starts a `redis-server` on a free port for the run.
//! Pushes run from `BENCH_TASKS` (default 64) concurrent tasks (each push is one script call, one round trip).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use inkdesk_domain::{ConversationId, SystemClock};
use inkdesk_store::{PendingMessage, RedisConfig, StoreOptions, Stores};

const CONVERSATIONS: usize = 1000;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Concurrent pushing tasks (`BENCH_TASKS`, default 64).
fn tasks() -> usize {
    std::env::var("BENCH_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn report(adapter: &str, what: &str, count: usize, elapsed: Duration, mut lat: Vec<Duration>) {
    lat.sort();
    println!(
        "{adapter:>7} {what:<12} {count:>7} ops  {:>9.0} ops/s  p50 {:>8.1?}  p99 {:>8.1?}",
        count as f64 / elapsed.as_secs_f64(),
        percentile(&lat, 0.50),
        percentile(&lat, 0.99),
    );
}

async fn run(adapter: &str, stores: Stores, pushes: usize) {
    let tasks_n = tasks();
    let convs: Arc<Vec<ConversationId>> = Arc::new(
        (0..CONVERSATIONS)
            .map(|i| ConversationId::parse(format!("bench{i}")).unwrap())
            .collect(),
    );
    let payload = serde_json::json!({ "text": "hola, quiero un tatuaje pequeño en el brazo", "attachments": [] });

    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..tasks_n {
        let inbox = stores.inbox.clone();
        let convs = convs.clone();
        let payload = payload.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = t;
            while i < pushes {
                let msg = PendingMessage {
                    message_id: format!("m{i}"),
                    received_at: chrono::Utc::now(),
                    payload: payload.clone(),
                };
                let at = Instant::now();
                inbox
                    .push(&convs[i % CONVERSATIONS], msg, Duration::ZERO)
                    .await
                    .unwrap();
                lat.push(at.elapsed());
                i += tasks_n;
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for task in tasks {
        lat.extend(task.await.unwrap());
    }
    report(adapter, "push", pushes, started.elapsed(), lat);

    // Claim in batches of 50 and ack each conversation: the worker loop.
    let started = Instant::now();
    let (mut claim_lat, mut ack_lat, mut conversations, mut messages) =
        (Vec::new(), Vec::new(), 0, 0);
    loop {
        let at = Instant::now();
        let claims = stores
            .inbox
            .claim_due(50, Duration::from_secs(60))
            .await
            .unwrap();
        claim_lat.push(at.elapsed());
        if claims.is_empty() {
            break;
        }
        for claim in claims {
            let handled: Vec<String> = claim
                .messages
                .iter()
                .map(|m| m.message_id.clone())
                .collect();
            messages += handled.len();
            conversations += 1;
            let at = Instant::now();
            stores.inbox.ack(&claim, &handled).await.unwrap();
            ack_lat.push(at.elapsed());
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(messages, pushes, "every pushed message claimed once");
    report(adapter, "claim(50)", claim_lat.len(), elapsed, claim_lat);
    report(adapter, "ack", conversations, elapsed, ack_lat);
    println!(
        "{adapter:>7} claim+ack drained {conversations} conversations / {messages} messages in {elapsed:.2?}"
    );
}

async fn redis_stores(options: StoreOptions) -> (Stores, Option<Server>) {
    let (url, server) = match std::env::var("REDIS_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let child = Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .stdout(Stdio::null())
                .spawn()
                .expect("redis-server");
            (format!("redis://127.0.0.1:{port}"), Some(Server(child)))
        }
    };
    let config = RedisConfig {
        pool_size: 16,
        ..RedisConfig::from_url(&url)
    };
    for _ in 0..200 {
        if let Ok(stores) = Stores::redis(config.clone(), options.clone()).await {
            return (stores, server);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("redis at {url} did not answer");
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let which = args.get(1).map_or("all", String::as_str).to_owned();
    let pushes: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let options = StoreOptions {
        key_prefix: format!("bench:{}", std::process::id()),
        ..StoreOptions::default()
    };
    if matches!(which.as_str(), "memory" | "all") {
        run(
            "memory",
            Stores::memory(Arc::new(SystemClock), options.clone()),
            pushes,
        )
        .await;
    }
    if matches!(which.as_str(), "sqlite" | "all") {
        let dir = tempfile::tempdir().unwrap();
        let stores = Stores::sqlite(
            dir.path().join("bench.db"),
            Arc::new(SystemClock),
            options.clone(),
        )
        .await
        .unwrap();
        run("sqlite", stores, pushes).await;
    }
    if matches!(which.as_str(), "redis" | "all") {
        let (stores, _server) = redis_stores(options).await;
        run("redis", stores, pushes).await;
    }
}
