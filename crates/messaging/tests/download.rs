//! `HttpFetcher` against wiremock and a raw trickling server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use inkdesk_messaging::download::UNKNOWN_MIME;
use inkdesk_messaging::{AttachmentFetcher, DownloadError, HttpFetcher};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The start of a real JPEG (SOI + JFIF APP0), padded.
fn jpeg(len: usize) -> Vec<u8> {
    let mut v = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00,
    ];
    v.resize(len, 0xAB);
    v
}

async fn serve(body: Vec<u8>, content_type: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ig_messaging_cdn/asset"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, content_type))
        .mount(&server)
        .await;
    server
}

fn fetcher(max: usize) -> HttpFetcher {
    HttpFetcher::new(Duration::from_secs(5))
        .unwrap()
        .max_bytes(max)
}

#[tokio::test]
async fn content_within_the_limit_is_returned_with_the_mime_sniffed_from_bytes() {
    // The server lies about the type; the bytes decide.
    let server = serve(jpeg(4096), "text/plain").await;
    let got = fetcher(8 * 1024)
        .fetch(&format!("{}/ig_messaging_cdn/asset", server.uri()))
        .await
        .unwrap();
    assert_eq!(got.bytes.len(), 4096);
    assert_eq!(got.mime, "image/jpeg");
    assert!(got.is_image());
}

#[tokio::test]
async fn unrecognised_bytes_are_octet_stream() {
    let server = serve(b"just some text".to_vec(), "image/png").await;
    let got = fetcher(1024)
        .fetch(&format!("{}/ig_messaging_cdn/asset", server.uri()))
        .await
        .unwrap();
    assert_eq!(got.mime, UNKNOWN_MIME);
    assert!(!got.is_image());
}

#[tokio::test]
async fn a_declared_length_beyond_the_limit_is_refused() {
    let server = serve(jpeg(2048), "image/jpeg").await;
    let err = fetcher(1024)
        .fetch(&format!("{}/ig_messaging_cdn/asset", server.uri()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, DownloadError::TooLarge { limit: 1024 }),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_undeclared_stream_is_aborted_as_soon_as_it_passes_the_limit() {
    // A chunked response that sends 4 KiB and then never finishes: we must stop at the
    // limit rather than wait for (or buffer) the rest.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 1024];
        let _ = socket.read(&mut buf).await.unwrap();
        let head =
            "HTTP/1.1 200 OK\r\ncontent-type: image/jpeg\r\ntransfer-encoding: chunked\r\n\r\n";
        socket.write_all(head.as_bytes()).await.unwrap();
        for _ in 0..4 {
            let chunk = jpeg(1024);
            socket
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await
                .unwrap();
            socket.write_all(&chunk).await.unwrap();
            socket.write_all(b"\r\n").await.unwrap();
            socket.flush().await.unwrap();
        }
        // Hold the connection open without finishing the body.
        tokio::time::sleep(Duration::from_secs(10)).await;
    });
    let started = Instant::now();
    let err = HttpFetcher::new(Duration::from_secs(5))
        .unwrap()
        .max_bytes(2048)
        .fetch(&format!("http://{addr}/asset"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, DownloadError::TooLarge { limit: 2048 }),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    server.abort();
}

#[tokio::test]
async fn a_slow_server_times_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(jpeg(100), "image/jpeg")
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let started = Instant::now();
    let err = HttpFetcher::new(Duration::from_millis(200))
        .unwrap()
        .fetch(&format!("{}/x", server.uri()))
        .await
        .unwrap_err();
    assert!(matches!(err, DownloadError::Timeout), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn expired_cdn_urls_report_the_status() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&server)
        .await;
    let err = fetcher(1024)
        .fetch(&format!("{}/x?sig=old", server.uri()))
        .await
        .unwrap_err();
    assert!(matches!(err, DownloadError::Status(403)), "{err:?}");
}
