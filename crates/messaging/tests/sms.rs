//! `TwilioSms` against a wiremock Twilio: the request as Twilio's Messages API documents it
//! (path with the Account SID, Basic auth, form fields `To`, `From`/`MessagingServiceSid`,
//! `Body`), the 201 Message resource, and the error bodies mapped to retryable or not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use base64::Engine;
use inkdesk_domain::{PhoneNumber, Region};
use inkdesk_messaging::{Sms, SmsError, SmsSender, TwilioConfig, TwilioSms};
use secrecy::SecretString;
use serde_json::Value;
use wiremock::matchers::{header, method, path};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "twilio-auth-token-for-tests";
const PATH: &str = "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json";
const TEXT: &str = "Υπενθύμιση: το ραντεβού σας είναι αύριο στις 17:00.";

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut value: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    value.as_object_mut().unwrap().remove("_doc");
    value
}

fn customer() -> PhoneNumber {
    PhoneNumber::parse("691 234 5678", Region::GREECE).unwrap()
}

fn sms(server: &MockServer, from: &str) -> TwilioSms {
    let mut config = TwilioConfig::new(
        SID,
        SecretString::from(TOKEN.to_owned()),
        SmsSender::parse(from).unwrap(),
    )
    .base_url(server.uri());
    config.request_timeout = Duration::from_millis(500);
    TwilioSms::new(config).unwrap()
}

/// Matches a form-encoded body holding exactly these fields.
struct FormIs(Vec<(String, String)>);

impl Match for FormIs {
    fn matches(&self, request: &Request) -> bool {
        let mut got: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect();
        got.sort();
        let mut want = self.0.clone();
        want.sort();
        got == want
    }
}

fn form(fields: &[(&str, &str)]) -> FormIs {
    FormIs(
        fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

#[tokio::test]
async fn an_sms_is_posted_as_twilio_documents_and_the_sid_returned() {
    let server = MockServer::start().await;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}"));
    Mock::given(method("POST"))
        .and(path(PATH))
        .and(header("authorization", format!("Basic {basic}").as_str()))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(form(&[
            ("To", "+306912345678"),
            ("From", "+302101234567"),
            ("Body", TEXT),
        ]))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(fixture("twilio_message_created.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let receipt = sms(&server, "+30 210 123 4567")
        .send_sms(&customer(), TEXT)
        .await
        .unwrap();
    assert_eq!(receipt.sid, "SM3f1d2c0b9a8e7f6d5c4b3a2f1e0d9c8b");
    assert_eq!(receipt.status, "queued");
}

#[tokio::test]
async fn a_messaging_service_is_sent_as_messaging_service_sid() {
    let server = MockServer::start().await;
    let mg = "MG0123456789abcdef0123456789abcdef";
    Mock::given(method("POST"))
        .and(path(PATH))
        .and(form(&[
            ("To", "+306912345678"),
            ("MessagingServiceSid", mg),
            ("Body", "Hello"),
        ]))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(fixture("twilio_message_created.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    sms(&server, mg)
        .send_sms(&customer(), "Hello")
        .await
        .unwrap();
}

async fn refused(status: u16, body: Value) -> SmsError {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;
    sms(&server, "InkStudio")
        .send_sms(&customer(), TEXT)
        .await
        .unwrap_err()
}

#[tokio::test]
async fn twilio_errors_are_mapped_to_retryable_or_permanent() {
    let error = refused(400, fixture("twilio_error_21211.json")).await;
    let SmsError::Rejected(api) = &error else {
        panic!("expected Rejected, got {error:?}");
    };
    assert_eq!(api.code, Some(21211));
    assert_eq!(
        api.more_info.as_deref(),
        Some("https://www.twilio.com/docs/errors/21211")
    );
    assert!(!error.is_retryable());

    let error = refused(400, fixture("twilio_error_21610.json")).await;
    assert!(matches!(error, SmsError::Unsubscribed(_)), "{error:?}");
    assert!(!error.is_retryable());

    let error = refused(401, fixture("twilio_error_20003.json")).await;
    assert!(
        matches!(error, SmsError::Unauthorized(ref api) if api.code == Some(20003)),
        "{error:?}"
    );
    assert!(!error.is_retryable());

    let error = refused(429, fixture("twilio_error_20429.json")).await;
    assert!(matches!(error, SmsError::RateLimited { .. }), "{error:?}");
    assert!(error.is_retryable());

    let error = refused(
        503,
        serde_json::json!({"code": 20503, "message": "Service Unavailable"}),
    )
    .await;
    assert!(matches!(error, SmsError::Unavailable(_)), "{error:?}");
    assert!(error.is_retryable());

    let error = refused(201, serde_json::json!({"status": "queued"})).await;
    assert!(matches!(error, SmsError::InvalidResponse(_)), "{error:?}");
}

#[tokio::test]
async fn a_429_carries_twilios_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "7")
                .set_body_json(fixture("twilio_error_20429.json")),
        )
        .mount(&server)
        .await;
    let error = sms(&server, "InkStudio")
        .send_sms(&customer(), TEXT)
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        SmsError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(7)
    ));
}

#[tokio::test]
async fn no_answer_after_sending_is_ambiguous_and_not_retryable() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .respond_with(
            ResponseTemplate::new(201)
                .set_delay(Duration::from_secs(3))
                .set_body_json(fixture("twilio_message_created.json")),
        )
        .mount(&server)
        .await;
    let error = sms(&server, "InkStudio")
        .send_sms(&customer(), TEXT)
        .await
        .unwrap_err();
    assert!(matches!(error, SmsError::Ambiguous(_)), "{error:?}");
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn empty_or_overlong_texts_are_refused_before_any_call() {
    let server = MockServer::start().await;
    let client = sms(&server, "InkStudio");
    for body in ["", "   ", &"x".repeat(1601)] {
        assert!(matches!(
            client.send_sms(&customer(), body).await,
            Err(SmsError::InvalidBody)
        ));
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}
