//! The Google adapter against wiremock: the shared behaviour suite on a stateful fake, and
//! contract tests with fixture bodies in Google's documented shapes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use inkdesk_calendar::testing::{at, new_booking, suite_now};
use inkdesk_calendar::{BusySpan, Calendar, CalendarError, Credentials, Interval};
use inkdesk_domain::{ConversationId, EventId};
use serde_json::{Value, json};
use support::google_client::*;
use wiremock::matchers::{
    body_string_contains, header, method, path, query_param, query_param_is_missing,
};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

#[tokio::test]
async fn busy_follows_three_pages_and_reads_all_day_transparent_and_cancelled_events() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    for (token, page) in [(None, 1), (Some("p2"), 2), (Some("p3"), 3)] {
        let mock = Mock::given(method("GET"))
            .and(path(EVENTS))
            .and(query_param("singleEvents", "true"))
            .and(query_param("orderBy", "startTime"))
            .and(query_param("timeMin", "2026-11-30T22:00:00Z"))
            .and(query_param("timeMax", "2026-12-06T22:00:00Z"))
            .and(header("authorization", "Bearer ya29.a0-test-access"));
        let mock = match token {
            None => mock.and(query_param_is_missing("pageToken")),
            Some(t) => mock.and(query_param("pageToken", t)),
        };
        mock.respond_with(
            ResponseTemplate::new(200).set_body_json(fixture(&format!("events_page_{page}.json"))),
        )
        .expect(1)
        .mount(&server)
        .await;
    }
    let busy = calendar(&server).busy(week()).await.unwrap();
    // Six events, the cancelled one dropped.
    assert_eq!(busy.len(), 5, "{busy:?}");
    assert_eq!(
        busy[1].span,
        BusySpan::AllDay {
            first: december(2),
            end: december(3)
        }
    );
    assert!(!busy[1].transparent);
    assert!(busy[2].transparent);
    assert_eq!(
        busy[3].span,
        BusySpan::Timed(Interval::new(
            at(december(3), 22, 0),
            at(december(4), 13, 0)
        ))
    );
    assert_eq!(busy[4].event, Some(EventId::parse("bookingabc1").unwrap()));
}

#[tokio::test]
async fn a_conversations_bookings_are_found_by_private_extended_property() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path(EVENTS))
        .and(query_param(
            "privateExtendedProperty",
            "inkdeskConversation=conv-a",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("events_page_3.json")))
        .expect(1)
        .mount(&server)
        .await;
    let conv = ConversationId::parse("conv-a").unwrap();
    let found = calendar(&server)
        .upcoming_for(&conv, suite_now())
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    let booking = &found[0];
    assert_eq!(booking.id.as_str(), "bookingabc1");
    assert_eq!(booking.customer.as_str(), "Γιάννης Παπαδόπουλος");
    assert_eq!(booking.phone.national(), "6912345678");
    assert_eq!(booking.duration.minutes(), 90);
    assert_eq!(booking.start, at(december(4), 15, 0));
}

#[tokio::test]
async fn insert_sends_exactly_the_documented_event() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path(EVENTS))
        .respond_with(ResponseTemplate::new(200).set_body_json(empty_page()))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(EVENTS))
        .respond_with(|req: &Request| {
            let mut event: Value = serde_json::from_slice(&req.body).unwrap();
            event["status"] = json!("confirmed");
            ResponseTemplate::new(200).set_body_json(event)
        })
        .expect(1)
        .mount(&server)
        .await;
    let booking = calendar(&server)
        .create(new_booking("conv-a", at(december(1), 14, 0), 90))
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    let insert = requests
        .iter()
        .find(|r| r.method.as_str() == "POST" && r.url.path() == EVENTS)
        .unwrap();
    let mut sent: Value = serde_json::from_slice(&insert.body).unwrap();
    let id = sent.as_object_mut().unwrap().remove("id").unwrap();
    assert_eq!(id.as_str(), Some(booking.id.as_str()));
    assert!(EventId::parse(booking.id.as_str()).is_ok());
    assert_eq!(
        sent,
        json!({
            "summary": "Τατουάζ - Γιάννης Παπαδόπουλος",
            "description": "Όνομα: Γιάννης Παπαδόπουλος\nΤηλέφωνο: 6912345678\nΣχέδιο: τριαντάφυλλο στον καρπό, fine line\nΤιμή: 150€\nΔιάρκεια: 1 ώρα και 30 λεπτά",
            "start": {"dateTime": "2026-12-01T14:00:00+02:00", "timeZone": "Europe/Athens"},
            "end": {"dateTime": "2026-12-01T15:30:00+02:00", "timeZone": "Europe/Athens"},
            "reminders": {"useDefault": false, "overrides": [{"method": "popup", "minutes": 60}]},
            "status": "confirmed",
            "colorId": "10",
            "extendedProperties": {"private": {
                "inkdeskConversation": "conv-a",
                "inkdeskCustomer": "Γιάννης Παπαδόπουλος",
                "inkdeskPhone": "+306912345678",
                "inkdeskDesign": "τριαντάφυλλο στον καρπό, fine line",
                "inkdeskPrice": "150",
                "inkdeskDurationMinutes": "90",
                "inkdeskStatus": "confirmed",
                "inkdeskSmsConsent": "0"
            }}
        })
    );
    assert!(insert.headers.get("authorization").is_some());
}

