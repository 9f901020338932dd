//! A booking made over several webhooks, ending in one Google Calendar insert.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{Datelike, Duration as ChronoDuration, Utc, Weekday};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

use crate::fake_google::FakeGoogle;
use crate::support::{Options, graph_accepts_sends, send_reply_completion, spawn_with, text_event};

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

/// The first Tuesday at least two days from now in Athens.
fn next_tuesday() -> chrono::NaiveDate {
    let mut day = Utc::now()
        .with_timezone(&inkdesk_domain::StudioProfile::example().time_zone)
        .date_naive()
        + ChronoDuration::days(2);
    while day.weekday() != Weekday::Tue {
        day += ChronoDuration::days(1);
    }
    day
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_over_two_webhooks_inserts_one_google_event() {
    let google = FakeGoogle::start(50).await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token.json");
    std::fs::write(
        &token,
        json!({"token": "ya29.stale", "refresh_token": "1//refresh", "token_uri": format!("{}/token", google.server.uri()),
               "client_id": "123-test.apps.googleusercontent.com", "client_secret": "GOCSPX-test",
               "scopes": ["https://www.googleapis.com/auth/calendar"], "expiry": "2020-01-01T00:00:00Z"})
        .to_string(),
    )
    .unwrap();
    let day = next_tuesday();
    let date = day.format("%Y-%m-%d").to_string();
    // The price is quoted first (7×7 cm light shading: 60 € as described, `q1`); the
    // booking names that quote, never an amount.
    let script = Arc::new(Mutex::new(VecDeque::from([
        tool_call(
            "quote",
            json!({"pieces": [{"height_cm": 7, "width_cm": 7, "ink_coverage": 0.3, "style": "light_shading"}]}),
        ),
        tool_call(
            "check_availability",
            json!({"from_date": date, "to_date": date, "price": 60}),
        ),
        send_reply_completion("Την Τρίτη έχουμε ελεύθερα στις 11:00 ❤️🐼"),
        tool_call(
            "book_appointment",
            json!({"date": date, "time": "11:00", "name": "Γιάννης Παπαδόπουλος",
            "phone": "691 234 5678", "design": "μικρό τριαντάφυλλο στον καρπό", "quote_id": "q1"}),
        ),
        send_reply_completion("Κλείσαμε την Τρίτη στις 11:00! ❤️🐼"),
    ])));
    let options = Options {
        env: vec![
            ("GOOGLE_TOKEN_FILE", token.display().to_string()),
            ("GOOGLE_API_BASE_URL", google.server.uri()),
            (
                "GOOGLE_CALENDAR_ID",
                "studio@group.calendar.google.com".into(),
            ),
        ],
        ..Options::default()
    };
    let app = spawn_with(options, None, None).await;
    graph_accepts_sends(&app.graph).await;
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(Script(script.clone()))
        .mount(&app.model)
        .await;

    app.post_signed(&text_event(
        "5553001",
        "m_b1",
        "Θέλω ραντεβού την Τρίτη για ένα μικρό τριαντάφυλλο, 60€",
    ))
    .await;
    let sent = app.wait_for_sends(1, Duration::from_secs(10)).await;
    assert_eq!(sent.len(), 1);
    app.post_signed(&text_event(
        "5553001",
        "m_b2",
        "Στις 11:00. Γιάννης Παπαδόπουλος, 691 234 5678",
    ))
    .await;
    let sent = app.wait_for_sends(2, Duration::from_secs(10)).await;
    assert_eq!(sent.len(), 2);
    assert!(
        script.lock().unwrap().is_empty(),
        "the model script was not used up"
    );

    let inserts: Vec<Value> = google
        .server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path().ends_with("/events"))
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(inserts.len(), 1, "{inserts:?}");
    let event = &inserts[0];
    assert_eq!(event["summary"], "Τατουάζ - Γιάννης Παπαδόπουλος");
    // 60 € → 40 minutes; Athens is UTC+2 in winter.
    assert_eq!(event["start"]["dateTime"], format!("{date}T11:00:00+02:00"));
    assert_eq!(event["end"]["dateTime"], format!("{date}T11:40:00+02:00"));
    assert_eq!(event["start"]["timeZone"], "Europe/Athens");
    let private = &event["extendedProperties"]["private"];
    assert_eq!(private["inkdeskConversation"], "5553001");
    assert_eq!(private["inkdeskPhone"], "+306912345678");
    assert_eq!(
        event["reminders"]["overrides"][0],
        json!({"method": "popup", "minutes": 60})
    );
    assert!(event.get("attendees").is_none());
    // The quote's price is on the event for the studio.
    let description = event["description"].as_str().unwrap_or_default();
    assert!(description.contains("Τιμή: 60€"), "{description}");
}
