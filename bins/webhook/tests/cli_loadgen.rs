//! `inkdesk-loadgen --slow-ms`: every request slower than the limit is listed on standard
//! error with the time it was due, and none faster.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Duration;

use wiremock::matchers::{header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Runs the load generator for one second at 20 req/s against `url`; (stdout, stderr).
fn loadgen(url: &str, slow_ms: u64) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_inkdesk-loadgen"))
        .args([
            "--url",
            url,
            "--secret",
            "s",
            "--rate",
            "20",
            "--seconds",
            "1",
        ])
        .args(["--concurrency", "2", "--slow-ms", &slow_ms.to_string()])
        .output()
        .expect("inkdesk-loadgen runs");
    assert!(out.status.success(), "{out:?}");
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The `ok=` count of the summary line.
fn ok(summary: &str) -> usize {
    summary
        .split_whitespace()
        .find_map(|f| f.strip_prefix("ok="))
        .and_then(|n| n.parse().ok())
        .expect("a summary with ok=")
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_requests_are_listed_with_the_time_they_were_due() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/webhook"))
        .and(header_exists("x-hub-signature-256"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(40)))
        .mount(&server)
        .await;
    let url = format!("{}/webhook", server.uri());
    let before = chrono::Utc::now();

    let (summary, slow) = tokio::task::spawn_blocking({
        let url = url.clone();
        move || loadgen(&url, 20)
    })
    .await
    .unwrap();
    let sent = ok(&summary);
    assert!(sent >= 10, "{summary}");
    let lines: Vec<&str> = slow.lines().filter(|l| l.starts_with("slow ")).collect();
    // Every answer took 40 ms, so every request is over 20 ms and listed once.
    assert_eq!(lines.len(), sent, "{slow}");
    for line in &lines {
        let mut fields = line.split_whitespace().skip(1);
        let due = fields.next().unwrap();
        let took: f64 = fields
            .next()
            .and_then(|t| t.strip_suffix("ms"))
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("{line}"));
        assert!(took >= 40.0, "{line}");
        let due = chrono::NaiveTime::parse_from_str(due, "%H:%M:%S%.f").unwrap();
        let early = (before - chrono::Duration::seconds(1)).time();
        let late = (chrono::Utc::now() + chrono::Duration::seconds(1)).time();
        // (A run across midnight UTC would wrap; one second of sending makes that rare
        // enough to accept rather than special-case.)
        assert!(due >= early && due <= late, "{line} not within the run");
    }

    // With a limit above every latency nothing is listed.
    let (summary, slow) = tokio::task::spawn_blocking(move || loadgen(&url, 5_000))
        .await
        .unwrap();
    assert!(ok(&summary) >= 10, "{summary}");
    assert!(!slow.lines().any(|l| l.starts_with("slow ")), "{slow}");
}
