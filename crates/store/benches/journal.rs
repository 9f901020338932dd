//! The turn journal's cost per turn on Redis and SQLite.
//!
//! A turn of the runner that books and answers in two chunks writes its journal five
//! times — opened (just before the booking), the booking's effect with its result, the
//! plan, one write per chunk sent (two) — and closes it with the ack (a turn without a
//! calendar change writes only the plan and the chunks: the journal is opened in memory
//! and written first with whatever needs it). This bench claims a conversation (not timed), then times
//! exactly those writes and the ack, turn by turn, and prints percentiles per turn and per
//! write. The journal body has the shape and size of the runner's (two ~700-byte Greek
//! chunks, a booking effect, the engine's record).
//!
//! Run: `cargo bench -p inkdesk-store --bench journal` (Redis: `REDIS_URL`, or a
//! `redis-server` on `PATH` started on a free port; skipped when neither).
//! `INKDESK_BENCH_TURNS` sets the number of turns (default 2000).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use inkdesk_domain::{ConversationId, SystemClock};
use inkdesk_store::testing::redis_server;
use inkdesk_store::{PendingMessage, RedisConfig, StoreOptions, Stores};
use serde_json::{Value, json};

/// The lease the bench claims under (long enough never to run out mid-turn).
const LEASE: Duration = Duration::from_secs(60);

fn chunk(n: usize) -> String {
    "Ευχαριστούμε για το μήνυμα, θα χαρούμε να σας δούμε! ".repeat(n)
}

/// The runner's journal at each step of a booking turn with a two-chunk reply.
fn journal_steps(turn: usize) -> Vec<Value> {
    let turn_id = format!("t-{turn:08}-5f0c2a");
    let handled = json!([
        format!("aWdfZAG1faWQ-in-{turn}-0"),
        format!("aWdfZAG1faWQ-in-{turn}-1")
    ]);
    let effect = json!([{"key": format!("book/{turn_id}/2026-06-02T08:00:00Z/60"),
        "result": {"status": "booked", "booking_id": "q1v7m0d9l2k3j4h5g6f7e8d9c0",
            "start": "2026-06-02T11:00:00+03:00", "end": "2026-06-02T12:00:00+03:00",
            "customer": "Γιάννης Παπαδόπουλος", "phone": "+306912345678", "price": "60"}}]);
    let record = json!({"turn": turn_id, "conversation": "17841400000000777",
        "intents": ["booking_confirmation"],
        "tools": [{"name": "book_appointment", "ok": true, "latency_ms": 14}],
        "model_calls": [
            {"model": "gpt-4o", "prompt_tokens": 3600, "cached_tokens": 3456, "completion_tokens": 30, "latency_ms": 1200},
            {"model": "gpt-4o", "prompt_tokens": 3700, "cached_tokens": 3456, "completion_tokens": 420, "latency_ms": 2300}],
        "rounds": 2, "outcome": "replied", "failure": null,
        "tone": {"examples": [["ex-12", 0.82], ["ex-40", 0.79], ["ex-7", 0.77]]},
        "latency": {"secs": 3, "nanos": 512000000}});
    let plan = |sent: [Option<String>; 2]| {
        json!({"chunks": [{"text": chunk(13), "sent": sent[0]}, {"text": chunk(12), "sent": sent[1]}],
            "handoff": null, "analyses": [], "asked_confirmation": false,
            "record": record, "label": "replied"})
    };
    let body = |effects: &Value, plan: Value, recorded: bool| {
        json!({"turn": turn_id, "handled": handled, "effects": effects, "plan": plan,
            "recorded": recorded, "notified": false})
    };
    let id = |k: usize| Some(format!("aWdfZAG1faWQ-out-{turn}-{k}"));
    vec![
        body(&json!([]), Value::Null, false),
        body(&effect, Value::Null, false),
        body(&effect, plan([None, None]), false),
        body(&effect, plan([id(0), None]), false),
        body(&effect, plan([id(0), id(1)]), false),
    ]
}

