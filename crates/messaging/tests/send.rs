//! Contract tests of `GraphMessenger` against a wiremock Graph API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use inkdesk_domain::ConversationId;
use inkdesk_messaging::outbound::RetryPolicy;
use inkdesk_messaging::{
    GraphConfig, GraphMessenger, Messenger, SendError, SendOptions, SentMessageId, split_message,
};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const CUSTOMER: &str = "5723000000000001";
const TOKEN: &str = "IGQWRtest-token";

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 2,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(20),
    }
}

fn ig_messenger(server: &MockServer) -> GraphMessenger {
    let config = GraphConfig::instagram_login(SecretString::from(TOKEN.to_owned()))
        .base_url(server.uri())
        .retry(fast_retry())
        .request_timeout(Duration::from_secs(5));
    GraphMessenger::new(config).unwrap()
}

fn customer() -> ConversationId {
    ConversationId::parse(CUSTOMER).unwrap()
}

/// Answers each request with a fresh message id: `mid.1`, `mid.2`, …
struct CountingIds(AtomicUsize);

impl Respond for CountingIds {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(200)
            .set_body_json(json!({"recipient_id": CUSTOMER, "message_id": format!("mid.{n}")}))
    }
}

fn sent_texts(requests: &[Request]) -> Vec<String> {
    requests
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            body["message"]["text"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn instagram_login_mode_posts_the_documented_json_with_a_bearer_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v23.0/me/messages"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("content-type", "application/json"))
        .and(body_json(
            json!({"recipient": {"id": CUSTOMER}, "message": {"text": "Γεια σας!"}}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("graph_send_ok.json")))
        .expect(1)
        .mount(&server)
        .await;

    let ids = ig_messenger(&server)
        .send_text(&customer(), "Γεια σας!", SendOptions::default())
        .await
        .unwrap();
    assert_eq!(
        ids,
        vec![SentMessageId::new(
            "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDAx"
        )]
    );
}

#[tokio::test]
async fn page_mode_posts_to_the_page_node_with_the_configured_version() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v21.0/104000000000001/messages"))
        .and(header("authorization", "Bearer page-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("graph_send_ok.json")))
        .expect(1)
        .mount(&server)
        .await;
    let config = GraphConfig::page(
        "104000000000001",
        SecretString::from("page-token".to_owned()),
    )
    .base_url(format!("{}/", server.uri()))
    .api_version("v21.0")
    .retry(fast_retry());
    let ids = GraphMessenger::new(config)
        .unwrap()
        .send_text(&customer(), "hi", SendOptions::default())
        .await
        .unwrap();
    assert_eq!(ids.len(), 1);
}

#[tokio::test]
async fn staff_replies_carry_the_human_agent_tag() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v23.0/me/messages"))
        .and(body_json(json!({
            "recipient": {"id": CUSTOMER},
            "messaging_type": "MESSAGE_TAG",
            "tag": "HUMAN_AGENT",
            "message": {"text": "Καλησπέρα, εδώ η Μαρία από το στούντιο."}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("graph_send_ok.json")))
        .expect(1)
        .mount(&server)
        .await;
    ig_messenger(&server)
        .send_text(
            &customer(),
            "Καλησπέρα, εδώ η Μαρία από το στούντιο.",
            SendOptions::human_agent(),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn long_replies_are_sent_as_ordered_chunks_and_every_id_is_returned() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v23.0/me/messages"))
        .respond_with(CountingIds(AtomicUsize::new(0)))
        .mount(&server)
        .await;
    let paragraph = "Το τατουάζ 10 εκατοστών κοστίζει περίπου 150 ευρώ. ".repeat(12);
    let text = format!("{paragraph}\n\n{paragraph}\n\nΕυχαριστούμε! ❤️🐼");
    let ids = ig_messenger(&server)
        .send_text(&customer(), &text, SendOptions::default())
        .await
        .unwrap();

    let expected = split_message(&text, 1000);
    assert!(expected.len() >= 3);
    let requests = server.received_requests().await.unwrap();
    let texts = sent_texts(&requests);
    assert_eq!(texts, expected);
    assert!(texts.iter().all(|t| t.len() <= 1000));
    let want: Vec<SentMessageId> = (1..=expected.len())
        .map(|n| SentMessageId::new(format!("mid.{n}")))
        .collect();
    assert_eq!(ids, want);
}

#[tokio::test]
async fn a_500_is_retried_and_the_following_200_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("oops"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("graph_send_ok.json")))
        .mount(&server)
        .await;
    let ids = ig_messenger(&server)
        .send_text(&customer(), "hi", SendOptions::default())
        .await
        .unwrap();
    assert_eq!(ids.len(), 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn persistent_5xx_gives_up_after_the_retry_budget_as_unavailable() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .expect(3) // first attempt + max_retries (2)
        .mount(&server)
        .await;
    let failure = ig_messenger(&server)
        .send_text(&customer(), "hi", SendOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(failure.error, SendError::Unavailable(_)),
        "{failure:?}"
    );
    assert!(failure.error.is_retryable());
}

#[tokio::test]
async fn a_400_with_a_graph_error_body_is_rejected_without_retry() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(fixture("graph_error_bad_param.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let failure = ig_messenger(&server)
        .send_text(&customer(), "hi", SendOptions::default())
        .await
        .unwrap_err();
    let SendError::Rejected(detail) = &failure.error else {
        panic!("{failure:?}")
    };
    assert_eq!(detail.status, 400);
    assert_eq!(detail.code, Some(100));
    assert_eq!(detail.fbtrace_id.as_deref(), Some("DeFgHiJkLmN"));
    assert!(!failure.error.is_retryable());
}

#[tokio::test]
async fn token_window_and_recipient_errors_are_typed_and_not_retried() {
    let cases = [
        ("graph_error_token.json", "token"),
        ("graph_error_window.json", "window"),
        ("graph_error_unavailable.json", "recipient"),
    ];
    for (file, want) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(400).set_body_json(fixture(file)))
            .expect(1)
            .mount(&server)
            .await;
        let failure = ig_messenger(&server)
            .send_text(&customer(), "hi", SendOptions::default())
            .await
            .unwrap_err();
        let got = match failure.error {
            SendError::TokenInvalid(_) => "token",
            SendError::WindowClosed(_) => "window",
            SendError::RecipientUnavailable(_) => "recipient",
            ref other => panic!("{file}: {other:?}"),
        };
        assert_eq!(got, want, "{file}");
    }
}

#[tokio::test]
async fn a_429_honours_retry_after_within_the_cap_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "30"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("graph_send_ok.json")))
        .mount(&server)
        .await;
    let started = Instant::now();
    ig_messenger(&server)
        .send_text(&customer(), "hi", SendOptions::default())
        .await
        .unwrap();
    // Retry-After 30 s is capped by max_delay (20 ms in this policy).
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn persistent_rate_limiting_reports_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "7"))
        .expect(3)
        .mount(&server)
        .await;
    let failure = ig_messenger(&server)
        .send_text(&customer(), "hi", SendOptions::default())
        .await
        .unwrap_err();
    let SendError::RateLimited { retry_after, .. } = failure.error else {
        panic!("{failure:?}")
    };
    assert_eq!(retry_after, Some(Duration::from_secs(7)));
}

