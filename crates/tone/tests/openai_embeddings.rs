#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Contract tests of the OpenAI-compatible embeddings adapter against wiremock.

use std::time::{Duration, Instant};

use inkdesk_tone::{EmbedError, Embedder, OpenAiEmbedder, OpenAiEmbeddingsConfig, RetryPolicy};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{bearer_token, body_partial_json, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn embedder(server: &MockServer, timeout: Duration, max_retries: usize) -> OpenAiEmbedder {
    let mut config = OpenAiEmbeddingsConfig::new(
        format!("{}/v1", server.uri()).parse().unwrap(),
        Some(SecretString::from("sk-test")),
        "text-embedding-3-small",
    );
    config.timeout = timeout;
    config.retry = RetryPolicy {
        max_retries,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_secs(1),
    };
    OpenAiEmbedder::new(config).unwrap()
}

fn texts(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("text {i}")).collect()
}

/// Answers with one embedding `[i, 1]` per input `text i`, listed in reverse order.
struct ReversedEmbeddings;

impl Respond for ReversedEmbeddings {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let inputs = body["input"].as_array().unwrap();
        let data: Vec<Value> = inputs
            .iter()
            .enumerate()
            .rev()
            .map(|(index, text)| {
                let n: f32 = text.as_str().unwrap()[5..].parse().unwrap();
                json!({"object": "embedding", "index": index, "embedding": [n, 1.0]})
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "object": "list", "data": data, "model": body["model"],
            "usage": {"prompt_tokens": 1, "total_tokens": 1}
        }))
    }
}

#[tokio::test]
async fn request_follows_the_documented_shape_and_results_are_placed_by_index() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .and(bearer_token("sk-test"))
        .and(body_partial_json(json!({
            "model": "text-embedding-3-small",
            "input": ["πόσο κάνει;", "hello"],
            "encoding_format": "float"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("embeddings_response.json")))
        .expect(1)
        .mount(&server)
        .await;
    let vectors = embedder(&server, Duration::from_secs(5), 0)
        .embed(&["πόσο κάνει;".to_owned(), "hello".to_owned()])
        .await
        .unwrap();
    assert_eq!(vectors, vec![vec![0.6, 0.0, 0.8], vec![0.0, 1.0, 0.0]]);
}

#[tokio::test]
async fn inputs_129_go_in_two_calls_and_out_of_order_results_are_matched_by_index() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .respond_with(ReversedEmbeddings)
        .expect(2)
        .mount(&server)
        .await;
    let vectors = embedder(&server, Duration::from_secs(5), 0)
        .embed(&texts(129))
        .await
        .unwrap();
    assert_eq!(vectors.len(), 129);
    for (i, v) in vectors.iter().enumerate() {
        assert_eq!(v, &vec![i as f32, 1.0]);
    }
    let sizes: Vec<usize> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            body["input"].as_array().unwrap().len()
        })
        .collect();
    assert_eq!(sizes, vec![128, 1]);
}

#[tokio::test]
async fn rate_limit_waits_the_retry_after_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after-ms", "300"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ReversedEmbeddings)
        .mount(&server)
        .await;
    let started = Instant::now();
    let vectors = embedder(&server, Duration::from_secs(5), 2)
        .embed(&texts(1))
        .await
        .unwrap();
    assert_eq!(vectors, vec![vec![0.0, 1.0]]);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn persistent_rate_limit_is_reported_with_its_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .expect(3)
        .mount(&server)
        .await;
    let err = embedder(&server, Duration::from_secs(5), 2)
        .embed(&texts(1))
        .await
        .unwrap_err();
    assert!(
        matches!(err, EmbedError::RateLimited { retry_after: Some(d) } if d.is_zero()),
        "{err:?}"
    );
}

#[tokio::test]
async fn server_error_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ReversedEmbeddings)
        .mount(&server)
        .await;
    let vectors = embedder(&server, Duration::from_secs(5), 1)
        .embed(&texts(2))
        .await
        .unwrap();
    assert_eq!(vectors.len(), 2);
}

#[tokio::test]
async fn client_error_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": {"message": "bad model", "type": "invalid_request_error"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let err = embedder(&server, Duration::from_secs(5), 3)
        .embed(&texts(1))
        .await
        .unwrap_err();
    assert!(
        matches!(err, EmbedError::Rejected { status: 400 }),
        "{err:?}"
    );
}

#[tokio::test]
async fn slow_server_times_out_and_is_unavailable_after_retries() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(500)))
        .expect(2)
        .mount(&server)
        .await;
    let err = embedder(&server, Duration::from_millis(100), 1)
        .embed(&texts(1))
        .await
        .unwrap_err();
    assert!(matches!(err, EmbedError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn an_answer_over_the_cap_is_invalid_and_not_retried() {
    let server = MockServer::start().await;
    let mut body = json!({
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": [1.0, 0.0]}],
        "model": "m", "usage": {"prompt_tokens": 1, "total_tokens": 1}
    })
    .to_string();
    body.push_str(&" ".repeat(33 * 1024 * 1024));
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let err = embedder(&server, Duration::from_secs(10), 3)
        .embed(&texts(1))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, EmbedError::InvalidResponse(why) if why.contains("larger than")),
        "{err:?}"
    );
}

#[tokio::test]
async fn malformed_or_incomplete_answers_are_invalid_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list",
            "data": [{"object": "embedding", "index": 0, "embedding": [1.0]}],
            "model": "m", "usage": {"prompt_tokens": 1, "total_tokens": 1}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let err = embedder(&server, Duration::from_secs(5), 3)
        .embed(&texts(2))
        .await
        .unwrap_err();
    assert!(matches!(err, EmbedError::InvalidResponse(_)), "{err:?}");

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>oops</html>"))
        .expect(1)
        .mount(&server)
        .await;
    let err = embedder(&server, Duration::from_secs(5), 3)
        .embed(&texts(1))
        .await
        .unwrap_err();
    assert!(matches!(err, EmbedError::InvalidResponse(_)), "{err:?}");
}
