//! Deposits end to end: a booking waits for its deposit, the customer gets how to pay in
//! the DM (a Stripe Checkout link, or the studio's own instructions), and the booking is
//! confirmed by Stripe's signed webhook or by staff, or cancelled unpaid when the hold runs
//! out or the link expires (the slot freed, the customer told).
//!
//! The fake Stripe answers `POST /v1/checkout/sessions` with the Checkout Session object of
//! Stripe's API reference (the payments crate's fixtures), echoing the booking id and
//! expiry it was sent. Webhook signatures are computed here with the hmac crate directly:
//! `t=<unix>,v1=<hex HMAC-SHA256 of "{t}.{body}">`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{Datelike, Duration as ChronoDuration, Utc, Weekday};
use hmac::{Hmac, KeyInit, Mac};
use inkdesk_calendar::BookingStatus;
use inkdesk_domain::profile::PaymentMethod;
use inkdesk_domain::{EventId, StudioProfile};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::{
    ADMIN_TOKEN, OffsetClock, Options, TestApp, graph_accepts_sends, send_reply_completion,
    spawn_with, text_event, wait_until,
};

const STRIPE_KEY: &str = "sk_test_51InkdeskE2e000000000000";
const WEBHOOK_SECRET: &str = "whsec_e2e_5eCr3tF0rTheEndp0int";
const CUSTOMER: &str = "5557001";
const IBAN: &str = "GR16 0110 1250 0000 0001 2300 695";

/// Answers model calls from a script, in order.
struct Script(Arc<Mutex<VecDeque<Value>>>);

impl Respond for Script {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        match self.0.lock().unwrap().pop_front() {
            Some(body) => ResponseTemplate::new(200).set_body_json(body),
            None => ResponseTemplate::new(500),
        }
    }
}

fn tool_call(name: &str, arguments: Value) -> Value {
    json!({
        "id": "chatcmpl-e2e", "object": "chat.completion", "created": 1764400000, "model": "gpt-4o",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
            "tool_calls": [{"id": format!("call_{name}"), "type": "function",
                "function": {"name": name, "arguments": arguments.to_string()}}]}}],
        "usage": {"prompt_tokens": 3600, "completion_tokens": 30, "total_tokens": 3630}
    })
}

/// The first Tuesday at least three days from now in Athens.
fn next_tuesday() -> chrono::NaiveDate {
    let mut day = Utc::now()
        .with_timezone(&StudioProfile::example().time_zone)
        .date_naive()
        + ChronoDuration::days(3);
    while day.weekday() != Weekday::Tue {
        day += ChronoDuration::days(1);
    }
    day
}

/// The model books Tuesday 12:00 at the price guide's 60 € (`g3`, small with shading) and
/// says so.
async fn model_books(app: &TestApp) {
    let date = next_tuesday().format("%Y-%m-%d").to_string();
    let script = Arc::new(Mutex::new(VecDeque::from([
        tool_call(
            "book_appointment",
            json!({"date": date, "time": "12:00", "name": "Γιάννης Παπαδόπουλος",
                   "phone": "691 234 5678", "design": "μικρό τριαντάφυλλο", "quote_id": "g3"}),
        ),
        send_reply_completion("Σας κρατήσαμε την Τρίτη στις 12:00! ❤️🐼"),
    ])));
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(Script(script))
        .mount(&app.model)
        .await;
}

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../../crates/payments/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    value.as_object_mut().unwrap().remove("_doc");
    value
}

/// Stripe's `POST /v1/checkout/sessions`: the documented session object, with what the
/// request asked (booking id, amount, expiry).
struct CheckoutSessions;

