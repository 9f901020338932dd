//! Building the Google adapter against a wiremock server, and the fixtures.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use inkdesk_calendar::google::RetryPolicy;
use inkdesk_calendar::testing::{at, suite_now, suite_profile};
use inkdesk_calendar::{Credentials, GoogleCalendar, GoogleConfig, Interval};
use inkdesk_domain::FixedClock;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const EVENTS: &str = "/calendars/studio@group.calendar.google.com/events";

pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

pub fn installed_app(server: &MockServer) -> Credentials {
    Credentials::from_token_json(&fixture_text("token.json"), None)
        .unwrap()
        .with_token_uri(format!("{}/token", server.uri()).parse().unwrap())
}

pub fn config(server: &MockServer) -> GoogleConfig {
    let mut config = GoogleConfig::new("studio@group.calendar.google.com")
        .with_api_base(server.uri().parse().unwrap());
    config.request_timeout = Duration::from_millis(500);
    config.retry = RetryPolicy {
        max_retries: 2,
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(2),
    };
    config
}

pub fn calendar_with(server: &MockServer, credentials: Credentials) -> GoogleCalendar {
    GoogleCalendar::new(
        config(server),
        credentials,
        Arc::new(suite_profile()),
        Arc::new(FixedClock(suite_now())),
    )
    .unwrap()
}

/// The adapter with the artist suite's profile.
pub fn artist_calendar(server: &MockServer) -> GoogleCalendar {
    GoogleCalendar::new(
        config(server),
        installed_app(server),
        Arc::new(inkdesk_calendar::testing::artist_suite_profile()),
        Arc::new(FixedClock(suite_now())),
    )
    .unwrap()
}

pub fn calendar(server: &MockServer) -> GoogleCalendar {
    calendar_with(server, installed_app(server))
}

pub async fn mount_token(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("token_reply.json")))
        .mount(server)
        .await;
}

pub fn empty_page() -> Value {
    json!({"kind": "calendar#events", "items": []})
}

pub fn december(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
}

pub fn week() -> Interval {
    Interval::new(at(december(1), 0, 0), at(december(7), 0, 0))
}
