//! Customers by name in the console: the Instagram User Profile API is asked once per
//! customer, the answer is kept in the store, shown in the inbox and bookings, exported,
//! and deleted with the customer; a failure shows the id and is not asked again at once.

use std::time::Duration;

use chrono::Utc;
use inkdesk_domain::{
    AppointmentDuration, ConversationId, CustomerName, PhoneNumber, Region, StudioProfile,
};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::support::{
    ADMIN_TOKEN, TestApp, graph_accepts_sends, model_replies, spawn_app, text_event,
};

const KNOWN: &str = "5553101";
const FAILING: &str = "5553102";

async fn api(app: &TestApp, path: &str) -> Value {
    app.client
        .get(app.url(path))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The inbox row of `conversation`, once its `customer` is what `done` wants.
async fn row_when(app: &TestApp, conversation: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let inbox = api(app, "/admin/api/conversations").await;
        let row = inbox["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["conversation"] == conversation)
            .cloned();
        if let Some(row) = row {
            if done(&row) || tokio::time::Instant::now() > deadline {
                return row;
            }
        } else {
            assert!(tokio::time::Instant::now() < deadline, "{inbox}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn profile_requests(app: &TestApp, id: &str) -> usize {
    app.graph
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "GET" && r.url.path() == format!("/v23.0/{id}"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_are_shown_by_their_instagram_name_fetched_once_and_deleted_with_them() {
    let app = spawn_app().await;
    graph_accepts_sends(&app.graph).await;
    model_replies(&app.model, "Γεια σας! ❤️🐼").await;
    // Meta's documented answer of the User Profile API.
    Mock::given(method("GET"))
        .and(path(format!("/v23.0/{KNOWN}")))
        .and(query_param("fields", "name,username"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"name": "Μαρία Καραγιάννη", "username": "maria.ink", "id": KNOWN}),
        ))
        .mount(&app.graph)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v23.0/{FAILING}")))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"error": {
            "message": "An unexpected error has occurred. Please retry your request later.",
            "type": "OAuthException", "is_transient": true, "code": 2}})))
        .mount(&app.graph)
        .await;

    app.post_signed(&text_event(KNOWN, "m_p1", "Γεια σας"))
        .await;
    app.post_signed(&text_event(FAILING, "m_p2", "Καλησπέρα"))
        .await;
    app.wait_for_sends(2, Duration::from_secs(10)).await;

    let row = row_when(&app, KNOWN, |r| !r["customer"].is_null()).await;
    assert_eq!(row["customer"], "Μαρία Καραγιάννη (@maria.ink)");
    // The failing one shows its id; inbox loads do not ask again.
    let failing = row_when(&app, FAILING, |_| true).await;
    assert!(failing["customer"].is_null(), "{failing}");
    for _ in 0..5 {
        api(&app, "/admin/api/conversations").await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(profile_requests(&app, FAILING).await, 1);

    // A second message, more inbox loads: still one request for the known customer.
    app.post_signed(&text_event(KNOWN, "m_p3", "Μια ερώτηση"))
        .await;
    app.wait_for_sends(3, Duration::from_secs(10)).await;
    api(&app, "/admin/api/conversations").await;
    assert_eq!(profile_requests(&app, KNOWN).await, 1);

    // Bookings show the name too (the HTML page and the API).
    let profile = StudioProfile::example();
    let duration = AppointmentDuration::from_minutes(60, 600).unwrap();
    let today = Utc::now().with_timezone(&profile.time_zone).date_naive();
    let request = inkdesk_calendar::SlotRequest::range(
        today + chrono::Duration::days(2),
        today + chrono::Duration::days(16),
        duration,
    );
    let calendar = app.running.app.calendar.clone();
    let slot =
        inkdesk_calendar::available_slots(calendar.as_ref(), &profile, &[], &request, Utc::now())
            .await
            .unwrap()[0]
            .clone();
    calendar
        .create(inkdesk_calendar::NewBooking {
            conversation: ConversationId::parse(KNOWN).unwrap(),
            customer: CustomerName::parse("Μαρία Κ.").unwrap(),
            phone: PhoneNumber::parse("6912345678", Region::GREECE).unwrap(),
            design: None,
            price: None,
            start: slot.start.with_timezone(&Utc),
            duration,
            artist: None,
            idempotency_key: None,
            deposit: None,
            sms_consent: false,
        })
        .await
        .unwrap();
    let bookings = api(&app, "/admin/api/bookings").await;
    assert_eq!(
        bookings["bookings"][0]["instagram"],
        "Μαρία Καραγιάννη (@maria.ink)"
    );
    let session = crate::admin::login_at(&app.url("")).await;
    for page in ["/admin/", "/admin/bookings", &format!("/admin/c/{KNOWN}")] {
        let html = app
            .client
            .get(app.url(page))
            .header("cookie", format!("inkdesk_admin={session}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("Μαρία Καραγιάννη (@maria.ink)"),
            "{page}: {html}"
        );
    }

    // The export carries what is kept.
    let export = api(&app, &format!("/admin/api/conversations/{KNOWN}/export")).await;
    assert_eq!(export["instagram_profile"]["kind"], "found");
    assert_eq!(export["instagram_profile"]["username"], "maria.ink");

    // Deleting the customer deletes the profile.
    let status = app
        .client
        .delete(app.url(&format!("/admin/api/conversations/{KNOWN}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success(), "{status}");
    let conversation = ConversationId::parse(KNOWN).unwrap();
    assert!(
        app.running
            .app
            .stores
            .keyed
            .get(&conversation, inkdesk_webhook::profiles::PROFILE_KEY)
            .await
            .unwrap()
            .is_none()
    );
}
