//! Resilience against a misbehaving server: retries, wait hints, timeouts, deadline,
//! circuit breaker.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{chat_post, client_with, clock, config, fixture, ok};
use inkdesk_openai::{
    BreakerPolicy, BreakerState, ChatModel, ChatRequest, Message, ModelError, ModelTask,
    OpenAiClient, OpenAiConfig, RetryPolicy,
};
use wiremock::{MockServer, ResponseTemplate};

fn hello() -> ChatRequest {
    ChatRequest::new(ModelTask::Default, vec![Message::user("hello")])
}

fn status(code: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(code).set_body_json(fixture(body))
}

#[tokio::test]
async fn rate_limit_with_retry_after_one_second_waits_then_succeeds() {
    let server = MockServer::start().await;
    chat_post()
        .respond_with(status(429, "error_rate_limit.json").insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    chat_post()
        .respond_with(ok("plain_reply.json"))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_with(config(&server), &clock());

    let started = Instant::now();
    let reply = client.complete(hello()).await.unwrap();

    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(reply.usage.retries, 1);
    assert!(reply.usage.latency >= Duration::from_secs(1));
}

#[tokio::test]
async fn ratelimit_reset_header_is_honoured_without_retry_after() {
    let server = MockServer::start().await;
    chat_post()
        .respond_with(
            status(429, "error_rate_limit.json")
                .insert_header("x-ratelimit-remaining-requests", "0")
                .insert_header("x-ratelimit-reset-requests", "300ms")
                .insert_header("x-ratelimit-remaining-tokens", "25000")
                .insert_header("x-ratelimit-reset-tokens", "6m0s"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    chat_post()
        .respond_with(ok("plain_reply.json"))
        .mount(&server)
        .await;
    let client = client_with(config(&server), &clock());

    let started = Instant::now();
    let reply = client.complete(hello()).await.unwrap();

    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    assert_eq!(reply.usage.retries, 1);
}

#[tokio::test]
async fn retry_after_beyond_the_deadline_fails_fast_as_rate_limited() {
    let server = MockServer::start().await;
    chat_post()
        .respond_with(status(429, "error_rate_limit.json").insert_header("retry-after", "120"))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_with(config(&server), &clock());

    let started = Instant::now();
    let err = client.complete(hello()).await.unwrap_err();

    assert!(
        matches!(err, ModelError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(120)),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn exhausted_quota_is_not_retried() {
    let server = MockServer::start().await;
    chat_post()
        .respond_with(status(429, "error_insufficient_quota.json"))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_with(config(&server), &clock());

    let err = client.complete(hello()).await.unwrap_err();

    assert!(
        matches!(&err, ModelError::Rejected { status: 429, code: Some(c), .. } if c == "insufficient_quota"),
        "{err:?}"
    );
}

#[tokio::test]
async fn server_errors_are_retried_until_retries_run_out() {
    let server = MockServer::start().await;
    chat_post()
        .respond_with(status(500, "error_server.json"))
        .expect(4) // first attempt + max_retries (3)
        .mount(&server)
        .await;
    let client = client_with(config(&server), &clock());

    let err = client.complete(hello()).await.unwrap_err();

    assert!(
        matches!(&err, ModelError::Server { status: 500, message } if message.contains("server had an error")),
        "{err:?}"
    );
    assert!(err.is_transient());
}

#[tokio::test]
async fn a_transient_503_then_success_reports_one_retry() {
    let server = MockServer::start().await;
    chat_post()
        .respond_with(ResponseTemplate::new(503).set_body_string("upstream connect error"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    chat_post()
        .respond_with(ok("plain_reply.json"))
        .mount(&server)
        .await;
    let client = client_with(config(&server), &clock());

    let reply = client.complete(hello()).await.unwrap();

    assert_eq!(reply.usage.retries, 1);
    assert_eq!(reply.usage.prompt_tokens, 1480);
}

#[tokio::test]
async fn other_client_errors_are_not_retried() {
    let server = MockServer::start().await;
    chat_post()
        .respond_with(status(400, "error_bad_request.json"))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_with(config(&server), &clock());

    let err = client.complete(hello()).await.unwrap_err();

    assert!(
        matches!(&err, ModelError::Rejected { status: 400, code: Some(c), .. } if c == "invalid_value"),
        "{err:?}"
    );
    assert!(!err.is_transient());
}

#[tokio::test]
async fn an_oversized_answer_is_an_invalid_response_without_retry() {
    let server = MockServer::start().await;
    // A valid completion padded past the 8 MiB cap: without the cap it would parse.
    let mut body = fixture("plain_reply.json").to_string();
    body.push_str(&" ".repeat(9 * 1024 * 1024));
    chat_post()
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_with(config(&server), &clock());

    let err = client.complete(hello()).await.unwrap_err();

    assert!(
        matches!(&err, ModelError::InvalidResponse { reason } if reason.contains("larger than")),
        "{err:?}"
    );
}

#[tokio::test]
async fn slow_server_hits_the_request_timeout_and_each_attempt_is_retried() {
    let server = MockServer::start().await;
    chat_post()
        .respond_with(ok("plain_reply.json").set_delay(Duration::from_secs(3)))
        .expect(2)
        .mount(&server)
        .await;
    let config = OpenAiConfig {
        request_timeout: Duration::from_millis(200),
        retry: RetryPolicy {
            max_retries: 1,
            ..config(&server).retry
        },
        ..config(&server)
    };
    let client = client_with(config, &clock());

    let started = Instant::now();
    let err = client.complete(hello()).await.unwrap_err();

    assert!(
        matches!(err, ModelError::Timeout { after } if after == Duration::from_millis(200)),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn overall_deadline_bounds_the_whole_call() {
    let server = MockServer::start().await;
    chat_post()
        .respond_with(ok("plain_reply.json").set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let config = OpenAiConfig {
        deadline: Duration::from_millis(300),
        ..config(&server)
    };
    let client = client_with(config, &clock());

    let started = Instant::now();
    let err = client.complete(hello()).await.unwrap_err();

    assert!(
        matches!(err, ModelError::Timeout { after } if after == Duration::from_millis(300)),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn unreachable_server_is_a_network_error_after_retries() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = OpenAiConfig {
        base_url: format!("http://127.0.0.1:{port}/v1"),
        api_key: None,
        retry: RetryPolicy {
            max_retries: 2,
            min_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(10),
            jitter: false,
        },
        ..OpenAiConfig::default()
    };
    let client = OpenAiClient::new(config).unwrap();

    let err = client.complete(hello()).await.unwrap_err();

    assert!(matches!(err, ModelError::Network(_)), "{err:?}");
}

#[tokio::test]
async fn breaker_opens_after_consecutive_failures_fails_fast_and_half_opens_after_cool_down() {
    let server = MockServer::start().await;
    chat_post()
        .respond_with(status(500, "error_server.json"))
        .up_to_n_times(2)
        .with_priority(1)
        .expect(2)
        .mount(&server)
        .await;
    chat_post()
        .respond_with(ok("plain_reply.json"))
        .expect(1)
        .mount(&server)
        .await;
    let config = OpenAiConfig {
        retry: RetryPolicy {
            max_retries: 0,
            ..config(&server).retry
        },
        breaker: BreakerPolicy {
            failure_threshold: 2,
            cool_down: Duration::from_secs(30),
        },
        ..config(&server)
    };
    let clock = clock();
    let client = client_with(config, &clock);

    for _ in 0..2 {
        assert!(matches!(
            client.complete(hello()).await,
            Err(ModelError::Server { status: 500, .. })
        ));
    }
    assert_eq!(
        client.breaker_state(),
        BreakerState::Open {
            retry_in: Duration::from_secs(30)
        }
    );

    // Open: fails at once, the server is not called.
    let err = client.complete(hello()).await.unwrap_err();
    assert!(
        matches!(err, ModelError::Unavailable { retry_in } if retry_in == Duration::from_secs(30)),
        "{err:?}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);

    clock.advance(chrono::Duration::seconds(30));
    assert_eq!(client.breaker_state(), BreakerState::HalfOpen);

    // The probe succeeds: closed again.
    client.complete(hello()).await.unwrap();
    assert_eq!(
        client.breaker_state(),
        BreakerState::Closed {
            consecutive_failures: 0
        }
    );
}

#[tokio::test]
async fn client_errors_do_not_open_the_breaker() {
    let server = MockServer::start().await;
    chat_post()
        .respond_with(status(400, "error_bad_request.json"))
        .expect(3)
        .mount(&server)
        .await;
    let config = OpenAiConfig {
        breaker: BreakerPolicy {
            failure_threshold: 2,
            cool_down: Duration::from_secs(30),
        },
        ..config(&server)
    };
    let client = client_with(config, &clock());

    for _ in 0..3 {
        assert!(matches!(
            client.complete(hello()).await,
            Err(ModelError::Rejected { .. })
        ));
    }
    assert!(matches!(
        client.breaker_state(),
        BreakerState::Closed { .. }
    ));
}