fn form(request: &Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

fn field<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

impl Respond for CheckoutSessions {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let form = form(request);
        let mut session = fixture("checkout_session_open.json");
        session["metadata"]["booking_id"] = json!(field(&form, "metadata[booking_id]"));
        session["client_reference_id"] = json!(field(&form, "client_reference_id"));
        let amount: i64 = field(&form, "line_items[0][price_data][unit_amount]")
            .and_then(|a| a.parse().ok())
            .unwrap_or(0);
        session["amount_total"] = json!(amount);
        session["amount_subtotal"] = json!(amount);
        session["expires_at"] = json!(
            field(&form, "expires_at")
                .and_then(|e| e.parse::<i64>().ok())
                .unwrap_or(0)
        );
        ResponseTemplate::new(200).set_body_json(session)
    }
}

async fn fake_stripe() -> MockServer {
    let stripe = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(CheckoutSessions)
        .mount(&stripe)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(
            r"^/v1/checkout/sessions/cs_[A-Za-z0-9_]+/expire$",
        ))
        .respond_with(|_: &Request| {
            let mut session = fixture("checkout_session_open.json");
            session["status"] = json!("expired");
            ResponseTemplate::new(200).set_body_json(session)
        })
        .mount(&stripe)
        .await;
    stripe
}

fn stripe_env(stripe: &MockServer) -> Vec<(&'static str, String)> {
    vec![
        ("INKDESK_PAYMENTS", "stripe".into()),
        ("STRIPE_SECRET_KEY", STRIPE_KEY.into()),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET.into()),
        ("STRIPE_API_BASE_URL", stripe.uri()),
    ]
}

