//! Contract tests of the Stripe adapter against a wiremock Stripe: the request is checked
//! field by field as Stripe's API reference documents Checkout Session creation, answers
//! copy Stripe's documented objects (fixtures/), and webhook signatures are computed here
//! with the hmac crate directly, not through the adapter's code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use hmac::{Hmac, KeyInit, Mac};
use inkdesk_domain::ManualClock;
use inkdesk_payments::stripe::RetryPolicy;
use inkdesk_payments::{
    BookingRef, Currency, DepositRequest, HowToPay, Money, PaymentEventKind, PaymentId, Payments,
    PaymentsError, StripeConfig, StripePayments, WebhookError,
};
use rust_decimal::dec;
use secrecy::SecretString;
use serde_json::Value;
use sha2::Sha256;
use wiremock::matchers::{header, method, path};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

const SECRET_KEY: &str = "sk_test_51Inkdesk0000000000000000";
const WEBHOOK_SECRET: &str = "whsec_test_5eCr3tF0rTheEndp0int";
const SESSION_ID: &str = "cs_test_a1kQ7nZ3xYbC9dEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGh";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap()
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let mut value: Value = serde_json::from_str(&text).unwrap();
    value.as_object_mut().unwrap().remove("_doc");
    value
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_retries: 2,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    }
}

fn payments(server: &MockServer, clock: &ManualClock) -> StripePayments {
    let mut config = StripeConfig::new(
        SecretString::from(SECRET_KEY.to_owned()),
        SecretString::from(WEBHOOK_SECRET.to_owned()),
    )
    .base_url(server.uri())
    .retry(fast_retries());
    config.success_url = Some("https://studio.example/deposit/thanks".parse().unwrap());
    StripePayments::new(config, Arc::new(clock.clone())).unwrap()
}

fn request(hold: TimeDelta) -> DepositRequest {
    DepositRequest {
        booking: BookingRef::new("bk-42").unwrap(),
        amount: Money::new(dec!(40), Currency::EUR).unwrap(),
        customer_reference: "ig:17841400000000001".to_owned(),
        hold_until: now() + hold,
        description: "Deposit: appointment on 12 March 2026".to_owned(),
    }
}

/// Matches a form-encoded body holding exactly these fields (order-insensitive).
struct FormIs(Vec<(String, String)>);

impl FormIs {
    fn new(fields: &[(&str, &str)]) -> Self {
        let mut fields: Vec<_> = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        fields.sort();
        Self(fields)
    }
}

impl Match for FormIs {
    fn matches(&self, request: &Request) -> bool {
        let mut got: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect();
        got.sort();
        got == self.0
    }
}

fn expected_form(expires_at: i64) -> FormIs {
    let expires_at = expires_at.to_string();
    FormIs::new(&[
        ("mode", "payment"),
        ("line_items[0][price_data][currency]", "eur"),
        ("line_items[0][price_data][unit_amount]", "4000"),
        (
            "line_items[0][price_data][product_data][name]",
            "Deposit: appointment on 12 March 2026",
        ),
        ("line_items[0][quantity]", "1"),
        ("expires_at", &expires_at),
        ("metadata[booking_id]", "bk-42"),
        ("payment_intent_data[metadata][booking_id]", "bk-42"),
        ("client_reference_id", "ig:17841400000000001"),
        ("success_url", "https://studio.example/deposit/thanks"),
    ])
}

