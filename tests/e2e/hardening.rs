//! Hostile input and an unfriendly network against the running service: attachment URLs
//! aimed inside the network, a hung upstream behind the server's limits, spoofed client
//! addresses at the login form, reserved store scopes named as conversations, markup in
//! customers' messages, and `serve`'s own start-up checks.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{Datelike, TimeZone, Utc};
use inkdesk_calendar::NewBooking;
use inkdesk_domain::{AppointmentDuration, CustomerName, FreeText, PhoneNumber, Region};
use reqwest::StatusCode;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::admin::{client, conv, csrf_in, login_at};
use crate::support::{
    ACCOUNT, ADMIN_TOKEN, Options, TestApp, graph_accepts_sends, model_replies, spawn_app,
    spawn_with, text_event, wait_until,
};

fn jpeg() -> Vec<u8> {
    let mut bytes = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00,
    ];
    bytes.resize(2048, 0);
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attachment_aimed_at_a_non_public_address_is_never_downloaded() {
    // The tests' allow list names 127.0.0.1 only; `localhost` resolves to the same
    // loopback address and must be refused when connecting.
    let app = spawn_app().await;
    graph_accepts_sends(&app.graph).await;
    model_replies(
        &app.model,
        "Δεν μπόρεσα να ανοίξω την εικόνα, μπορείτε να την ξαναστείλετε; ❤️🐼",
    )
    .await;
    let cdn = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(jpeg()))
        .mount(&cdn)
        .await;
    let port = cdn.address().port();
    let body = json!({"object": "instagram", "entry": [{"id": ACCOUNT, "time": crate::support::now_ms(),
        "messaging": [{"sender": {"id": "5559101"}, "recipient": {"id": ACCOUNT},
            "timestamp": crate::support::now_ms(),
            "message": {"mid": "m_ssrf_1", "text": "Πόσο κάνει αυτό;",
                "attachments": [
                    {"type": "image", "payload": {"url": format!("http://localhost:{port}/v/t51/a.jpg")}},
                    {"type": "image", "payload": {"url": format!("http://[::ffff:127.0.0.1]:{port}/v/t51/b.jpg")}},
                    {"type": "image", "payload": {"url": "http://169.254.169.254/latest/meta-data/"}}
                ]}}]}]})
    .to_string();
    assert_eq!(app.post_signed(&body).await.status(), 200);
    let sent = app.wait_for_sends(1, Duration::from_secs(15)).await;
    assert_eq!(sent.len(), 1, "the turn still answers");
    assert_eq!(
        cdn.received_requests().await.unwrap().len(),
        0,
        "nothing reached the loopback server"
    );
    let model_saw_an_image = app
        .model
        .received_requests()
        .await
        .unwrap()
        .iter()
        .any(|r| String::from_utf8_lossy(&r.body).contains("image_url"));
    assert!(!model_saw_an_image);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_its_limits_the_server_answers_503_and_the_redelivery_is_recorded_once() {
    // A Google token endpoint that takes 3 s makes the bookings page slow.
    let google = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "ya29.fresh", "expires_in": 3599,
                    "scope": "https://www.googleapis.com/auth/calendar", "token_type": "Bearer"}))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&google)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"kind": "calendar#events", "items": []})),
        )
        .mount(&google)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token.json");
    std::fs::write(
        &token,
        json!({"token": "ya29.stale", "refresh_token": "1//refresh",
               "token_uri": format!("{}/token", google.uri()),
               "client_id": "123-test.apps.googleusercontent.com", "client_secret": "GOCSPX-test",
               "scopes": ["https://www.googleapis.com/auth/calendar"], "expiry": "2020-01-01T00:00:00Z"})
        .to_string(),
    )
    .unwrap();
    let app = spawn_with(
        Options {
            env: vec![
                ("GOOGLE_TOKEN_FILE", token.display().to_string()),
                ("GOOGLE_API_BASE_URL", google.uri()),
                ("INKDESK_HTTP_TIMEOUT_SECONDS", "1".into()),
                ("INKDESK_HTTP_MAX_CONCURRENCY", "1".into()),
            ],
            with_model: false,
            ..Options::default()
        },
        None,
        None,
    )
    .await;
    let started = Instant::now();
    let slow = tokio::spawn({
        let url = app.url("/admin/api/bookings");
        async move {
            client()
                .get(url)
                .bearer_auth(ADMIN_TOKEN)
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let event = text_event("5559201", "m_limit_1", "Γεια σας");
    let overloaded = app.post_signed(&event).await;
    assert_eq!(overloaded.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(overloaded.headers()["retry-after"], "1");
    assert_eq!(slow.await.unwrap(), StatusCode::SERVICE_UNAVAILABLE);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_millis(2500),
        "answered at the 1 s deadline, not when Google answered: {waited:?}"
    );
    // The late handler still holds its place until Google answers; then Meta's
    // redelivery of the refused webhook is recorded, once.
    let log = app.running.app.stores.log.clone();
    assert!(
        wait_until(Duration::from_secs(10), || async {
            app.post_signed(&event).await.status() == StatusCode::OK
        })
        .await,
        "the redelivery was never accepted"
    );
    assert_eq!(app.post_signed(&event).await.status(), StatusCode::OK);
    let turns = log.recent(&conv("5559201"), 10).await.unwrap();
    assert_eq!(turns.len(), 1, "{turns:?}");
    let metrics = client()
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("inkdesk_http_refused_total{label=\"timeout\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("inkdesk_http_refused_total{label=\"overloaded\"}"),
        "{metrics}"
    );
}

/// The login form's double-submit cookie and CSRF token.
async fn login_form(app: &TestApp) -> (String, String) {
    let form = client().get(app.url("/admin/login")).send().await.unwrap();
    let double = form
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("inkdesk_login="))
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_owned();
    (double, csrf_in(&form.text().await.unwrap()))
}

async fn try_login(
    app: &TestApp,
    form: &(String, String),
    token: &str,
    forwarded_for: &str,
) -> reqwest::Response {
    client()
        .post(app.url("/admin/login"))
        .header("cookie", format!("inkdesk_login={}", form.0))
        .header("x-forwarded-for", forwarded_for)
        .form(&[("token", token), ("csrf", form.1.as_str())])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_client_cannot_escape_the_login_limit_by_claiming_another_address() {
    let app = spawn_app().await;
    let form = login_form(&app).await;
    for n in 0..5 {
        let claimed = format!("203.0.113.{n}");
        assert_eq!(
            try_login(&app, &form, "wrong", &claimed).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // Without INKDESK_TRUSTED_PROXY the header is ignored: all six came from 127.0.0.1.
    assert_eq!(
        try_login(&app, &form, ADMIN_TOKEN, "198.51.100.77")
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit() {
    let app = spawn_with(
        Options {
            env: vec![("INKDESK_TRUSTED_PROXY", "127.0.0.1".into())],
            ..Options::default()
        },
        None,
        None,
    )
    .await;
    let form = login_form(&app).await;
    for _ in 0..5 {
        assert_eq!(
            try_login(&app, &form, "wrong", "203.0.113.9")
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        try_login(&app, &form, ADMIN_TOKEN, "203.0.113.9")
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the guessing client is limited"
    );
    // A client's own claim left of the proxy's entry changes nothing.
    assert_eq!(
        try_login(&app, &form, ADMIN_TOKEN, "198.51.100.1, 203.0.113.9")
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        try_login(&app, &form, ADMIN_TOKEN, "198.51.100.1")
            .await
            .status(),
        StatusCode::SEE_OTHER,
        "another client behind the same proxy logs in"
    );
}

/// The `Set-Cookie` of a successful login through the form.
async fn session_cookie_header(app: &TestApp) -> String {
    let form = login_form(app).await;
    let response = try_login(app, &form, ADMIN_TOKEN, "").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("inkdesk_admin="))
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn session_cookies_are_secure_unless_the_public_url_is_http_localhost() {
    let app = spawn_app().await;
    let cookie = session_cookie_header(&app).await;
    assert!(cookie.contains("; Secure"), "{cookie}");
    let session = cookie
        .strip_prefix("inkdesk_admin=")
        .and_then(|v| v.split(';').next())
        .unwrap();
    assert_eq!(session.len(), 64, "256 bits as hex");
    assert!(session.bytes().all(|b| b.is_ascii_hexdigit()));

    let local = spawn_with(
        Options {
            env: vec![("INKDESK_PUBLIC_URL", "http://localhost:3000".into())],
            ..Options::default()
        },
        None,
        None,
    )
    .await;
    let cookie = session_cookie_header(&local).await;
    assert!(!cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn reserved_store_scopes_cannot_be_read_or_deleted_as_conversations() {
    let app = spawn_app().await;
    let session = login_at(&app.url("")).await;
    let cookie = format!("inkdesk_admin={session}");
    for scope in [
        "inkdesk-admin-sessions",
        "inkdesk-admin-logins",
        "inkdesk-tone-cache",
    ] {
        let api = |verb: reqwest::Method| {
            client()
                .request(verb, app.url(&format!("/admin/api/conversations/{scope}")))
                .bearer_auth(ADMIN_TOKEN)
                .send()
        };
        assert_eq!(
            api(reqwest::Method::GET).await.unwrap().status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            api(reqwest::Method::DELETE).await.unwrap().status(),
            StatusCode::BAD_REQUEST
        );
        let page = client()
            .get(app.url(&format!("/admin/c/{scope}")))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::BAD_REQUEST);
        let traces = client()
            .get(app.url(&format!("/admin/api/traces?conversation={scope}")))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(traces.status(), StatusCode::BAD_REQUEST);
    }
    let inbox = client()
        .get(app.url("/admin/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(inbox.status(), StatusCode::OK, "the session survived");
}

#[tokio::test]
async fn metrics_can_require_a_bearer_token() {
    let app = spawn_with(
        Options {
            env: vec![("INKDESK_METRICS_TOKEN", "prometheus-scrape-0123".into())],
            ..Options::default()
        },
        None,
        None,
    )
    .await;
    let scrape = |token: Option<&'static str>| {
        let mut request = client().get(app.url("/metrics"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    assert_eq!(
        scrape(None).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        scrape(Some("guess")).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let ok = scrape(Some("prometheus-scrape-0123")).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(
        ok.text()
            .await
            .unwrap()
            .contains("inkdesk_webhook_ack_seconds_count")
    );
}

const SCRIPT: &str = "<script>alert('inkdesk')</script>";
const IMG: &str = "\"><img src=x onerror=alert(1)>";

/// Books the first free hour in two weeks with `design` as the design note.
async fn book_with_design(app: &TestApp, id: &str, design: &str) {
    let tz = app.running.app.profile.time_zone;
    let today = Utc::now().with_timezone(&tz).date_naive();
    for day in 1..15 {
        let date = today + chrono::Duration::days(day);
        for hour in [12, 13, 14, 15, 16, 17] {
            let Some(start) = tz
                .with_ymd_and_hms(date.year(), date.month(), date.day(), hour, 0, 0)
                .single()
            else {
                continue;
            };
            let booking = NewBooking {
                conversation: conv(id),
                customer: CustomerName::parse("Ελένη Κ").unwrap(),
                phone: PhoneNumber::parse("6912345678", Region::GREECE).unwrap(),
                design: Some(FreeText::parse(design).unwrap()),
                price: None,
                start: start.with_timezone(&Utc),
                duration: AppointmentDuration::from_minutes(60, 600).unwrap(),
                artist: None,
                idempotency_key: None,
                deposit: None,
                sms_consent: false,
            };
            if app.running.app.calendar.create(booking).await.is_ok() {
                return;
            }
        }
    }
    panic!("no bookable hour in two weeks");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_in_customer_messages_is_shown_escaped_on_every_console_page() {
    let app = spawn_app().await;
    graph_accepts_sends(&app.graph).await;
    // The model first calls a tool with the markup as an argument (the trace shows tool
    // arguments), then quotes the customer back (the transcript shows the bot's words).
    let arguments = json!({"from_date": IMG, "to_date": SCRIPT, "price": 60}).to_string();
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-e2e", "object": "chat.completion", "created": 1764400000,
            "model": "gpt-4o", "choices": [{"index": 0, "finish_reason": "tool_calls",
                "message": {"role": "assistant", "content": null, "tool_calls": [{
                    "id": "call_avail", "type": "function",
                    "function": {"name": "check_availability", "arguments": arguments}}]}}],
            "usage": {"prompt_tokens": 3600, "completion_tokens": 30, "total_tokens": 3630}
        })))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&app.model)
        .await;
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            crate::support::send_reply_completion(&format!("Λάβαμε: {SCRIPT} {IMG}")),
        ))
        .with_priority(2)
        .mount(&app.model)
        .await;
    let id = "5559301";
    for (mid, text) in [("m_xss_1", SCRIPT), ("m_xss_2", IMG)] {
        let status = app.post_signed(&text_event(id, mid, text)).await.status();
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(
        app.wait_for_sends(1, Duration::from_secs(15)).await.len(),
        1
    );
    // The turn's trace is written with the reply.
    let log = app.running.app.stores.log.clone();
    assert!(
        wait_until(Duration::from_secs(10), || async {
            log.recent(&conv(id), 10).await.unwrap().len() >= 3
        })
        .await
    );
    book_with_design(&app, id, IMG).await;

    let session = login_at(&app.url("")).await;
    let cookie = format!("inkdesk_admin={session}");
    let escaped_script = "&lt;script&gt;alert(";
    let escaped_img = "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;";
    // Every page, and whether it shows the customer's words (the others must still carry
    // no live markup).
    let pages = [
        ("/admin/".to_owned(), true),
        ("/admin/?lang=en".to_owned(), true),
        (format!("/admin/c/{id}"), true),
        (format!("/admin/c/{id}?lang=en"), true),
        (format!("/admin/c/{id}/delete"), false),
        ("/admin/traces".to_owned(), true),
        (format!("/admin/traces?conversation={id}"), true),
        ("/admin/bookings".to_owned(), true),
        ("/admin/status".to_owned(), false),
        ("/admin/login".to_owned(), false),
    ];
    let mut shown = 0;
    for (page, shows_text) in &pages {
        let response = client()
            .get(app.url(page))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{page}");
        let html = response.text().await.unwrap();
        assert!(
            !html.contains("<script"),
            "{page} carries a live script tag"
        );
        assert!(!html.contains("<img"), "{page} carries a live img tag");
        assert!(!html.contains("onerror=alert(1)>"), "{page}");
        if *shows_text {
            let escaped = html.contains(escaped_script) || html.contains(escaped_img);
            assert!(
                escaped,
                "{page} does not show the message, escaped:\n{html}"
            );
            shown += 1;
        }
    }
    assert!(shown >= 7);
    let transcript = client()
        .get(app.url(&format!("/admin/c/{id}")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(transcript.contains(escaped_script), "{transcript}");
    assert!(transcript.contains(escaped_img), "{transcript}");
}

/// A free TCP port on `ip`.
fn free_port(ip: &str) -> u16 {
    std::net::TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `inkdesk serve --ephemeral` with only `env`, in an empty directory (no `.env`).
fn serve(dir: &std::path::Path, env: &[(&str, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_inkdesk"));
    command
        .args(["serve", "--ephemeral"])
        .current_dir(dir)
        .env_clear()
        .env("INKDESK_DATA_DIR", dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

#[test]
fn serve_refuses_a_short_admin_token_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let output = serve(
        dir.path(),
        &[
            ("INKDESK_ADMIN_TOKEN", "letmein-please".into()),
            ("PORT", free_port("127.0.0.1").to_string()),
        ],
    )
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("INKDESK_ADMIN_TOKEN is 14 characters long")
            && stderr.contains("at least 24"),
        "{stderr}"
    );
    assert!(!stderr.contains("letmein"), "the token is never printed");
}

/// Stops the child when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn serve_listens_only_on_the_inkdesk_bind_address() {
    // 127.0.0.2 is loopback too on Linux, but a different address from 127.0.0.1.
    let dir = tempfile::tempdir().unwrap();
    let port = free_port("127.0.0.2");
    let _child = Child(
        serve(
            dir.path(),
            &[
                ("INKDESK_BIND", "127.0.0.2".into()),
                ("PORT", port.to_string()),
            ],
        )
        .spawn()
        .unwrap(),
    );
    let health = |ip: &'static str| {
        reqwest::Client::new()
            .get(format!("http://{ip}:{port}/health"))
            .timeout(Duration::from_secs(2))
            .send()
    };
    assert!(
        wait_until(Duration::from_secs(30), || async {
            health("127.0.0.2")
                .await
                .is_ok_and(|r| r.status() == StatusCode::OK)
        })
        .await,
        "serve never answered on 127.0.0.2:{port}"
    );
    assert!(
        health("127.0.0.1").await.is_err(),
        "nothing listens on 127.0.0.1:{port}"
    );
}
