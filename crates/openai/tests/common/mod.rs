//! Shared set-up for the wiremock contract tests.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use inkdesk_domain::ManualClock;
use inkdesk_openai::{OpenAiClient, OpenAiConfig, RetryPolicy, SecretString};
use serde_json::Value;
use wiremock::matchers::{header, method, path};
use wiremock::{MockBuilder, MockServer, ResponseTemplate};

pub const API_KEY: &str = "sk-test-inkdesk-0123456789";

/// A fixture body as JSON.
pub fn fixture(name: &str) -> Value {
    let file: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures", name]
        .iter()
        .collect();
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// 200 with a fixture body.
pub fn ok(name: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(fixture(name))
}

/// A config aimed at the mock server, with quick back-off so tests stay fast.
pub fn config(server: &MockServer) -> OpenAiConfig {
    OpenAiConfig {
        base_url: format!("{}/v1", server.uri()),
        api_key: Some(SecretString::from(API_KEY)),
        organization: Some("org-inkdesk".to_owned()),
        project: Some("proj_studio".to_owned()),
        request_timeout: Duration::from_secs(5),
        deadline: Duration::from_secs(20),
        retry: RetryPolicy {
            max_retries: 3,
            min_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(40),
            jitter: true,
        },
        ..OpenAiConfig::default()
    }
}

/// A manual clock starting at a fixed instant.
pub fn clock() -> ManualClock {
    ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap())
}

/// A client for `config` on a manual clock.
pub fn client_with(config: OpenAiConfig, clock: &ManualClock) -> OpenAiClient {
    OpenAiClient::with_clock(config, Arc::new(clock.clone())).unwrap()
}

/// A POST to the chat completions endpoint carrying our auth and project headers.
pub fn chat_post() -> MockBuilder {
    wiremock::Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header(
            "authorization",
            format!("Bearer {API_KEY}").as_str(),
        ))
        .and(header("content-type", "application/json"))
}