#[tokio::test]
async fn a_deposit_is_a_checkout_session_created_as_stripe_documents() {
    let server = MockServer::start().await;
    let hold_until = now() + TimeDelta::hours(6);
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .and(header(
            "authorization",
            format!("Bearer {SECRET_KEY}").as_str(),
        ))
        .and(header("idempotency-key", "inkdesk-deposit-bk-42"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(expected_form(hold_until.timestamp()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("checkout_session_open.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let clock = ManualClock::new(now());
    let offer = payments(&server, &clock)
        .request_deposit(&request(TimeDelta::hours(6)))
        .await
        .unwrap();
    assert_eq!(offer.payment_id, PaymentId::new(SESSION_ID));
    assert_eq!(offer.amount, Money::new(dec!(40), Currency::EUR).unwrap());
    assert_eq!(offer.expires_at, hold_until);
    let HowToPay::Link(link) = offer.how else {
        panic!("Stripe gives a link");
    };
    assert!(
        link.as_str()
            .starts_with("https://checkout.stripe.com/c/pay/cs_test_a1kQ")
    );
}

#[tokio::test]
async fn a_24_hour_hold_is_sent_as_stripes_longest_expiry() {
    let server = MockServer::start().await;
    // now + 24 h − 1 min, on the minute: 2026-03-02 09:59:00.
    let sent = Utc.with_ymd_and_hms(2026, 3, 2, 9, 59, 0).unwrap();
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .and(expected_form(sent.timestamp()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("checkout_session_open.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let clock = ManualClock::new(now() + TimeDelta::seconds(20));
    let mut req = request(TimeDelta::hours(24));
    req.hold_until = now() + TimeDelta::hours(24);
    payments(&server, &clock)
        .request_deposit(&req)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_500_is_retried_with_the_same_key_and_the_same_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(500).set_body_json(serde_json::json!({
            "error": {"message": "An unknown error occurred", "type": "api_error"}
        })))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("checkout_session_open.json")),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    let clock = ManualClock::new(now());
    let offer = payments(&server, &clock)
        .request_deposit(&request(TimeDelta::hours(6)))
        .await
        .unwrap();
    assert_eq!(offer.payment_id, PaymentId::new(SESSION_ID));
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].body, received[1].body);
    for r in &received {
        assert_eq!(r.headers["idempotency-key"], "inkdesk-deposit-bk-42");
    }
}

async fn failing_with(status: u16, body: Value) -> (PaymentsError, usize) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(&server)
        .await;
    let clock = ManualClock::new(now());
    let error = payments(&server, &clock)
        .request_deposit(&request(TimeDelta::hours(6)))
        .await
        .unwrap_err();
    (error, server.received_requests().await.unwrap().len())
}

#[tokio::test]
async fn stripes_errors_are_classified_and_only_transient_ones_retried() {
    let (error, calls) = failing_with(401, fixture("error_401.json")).await;
    assert!(
        matches!(&error, PaymentsError::Unauthorized(api) if api.status == 401),
        "{error:?}"
    );
    assert_eq!(calls, 1);

    let (error, calls) = failing_with(400, fixture("error_idempotency.json")).await;
    assert!(
        matches!(error, PaymentsError::IdempotencyConflict(_)),
        "{error:?}"
    );
    assert_eq!(calls, 1);

    let (error, calls) = failing_with(400, fixture("error_amount_too_small.json")).await;
    let PaymentsError::Rejected(api) = &error else {
        panic!("expected Rejected, got {error:?}");
    };
    assert_eq!(api.code.as_deref(), Some("amount_too_small"));
    assert_eq!(
        api.param.as_deref(),
        Some("line_items[0][price_data][unit_amount]")
    );
    assert!(!error.is_retryable());
    assert_eq!(calls, 1);

    let rate_limited = serde_json::json!({"error": {
        "message": "Request rate limit exceeded.", "type": "invalid_request_error",
        "code": "rate_limit"}});
    let (error, calls) = failing_with(429, rate_limited).await;
    assert!(
        matches!(error, PaymentsError::RateLimited { .. }),
        "{error:?}"
    );
    assert!(error.is_retryable());
    assert_eq!(calls, 3, "first attempt and two retries");

    let (error, _) = failing_with(200, serde_json::json!({"object": "checkout.session"})).await;
    assert!(
        matches!(error, PaymentsError::InvalidResponse(_)),
        "{error:?}"
    );
}

#[tokio::test]
async fn requests_that_stripe_cannot_serve_are_refused_before_any_call() {
    let server = MockServer::start().await;
    let clock = ManualClock::new(now());
    let mut req = request(TimeDelta::hours(6));
    req.description = "  ".to_owned();
    let error = payments(&server, &clock)
        .request_deposit(&req)
        .await
        .unwrap_err();
    assert!(
        matches!(error, PaymentsError::InvalidRequest(_)),
        "{error:?}"
    );
    // A hold that has already ended gets no link.
    let error = payments(&server, &clock)
        .request_deposit(&request(TimeDelta::zero()))
        .await
        .unwrap_err();
    assert!(
        matches!(error, PaymentsError::InvalidRequest(_)),
        "{error:?}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn cancelling_expires_the_session_and_a_paid_one_is_reported() {
    let server = MockServer::start().await;
    let mut expired = fixture("checkout_session_open.json");
    expired["status"] = "expired".into();
    Mock::given(method("POST"))
        .and(path(format!("/v1/checkout/sessions/{SESSION_ID}/expire")))
        .and(header(
            "authorization",
            format!("Bearer {SECRET_KEY}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(expired))
        .expect(1)
        .mount(&server)
        .await;
    let clock = ManualClock::new(now());
    payments(&server, &clock)
        .cancel(&PaymentId::new(SESSION_ID))
        .await
        .unwrap();

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v1/checkout/sessions/{SESSION_ID}/expire")))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(fixture("error_expire_not_open.json")),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/checkout/sessions/{SESSION_ID}")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("checkout_session_complete.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let error = payments(&server, &clock)
        .cancel(&PaymentId::new(SESSION_ID))
        .await
        .unwrap_err();
    assert!(matches!(error, PaymentsError::AlreadyPaid), "{error:?}");
}

// ---- webhooks ----

/// `v1` computed independently: HMAC-SHA256(secret, "{t}.{body}") as lower-case hex.
fn v1(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn headers(value: &str) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    headers.insert("stripe-signature", value.parse().unwrap());
    headers
}

fn body(name: &str) -> Vec<u8> {
    serde_json::to_vec(&fixture(name)).unwrap()
}

async fn adapter_at(at: DateTime<Utc>) -> StripePayments {
    let server = MockServer::start().await;
    payments(&server, &ManualClock::new(at))
}

#[tokio::test]
async fn a_signed_completed_event_is_the_paid_deposit_of_its_booking() {
    let stripe = adapter_at(now()).await;
    let body = body("event_completed.json");
    let t = now().timestamp() - 10;
    let sig = format!("t={t},v1={}", v1(WEBHOOK_SECRET, t, &body));
    let event = stripe.parse_webhook(&headers(&sig), &body).unwrap();
    assert_eq!(event.event_id, "evt_1QxCompleted0000000000001");
    assert_eq!(
        event.kind,
        PaymentEventKind::Completed {
            booking: BookingRef::new("bk-42").unwrap(),
            payment_id: PaymentId::new(SESSION_ID),
            paid: Some(Money::new(dec!(40), Currency::EUR).unwrap()),
        }
    );
}

#[tokio::test]
async fn a_signed_expired_event_names_the_booking() {
    let stripe = adapter_at(now()).await;
    let body = body("event_expired.json");
    let t = now().timestamp();
    let sig = format!("t={t},v1={}", v1(WEBHOOK_SECRET, t, &body));
    let event = stripe.parse_webhook(&headers(&sig), &body).unwrap();
    assert_eq!(event.event_id, "evt_1QxExpired00000000000001");
    assert_eq!(
        event.kind,
        PaymentEventKind::Expired {
            booking: BookingRef::new("bk-42").unwrap(),
            payment_id: PaymentId::new(SESSION_ID),
        }
    );
}

#[tokio::test]
async fn several_v1_values_are_accepted_when_one_matches_and_other_schemes_ignored() {
    let stripe = adapter_at(now()).await;
    let body = body("event_completed.json");
    let t = now().timestamp();
    let old_secret = v1("whsec_the_rolled_out_secret", t, &body);
    let good = v1(WEBHOOK_SECRET, t, &body);
    let v0 = "6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39";
    let sig = format!("t={t},v1={old_secret},v1={good},v0={v0}");
    assert!(stripe.parse_webhook(&headers(&sig), &body).is_ok());
    // Order does not matter, nor does a v1 that is not hex.
    let sig = format!("t={t}, v1=zz-not-hex, v1={good}, v1={old_secret}");
    assert!(stripe.parse_webhook(&headers(&sig), &body).is_ok());
}

#[tokio::test]
async fn a_wrong_secret_an_altered_body_or_a_v0_only_header_is_refused() {
    let stripe = adapter_at(now()).await;
    let body = body("event_completed.json");
    let t = now().timestamp();
    let wrong = format!("t={t},v1={}", v1("whsec_someone_else", t, &body));
    assert_eq!(
        stripe.parse_webhook(&headers(&wrong), &body),
        Err(WebhookError::SignatureMismatch)
    );
    let good = format!("t={t},v1={}", v1(WEBHOOK_SECRET, t, &body));
    let mut altered = body.clone();
    let at = altered.len() - 2;
    altered.insert(at, b' ');
    assert_eq!(
        stripe.parse_webhook(&headers(&good), &altered),
        Err(WebhookError::SignatureMismatch)
    );
    // The signature of another timestamp does not carry over.
    let shifted = format!("t={},v1={}", t + 1, v1(WEBHOOK_SECRET, t, &body));
    assert_eq!(
        stripe.parse_webhook(&headers(&shifted), &body),
        Err(WebhookError::SignatureMismatch)
    );
    let v0_only = format!("t={t},v0={}", v1(WEBHOOK_SECRET, t, &body));
    assert_eq!(
        stripe.parse_webhook(&headers(&v0_only), &body),
        Err(WebhookError::MalformedSignature)
    );
    assert_eq!(
        stripe.parse_webhook(&http::HeaderMap::new(), &body),
        Err(WebhookError::MissingSignature("Stripe-Signature"))
    );
    assert_eq!(
        stripe.parse_webhook(&headers("garbage"), &body),
        Err(WebhookError::MalformedSignature)
    );
}

#[tokio::test]
async fn an_old_or_future_timestamp_is_refused_even_when_correctly_signed() {
    let stripe = adapter_at(now()).await;
    let body = body("event_completed.json");
    let signed_at = |offset: i64| {
        let t = now().timestamp() + offset;
        format!("t={t},v1={}", v1(WEBHOOK_SECRET, t, &body))
    };
    assert_eq!(
        stripe.parse_webhook(&headers(&signed_at(-301)), &body),
        Err(WebhookError::TimestampOutOfTolerance {
            age_seconds: 301,
            tolerance_seconds: 300
        })
    );
    assert!(
        stripe
            .parse_webhook(&headers(&signed_at(-300)), &body)
            .is_ok()
    );
    assert!(
        stripe
            .parse_webhook(&headers(&signed_at(299)), &body)
            .is_ok()
    );
    assert!(matches!(
        stripe.parse_webhook(&headers(&signed_at(301)), &body),
        Err(WebhookError::TimestampOutOfTolerance { .. })
    ));
    // A delivery replayed a day later.
    let later = adapter_at(now() + TimeDelta::days(1)).await;
    assert!(matches!(
        later.parse_webhook(&headers(&signed_at(0)), &body),
        Err(WebhookError::TimestampOutOfTolerance { .. })
    ));
}

fn sign(body: &[u8]) -> http::HeaderMap {
    let t = now().timestamp();
    headers(&format!("t={t},v1={}", v1(WEBHOOK_SECRET, t, body)))
}

#[tokio::test]
async fn other_events_unpaid_sessions_and_foreign_sessions_are_ignored() {
    let stripe = adapter_at(now()).await;

    let mut other = fixture("event_completed.json");
    other["type"] = "payment_intent.succeeded".into();
    other["data"]["object"] = serde_json::json!({"id": "pi_3Qx", "object": "payment_intent"});
    let raw = serde_json::to_vec(&other).unwrap();
    let event = stripe.parse_webhook(&sign(&raw), &raw).unwrap();
    assert!(matches!(
        event.kind,
        PaymentEventKind::Ignored { ref event_type, .. } if event_type == "payment_intent.succeeded"
    ));

    let mut unpaid = fixture("event_completed.json");
    unpaid["data"]["object"]["payment_status"] = "unpaid".into();
    let raw = serde_json::to_vec(&unpaid).unwrap();
    let event = stripe.parse_webhook(&sign(&raw), &raw).unwrap();
    assert!(
        matches!(event.kind, PaymentEventKind::Ignored { .. }),
        "{event:?}"
    );

    // Settled later by async_payment_succeeded.
    let mut settled = unpaid.clone();
    settled["type"] = "checkout.session.async_payment_succeeded".into();
    settled["data"]["object"]["payment_status"] = "paid".into();
    let raw = serde_json::to_vec(&settled).unwrap();
    let event = stripe.parse_webhook(&sign(&raw), &raw).unwrap();
    assert!(
        matches!(event.kind, PaymentEventKind::Completed { .. }),
        "{event:?}"
    );

    let mut foreign = fixture("event_completed.json");
    foreign["data"]["object"]["metadata"] = serde_json::json!({});
    let raw = serde_json::to_vec(&foreign).unwrap();
    let event = stripe.parse_webhook(&sign(&raw), &raw).unwrap();
    assert!(
        matches!(event.kind, PaymentEventKind::Ignored { .. }),
        "{event:?}"
    );
}

#[tokio::test]
async fn a_signed_body_that_is_not_an_event_is_refused() {
    let stripe = adapter_at(now()).await;
    for raw in [
        &b"not json"[..],
        br#"{"id":"evt_1"}"#,
        br#"{"id":"evt_1","type":"checkout.session.completed","data":{"object":{"metadata":{}}}}"#,
    ] {
        assert!(
            matches!(
                stripe.parse_webhook(&sign(raw), raw),
                Err(WebhookError::InvalidPayload(_))
            ),
            "{}",
            String::from_utf8_lossy(raw)
        );
    }
}