/// `Stripe-Signature` for `body` signed at `t`, computed as Stripe documents it.
fn stripe_signature(secret: &str, t: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// A Stripe event of `fixture` about `booking`.
fn event(fixture_name: &str, event_id: &str, booking: &EventId) -> String {
    let mut event = fixture(fixture_name);
    event["id"] = json!(event_id);
    event["data"]["object"]["metadata"]["booking_id"] = json!(booking.as_str());
    event.to_string()
}

async fn post_stripe(app: &TestApp, body: &str, signature: &str) -> reqwest::Response {
    app.client
        .post(app.url("/payments/stripe"))
        .header("content-type", "application/json")
        .header("stripe-signature", signature)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

fn text_of(send: &Value) -> String {
    send["message"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The conversation's one booking, as the calendar has it now.
async fn the_booking(app: &TestApp) -> inkdesk_calendar::Booking {
    let calendar = &app.running.app.calendar;
    let mut list = calendar.list_upcoming(Utc::now(), 10).await.unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    list.remove(0)
}

/// Books through the DM and returns the booking and the reply the customer got.
async fn book(app: &TestApp) -> (inkdesk_calendar::Booking, String) {
    graph_accepts_sends(&app.graph).await;
    model_books(app).await;
    app.post_signed(&text_event(
        CUSTOMER,
        "m_dep1",
        "Τρίτη 12:00 για το τριαντάφυλλο, 60€. Γιάννης Παπαδόπουλος 691 234 5678",
    ))
    .await;
    let sent = app.wait_for_sends(1, Duration::from_secs(10)).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    (the_booking(app).await, text_of(&sent[0]))
}

fn stripe_options(stripe: &MockServer) -> Options {
    Options {
        env: stripe_env(stripe),
        ..Options::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_checkout_confirms_the_booking_once_and_bad_signatures_are_refused() {
    let stripe = fake_stripe().await;
    let app = spawn_with(stripe_options(&stripe), None, None).await;
    let (booking, reply) = book(&app).await;

    // Pending, with 30 % of 60 € asked; the slot stays taken.
    assert!(
        matches!(booking.status, BookingStatus::PendingDeposit { .. }),
        "{booking:?}"
    );
    assert_eq!(booking.deposit.unwrap().amount().to_string(), "18");
    // Nobody is reminded of a booking that is not yet theirs.
    let reminder_key = inkdesk_assistant::reminders::job_key(&booking.id);
    assert!(
        app.running
            .app
            .stores
            .schedule
            .job(&reminder_key)
            .await
            .unwrap()
            .is_none()
    );
    // The DM carries the Checkout link, word for word, before the sign-off.
    assert!(
        reply.contains("https://checkout.stripe.com/c/pay/cs_test_"),
        "{reply}"
    );
    assert!(reply.contains("18 €"), "{reply}");
    assert!(reply.starts_with("Σας κρατήσαμε"), "{reply}");
    assert!(reply.ends_with("❤️🐼"), "{reply}");

    // One Checkout Session, shaped as Stripe documents: the deposit in cents, the booking
    // in the metadata, the idempotency key from the booking id.
    let creates: Vec<Request> = stripe
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/v1/checkout/sessions")
        .collect();
    assert_eq!(creates.len(), 1);
    let create = &creates[0];
    assert_eq!(
        create.headers.get("authorization").unwrap(),
        &format!("Bearer {STRIPE_KEY}")
    );
    assert_eq!(
        create.headers.get("idempotency-key").unwrap(),
        &format!("inkdesk-deposit-{}", booking.id)
    );
    let sent_form = form(create);
    assert_eq!(field(&sent_form, "mode"), Some("payment"));
    assert_eq!(
        field(&sent_form, "line_items[0][price_data][unit_amount]"),
        Some("1800")
    );
    assert_eq!(
        field(&sent_form, "line_items[0][price_data][currency]"),
        Some("eur")
    );
    assert_eq!(
        field(&sent_form, "metadata[booking_id]"),
        Some(booking.id.as_str())
    );
    assert_eq!(field(&sent_form, "client_reference_id"), Some(CUSTOMER));

    // Refused, nothing changes: a wrong secret, a timestamp past the 5-minute tolerance,
    // no signature at all.
    let body = event(
        "event_completed.json",
        "evt_1QxE2eCompleted0001",
        &booking.id,
    );
    let now = Utc::now().timestamp();
    let wrong = stripe_signature("whsec_not_ours", now, &body);
    assert_eq!(
        post_stripe(&app, &body, &wrong).await.status(),
        StatusCode::BAD_REQUEST
    );
    let old = stripe_signature(WEBHOOK_SECRET, now - 6 * 60, &body);
    assert_eq!(
        post_stripe(&app, &body, &old).await.status(),
        StatusCode::BAD_REQUEST
    );
    let unsigned = app
        .client
        .post(app.url("/payments/stripe"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), StatusCode::BAD_REQUEST);
    assert!(matches!(
        the_booking(&app).await.status,
        BookingStatus::PendingDeposit { .. }
    ));

    // Signed as Stripe signs it (one of several v1 values is ours): confirmed, customer told.
    let good = format!(
        "{},v1={}",
        stripe_signature(WEBHOOK_SECRET, now, &body),
        "0".repeat(64)
    );
    let response = post_stripe(&app, &body, &good).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(the_booking(&app).await.status, BookingStatus::Confirmed);
    let sent = app.wait_for_sends(2, Duration::from_secs(5)).await;
    assert_eq!(sent.len(), 2);
    assert!(
        text_of(&sent[1]).contains("Λάβαμε την προκαταβολή"),
        "{sent:?}"
    );

    // Delivered again (Stripe retries): 200, and nothing more happens.
    let again = stripe_signature(WEBHOOK_SECRET, Utc::now().timestamp(), &body);
    assert_eq!(
        post_stripe(&app, &body, &again).await.status(),
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.sent().await.len(), 2);
    assert_eq!(the_booking(&app).await.status, BookingStatus::Confirmed);
    // The hold's expiry was withdrawn with the confirmation.
    let key = inkdesk_assistant::deposits::hold_job_key(&booking.id);
    assert!(
        app.running
            .app
            .stores
            .schedule
            .job(&key)
            .await
            .unwrap()
            .is_none()
    );
    // Paid, so confirmed: the customer's reminder is now scheduled, `reminder_hours` (24 in
    // the example profile) before the start, through the service's calendar.
    let reminder = app
        .running
        .app
        .stores
        .schedule
        .job(&reminder_key)
        .await
        .unwrap()
        .expect("a paid booking has its reminder");
    assert_eq!(reminder.due, booking.start - ChronoDuration::hours(24));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_checkout_frees_the_slot_and_tells_the_customer() {
    let stripe = fake_stripe().await;
    let app = spawn_with(stripe_options(&stripe), None, None).await;
    let (booking, _) = book(&app).await;
    let body = event("event_expired.json", "evt_1QxE2eExpired00001", &booking.id);
    let signature = stripe_signature(WEBHOOK_SECRET, Utc::now().timestamp(), &body);
    assert_eq!(
        post_stripe(&app, &body, &signature).await.status(),
        StatusCode::OK
    );
    let calendar = &app.running.app.calendar;
    assert!(matches!(
        calendar.get(&booking.id).await,
        Err(inkdesk_calendar::CalendarError::Gone(_))
    ));
    let busy = calendar.busy(booking.interval()).await.unwrap();
    assert!(
        busy.iter().all(|b| b.event.as_ref() != Some(&booking.id)),
        "{busy:?}"
    );
    let sent = app.wait_for_sends(2, Duration::from_secs(5)).await;
    assert_eq!(sent.len(), 2);
    assert!(text_of(&sent[1]).contains("ακυρώθηκε"), "{sent:?}");
    // Delivered again: nothing more.
    let again = stripe_signature(WEBHOOK_SECRET, Utc::now().timestamp(), &body);
    assert_eq!(
        post_stripe(&app, &body, &again).await.status(),
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.sent().await.len(), 2);
}

/// The example profile with the studio's own ways to be paid.
fn manual_profile(hold_hours: u32) -> StudioProfile {
    let mut profile = StudioProfile::example();
    profile.pricing.deposit_hold_hours = hold_hours;
    profile.payments.methods = vec![
        PaymentMethod::BankTransfer {
            beneficiary: "Panda Ink IKE".into(),
            iban: IBAN.into(),
            bank: None,
        },
        PaymentMethod::Iris {
            payee: "6900000000".into(),
        },
    ];
    profile
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_instructions_in_the_dm_and_staff_mark_the_deposit_received() {
    let options = Options {
        profile: Some(manual_profile(24)),
        ..Options::default()
    };
    let app = spawn_with(options, None, None).await;
    let (booking, reply) = book(&app).await;
    assert!(matches!(
        booking.status,
        BookingStatus::PendingDeposit { .. }
    ));
    assert!(reply.contains(IBAN), "{reply}");
    assert!(reply.contains("IRIS"), "{reply}");
    assert!(
        reply.contains(booking.id.as_str()),
        "the reference: {reply}"
    );
    assert!(reply.contains("18 €"), "{reply}");

    // The console lists it as waiting, with the button.
    let cookie = crate::admin::login_at(&app.url("")).await;
    let page = app
        .client
        .get(app.url("/admin/bookings"))
        .header("cookie", format!("inkdesk_admin={cookie}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let action = format!("/admin/bookings/{}/deposit-received", booking.id);
    assert!(page.contains(&action), "{page}");
    assert!(
        page.contains("Αναμένει προκαταβολή") || page.contains("Waiting for the deposit"),
        "{page}"
    );
    let csrf = crate::admin::csrf_in(&page);
    // Without the session's CSRF token: refused, nothing changes.
    let forged = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let refused = forged
        .post(app.url(&action))
        .header("cookie", format!("inkdesk_admin={cookie}"))
        .form(&[("csrf", "not-the-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(matches!(
        the_booking(&app).await.status,
        BookingStatus::PendingDeposit { .. }
    ));
    let marked = forged
        .post(app.url(&action))
        .header("cookie", format!("inkdesk_admin={cookie}"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(marked.status(), StatusCode::SEE_OTHER);
    assert_eq!(the_booking(&app).await.status, BookingStatus::Confirmed);
    let sent = app.wait_for_sends(2, Duration::from_secs(5)).await;
    assert!(
        text_of(&sent[1]).contains("Λάβαμε την προκαταβολή"),
        "{sent:?}"
    );

    // The API refuses a second "received" (it is confirmed already) and an unknown id.
    let api = |id: &str| {
        app.client
            .post(app.url(&format!("/admin/api/bookings/{id}/deposit-received")))
            .bearer_auth(ADMIN_TOKEN)
            .send()
    };
    let twice = api(booking.id.as_str()).await.unwrap();
    assert_eq!(twice.status(), StatusCode::CONFLICT);
    assert_eq!(
        api("nosuchbooking0").await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let unauthorised = app
        .client
        .post(app.url(&format!(
            "/admin/api/bookings/{}/deposit-received",
            booking.id
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorised.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_confirms_a_pending_booking() {
    let options = Options {
        profile: Some(manual_profile(24)),
        ..Options::default()
    };
    let app = spawn_with(options, None, None).await;
    let (booking, _) = book(&app).await;
    let response = app
        .client
        .post(app.url(&format!(
            "/admin/api/bookings/{}/deposit-received",
            booking.id
        )))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "confirmed");
    assert_eq!(the_booking(&app).await.status, BookingStatus::Confirmed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaid_hold_runs_out_once_the_slot_is_freed_and_the_customer_told() {
    let clock = OffsetClock::default();
    let options = Options {
        profile: Some(manual_profile(1)),
        clock: Some(Arc::new(clock.clone())),
        ..Options::default()
    };
    let app = spawn_with(options, None, None).await;
    let (booking, reply) = book(&app).await;
    let hold = booking.status.hold_until().unwrap();
    assert!(hold <= Utc::now() + ChronoDuration::minutes(61), "{hold}");
    assert!(reply.contains(IBAN), "{reply}");
    let key = inkdesk_assistant::deposits::hold_job_key(&booking.id);
    let schedule = app.running.app.stores.schedule.clone();
    assert!(schedule.job(&key).await.unwrap().is_some());

    // Not yet: nothing happens before the hold's end.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.running.app.calendar.get(&booking.id).await.is_ok());

    // An hour and a minute later (still inside the customer's 24-hour window).
    clock.advance(ChronoDuration::minutes(61));
    let calendar = app.running.app.calendar.clone();
    let id = booking.id.clone();
    assert!(
        wait_until(Duration::from_secs(10), || {
            let calendar = calendar.clone();
            let id = id.clone();
            async move {
                matches!(
                    calendar.get(&id).await,
                    Err(inkdesk_calendar::CalendarError::Gone(_))
                )
            }
        })
        .await,
        "the unpaid booking was not cancelled"
    );
    let sent = app.wait_for_sends(2, Duration::from_secs(5)).await;
    assert_eq!(sent.len(), 2);
    assert!(text_of(&sent[1]).contains("ακυρώθηκε"), "{sent:?}");
    let busy = calendar.busy(booking.interval()).await.unwrap();
    assert!(busy.iter().all(|b| b.event.as_ref() != Some(&booking.id)));
    assert!(
        wait_until(Duration::from_secs(5), || {
            let schedule = schedule.clone();
            let key = key.clone();
            async move {
                matches!(
                    schedule.job(&key).await.unwrap().map(|j| j.state),
                    Some(inkdesk_store::JobState::Done)
                )
            }
        })
        .await
    );
    // Once: the job is done and nothing else goes out; staff can no longer confirm it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.sent().await.len(), 2);
    let late = app
        .client
        .post(app.url(&format!(
            "/admin/api/bookings/{}/deposit-received",
            booking.id
        )))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), StatusCode::CONFLICT);
}
