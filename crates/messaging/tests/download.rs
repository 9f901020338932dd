//! `HttpFetcher` against wiremock and a raw trickling server. Both listen on 127.0.0.1,
//! which the fetcher refuses unless allowed: tests that download allow it explicitly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use inkdesk_messaging::download::UNKNOWN_MIME;
use inkdesk_messaging::{AllowHosts, AttachmentFetcher, DownloadError, HttpFetcher};
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

/// The fake servers' address, allowed although it is loopback.
fn local() -> AllowHosts {
    AllowHosts::parse("127.0.0.1")
}

fn fetcher(max: usize) -> HttpFetcher {
    HttpFetcher::new(Duration::from_secs(5), local())
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
    let err = HttpFetcher::new(Duration::from_secs(5), local())
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
    let err = HttpFetcher::new(Duration::from_millis(200), local())
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

/// A server answering every GET with `image/jpeg` bytes, counting requests.
async fn jpeg_server() -> MockServer {
    serve(jpeg(512), "image/jpeg").await
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

#[tokio::test]
async fn loopback_addresses_are_refused_without_a_request() {
    let server = jpeg_server().await;
    let port = server.address().port();
    let f = HttpFetcher::new(Duration::from_secs(5), AllowHosts::none()).unwrap();
    for url in [
        format!("http://127.0.0.1:{port}/ig_messaging_cdn/asset"),
        format!("http://[::ffff:127.0.0.1]:{port}/ig_messaging_cdn/asset"),
        // A name: refused by the resolver when connecting, not by looking at the URL.
        format!("http://localhost:{port}/ig_messaging_cdn/asset"),
    ] {
        let err = f.fetch(&url).await.unwrap_err();
        assert!(matches!(err, DownloadError::NotPublic), "{url}: {err:?}");
    }
    assert_eq!(requests(&server).await, 0, "nothing reached the server");
}

#[tokio::test]
async fn an_allowed_name_may_resolve_to_loopback() {
    let server = jpeg_server().await;
    let port = server.address().port();
    let f = HttpFetcher::new(Duration::from_secs(5), AllowHosts::parse("localhost")).unwrap();
    let got = f
        .fetch(&format!("http://localhost:{port}/ig_messaging_cdn/asset"))
        .await
        .unwrap();
    assert_eq!(got.mime, "image/jpeg");
}

/// `server` answers `/hop/{n}` (n < hops) with a redirect to `target_base` + `/hop/{n+1}`,
/// and `/hop/{hops}` with the image.
async fn redirect_chain(server: &MockServer, hops: usize, target_base: &str) {
    for n in 0..hops {
        Mock::given(method("GET"))
            .and(path(format!("/hop/{n}")))
            .respond_with(
                ResponseTemplate::new(302)
                    .insert_header("location", format!("{target_base}/hop/{}", n + 1)),
            )
            .mount(server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(format!("/hop/{hops}")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(jpeg(256), "image/jpeg"))
        .mount(server)
        .await;
}

#[tokio::test]
async fn three_redirects_are_followed_a_fourth_is_refused() {
    let three = MockServer::start().await;
    redirect_chain(&three, 3, &three.uri()).await;
    let got = fetcher(1024)
        .fetch(&format!("{}/hop/0", three.uri()))
        .await
        .unwrap();
    assert_eq!(got.mime, "image/jpeg");

    let four = MockServer::start().await;
    redirect_chain(&four, 4, &four.uri()).await;
    let err = fetcher(1024)
        .fetch(&format!("{}/hop/0", four.uri()))
        .await
        .unwrap_err();
    assert!(matches!(err, DownloadError::TooManyRedirects), "{err:?}");
    let last = four
        .received_requests()
        .await
        .unwrap()
        .iter()
        .any(|r| r.url.path() == "/hop/4");
    assert!(!last, "the fourth redirect was not followed");
}

#[tokio::test]
async fn every_redirect_hop_is_checked_again() {
    // The first host is allowed; it redirects to loopback under other names.
    let inner = jpeg_server().await;
    let port = inner.address().port();
    for target in [
        format!("http://localhost:{port}/ig_messaging_cdn/asset"),
        format!("http://[::1]:{port}/ig_messaging_cdn/asset"),
        format!("http://127.0.0.2:{port}/ig_messaging_cdn/asset"),
    ] {
        let outer = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(301).insert_header("location", target.as_str()))
            .mount(&outer)
            .await;
        let err = fetcher(1024)
            .fetch(&format!("{}/start", outer.uri()))
            .await
            .unwrap_err();
        assert!(matches!(err, DownloadError::NotPublic), "{target}: {err:?}");
    }
    assert_eq!(requests(&inner).await, 0);

    let outer = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "file:///etc/passwd"))
        .mount(&outer)
        .await;
    let err = fetcher(1024)
        .fetch(&format!("{}/start", outer.uri()))
        .await
        .unwrap_err();
    // A redirect to another scheme is never followed: the redirect itself is the answer.
    assert!(matches!(err, DownloadError::Status(302)), "{err:?}");
}

#[tokio::test]
async fn a_voice_note_has_its_own_cap_and_its_declared_length() {
    let mut file = inkdesk_messaging::download::duration::mp4_header_for_tests(37);
    file.resize(3000, 0);
    let server = serve(file, "audio/mp4").await;
    let url = format!("{}/ig_messaging_cdn/asset", server.uri());
    // Under the fetcher's own cap, over the voice note's: refused.
    let err = fetcher(8 * 1024)
        .fetch_capped(&url, 2048)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DownloadError::TooLarge { limit: 2048 }),
        "{err:?}"
    );
    let got = fetcher(1024).fetch_capped(&url, 4096).await.unwrap();
    assert_eq!(got.bytes.len(), 3000);
    assert_eq!(got.declared_seconds(), Some(37));
    assert!(!got.is_image());
}