struct Timings {
    turns_us: Vec<u64>,
    writes_us: Vec<u64>,
    acks_us: Vec<u64>,
    bytes: usize,
}

async fn run(stores: &Stores, turns: usize) -> Timings {
    let mut timings = Timings {
        turns_us: Vec::with_capacity(turns),
        writes_us: Vec::with_capacity(turns * 5),
        acks_us: Vec::with_capacity(turns),
        bytes: 0,
    };
    for turn in 0..turns {
        let conversation = ConversationId::parse(format!("9{:015}", turn % 500)).unwrap();
        for k in 0..2 {
            let message = PendingMessage {
                message_id: format!("aWdfZAG1faWQ-in-{turn}-{k}"),
                received_at: Utc::now(),
                payload: json!({"text": "Κλείσε μου την Τρίτη στις 11"}),
            };
            stores
                .inbox
                .push(&conversation, message, Duration::ZERO)
                .await
                .unwrap();
        }
        let claim = loop {
            let mut claims = stores.inbox.claim_due(1, LEASE).await.unwrap();
            if let Some(claim) = claims.pop() {
                break claim;
            }
        };
        let steps = journal_steps(turn);
        timings.bytes = steps.last().map_or(0, |b| b.to_string().len());
        let handled: Vec<String> = claim
            .messages
            .iter()
            .map(|m| m.message_id.clone())
            .collect();
        let started = Instant::now();
        for body in steps {
            let write = Instant::now();
            stores.journal.write_journal(&claim, body).await.unwrap();
            timings.writes_us.push(write.elapsed().as_micros() as u64);
        }
        let ack = Instant::now();
        stores.inbox.ack(&claim, &handled).await.unwrap();
        timings.acks_us.push(ack.elapsed().as_micros() as u64);
        timings.turns_us.push(started.elapsed().as_micros() as u64);
        assert!(
            stores
                .journal
                .read_journal(&claim.conversation)
                .await
                .unwrap()
                .is_none(),
            "the ack did not close the journal"
        );
    }
    timings
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)] as f64 / 1000.0
}

fn report(label: &str, mut timings: Timings) {
    for (what, values) in [
        ("per turn (5 writes + ack)", &mut timings.turns_us),
        ("per journal write", &mut timings.writes_us),
        ("per ack (closes the journal)", &mut timings.acks_us),
    ] {
        values.sort_unstable();
        println!(
            "{label:<7} {what:<29} n={:<6} p50={:.3}ms p90={:.3}ms p99={:.3}ms max={:.3}ms",
            values.len(),
            percentile(values, 50.0),
            percentile(values, 90.0),
            percentile(values, 99.0),
            percentile(values, 100.0),
        );
    }
    println!(
        "{label:<7} journal body at the last write: {} bytes",
        timings.bytes
    );
}

fn main() {
    // `cargo test --benches` runs bench targets with `--bench` absent: stay quick there.
    let quick = !std::env::args().any(|a| a == "--bench");
    let turns = std::env::var("INKDESK_BENCH_TURNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 20 } else { 2000 });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // The tail is the machine's as much as the store's: say how busy it was.
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "{} turns per adapter; load average {} on {} cores",
        turns,
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = Stores::sqlite(
            dir.path().join("store.sqlite3"),
            Arc::new(SystemClock),
            StoreOptions::default(),
        )
        .await
        .unwrap();
        // Warm-up: connections, statement caches.
        run(&sqlite, turns.min(50)).await;
        report("sqlite", run(&sqlite, turns).await);

        let Some((url, _server)) = redis_server::server() else {
            println!("redis   skipped: no REDIS_URL and no redis-server");
            return;
        };
        let options = StoreOptions {
            key_prefix: format!("bench-journal-{}", std::process::id()),
            ..StoreOptions::default()
        };
        let redis = loop {
            // A fresh redis-server may need a moment.
            match Stores::redis(RedisConfig::from_url(url.clone()), options.clone()).await {
                Ok(stores) => break stores,
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        run(&redis, turns.min(50)).await;
        report("redis", run(&redis, turns).await);
    });
}
