//! Customer reminders: inside Meta's 24-hour window by DM, outside it by SMS (Twilio fake
//! shaped like the Messages API) only with the customer's consent, else in the console's
//! "remind by hand" list; a cancelled booking is not reminded; two replicas on one Redis,
//! one killed mid-send, still send each reminder once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Datelike, DurationRound, Timelike, Utc};
use inkdesk_assistant::reminders::{ReminderStep, job_key};
use inkdesk_calendar::{Booking, NewBooking};
use inkdesk_domain::{
    AppointmentDuration, ConversationId, CustomerName, PhoneNumber, Region, StudioProfile,
};
use inkdesk_store::testing::redis_server;
use inkdesk_store::{JobState, Role};
use inkdesk_webhook::app::{App, StoreChoice};
use serde_json::{Value, json};
use wiremock::matchers::{basic_auth, body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{
    ADMIN_TOKEN, Options, echo_event, graph_accepts_sends, sent_bodies, spawn_with, text_event,
    try_replica, wait_for_sends, wait_until,
};

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "twilio-test-token";
const MESSAGES: &str = "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json";

/// A profile whose `reminder_hours` puts an appointment starting a few seconds after
/// `now + reminder_hours` inside opening hours (12:00–17:59 on a working day), and that
/// start. The reminder is then due in `lead` seconds.
pub(crate) fn soon(lead: i64) -> (StudioProfile, DateTime<Utc>) {
    let mut profile = StudioProfile::example();
    let now = Utc::now();
    for hours in 24..=168u32 {
        let start =
            (now + chrono::Duration::hours(i64::from(hours)) + chrono::Duration::seconds(lead))
                .duration_trunc(chrono::Duration::seconds(1))
                .unwrap();
        let local = start.with_timezone(&profile.time_zone);
        if (12..=17).contains(&local.hour()) && local.weekday() != chrono::Weekday::Sun {
            profile.booking.reminder_hours = hours;
            return (profile, start);
        }
    }
    unreachable!("some hour in a week is a working afternoon")
}

pub(crate) async fn book(
    app: &App,
    customer: &str,
    start: DateTime<Utc>,
    consent: bool,
) -> Booking {
    app.calendar
        .create(NewBooking {
            conversation: ConversationId::parse(customer).unwrap(),
            customer: CustomerName::parse("Μαρία Παπαδοπούλου").unwrap(),
            phone: PhoneNumber::parse("6912345678", Region::GREECE).unwrap(),
            design: None,
            price: None,
            start,
            duration: AppointmentDuration::from_minutes(60, 600).unwrap(),
            artist: None,
            idempotency_key: Some(format!("e2e-reminder-{customer}-{start}")),
            deposit: None,
            sms_consent: consent,
        })
        .await
        .unwrap()
}

async fn twilio_accepts(twilio: &MockServer) {
    // Twilio's documented answer to a created Message: 201 with the Message resource.
    Mock::given(method("POST"))
        .and(path(MESSAGES))
        .and(basic_auth(SID, TOKEN))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("To=%2B306912345678"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "sid": "SM0123456789abcdef0123456789abcdef",
            "account_sid": SID,
            "to": "+306912345678",
            "from": "InkStudio",
            "status": "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "error_code": null,
            "error_message": null,
            "uri": format!("{MESSAGES}/SM0123456789abcdef0123456789abcdef.json"),
        })))
        .mount(twilio)
        .await;
}

fn twilio_env(twilio: &MockServer) -> Vec<(&'static str, String)> {
    vec![
        ("TWILIO_ACCOUNT_SID", SID.to_owned()),
        ("TWILIO_AUTH_TOKEN", TOKEN.to_owned()),
        ("TWILIO_FROM", "InkStudio".to_owned()),
        ("TWILIO_API_BASE_URL", twilio.uri()),
    ]
}

async fn settled(app: &App, booking: &Booking) -> Option<Value> {
    let job = app
        .stores
        .schedule
        .job(&job_key(&booking.id))
        .await
        .unwrap()?;
    (job.state == JobState::Done).then(|| job.progress.unwrap_or(Value::Null))
}