/// Issues `tok-1`, then `tok-2`, counting exchanges.
struct TwoTokens(std::sync::atomic::AtomicUsize);

impl Respond for TwoTokens {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": format!("tok-{n}"), "expires_in": 3599, "token_type": "Bearer"
        }))
    }
}

#[tokio::test]
async fn a_401_refreshes_the_token_and_retries_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains(
            "refresh_token=1%2F%2Ftest-refresh-token",
        ))
        .and(body_string_contains(
            "client_id=123456789012-test.apps.googleusercontent.com",
        ))
        .and(body_string_contains("client_secret=GOCSPX-test-secret"))
        .respond_with(TwoTokens(Default::default()))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(EVENTS))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(401).set_body_json(fixture("error_401.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(EVENTS))
        .and(header("authorization", "Bearer tok-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(empty_page()))
        .expect(2)
        .mount(&server)
        .await;
    let cal = calendar(&server);
    assert!(cal.busy(week()).await.unwrap().is_empty());
    // The fresh token is cached: no third exchange.
    assert!(cal.busy(week()).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_second_401_means_the_credentials_are_refused() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(fixture("error_401.json")))
        .expect(2)
        .mount(&server)
        .await;
    assert!(matches!(
        calendar(&server).busy(week()).await,
        Err(CalendarError::Unauthorized(_))
    ));
}

#[tokio::test]
async fn a_revoked_refresh_token_is_unauthorized_without_retries() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(fixture("token_error_invalid_grant.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    match calendar(&server).busy(week()).await {
        Err(CalendarError::Unauthorized(why)) => assert!(why.contains("invalid_grant"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_share_one_token_exchange() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture("token_reply.json"))
                .set_delay(Duration::from_millis(150)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(EVENTS))
        .respond_with(ResponseTemplate::new(200).set_body_json(empty_page()))
        .expect(8)
        .mount(&server)
        .await;
    let cal = Arc::new(calendar(&server));
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let cal = Arc::clone(&cal);
            tokio::spawn(async move { cal.busy(week()).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn a_429_is_retried_after_the_retry_after_delay() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path(EVENTS))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(fixture("error_429.json")),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(EVENTS))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("events_page_3.json")))
        .expect(1)
        .mount(&server)
        .await;
    let started = Instant::now();
    let busy = calendar(&server).busy(week()).await.unwrap();
    assert_eq!(busy.len(), 1);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_403_rate_limit_reason_is_retried() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(fixture("error_403_rate_limit.json")),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(empty_page()))
        .expect(1)
        .mount(&server)
        .await;
    assert!(calendar(&server).busy(week()).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_persistent_429_ends_as_rate_limited_with_the_wait() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "0")
                .set_body_json(fixture("error_429.json")),
        )
        .expect(3)
        .mount(&server)
        .await;
    match calendar(&server).busy(week()).await {
        Err(CalendarError::RateLimited { retry_after }) => {
            assert_eq!(retry_after, Some(Duration::ZERO));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn server_errors_are_retried_until_exhausted() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500).set_body_json(fixture("error_500.json")))
        .expect(3) // first attempt + max_retries (2)
        .mount(&server)
        .await;
    assert!(matches!(
        calendar(&server).busy(week()).await,
        Err(CalendarError::Unavailable(_))
    ));
}

#[tokio::test]
async fn other_client_errors_are_not_retried() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(query_param("timeMin", "2026-11-30T22:00:00Z"))
        .respond_with(ResponseTemplate::new(400).set_body_json(fixture("error_400.json")))
        .expect(1)
        .mount(&server)
        .await;
    assert!(matches!(
        calendar(&server).busy(week()).await,
        Err(CalendarError::Unavailable(_))
    ));
    let forbidden = MockServer::start().await;
    mount_token(&forbidden).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(403).set_body_json(fixture("error_403_forbidden.json")))
        .expect(1)
        .mount(&forbidden)
        .await;
    assert!(matches!(
        calendar(&forbidden).busy(week()).await,
        Err(CalendarError::Unauthorized(_))
    ));
}

