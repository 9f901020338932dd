//! Meta's messaging rules and privacy through the running service (issue 15): reply windows
//! in the console and API, unsent and edited messages, reactions and turns without a reply,
//! delete and export, and echoes in every shape Meta (and other projects' fixtures) send.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{Datelike, Utc, Weekday};
use inkdesk_assistant::confirm::{PendingChange, PendingConfirmation, TurnId};
use inkdesk_calendar::NewBooking;
use inkdesk_domain::{
    AppointmentDuration, CustomerName, EventId, FreeText, PhoneNumber, Price, Region, StudioProfile,
};
use inkdesk_store::{Role, Turn};
use reqwest::StatusCode;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

use crate::admin::{client, conv, login_at, seed};
use crate::fake_google::FakeGoogle;
use crate::support::{
    ACCOUNT, ADMIN_TOKEN, Options, TestApp, graph_accepts_sends, send_reply_completion, spawn_app,
    spawn_with,
};

const WAIT: Duration = Duration::from_secs(10);

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// One messaging event in Meta's envelope, timestamped now.
fn webhook(event: Value) -> String {
    json!({"object": "instagram", "entry": [{"id": ACCOUNT, "time": now_ms(), "messaging": [event]}]})
        .to_string()
}

fn text(customer: &str, mid: &str, text: &str) -> String {
    webhook(
        json!({"sender": {"id": customer}, "recipient": {"id": ACCOUNT}, "timestamp": now_ms(),
        "message": {"mid": mid, "text": text}}),
    )
}

/// Meta's unsend: a `message` with `is_deleted` and the removed message's id.
fn unsend(customer: &str, mid: &str) -> String {
    webhook(
        json!({"sender": {"id": customer}, "recipient": {"id": ACCOUNT}, "timestamp": now_ms(),
        "message": {"mid": mid, "is_deleted": true}}),
    )
}

/// Meta's `message_edit` webhook field: the new text of message `mid`.
fn edit(customer: &str, mid: &str, text: &str, num_edit: u32) -> String {
    webhook(
        json!({"sender": {"id": customer}, "recipient": {"id": ACCOUNT}, "timestamp": now_ms(),
        "message_edit": {"mid": mid, "text": text, "num_edit": num_edit}}),
    )
}

fn reaction(customer: &str, target: &str) -> String {
    webhook(
        json!({"sender": {"id": customer}, "recipient": {"id": ACCOUNT}, "timestamp": now_ms(),
        "reaction": {"mid": target, "action": "react", "reaction": "love", "emoji": "❤"}}),
    )
}