pub(crate) async fn wait_settled(app: &App, booking: &Booking) -> Value {
    for _ in 0..300 {
        if let Some(progress) = settled(app, booking).await {
            return progress;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the reminder of {} never settled", booking.id.as_str());
}

#[tokio::test]
async fn inside_the_window_the_reminder_is_a_dm_sent_once_and_kept_in_the_history() {
    let (profile, start) = soon(3);
    let options = Options {
        with_model: false,
        profile: Some(profile),
        ..Options::default()
    };
    let app = spawn_with(options, None, None).await;
    graph_accepts_sends(&app.graph).await;
    let customer = "5557001";
    // The customer wrote a moment ago: the 24-hour window is open.
    assert!(
        app.post_signed(&text_event(customer, "m-r1", "Ευχαριστώ!"))
            .await
            .status()
            .is_success()
    );
    let booking = book(&app.running.app, customer, start, false).await;
    let sent = wait_for_sends(&app.graph, 1, Duration::from_secs(15)).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["recipient"]["id"], customer);
    let text = sent[0]["message"]["text"].as_str().unwrap();
    let local = start.with_timezone(&chrono_tz::Europe::Athens);
    assert!(text.contains(&local.format("%H:%M").to_string()), "{text}");
    assert!(text.contains("Αιόλου 42"), "the address: {text}");
    assert!(
        text.contains("Φέρτε την ταυτότητά σας."),
        "the preparation notes: {text}"
    );
    let progress = wait_settled(&app.running.app, &booking).await;
    assert_eq!(
        progress["settled"],
        json!({"outcome": "sent", "channel": "dm"})
    );
    // In the conversation, as the assistant's message the customer may answer.
    let log = app
        .running
        .app
        .stores
        .log
        .recent(&ConversationId::parse(customer).unwrap(), 20)
        .await
        .unwrap();
    let reminder: Vec<_> = log.iter().filter(|t| t.role == Role::Assistant).collect();
    assert_eq!(reminder.len(), 1);
    assert_eq!(reminder[0].text, text);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sent_bodies(&app.graph).await.len(), 1, "sent once");
}

