//! Contract tests of `GraphProfiles` (the Instagram User Profile API) against wiremock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use inkdesk_domain::ConversationId;
use inkdesk_messaging::{GraphConfig, GraphProfiles, ProfileError, ProfileLookup, UserProfile};
use secrecy::SecretString;
use serde_json::Value;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "IGQWRtest-token";

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn profiles(server: &MockServer, timeout: Duration) -> GraphProfiles {
    let config = GraphConfig::instagram_login(SecretString::from(TOKEN.to_owned()))
        .base_url(server.uri())
        .request_timeout(timeout);
    GraphProfiles::new(&config).unwrap()
}

fn customer(id: &str) -> ConversationId {
    ConversationId::parse(id).unwrap()
}

#[tokio::test]
async fn a_profile_is_read_with_the_token_and_two_fields() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v23.0/5723000000000001"))
        .and(query_param("fields", "name,username"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("graph_user_profile.json")))
        .expect(1)
        .mount(&server)
        .await;
    let profile = profiles(&server, Duration::from_secs(5))
        .profile(&customer("5723000000000001"))
        .await
        .unwrap();
    assert_eq!(
        profile,
        UserProfile {
            name: Some("Μαρία Καραγιάννη".into()),
            username: Some("maria.ink.lover".into()),
        }
    );
}

#[tokio::test]
async fn a_null_name_is_no_name() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v23.0/5723000000000002"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("graph_user_profile_no_name.json")),
        )
        .mount(&server)
        .await;
    let profile = profiles(&server, Duration::from_secs(5))
        .profile(&customer("5723000000000002"))
        .await
        .unwrap();
    assert_eq!(profile.name, None);
    assert_eq!(profile.label().unwrap(), "@nameless_one");
}

#[tokio::test]
async fn failures_are_classified_and_tried_once() {
    let server = MockServer::start().await;
    let cases = [
        (
            "5723000000000011",
            400,
            fixture("graph_error_no_consent.json"),
        ),
        ("5723000000000012", 401, fixture("graph_error_token.json")),
        (
            "5723000000000013",
            500,
            fixture("graph_error_transient.json"),
        ),
    ];
    for (id, status, body) in &cases {
        Mock::given(method("GET"))
            .and(path(format!("/v23.0/{id}")))
            .respond_with(ResponseTemplate::new(*status).set_body_json(body))
            .expect(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/v23.0/5723000000000014"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>not json</html>"))
        .mount(&server)
        .await;
    let lookup = profiles(&server, Duration::from_secs(5));
    assert!(matches!(
        lookup.profile(&customer("5723000000000011")).await,
        Err(ProfileError::Refused(_))
    ));
    assert!(matches!(
        lookup.profile(&customer("5723000000000012")).await,
        Err(ProfileError::TokenInvalid(_))
    ));
    assert!(matches!(
        lookup.profile(&customer("5723000000000013")).await,
        Err(ProfileError::Unavailable(_))
    ));
    assert!(matches!(
        lookup.profile(&customer("5723000000000014")).await,
        Err(ProfileError::Unavailable(_))
    ));
}

#[tokio::test]
async fn a_slow_answer_times_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture("graph_user_profile.json"))
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let started = Instant::now();
    let result = profiles(&server, Duration::from_millis(300))
        .profile(&customer("5723000000000001"))
        .await;
    assert!(matches!(result, Err(ProfileError::Unavailable(_))));
    assert!(started.elapsed() < Duration::from_secs(3));
}