async fn api(
    app: &TestApp,
    verb: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = client()
        .request(verb, app.url(&format!("/admin/api{path}")))
        .bearer_auth(ADMIN_TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn get_json(app: &TestApp, path: &str) -> Value {
    let response = api(app, reqwest::Method::GET, path, None).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

async fn model_calls(app: &TestApp) -> Vec<Value> {
    app.model
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

/// Answers model calls from a script, in order; a 500 once it is used up.
struct Script(Arc<Mutex<VecDeque<Value>>>);

impl Respond for Script {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        match self.0.lock().unwrap().pop_front() {
            Some(body) => ResponseTemplate::new(200).set_body_json(body),
            None => ResponseTemplate::new(500),
        }
    }
}

async fn script(app: &TestApp, replies: Vec<Value>) -> Arc<Mutex<VecDeque<Value>>> {
    let queue = Arc::new(Mutex::new(VecDeque::from(replies)));
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(Script(queue.clone()))
        .mount(&app.model)
        .await;
    queue
}

/// A completion ending the turn with `send_reply` and the `no_reply` outcome.
fn no_reply_completion() -> Value {
    let mut body = send_reply_completion("");
    body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = Value::String(
        json!({"text": "", "intents": ["follow_up"], "outcome": "no_reply"}).to_string(),
    );
    body
}

/// Waits until `done` holds or the timeout passes.
async fn eventually<F, Fut>(mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---- item 1: the windows in the console and the API ----

#[tokio::test]
async fn a_staff_reply_after_seven_days_or_to_no_customer_message_is_refused_with_409() {
    let app = spawn_app().await;
    graph_accepts_sends(&app.graph).await;
    seed(&app, "5560001", 8 * 24).await;
    let late = api(
        &app,
        reqwest::Method::POST,
        "/conversations/5560001/reply",
        Some(json!({"text": "Καλησπέρα!"})),
    )
    .await;
    assert_eq!(late.status(), StatusCode::CONFLICT);
    let message = late.json::<Value>().await.unwrap()["error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("within 7 days"), "{message}");

    // A conversation that only has the studio's own message: no window at all.
    app.running
        .app
        .stores
        .log
        .append(
            &conv("5560002"),
            Turn {
                role: Role::Staff,
                text: "Γεια σας από το στούντιο".into(),
                message_id: Some("m_staff_only".into()),
                at: Utc::now(),
                data: None,
            },
        )
        .await
        .unwrap();
    let none = api(
        &app,
        reqwest::Method::POST,
        "/conversations/5560002/reply",
        Some(json!({"text": "Καλησπέρα!"})),
    )
    .await;
    assert_eq!(none.status(), StatusCode::CONFLICT);
    assert!(
        none.text().await.unwrap().contains("has not written"),
        "the reason is named"
    );
    // Nothing went out, and the refusal did not mute the bot.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(app.sent().await.is_empty());
    let stores = &app.running.app.stores;
    assert_eq!(stores.takeover.muted(&conv("5560001")).await.unwrap(), None);

    // The console page shows both windows: a two-hour-old message leaves 21 h 59 min of
    // the standard window (or 22 h 0 min on a minute boundary) and most of the 7 days.
    seed(&app, "5560003", 2).await;
    let view = get_json(&app, "/conversations/5560003").await;
    let left = view["windows"]["standard"]["minutes_left"]
        .as_i64()
        .unwrap();
    assert!((22 * 60 - 1..=22 * 60).contains(&left), "{left}");
    assert_eq!(view["windows"]["human_agent"]["open"], true);
    assert_eq!(view["needs_human_agent_tag"], false);
    let session = login_at(&app.url("")).await;
    let html = client()
        .get(app.url("/admin/c/5560003?lang=en"))
        .header("cookie", format!("inkdesk_admin={session}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Reply window (24 hours)"), "{html}");
    assert!(
        html.contains("open, time left: 21 h 59 min")
            || html.contains("open, time left: 22 h 0 min"),
        "{html}"
    );
    assert!(html.contains("HUMAN_AGENT window (7 days)"));
    let closed = client()
        .get(app.url("/admin/c/5560001?lang=en"))
        .header("cookie", format!("inkdesk_admin={session}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(closed.contains("id=\"window-closed\""), "{closed}");
}

// ---- item 2: unsend and edit ----

#[tokio::test]
async fn an_unsent_message_leaves_the_transcript_the_traces_and_the_queue() {
    let app = spawn_app().await;
    graph_accepts_sends(&app.graph).await;
    // The reply quotes the number, so the number lands in the turn's trace too.
    script(
        &app,
        vec![send_reply_completion("Σημειώσαμε το 6912345678 ❤️🐼")],
    )
    .await;
    let customer = "5560101";
    app.post_signed(&text(customer, "m_phone", "Το κινητό μου είναι 6912345678"))
        .await;
    assert_eq!(app.wait_for_sends(1, WAIT).await.len(), 1);
    eventually(|| async {
        get_json(&app, &format!("/traces?conversation={customer}")).await["traces"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
    })
    .await;
    let before = get_json(&app, &format!("/traces?conversation={customer}")).await;
    assert!(before.to_string().contains("6912345678"), "{before}");

    assert_eq!(
        app.post_signed(&unsend(customer, "m_phone")).await.status(),
        200
    );
    let view = get_json(&app, &format!("/conversations/{customer}")).await;
    let first = &view["entries"][0];
    assert_eq!(first["role"], "customer");
    assert_eq!(first["unsent"], true);
    assert_eq!(first["message_id"], "m_phone");
    let traces = get_json(&app, &format!("/traces?conversation={customer}")).await;
    assert!(!traces.to_string().contains("6912345678"), "{traces}");
    assert!(!traces.to_string().contains("Το κινητό μου"), "{traces}");
    // The customer's own words are gone everywhere; what the studio said stays as said.
    let text_everywhere = view.to_string();
    assert!(
        !text_everywhere.contains("Το κινητό μου"),
        "{text_everywhere}"
    );
    // Meta does not promise order: a message whose deletion arrives first is dropped when
    // it arrives after it.
    app.post_signed(&unsend(customer, "m_late")).await;
    app.post_signed(&text(
        customer,
        "m_late",
        "το email μου είναι x@example.com",
    ))
    .await;
    let view = get_json(&app, &format!("/conversations/{customer}")).await;
    assert!(!view.to_string().contains("x@example.com"), "{view}");

    // A message unsent while it waits for its turn never reaches the model.
    let calls = model_calls(&app).await.len();
    let other = "5560102";
    app.post_signed(&text(other, "m_oops", "λάθος συνομιλία, αγνοήστε"))
        .await;
    app.post_signed(&unsend(other, "m_oops")).await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(model_calls(&app).await.len(), calls, "no model call");
    assert_eq!(app.sent().await.len(), 1, "no reply");
    let view = get_json(&app, &format!("/conversations/{other}")).await;
    assert_eq!(view["entries"][0]["unsent"], true);
    assert!(!view.to_string().contains("αγνοήστε"));
}

#[tokio::test]
async fn an_edited_message_reaches_the_model_in_its_latest_version() {
    let app = spawn_app().await;
    graph_accepts_sends(&app.graph).await;
    script(
        &app,
        vec![
            send_reply_completion("Το Σάββατο στις 5 έχουμε χώρο ❤️🐼"),
            send_reply_completion("Τέλεια ❤️🐼"),
        ],
    )
    .await;
    let customer = "5560201";
    app.post_signed(&text(customer, "m_day", "Μπορώ στις 5 με τη Μαρία;"))
        .await;
    // Edited before its turn: the queued copy changes.
    app.post_signed(&edit(customer, "m_day", "Μπορώ στις 7 με τον Νίκο;", 1))
        .await;
    assert_eq!(app.wait_for_sends(1, WAIT).await.len(), 1);
    let calls = model_calls(&app).await;
    let first = calls[0].to_string();
    assert!(first.contains("Μπορώ στις 7 με τον Νίκο;"), "{first}");
    assert!(!first.contains("τη Μαρία"), "{first}");

    // Edited after it was answered: the history changes, and the next turn sees it.
    app.post_signed(&edit(customer, "m_day", "Μπορώ στις 8 με τον Νίκο;", 2))
        .await;
    let view = get_json(&app, &format!("/conversations/{customer}")).await;
    assert_eq!(view["entries"][0]["text"], "Μπορώ στις 8 με τον Νίκο;");
    app.post_signed(&text(customer, "m_ok", "οκ, ευχαριστώ"))
        .await;
    assert_eq!(app.wait_for_sends(2, WAIT).await.len(), 2);
    let calls = model_calls(&app).await;
    let second = calls[1].to_string();
    assert!(second.contains("Μπορώ στις 8 με τον Νίκο;"), "{second}");
    assert!(!second.contains("στις 7 με"), "{second}");
}

// ---- item 3: reactions and turns without a reply ----

fn user_contents(request: &Value) -> Vec<String> {
    request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "user")
        .map(|m| match &m["content"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

#[tokio::test]
async fn a_lone_reaction_costs_no_model_call_unless_it_confirms_the_pending_question() {
    let app = spawn_app().await;
    graph_accepts_sends(&app.graph).await;
    script(
        &app,
        vec![
            send_reply_completion("Καλησπέρα! ❤️🐼"),
            send_reply_completion("Τι σχέδιο έχετε κατά νου; ❤️🐼"),
            send_reply_completion("Ακυρώθηκε ❤️🐼"),
        ],
    )
    .await;
    let customer = "5560301";
    app.post_signed(&text(customer, "m_hi", "Γεια σας")).await;
    let sent = app.wait_for_sends(1, WAIT).await;
    assert_eq!(sent.len(), 1);
    // The fake Graph API's first message id.
    let ours = "aWdfZAG1faWQ-out-0";
    assert_eq!(
        app.post_signed(&reaction(customer, ours)).await.status(),
        200
    );
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(
        model_calls(&app).await.len(),
        1,
        "a ❤ alone needs no answer"
    );
    assert_eq!(app.sent().await.len(), 1);
    let view = get_json(&app, &format!("/conversations/{customer}")).await;
    let hearted = view["entries"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(hearted["role"], "customer");
    assert!(
        hearted["text"].as_str().unwrap().contains("reacted ❤"),
        "{hearted}"
    );

    // The next message's turn never shows the model an empty customer message.
    app.post_signed(&text(customer, "m_next", "Θέλω ένα τατουάζ"))
        .await;
    assert_eq!(app.wait_for_sends(2, WAIT).await.len(), 2);
    let calls = model_calls(&app).await;
    for content in user_contents(&calls[1]) {
        assert!(!content.trim().is_empty(), "{}", calls[1]);
    }

    // A ❤ on the message that asked a pending cancel question is the customer's yes.
    let pending = PendingConfirmation {
        change: PendingChange::Cancel {
            booking: EventId::parse("abc123def4").unwrap(),
            starts_at: Utc::now() + chrono::Duration::days(3),
        },
        requested_in: TurnId("t-earlier".into()),
        requested_at: Utc::now(),
        expires_at: Utc::now() + chrono::Duration::hours(1),
        question_mids: vec!["aWdfZAG1faWQ-out-1".into()],
    };
    let stores = &app.running.app.stores;
    stores
        .keyed
        .put(
            &conv(customer),
            &inkdesk_webhook::adapters::confirmation_key(&conv(customer)),
            serde_json::to_value(&pending).unwrap(),
            Duration::from_secs(3600),
        )
        .await
        .unwrap();
    app.post_signed(&reaction(customer, "aWdfZAG1faWQ-out-1"))
        .await;
    assert_eq!(app.wait_for_sends(3, WAIT).await.len(), 3);
    let calls = model_calls(&app).await;
    assert_eq!(calls.len(), 3);
    assert!(
        calls[2]
            .to_string()
            .contains("reacted ❤ to this question, which means yes"),
        "{}",
        calls[2]
    );
}

#[tokio::test]
async fn the_model_can_end_a_turn_without_sending_anything() {
    let app = spawn_app().await;
    graph_accepts_sends(&app.graph).await;
    let queue = script(
        &app,
        vec![
            send_reply_completion("Σας περιμένουμε την Τρίτη! ❤️🐼"),
            no_reply_completion(),
        ],
    )
    .await;
    let customer = "5560401";
    app.post_signed(&text(customer, "m_book", "Τέλεια, τα λέμε την Τρίτη"))
        .await;
    assert_eq!(app.wait_for_sends(1, WAIT).await.len(), 1);
    app.post_signed(&text(customer, "m_thanks", "ευχαριστώ!"))
        .await;
    eventually(|| async { queue.lock().unwrap().is_empty() }).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.sent().await.len(), 1, "nothing sent for the thanks");
    assert_eq!(model_calls(&app).await.len(), 2, "one call, no retry");
    // The thanks was handled: no turn is waiting for it.
    assert_eq!(app.running.app.stores.inbox.next_due().await.unwrap(), None);
}

// ---- item 4: delete and export ----

/// The first Tuesday at least two days from now in Athens, at 12:00.
fn next_tuesday_noon() -> chrono::DateTime<Utc> {
    let tz = StudioProfile::example().time_zone;
    let mut day = Utc::now().with_timezone(&tz).date_naive() + chrono::Duration::days(2);
    while day.weekday() != Weekday::Tue {
        day += chrono::Duration::days(1);
    }
    inkdesk_domain::schedule::resolve_local(
        tz,
        day,
        chrono::NaiveTime::from_hms_opt(12, 0, 0).unwrap(),
    )
    .unwrap()
    .with_timezone(&Utc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_gives_everything_and_delete_leaves_no_personal_data_even_in_google() {
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
    script(&app, vec![send_reply_completion("Καλώς ήρθατε! ❤️🐼")]).await;
    let customer = "5560501";
    app.post_signed(&text(customer, "m_gdpr", "Γεια, είμαι η Ελένη Παπά"))
        .await;
    assert_eq!(app.wait_for_sends(1, WAIT).await.len(), 1);
    let booking = app
        .running
        .app
        .calendar
        .create(NewBooking {
            conversation: conv(customer),
            customer: CustomerName::parse("Ελένη Παπά").unwrap(),
            phone: PhoneNumber::parse("6987654321", Region::GREECE).unwrap(),
            design: Some(FreeText::parse("χελιδόνι στον ώμο").unwrap()),
            price: Some(Price::new(80.into(), 5000.into()).unwrap()),
            start: next_tuesday_noon(),
            duration: AppointmentDuration::from_minutes(60, 600).unwrap(),
            artist: None,
            idempotency_key: None,
            deposit: None,
            sms_consent: false,
        })
        .await
        .unwrap();
    app.running
        .app
        .stores
        .takeover
        .mute(
            &conv(customer),
            Utc::now() + chrono::Duration::hours(1),
            "staff".into(),
        )
        .await
        .unwrap();

    // Export: one JSON file with everything.
    let response = api(
        &app,
        reqwest::Method::GET,
        &format!("/conversations/{customer}/export"),
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-disposition"],
        format!("attachment; filename=\"inkdesk-{customer}.json\"").as_str()
    );
    let export: Value = response.json().await.unwrap();
    assert_eq!(export["format"], "inkdesk-export/1");
    assert_eq!(export["conversation"], customer);
    assert_eq!(export["transcript"][0]["text"], "Γεια, είμαι η Ελένη Παπά");
    assert_eq!(export["transcript"][1]["role"], "assistant");
    assert_eq!(export["traces"].as_array().unwrap().len(), 1);
    assert_eq!(export["bookings"][0]["id"], booking.id.as_str());
    assert_eq!(export["bookings"][0]["customer"], "Ελένη Παπά");
    assert_eq!(export["bookings"][0]["design"], "χελιδόνι στον ώμο");
    assert_eq!(export["mute"]["reason"], "staff");
    assert_eq!(export["consents"], json!([]));
    // The console's export link gives the same file.
    let session = login_at(&app.url("")).await;
    let page = client()
        .get(app.url(&format!("/admin/c/{customer}/export")))
        .header("cookie", format!("inkdesk_admin={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let from_page: Value = page.json().await.unwrap();
    assert_eq!(from_page["bookings"], export["bookings"]);

    // Delete everything: the store forgets the conversation, the booking its customer.
    let deleted = api(
        &app,
        reqwest::Method::DELETE,
        &format!("/conversations/{customer}"),
        None,
    )
    .await;
    assert_eq!(deleted.status(), StatusCode::OK);
    let report: Value = deleted.json().await.unwrap();
    assert_eq!(report["anonymised_bookings"][0]["id"], booking.id.as_str());
    let gone = api(
        &app,
        reqwest::Method::GET,
        &format!("/conversations/{customer}"),
        None,
    )
    .await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let event = google.event(booking.id.as_str()).unwrap().to_string();
    for personal in ["Ελένη", "Παπά", "6987654321", "χελιδόνι", customer] {
        assert!(!event.contains(personal), "{personal} left in {event}");
    }
    let after = get_json(&app, &format!("/conversations/{customer}/export")).await;
    assert_eq!(after["transcript"], json!([]));
    assert_eq!(after["bookings"], json!([]));
    assert_eq!(after["mute"], Value::Null);
    // The privacy page says what stays.
    let privacy = client()
        .get(app.url("/privacy"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(privacy.contains("A booking keeps only its time, length and price"));
}

// ---- item 7: echoes ----

#[tokio::test]
async fn an_echo_addressed_to_the_studio_never_becomes_a_conversation_of_the_studio() {
    let app = spawn_app().await;
    let customer = "5560701";
    // Chatwoot's fixture shape: the customer as sender, the studio as recipient, is_echo.
    let chatwoot = webhook(
        json!({"sender": {"id": customer}, "recipient": {"id": ACCOUNT},
        "timestamp": now_ms(), "message": {"mid": "m_echo_cw", "is_echo": true,
        "attachments": [{"type": "story_mention", "payload": {"url": "https://cdn.example.com/s.jpg"}}]}}),
    );
    assert_eq!(app.post_signed(&chatwoot).await.status(), 200);
    // An echo from the studio to itself.
    let to_itself = webhook(
        json!({"sender": {"id": ACCOUNT}, "recipient": {"id": ACCOUNT},
        "timestamp": now_ms(), "message": {"mid": "m_echo_self", "text": "σημείωση", "is_echo": true}}),
    );
    assert_eq!(app.post_signed(&to_itself).await.status(), 200);

    let list = get_json(&app, "/conversations").await;
    let ids: Vec<&str> = list["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["conversation"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [customer], "{list}");
    let stores = &app.running.app.stores;
    assert_eq!(stores.takeover.muted(&conv(ACCOUNT)).await.unwrap(), None);
    // A person's echo still hands the customer's conversation to the person.
    assert!(
        stores
            .takeover
            .muted(&conv(customer))
            .await
            .unwrap()
            .is_some()
    );
    let studio = api(
        &app,
        reqwest::Method::GET,
        &format!("/conversations/{ACCOUNT}"),
        None,
    )
    .await;
    assert_eq!(studio.status(), StatusCode::NOT_FOUND);
}