#[tokio::test]
async fn outside_the_window_the_reminder_is_an_sms_with_consent_and_listed_without() {
    let (profile, start) = soon(3);
    let twilio = MockServer::start().await;
    twilio_accepts(&twilio).await;
    let options = Options {
        with_model: false,
        profile: Some(profile),
        env: twilio_env(&twilio),
        ..Options::default()
    };
    let app = spawn_with(options, None, None).await;
    graph_accepts_sends(&app.graph).await;
    // Neither customer has written (no window): one agreed to SMS, one did not.
    let agreed = book(&app.running.app, "5557002", start, true).await;
    let declined = book(&app.running.app, "5557003", start, false).await;
    let progress = wait_settled(&app.running.app, &agreed).await;
    assert_eq!(
        progress["settled"],
        json!({"outcome": "sent", "channel": "sms"})
    );
    let requests = twilio.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "one SMS, to the customer who agreed");
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&requests[0].body)
        .into_owned()
        .collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    assert_eq!(field("To").as_deref(), Some("+306912345678"));
    assert_eq!(field("From").as_deref(), Some("InkStudio"));
    let body = field("Body").unwrap();
    assert!(
        body.contains("Αιόλου 42") && body.contains("Instagram"),
        "{body}"
    );

    let progress = wait_settled(&app.running.app, &declined).await;
    assert_eq!(progress["settled"]["outcome"], "by_hand");
    assert!(
        sent_bodies(&app.graph).await.is_empty(),
        "no DM outside the window"
    );
    // The console lists it with the phone number, until a person marks it done.
    let list: Value = app
        .client
        .get(app.url("/admin/api/reminders"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let by_hand = list["by_hand"].as_array().unwrap();
    assert_eq!(by_hand.len(), 1, "{list}");
    assert_eq!(by_hand[0]["booking"], declined.id.as_str());
    assert_eq!(by_hand[0]["phone"], "6912345678");
    assert!(
        by_hand[0]["reason"]
            .as_str()
            .unwrap()
            .contains("did not agree to SMS")
    );
    let page = app
        .client
        .get(app.url("/admin/api/reminders"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 401, "the list needs the token");
    let done = app
        .client
        .post(app.url(&format!(
            "/admin/api/reminders/{}/done",
            declined.id.as_str()
        )))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert!(done.status().is_success());
    let list: Value = app
        .client
        .get(app.url("/admin/api/reminders"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["by_hand"], json!([]));
}

#[tokio::test]
async fn a_cancelled_booking_is_not_reminded() {
    let (profile, start) = soon(2);
    let options = Options {
        with_model: false,
        profile: Some(profile),
        ..Options::default()
    };
    let app = spawn_with(options, None, None).await;
    graph_accepts_sends(&app.graph).await;
    let customer = "5557004";
    app.post_signed(&text_event(customer, "m-r4", "ok")).await;
    let booking = book(&app.running.app, customer, start, true).await;
    let key = job_key(&booking.id);
    assert!(
        app.running
            .app
            .stores
            .schedule
            .job(&key)
            .await
            .unwrap()
            .is_some()
    );
    app.running.app.calendar.cancel(&booking.id).await.unwrap();
    assert_eq!(
        app.running.app.stores.schedule.job(&key).await.unwrap(),
        None
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(sent_bodies(&app.graph).await.is_empty());
}

async fn replica(
    url: &str,
    prefix: &str,
    profile: &StudioProfile,
    graph: &MockServer,
    model: &MockServer,
    faults: Option<Arc<dyn Fn(ReminderStep) -> bool + Send + Sync>>,
) -> crate::support::Replica {
    for _ in 0..50 {
        let options = Options {
            store: StoreChoice::RedisUrl(url.to_owned()),
            key_prefix: Some(prefix.to_owned()),
            with_model: false,
            // Long enough that Meta's echo (posted by the test right after the crash) is
            // in before the survivor's claim: in service the lease is 60 s and the echo
            // comes within a second. With 1 s, a loaded machine let the survivor claim
            // first, find no echo and send again — the named window, not a fault here.
            lease: Duration::from_secs(4),
            profile: Some(profile.clone()),
            reminder_faults: faults.clone(),
            ..Options::default()
        };
        if let Some(replica) = try_replica(options, graph, model).await {
            return replica;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("redis at {url} never answered");
}

/// Six reminders, two replicas on one Redis; the first replica to get the upstream's
/// acceptance of a reminder "dies" before recording it and is killed. Meta echoes what
/// it delivered (to the survivor), and every customer gets exactly one reminder.
#[tokio::test]
async fn two_replicas_with_one_killed_mid_send_remind_each_customer_exactly_once() {
    let Some((redis_url, _redis)) = redis_server::server() else {
        eprintln!("redis-server not available; skipped");
        return;
    };
    let (mut profile, start) = soon(3);
    profile.booking.capacity = 8;
    let graph = MockServer::start().await;
    let model = MockServer::start().await;
    graph_accepts_sends(&graph).await;
    let prefix = format!("e2e-reminders-{}", std::process::id());
    // The first replica whose reminder Instagram accepted stops there, as if it died.
    let crashed_in = Arc::new(std::sync::Mutex::new(None::<&'static str>));
    let fault = |name: &'static str| -> Arc<dyn Fn(ReminderStep) -> bool + Send + Sync> {
        let crashed_in = crashed_in.clone();
        let once = Arc::new(AtomicBool::new(false));
        Arc::new(move |step| {
            if step != ReminderStep::SentUnrecorded {
                return false;
            }
            let mut crashed = crashed_in.lock().unwrap();
            if crashed.is_none() && !once.swap(true, Ordering::SeqCst) {
                *crashed = Some(name);
                return true;
            }
            false
        })
    };
    let a = replica(
        &redis_url,
        &prefix,
        &profile,
        &graph,
        &model,
        Some(fault("a")),
    )
    .await;
    let b = replica(
        &redis_url,
        &prefix,
        &profile,
        &graph,
        &model,
        Some(fault("b")),
    )
    .await;
    let customers: Vec<String> = (0..6).map(|i| format!("55571{i:02}")).collect();
    for (i, customer) in customers.iter().enumerate() {
        a.post_signed(&text_event(customer, &format!("m-rr{i}"), "Γεια"))
            .await;
    }
    let mut bookings = Vec::new();
    for customer in &customers {
        bookings.push(book(&a.running.app, customer, start, false).await);
    }
    assert!(
        wait_until(Duration::from_secs(20), || async {
            crashed_in.lock().unwrap().is_some()
        })
        .await,
        "no replica reached the fault"
    );
    let killed = crashed_in.lock().unwrap().unwrap();
    let survivor = if killed == "a" {
        a.running.kill();
        b
    } else {
        b.running.kill();
        a
    };
    // Meta echoes every delivered message; the survivor's webhook receives them.
    let mut echoed = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let all_done = loop {
        let sent = sent_bodies(&graph).await;
        for (n, body) in sent.iter().enumerate().skip(echoed) {
            let to = body["recipient"]["id"].as_str().unwrap();
            let text = body["message"]["text"].as_str().unwrap();
            let mid = format!("aWdfZAG1faWQ-out-{n}");
            survivor.post_signed(&echo_event(to, &mid, text)).await;
            echoed = n + 1;
        }
        let mut done = 0;
        for booking in &bookings {
            if settled(&survivor.running.app, booking).await.is_some() {
                done += 1;
            }
        }
        if done == bookings.len() {
            break true;
        }
        if tokio::time::Instant::now() > deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(all_done, "every reminder settles");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = sent_bodies(&graph).await;
    for customer in &customers {
        let to_them = sent
            .iter()
            .filter(|b| b["recipient"]["id"] == customer.as_str())
            .count();
        assert_eq!(to_them, 1, "customer {customer}: {to_them} reminders");
    }
    // The crashed one was recovered by its echo, and no echo muted anyone.
    for customer in &customers {
        let id = ConversationId::parse(customer).unwrap();
        assert_eq!(
            survivor
                .running
                .app
                .stores
                .takeover
                .muted(&id)
                .await
                .unwrap(),
            None
        );
        let log = survivor
            .running
            .app
            .stores
            .log
            .recent(&id, 20)
            .await
            .unwrap();
        assert_eq!(
            log.iter().filter(|t| t.role == Role::Assistant).count(),
            1,
            "{customer}"
        );
    }
}

/// The holder dies after recording its attempt and before sending: the next claim sends
/// (nothing had gone out), once.
#[tokio::test]
async fn a_reminder_whose_sender_died_before_sending_is_sent_by_the_next_claim() {
    let (profile, start) = soon(2);
    let once = Arc::new(AtomicBool::new(false));
    let flag = once.clone();
    let options = Options {
        with_model: false,
        profile: Some(profile),
        lease: Duration::from_secs(1),
        reminder_faults: Some(Arc::new(move |step| {
            step == ReminderStep::Attempting && !flag.swap(true, Ordering::SeqCst)
        })),
        ..Options::default()
    };
    let app = spawn_with(options, None, None).await;
    graph_accepts_sends(&app.graph).await;
    let customer = "5557005";
    app.post_signed(&text_event(customer, "m-r5", "ok")).await;
    let booking = book(&app.running.app, customer, start, false).await;
    let progress = wait_settled(&app.running.app, &booking).await;
    assert!(once.load(Ordering::SeqCst), "the fault happened");
    assert_eq!(
        progress["settled"],
        json!({"outcome": "sent", "channel": "dm"})
    );
    let job = app
        .running
        .app
        .stores
        .schedule
        .job(&job_key(&booking.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.attempts, 2, "claimed again after the lease ran out");
    assert_eq!(sent_bodies(&app.graph).await.len(), 1);
}

/// Answers model calls from a script, in order (500 once it runs out).
struct Script(Arc<std::sync::Mutex<std::collections::VecDeque<Value>>>);

impl wiremock::Respond for Script {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
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

/// The customer answers the reminder DM with a wish to cancel: the model sees the reminder
/// in the history, asks to confirm (nothing cancelled yet), and cancels on the yes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answering_a_reminder_with_a_cancel_goes_through_the_two_step_cancel() {
    use crate::support::send_reply_completion;
    let (profile, start) = soon(3);
    let script = Arc::new(std::sync::Mutex::new(std::collections::VecDeque::from([
        send_reply_completion("Γεια σας! ❤️🐼"),
        tool_call("change_booking", json!({"action": "cancel", "step": "ask"})),
        send_reply_completion("Να ακυρώσουμε το ραντεβού σας; ❤️🐼"),
        tool_call(
            "change_booking",
            json!({"action": "cancel", "step": "confirm"}),
        ),
        send_reply_completion("Το ραντεβού ακυρώθηκε. ❤️🐼"),
    ])));
    let options = Options {
        profile: Some(profile),
        ..Options::default()
    };
    let app = spawn_with(options, None, None).await;
    graph_accepts_sends(&app.graph).await;
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(Script(script.clone()))
        .mount(&app.model)
        .await;
    let customer = "5557010";
    app.post_signed(&text_event(customer, "m-c1", "Γεια σας"))
        .await;
    assert_eq!(
        wait_for_sends(&app.graph, 1, Duration::from_secs(15))
            .await
            .len(),
        1
    );
    let booking = book(&app.running.app, customer, start, false).await;
    let sent = wait_for_sends(&app.graph, 2, Duration::from_secs(15)).await;
    assert_eq!(sent.len(), 2, "the greeting, then the reminder");
    let reminder = sent[1]["message"]["text"].as_str().unwrap().to_owned();
    wait_settled(&app.running.app, &booking).await;

    app.post_signed(&text_event(customer, "m-c2", "Θέλω να το ακυρώσω"))
        .await;
    assert_eq!(
        wait_for_sends(&app.graph, 3, Duration::from_secs(15))
            .await
            .len(),
        3
    );
    // Only asked: the booking stands.
    assert!(app.running.app.calendar.get(&booking.id).await.is_ok());
    let calls = app.model.received_requests().await.unwrap();
    let asked: Value = serde_json::from_slice(&calls[1].body).unwrap();
    let history = asked["messages"].to_string();
    let opening: String = reminder.chars().take(40).collect();
    assert!(
        history.contains(&opening),
        "the model saw the reminder: {history}"
    );

    app.post_signed(&text_event(customer, "m-c3", "Ναι")).await;
    assert_eq!(
        wait_for_sends(&app.graph, 4, Duration::from_secs(15))
            .await
            .len(),
        4
    );
    assert!(matches!(
        app.running.app.calendar.get(&booking.id).await,
        Err(inkdesk_calendar::CalendarError::Gone(_))
            | Ok(Booking {
                status: inkdesk_calendar::BookingStatus::Cancelled { .. },
                ..
            })
    ));
}

/// Staff mark a past booking a no-show through the API: the customer's record says so, the
/// next turn's prompt tells the model, and correcting it to completed clears the flag.
#[tokio::test]
async fn a_no_show_marked_by_staff_flags_the_customer_to_the_assistant() {
    use crate::support::model_replies;
    let profile = StudioProfile::example();
    let clock = Arc::new(inkdesk_domain::ManualClock::new(Utc::now()));
    let calendar = Arc::new(
        inkdesk_calendar::EmbeddedCalendar::open_in_memory(
            Arc::new(profile.clone()),
            clock.clone(),
        )
        .unwrap(),
    );
    let options = Options {
        calendar: Some(calendar),
        ..Options::default()
    };
    let app = spawn_with(options, None, None).await;
    graph_accepts_sends(&app.graph).await;
    model_replies(&app.model, "Γεια σας! ❤️🐼").await;
    let customer = "5557020";
    // A booking tomorrow afternoon (on the calendar's clock), which then lies in the past.
    let (_, start) = soon(0);
    let booking = book(&app.running.app, customer, start, false).await;
    let url = app.url(&format!(
        "/admin/api/bookings/{}/attendance",
        booking.id.as_str()
    ));
    let too_soon = app
        .client
        .post(&url)
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"outcome": "no_show"}))
        .send()
        .await
        .unwrap();
    assert_eq!(too_soon.status(), 409, "not before it started");
    clock.set(start + chrono::Duration::hours(2));
    let marked: Value = app
        .client
        .post(&url)
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"outcome": "no_show"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(marked["status"], "no_show");
    assert_eq!(marked["customer_no_shows"], 1);
    let bad = app
        .client
        .post(&url)
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"outcome": "late"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    app.post_signed(&text_event(customer, "m-n1", "Θέλω να κλείσω ξανά"))
        .await;
    assert_eq!(
        wait_for_sends(&app.graph, 1, Duration::from_secs(15))
            .await
            .len(),
        1
    );
    let calls = app.model.received_requests().await.unwrap();
    let request = String::from_utf8_lossy(&calls[0].body).to_string();
    assert!(
        request.contains("did not come to an earlier appointment"),
        "the turn's prompt tells the model"
    );

    let corrected: Value = app
        .client
        .post(&url)
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"outcome": "completed"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(corrected["status"], "completed");
    assert_eq!(corrected["customer_no_shows"], 0);
}