#[tokio::test]
async fn a_slow_server_times_out_and_counts_as_unavailable() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture("graph_send_ok.json"))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let config = GraphConfig::instagram_login(SecretString::from(TOKEN.to_owned()))
        .base_url(server.uri())
        .retry(RetryPolicy {
            max_retries: 1,
            ..fast_retry()
        })
        .request_timeout(Duration::from_millis(150));
    let started = Instant::now();
    let failure = GraphMessenger::new(config)
        .unwrap()
        .send_text(&customer(), "hi", SendOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(failure.error, SendError::Unavailable(_)),
        "{failure:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_failure_mid_message_reports_the_chunks_already_delivered() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(CountingIds(AtomicUsize::new(0)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(fixture("graph_error_window.json")))
        .mount(&server)
        .await;
    let text = format!("{}\n\n{}", "α".repeat(400), "β".repeat(400));
    let failure = ig_messenger(&server)
        .send_text(&customer(), &text, SendOptions::default())
        .await
        .unwrap_err();
    assert_eq!(failure.delivered, vec![SentMessageId::new("mid.1")]);
    assert!(matches!(failure.error, SendError::WindowClosed(_)));
}

#[tokio::test]
async fn empty_text_sends_nothing_and_a_2xx_without_id_is_an_invalid_response() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"recipient_id": CUSTOMER})))
        .expect(1)
        .mount(&server)
        .await;
    let m = ig_messenger(&server);
    let empty = m
        .send_text(&customer(), " \n ", SendOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(empty.error, SendError::EmptyText));
    let invalid = m
        .send_text(&customer(), "hi", SendOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(invalid.error, SendError::InvalidResponse(_)),
        "{invalid:?}"
    );
}

#[tokio::test]
async fn an_oversized_answer_is_an_invalid_response_and_never_resent() {
    let server = MockServer::start().await;
    let mut huge = json!({"recipient_id": CUSTOMER, "message_id": "mid.1"}).to_string();
    huge.push_str(&" ".repeat(1024 * 1024));
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(huge, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let failure = ig_messenger(&server)
        .send_text(&customer(), "hi", SendOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&failure.error, SendError::InvalidResponse(why) if why.contains("larger than")),
        "{failure:?}"
    );
}

#[test]
fn the_token_never_appears_in_debug_output() {
    let config = GraphConfig::instagram_login(SecretString::from(TOKEN.to_owned()));
    assert!(!format!("{config:?}").contains(TOKEN));
    let messenger = GraphMessenger::new(config).unwrap();
    assert!(!format!("{messenger:?}").contains(TOKEN));
}

#[test]
fn unusable_configuration_is_refused() {
    let token = || SecretString::from(TOKEN.to_owned());
    assert!(GraphMessenger::new(GraphConfig::page("104/../x", token())).is_err());
    assert!(
        GraphMessenger::new(GraphConfig::instagram_login(token()).base_url("ftp://x")).is_err()
    );
    assert!(
        GraphMessenger::new(GraphConfig::instagram_login(token()).api_version("v1/../")).is_err()
    );
    let url = GraphConfig::instagram_login(token()).send_url().unwrap();
    assert_eq!(
        url.as_str(),
        "https://graph.instagram.com/v23.0/me/messages"
    );
    let url = GraphConfig::page("104000000000001", token())
        .send_url()
        .unwrap();
    assert_eq!(
        url.as_str(),
        "https://graph.facebook.com/v23.0/104000000000001/messages"
    );
}
