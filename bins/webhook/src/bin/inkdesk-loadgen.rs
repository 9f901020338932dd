//! `inkdesk-loadgen`: sends signed Instagram webhook calls to an inkdesk server at a target
//! rate and reports throughput and acknowledgement latency.
//!
//! ```sh
//! inkdesk-loadgen --url http://127.0.0.1:3000/webhook --secret S --rate 1000 --seconds 10
//! inkdesk-loadgen --url … --secret S --rate 0 --concurrency 64   # as fast as possible
//! inkdesk-loadgen --secret S --write-bodies bodies.tsv --count 200000   # for wrk
//! inkdesk-loadgen --url … --secret S --slow-ms 5   # also each request over 5 ms, when
//! ```
//! Every request carries a fresh message id (so deduplication never short-cuts it) from one
//! of `--conversations` senders, signed with HMAC-SHA256 exactly as Meta signs.
//!
//! In the open loop (`--rate` > 0) each request has a scheduled send time. A request
//! whose connection was still waiting for the previous answer at that time counts its
//! latency from the scheduled time, not from when it finally left, so a server stall also
//! counts against the requests queued behind it (no coordinated omission). `--write-bodies` writes `signature<TAB>body` lines instead of sending, for
//! `scripts/webhook.lua` (wrk).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Load generator for the inkdesk webhook.
#[derive(Debug, Parser)]
#[command(name = "inkdesk-loadgen", version, about)]
struct Args {
    /// Webhook URL.
    #[arg(long, default_value = "http://127.0.0.1:3000/webhook")]
    url: String,
    /// App secret used to sign (the server's IG_APP_SECRET).
    #[arg(long, env = "IG_APP_SECRET")]
    secret: String,
    /// The studio's account id placed in each entry (the server's IG_ACCOUNT_ID).
    #[arg(long, default_value = "17841400000000000")]
    account_id: String,
    /// Target requests per second over all connections; 0 sends as fast as possible.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// How long to send, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 32)]
    concurrency: u64,
    /// Distinct senders the messages come from.
    #[arg(long, default_value_t = 500)]
    conversations: u64,
    /// Write `--count` signed bodies to this file (one `signature<TAB>body` per line)
    /// and exit, instead of sending.
    #[arg(long)]
    write_bodies: Option<std::path::PathBuf>,
    /// How many bodies `--write-bodies` writes.
    #[arg(long, default_value_t = 200_000)]
    count: u64,
    /// Also print, to standard error, every request slower than this many milliseconds:
    /// the wall-clock time it was due (UTC) and its latency, to line up with the server's
    /// log.
    #[arg(long)]
    slow_ms: Option<f64>,
}

/// Writes `count` signed bodies, unique message ids, cycling through the senders.
fn write_bodies(args: &Args, path: &std::path::Path) -> anyhow::Result<()> {
    use std::io::Write;
    let file = std::fs::File::create(path).with_context(|| format!("creating {path:?}"))?;
    let mut out = std::io::BufWriter::new(file);
    let at_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    for n in 0..args.count {
        let payload = body(&args.account_id, n % args.conversations, n, at_ms);
        let signature = sign(args.secret.as_bytes(), payload.as_bytes())?;
        writeln!(out, "{signature}\t{payload}")?;
    }
    out.flush()?;
    Ok(())
}

fn body(account_id: &str, sender: u64, seq: u64, at_ms: u128) -> String {
    format!(
        r#"{{"object":"instagram","entry":[{{"id":"{account_id}","time":{at_ms},"messaging":[{{"sender":{{"id":"9{sender:015}"}},"recipient":{{"id":"{account_id}"}},"timestamp":{at_ms},"message":{{"mid":"loadgen-{seq}-{at_ms}","text":"Γεια σας, πόσο κοστίζει ένα μικρό τατουάζ;"}}}}]}}]}}"#
    )
}

fn sign(secret: &[u8], body: &[u8]) -> anyhow::Result<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).context("invalid secret")?;
    mac.update(body);
    Ok(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)] as f64 / 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(path) = &args.write_bodies {
        return write_bodies(&args, path);
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency as usize)
        .timeout(Duration::from_secs(10))
        .build()?;
    let seq = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let args = Arc::new(args);
    let mut tasks = Vec::new();
    for worker in 0..args.concurrency {
        let (client, seq, errors, args) =
            (client.clone(), seq.clone(), errors.clone(), args.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies_us = Vec::new();
            // Open loop: each connection owns an equal share of the target rate.
            let period = (args.rate > 0)
                .then(|| Duration::from_secs_f64(args.concurrency as f64 / args.rate as f64));
            let mut next = Instant::now()
                + period.map_or(Duration::ZERO, |p| {
                    p.mul_f64(worker as f64 / args.concurrency as f64)
                });
            while Instant::now() < deadline {
                // Open loop: a request that is already late when its connection becomes
                // free counts from its scheduled time (see the module doc); one sent on
                // time counts from when it leaves, so the timer's own lateness (tokio's
                // timer has millisecond steps) is not blamed on the server.
                let mut scheduled = None;
                if let Some(period) = period {
                    if Instant::now() >= next {
                        scheduled = Some(next);
                    } else {
                        tokio::time::sleep_until(next.into()).await;
                    }
                    next += period;
                }
                let n = seq.fetch_add(1, Ordering::Relaxed);
                let now_ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis())
                    .unwrap_or_default();
                let payload = body(&args.account_id, n % args.conversations, n, now_ms);
                let Ok(signature) = sign(args.secret.as_bytes(), payload.as_bytes()) else {
                    errors.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                let sent = scheduled.unwrap_or_else(Instant::now);
                let result = client
                    .post(&args.url)
                    .header("content-type", "application/json")
                    .header("x-hub-signature-256", signature)
                    .body(payload)
                    .send()
                    .await;
                match result {
                    Ok(resp) if resp.status().is_success() => {
                        let took = sent.elapsed();
                        latencies_us.push(took.as_micros() as u64);
                        if args.slow_ms.is_some_and(|ms| took.as_secs_f64() * 1e3 > ms) {
                            let due = chrono::Utc::now()
                                - chrono::Duration::from_std(took).unwrap_or_default();
                            eprintln!(
                                "slow {} {:.2}ms",
                                due.format("%H:%M:%S%.6f"),
                                took.as_secs_f64() * 1e3
                            );
                        }
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            latencies_us
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    println!(
        "sent={} ok={} errors={} seconds={:.1} throughput={:.0} req/s p50={:.2}ms p90={:.2}ms p99={:.2}ms p99.9={:.2}ms max={:.2}ms",
        all.len() as u64 + errors.load(Ordering::Relaxed),
        all.len(),
        errors.load(Ordering::Relaxed),
        elapsed,
        all.len() as f64 / elapsed,
        percentile(&all, 50.0),
        percentile(&all, 90.0),
        percentile(&all, 99.0),
        percentile(&all, 99.9),
        percentile(&all, 100.0),
    );
    Ok(())
}