#[tokio::test]
async fn a_response_slower_than_the_timeout_is_retried() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(empty_page())
                .set_delay(Duration::from_secs(3)),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("events_page_3.json")))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(calendar(&server).busy(week()).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_token_endpoint_fails_every_waiting_caller_within_the_timeout() {
    // The exchange holds the token lock; without a timeout on it every caller would wait
    // for the endpoint (here 30 s).
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture("token_reply.json"))
                .set_delay(Duration::from_secs(30)),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(empty_page()))
        .mount(&server)
        .await;
    let cal = Arc::new(calendar(&server));
    let started = Instant::now();
    let calls: Vec<_> = (0..3)
        .map(|_| {
            let cal = Arc::clone(&cal);
            tokio::spawn(async move { cal.busy(week()).await })
        })
        .collect();
    for call in calls {
        let result = call.await.unwrap();
        assert!(
            matches!(result, Err(CalendarError::Unavailable(_))),
            "{result:?}"
        );
    }
    // 500 ms per exchange, 3 attempts per call, the callers queued on the lock.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_oversized_answer_is_refused_without_retry() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    let mut body = empty_page().to_string();
    body.push_str(&" ".repeat(17 * 1024 * 1024));
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let err = calendar(&server).busy(week()).await.unwrap_err();
    assert!(
        matches!(&err, CalendarError::Unavailable(e) if e.to_string().contains("larger than")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_malformed_body_is_unavailable() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>oops</html>"))
        .mount(&server)
        .await;
    assert!(matches!(
        calendar(&server).busy(week()).await,
        Err(CalendarError::Unavailable(_))
    ));
}

#[tokio::test]
async fn a_deleted_event_answers_gone() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    let event_path = format!("{EVENTS}/bookingabc1");
    Mock::given(method("GET"))
        .and(path(event_path.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("event_booking.json")))
        .mount(&server)
        .await;
    // The cancel records its status on the event first; deleted meanwhile, that answers 410.
    Mock::given(method("PATCH"))
        .and(path(event_path.as_str()))
        .respond_with(ResponseTemplate::new(410).set_body_json(fixture("error_410_deleted.json")))
        .expect(1)
        .mount(&server)
        .await;
    let id = EventId::parse("bookingabc1").unwrap();
    let cal = calendar(&server);
    assert_eq!(cal.get(&id).await.unwrap().conversation.as_str(), "conv-a");
    assert!(matches!(cal.cancel(&id).await, Err(CalendarError::Gone(gone)) if gone == id));

    let gone_server = MockServer::start().await;
    mount_token(&gone_server).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(410).set_body_json(fixture("error_410_deleted.json")))
        .mount(&gone_server)
        .await;
    assert!(matches!(
        calendar(&gone_server).get(&id).await,
        Err(CalendarError::Gone(_))
    ));
}

#[derive(serde::Deserialize)]
struct JwtClaims {
    iss: String,
    scope: String,
    aud: String,
    iat: i64,
    exp: i64,
}

/// A token endpoint that only answers a JWT signed by the test key with the right claims.
struct JwtChecker {
    audience: String,
}

impl Respond for JwtChecker {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let form: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(&request.body)
                .into_owned()
                .collect();
        if form.get("grant_type").map(String::as_str)
            != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
        {
            return ResponseTemplate::new(400)
                .set_body_json(json!({"error": "unsupported_grant_type"}));
        }
        let key = jsonwebtoken::DecodingKey::from_rsa_pem(
            fixture_text("test_only_rsa_key.pub.pem").as_bytes(),
        )
        .unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&[self.audience.as_str()]);
        validation.validate_exp = false; // the suite's clock is fixed in 2026
        let Ok(data) = jsonwebtoken::decode::<JwtClaims>(
            form.get("assertion").map(String::as_str).unwrap_or(""),
            &key,
            &validation,
        ) else {
            return ResponseTemplate::new(400).set_body_json(
                json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}),
            );
        };
        let claims = data.claims;
        let ok = claims.iss == "inkdesk@inkdesk-test.iam.gserviceaccount.com"
            && claims.scope == "https://www.googleapis.com/auth/calendar"
            && claims.aud == self.audience
            && claims.exp - claims.iat == 3600
            && data.header.kid.as_deref() == Some("0123456789abcdef0123456789abcdef01234567");
        if ok {
            ResponseTemplate::new(200).set_body_json(fixture("token_reply.json"))
        } else {
            ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant"}))
        }
    }
}

#[tokio::test]
async fn a_service_account_exchanges_an_rs256_jwt_for_a_token() {
    let server = MockServer::start().await;
    let audience = format!("{}/token", server.uri());
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(JwtChecker {
            audience: audience.clone(),
        })
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer ya29.a0-test-access"))
        .respond_with(ResponseTemplate::new(200).set_body_json(empty_page()))
        .expect(1)
        .mount(&server)
        .await;
    let credentials = Credentials::from_service_account_json(&fixture_text("service_account.json"))
        .unwrap()
        .with_token_uri(audience.parse().unwrap());
    let cal = calendar_with(&server, credentials);
    assert!(cal.busy(week()).await.unwrap().is_empty());
}

#[tokio::test]
async fn client_secrets_file_supplies_the_client_for_a_bare_token_file() {
    let creds = Credentials::from_token_json(
        r#"{"refresh_token": "1//only-refresh"}"#,
        Some(&fixture_text("credentials.json")),
    )
    .unwrap();
    let shown = format!("{creds:?}");
    assert!(shown.contains("123456789012-test.apps.googleusercontent.com"));
    assert!(!shown.contains("only-refresh") && !shown.contains("GOCSPX"));
}
