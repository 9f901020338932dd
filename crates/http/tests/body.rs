//! `read_body` against wiremock and a raw server that never ends its body.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use inkdesk_http::{BodyError, read_body};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn serve(body: Vec<u8>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_body_within_the_cap_is_returned_whole() {
    let server = serve(vec![b'x'; 1000]).await;
    let response = reqwest::get(server.uri()).await.unwrap();
    let body = read_body(response, 1000).await.unwrap();
    assert_eq!(body.len(), 1000);
}

#[tokio::test]
async fn a_declared_length_over_the_cap_is_refused() {
    let server = serve(vec![b'x'; 1001]).await;
    let response = reqwest::get(server.uri()).await.unwrap();
    let err = read_body(response, 1000).await.unwrap_err();
    assert!(
        matches!(err, BodyError::TooLarge { limit: 1000 }),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_endless_undeclared_body_is_cut_at_the_cap() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 1024];
        let _ = socket.read(&mut buf).await.unwrap();
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
            .await
            .unwrap();
        // 1 KiB chunks until the client hangs up.
        let chunk = format!("400\r\n{}\r\n", "y".repeat(1024));
        while socket.write_all(chunk.as_bytes()).await.is_ok() {}
    });
    let started = Instant::now();
    let response = reqwest::get(format!("http://{addr}/")).await.unwrap();
    let err = read_body(response, 64 * 1024).await.unwrap_err();
    assert!(matches!(err, BodyError::TooLarge { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    server.abort();
}
