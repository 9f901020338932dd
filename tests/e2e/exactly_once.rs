//! Exactly-once turns: Meta's echoes before the Send API answers, staff taking over
//! mid-turn, crashes at every step of a turn with a second replica finishing it, leases
//! held by the heartbeat, deadlines, retries, and messages held back while muted or paused.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use chrono::{Datelike, Duration as ChronoDuration, Utc, Weekday};
use inkdesk_assistant::runner::RunnerConfig;
use inkdesk_assistant::runner::faults::{FaultPlan, Step};
use inkdesk_assistant::runner::journal::Journal;
use inkdesk_calendar::{Calendar, EmbeddedCalendar};
use inkdesk_domain::{ConversationId, StudioProfile, SystemClock};
use inkdesk_store::{Role, Stores};
use inkdesk_webhook::app::StoreChoice;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::{
    ACCOUNT, Options, Replica, SEND_PATH, echo_event, now_ms, post_signed_to,
    send_reply_completion, spawn_with, text_event, try_replica, wait_until,
};

/// A Graph API fake that behaves like Meta's: for every message sent it delivers the echo
/// to the webhook *before* answering the Send API call (so the echo's id is not known yet
/// when it arrives, and the next chunk of the same reply is still to go out).
#[derive(Clone, Default)]
struct EchoingGraph {
    webhooks: Arc<Mutex<Vec<String>>>,
    /// Echoes are lost (Meta failed to deliver them): nothing proves a chunk arrived.
    lose_echoes: Arc<AtomicBool>,
    sends: Arc<Mutex<Vec<Value>>>,
    counter: Arc<AtomicU64>,
    client: reqwest::Client,
}

impl EchoingGraph {
    async fn start() -> (Self, String) {
        let graph = Self::default();
        let app = Router::new()
            .route(SEND_PATH, post(Self::send))
            .with_state(graph.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (graph, url)
    }

    /// Echoes go to this replica's webhook (the first one registered answers them).
    fn deliver_to(&self, running: &inkdesk_webhook::startup::Running) {
        self.webhooks
            .lock()
            .unwrap()
            .push(format!("http://{}/webhook", running.addr));
    }

    async fn send(State(graph): State<Self>, Json(body): Json<Value>) -> Json<Value> {
        let n = graph.counter.fetch_add(1, Ordering::SeqCst);
        let mid = format!("aWdfZAG1faWQ-echo-{n}");
        let recipient = body["recipient"]["id"].as_str().unwrap_or("").to_owned();
        let text = body["message"]["text"].as_str().unwrap_or("").to_owned();
        graph.sends.lock().unwrap().push(body.clone());
        let targets = graph.webhooks.lock().unwrap().clone();
        if let Some(url) = targets
            .first()
            .filter(|_| !graph.lose_echoes.load(Ordering::SeqCst))
        {
            // Delivered and recorded before the Send API answers.
            let _ = post_signed_to(&graph.client, url, echo_event(&recipient, &mid, &text)).await;
        }
        Json(json!({"recipient_id": recipient, "message_id": mid}))
    }

    fn sent_texts(&self) -> Vec<String> {
        self.sends
            .lock()
            .unwrap()
            .iter()
            .map(|b| b["message"]["text"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let sent = self.sent_texts();
            if sent.len() >= n || tokio::time::Instant::now() > deadline {
                return sent;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Two paragraphs of about 700 bytes each: the reply goes out in two chunks.
pub(crate) fn long_reply() -> String {
    let first = "Ευχαριστούμε για το μήνυμα! ".repeat(14);
    let second = "Θα χαρούμε να σας δούμε στο στούντιο. ".repeat(10);
    format!("{}\n\n{}", first.trim(), second.trim())
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

/// A model that books `date` 11:00 when the request has no tool result yet, and
/// replies with `reply` once it has one: the same answer however often it is asked.
pub(crate) struct BookThenReply {
    pub(crate) date: String,
    pub(crate) reply: String,
    pub(crate) delay: Duration,
    pub(crate) calls: Arc<AtomicU64>,
}

impl Respond for BookThenReply {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let has_result = body["messages"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["role"] == "tool"));
        let answer = if has_result {
            send_reply_completion(&self.reply)
        } else {
            tool_call(
                "book_appointment",
                json!({"date": self.date, "time": "11:00", "name": "Γιάννης Παπαδόπουλος",
                       "phone": "691 234 5678", "design": "μικρό τριαντάφυλλο", "quote_id": "g3a"}),
            )
        };
        ResponseTemplate::new(200)
            .set_body_json(answer)
            .set_delay(self.delay)
    }
}

/// The first Tuesday at least two days from now in Athens.
pub(crate) fn next_tuesday() -> String {
    let mut day = Utc::now()
        .with_timezone(&StudioProfile::example().time_zone)
        .date_naive()
        + ChronoDuration::days(2);
    while day.weekday() != Weekday::Tue {
        day += ChronoDuration::days(1);
    }
    day.format("%Y-%m-%d").to_string()
}

async fn stores_of(replica: &inkdesk_webhook::startup::Running) -> Stores {
    replica.app.stores.clone()
}

/// A replica on the test's Redis, retrying while the fresh server starts.
async fn replica(options: impl Fn() -> Options, graph: &MockServer, model: &MockServer) -> Replica {
    for _ in 0..200 {
        if let Some(replica) = try_replica(options(), graph, model).await {
            return replica;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("redis never answered");
}

fn conv(id: &str) -> ConversationId {
    ConversationId::parse(id).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoes_arriving_before_the_send_api_answers_never_mute_or_log_a_staff_turn() {
    let (graph, graph_url) = EchoingGraph::start().await;
    let model = MockServer::start().await;
    let reply = long_reply();
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(send_reply_completion(&reply)))
        .mount(&model)
        .await;
    let options = Options {
        env: vec![("IG_GRAPH_BASE_URL", graph_url)],
        ..Options::default()
    };
    let app = spawn_with(options, None, Some(model)).await;
    graph.deliver_to(&app.running);
    for customer in ["5557001", "5557002", "5557003"] {
        app.post_signed(&text_event(customer, &format!("m_{customer}"), "Γεια σας!"))
            .await;
    }
    let sent = graph.wait_for(6, Duration::from_secs(15)).await;
    assert_eq!(sent.len(), 6, "two chunks to each of three customers");
    let stores = stores_of(&app.running).await;
    for customer in ["5557001", "5557002", "5557003"] {
        let c = conv(customer);
        // The reply is logged once its last chunk is out, a moment after Graph saw it.
        assert!(
            wait_until(Duration::from_secs(5), || async {
                let turns = stores.log.recent(&c, 20).await.unwrap();
                turns.iter().any(|t| t.role == Role::Assistant)
            })
            .await,
            "the reply to {customer} was never logged"
        );
        assert!(
            stores.takeover.muted(&c).await.unwrap().is_none(),
            "our own echo muted {customer}"
        );
        let turns = stores.log.recent(&c, 20).await.unwrap();
        assert!(
            turns.iter().all(|t| t.role != Role::Staff),
            "our own echo was logged as a staff reply for {customer}: {turns:?}"
        );
        let assistant: Vec<_> = turns.iter().filter(|t| t.role == Role::Assistant).collect();
        assert_eq!(assistant.len(), 1);
        assert!(assistant[0].text.contains("στούντιο"));
    }
    // A person replying in the Instagram app afterwards is still a takeover.
    app.post_signed(&crate::support::echo_event(
        "5557001",
        "m_staff",
        "Γεια σου Γιάννη, σε πήρα τηλέφωνο",
    ))
    .await;
    assert!(
        wait_until(Duration::from_secs(5), || async {
            stores
                .takeover
                .muted(&conv("5557001"))
                .await
                .unwrap()
                .is_some()
        })
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staff_reply_typed_during_the_turn_stops_the_bots_reply() {
    let (graph, graph_url) = EchoingGraph::start().await;
    let model = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(send_reply_completion("Η απάντηση του bot"))
                .set_delay(Duration::from_millis(1500)),
        )
        .mount(&model)
        .await;
    let options = Options {
        env: vec![("IG_GRAPH_BASE_URL", graph_url)],
        ..Options::default()
    };
    let app = spawn_with(options, None, Some(model)).await;
    graph.deliver_to(&app.running);
    app.post_signed(&text_event("5557101", "m_s1", "Έχετε ελεύθερο αύριο;"))
        .await;
    // Wait for the model call to start, then a person answers from the phone.
    assert!(
        wait_until(Duration::from_secs(10), || async {
            !app.model
                .received_requests()
                .await
                .unwrap_or_default()
                .is_empty()
        })
        .await
    );
    app.post_signed(&crate::support::echo_event(
        "5557101",
        "m_person",
        "Ναι, σας περιμένουμε στις 12!",
    ))
    .await;
    let stores = stores_of(&app.running).await;
    let c = conv("5557101");
    assert!(
        wait_until(Duration::from_secs(10), || async {
            let turns = stores.log.recent(&c, 20).await.unwrap();
            turns
                .iter()
                .any(|t| t.role == Role::Tool && t.text.starts_with("reply not sent"))
        })
        .await,
        "the withheld reply is not in the log"
    );
    assert!(
        graph.sent_texts().is_empty(),
        "the bot answered over the person"
    );
    assert!(
        stores
            .inbox
            .claim_due(10, Duration::from_secs(1))
            .await
            .unwrap()
            .is_empty()
    );
}

/// Stops the turn once at `step`, then kills its replica (as a crash would).
#[derive(Debug)]
struct CrashOnce {
    step: Step,
    fired: AtomicBool,
    crashed: tokio::sync::Notify,
}

impl FaultPlan for CrashOnce {
    fn crash_at(&self, step: Step) -> bool {
        if step == self.step && !self.fired.swap(true, Ordering::SeqCst) {
            self.crashed.notify_one();
            return true;
        }
        false
    }
}

struct CrashRun {
    sent: Vec<String>,
    bookings: usize,
    muted: bool,
    staff_turns: usize,
    assistant_turns: usize,
    model_calls: u64,
}

/// One customer books; replica A crashes at `step`; replica B (same Redis, same calendar)
/// finishes the turn.
async fn crash_and_recover(url: &str, step: Step, echoes: bool) -> CrashRun {
    let prefix = format!("crash-{}-{step:?}-{echoes}", std::process::id()).replace(['(', ')'], "");
    let (graph, graph_url) = EchoingGraph::start().await;
    graph.lose_echoes.store(!echoes, Ordering::SeqCst);
    let model = MockServer::start().await;
    let calls = Arc::new(AtomicU64::new(0));
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(BookThenReply {
            date: next_tuesday(),
            reply: long_reply(),
            delay: Duration::ZERO,
            calls: calls.clone(),
        })
        .mount(&model)
        .await;
    let calendar: Arc<dyn Calendar> = Arc::new(
        EmbeddedCalendar::open_in_memory(Arc::new(StudioProfile::example()), Arc::new(SystemClock))
            .unwrap(),
    );
    let faults = Arc::new(CrashOnce {
        step,
        fired: AtomicBool::new(false),
        crashed: tokio::sync::Notify::new(),
    });
    let options = |faults: Option<Arc<dyn FaultPlan>>| Options {
        store: StoreChoice::RedisUrl(url.to_owned()),
        key_prefix: Some(prefix.clone()),
        lease: Duration::from_secs(2),
        env: vec![("IG_GRAPH_BASE_URL", graph_url.clone())],
        calendar: Some(calendar.clone()),
        // One allowed failure: a crash is not a failure, so the survivor still finishes
        // the turn instead of giving up with the apology.
        runner: Some(RunnerConfig {
            lease: Duration::from_secs(2),
            max_attempts: 1,
            ..RunnerConfig::default()
        }),
        faults,
        ..Options::default()
    };
    let placeholder = MockServer::start().await;
    let a = replica(|| options(Some(faults.clone())), &placeholder, &model).await;
    graph.deliver_to(&a.running);
    a.post_signed(&text_event(
        "5557201",
        "m_c1",
        "Κλείσε μου την Τρίτη στις 11",
    ))
    .await;
    tokio::time::timeout(Duration::from_secs(15), faults.crashed.notified())
        .await
        .expect("the fault plan never fired");
    let stores = a.running.app.stores.clone();
    a.running.kill();
    // The second replica starts after the crash and takes the conversation over once the
    // dead replica's lease runs out; echoes now reach it.
    let b: Replica = replica(|| options(None), &placeholder, &model).await;
    graph.webhooks.lock().unwrap().clear();
    graph.deliver_to(&b.running);
    let c = conv("5557201");
    let finished = wait_until(Duration::from_secs(20), || async {
        stores.inbox.next_due().await.unwrap().is_none()
            && stores.journal.read_journal(&c).await.unwrap().is_none()
    })
    .await;
    assert!(
        finished,
        "the turn was never finished after a crash at {step:?}"
    );
    let turns = stores.log.recent(&c, 50).await.unwrap();
    let bookings = calendar.upcoming_for(&c, Utc::now()).await.unwrap().len();
    let run = CrashRun {
        sent: graph.sent_texts(),
        bookings,
        muted: stores.takeover.muted(&c).await.unwrap().is_some(),
        staff_turns: turns.iter().filter(|t| t.role == Role::Staff).count(),
        assistant_turns: turns.iter().filter(|t| t.role == Role::Assistant).count(),
        model_calls: calls.load(Ordering::SeqCst),
    };
    b.running.kill();
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_at_any_step_sends_each_chunk_once_and_books_once() {
    let Some((url, _server)) = inkdesk_store::testing::redis_server::server() else {
        return;
    };
    let reply = long_reply();
    let chunks = inkdesk_messaging::split_message(&reply, inkdesk_messaging::MAX_MESSAGE_BYTES);
    assert_eq!(chunks.len(), 2);
    for step in [
        Step::Opened,
        Step::AfterEffect,
        Step::AfterPlan,
        Step::SentUnrecorded(0),
        Step::AfterChunk(0),
        Step::SentUnrecorded(1),
        Step::AfterChunk(1),
        Step::Recording,
        Step::BeforeAck,
    ] {
        let run = crash_and_recover(&url, step, true).await;
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for text in &run.sent {
            *counts.entry(text.as_str()).or_default() += 1;
        }
        for (k, chunk) in chunks.iter().enumerate() {
            // A crash after Instagram accepted a chunk and before its id was recorded
            // included: the chunk's echo came back, and the resumed turn takes it as sent.
            let n = counts.get(chunk.as_str()).copied().unwrap_or(0);
            assert_eq!(n, 1, "{step:?}: chunk {k} sent {n} times");
        }
        assert_eq!(run.bookings, 1, "{step:?}: {} bookings", run.bookings);
        assert!(!run.muted, "{step:?}: our own echo muted the conversation");
        assert_eq!(run.staff_turns, 0, "{step:?}: an echo became a staff turn");
        assert_eq!(
            run.assistant_turns, 1,
            "{step:?}: the reply was logged {} times",
            run.assistant_turns
        );
        if matches!(
            step,
            Step::AfterPlan
                | Step::SentUnrecorded(_)
                | Step::AfterChunk(_)
                | Step::Recording
                | Step::BeforeAck
        ) {
            assert_eq!(
                run.model_calls, 2,
                "{step:?}: the model was asked again for a decision already journalled"
            );
        }
    }
}

/// The one window that stays open: the sender dies after Instagram accepted a chunk and
/// before its id was recorded, *and* Meta's echo of it never arrives. Nothing proves the
/// chunk was delivered, so the resumed turn sends it again — once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_in_the_named_window_without_an_echo_sends_that_chunk_once_more() {
    let Some((url, _server)) = inkdesk_store::testing::redis_server::server() else {
        return;
    };
    let chunks =
        inkdesk_messaging::split_message(&long_reply(), inkdesk_messaging::MAX_MESSAGE_BYTES);
    let run = crash_and_recover(&url, Step::SentUnrecorded(1), false).await;
    let count = |chunk: &str| run.sent.iter().filter(|t| t.as_str() == chunk).count();
    assert_eq!(count(&chunks[0]), 1, "{:?}", run.sent);
    assert_eq!(count(&chunks[1]), 2, "{:?}", run.sent);
    assert_eq!(run.bookings, 1);
    assert_eq!(run.model_calls, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_turn_slower_than_the_lease_is_kept_by_the_heartbeat_across_two_replicas() {
    let Some((url, _server)) = inkdesk_store::testing::redis_server::server() else {
        return;
    };
    let prefix = format!("slow-{}", std::process::id());
    let (graph, graph_url) = EchoingGraph::start().await;
    let model = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(send_reply_completion("Σας περιμένουμε!"))
                .set_delay(Duration::from_millis(4500)),
        )
        .mount(&model)
        .await;
    let options = || Options {
        store: StoreChoice::RedisUrl(url.clone()),
        key_prefix: Some(prefix.clone()),
        lease: Duration::from_millis(1500),
        env: vec![("IG_GRAPH_BASE_URL", graph_url.clone())],
        ..Options::default()
    };
    let placeholder = MockServer::start().await;
    let a = replica(options, &placeholder, &model).await;
    let b = replica(options, &placeholder, &model).await;
    graph.deliver_to(&a.running);
    a.post_signed(&text_event("5557301", "m_slow", "Γεια!"))
        .await;
    let sent = graph.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(sent.len(), 1);
    // Long enough for a second claim, had the lease run out.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(graph.sent_texts().len(), 1, "the turn ran twice");
    assert_eq!(model.received_requests().await.unwrap().len(), 1);
    a.running.kill();
    b.running.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_past_its_deadline_apologises_once_and_hands_off() {
    let (graph, graph_url) = EchoingGraph::start().await;
    let model = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(send_reply_completion("αργή απάντηση"))
                .set_delay(Duration::from_secs(4)),
        )
        .mount(&model)
        .await;
    let options = Options {
        env: vec![
            ("IG_GRAPH_BASE_URL", graph_url),
            ("INKDESK_TURN_DEADLINE_SECONDS", "1".to_owned()),
        ],
        ..Options::default()
    };
    let app = spawn_with(options, None, Some(model)).await;
    graph.deliver_to(&app.running);
    app.post_signed(&text_event("5557401", "m_late", "Γεια!"))
        .await;
    let sent = graph.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(sent.len(), 1);
    assert!(
        !sent[0].contains("αργή"),
        "the late reply went out: {sent:?}"
    );
    let stores = stores_of(&app.running).await;
    let c = conv("5557401");
    // The mute follows the apology's send, so it may land a moment after the fake saw it.
    assert!(
        wait_until(Duration::from_secs(10), || async {
            stores.takeover.muted(&c).await.unwrap().is_some()
        })
        .await,
        "the late turn was not handed to a person"
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(graph.sent_texts().len(), 1, "something was sent twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sends_back_off_and_after_the_last_attempt_a_person_is_told() {
    let graph = MockServer::start().await;
    let attempts = Arc::new(AtomicU64::new(0));
    let seen = attempts.clone();
    Mock::given(method("POST"))
        .and(path(SEND_PATH))
        .respond_with(move |_: &Request| {
            seen.fetch_add(1, Ordering::SeqCst);
            ResponseTemplate::new(503).set_body_json(json!({"error": {"message": "down",
                "type": "OAuthException", "code": 2, "is_transient": true}}))
        })
        .mount(&graph)
        .await;
    let model = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(send_reply_completion("Γεια!")))
        .mount(&model)
        .await;
    let options = Options {
        // Retries back off from 200 ms in tests (5 s in service).
        env: vec![("INKDESK_TURN_MAX_ATTEMPTS", "3".to_owned())],
        ..Options::default()
    };
    let app = spawn_with(options, Some(graph), Some(model)).await;
    app.post_signed(&text_event("5557501", "m_fail", "Γεια"))
        .await;
    let stores = stores_of(&app.running).await;
    let c = conv("5557501");
    assert!(
        wait_until(Duration::from_secs(20), || async {
            stores.takeover.muted(&c).await.unwrap().is_some()
        })
        .await,
        "the conversation never went to a person"
    );
    let turns = stores.log.recent(&c, 20).await.unwrap();
    assert!(
        turns.iter().any(|t| t.text == "handed to a person: Failed"),
        "{turns:?}"
    );
    // The model was asked once: retries resume the journalled decision.
    assert_eq!(app.model.received_requests().await.unwrap().len(), 1);
    assert!(
        stores.inbox.next_due().await.unwrap().is_none(),
        "left queued"
    );
    assert!(attempts.load(Ordering::SeqCst) >= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_held_back_while_muted_or_paused_are_answered_afterwards_inside_the_window() {
    let graph = MockServer::start().await;
    crate::support::graph_accepts_sends(&graph).await;
    let model = MockServer::start().await;
    crate::support::model_replies(&model, "Καλώς ήρθατε πίσω!").await;
    let app = spawn_with(Options::default(), Some(graph), Some(model)).await;
    let stores = stores_of(&app.running).await;
    let muted = conv("5557601");
    stores
        .takeover
        .mute(&muted, Utc::now() + ChronoDuration::hours(1), "test".into())
        .await
        .unwrap();
    app.post_signed(&text_event("5557601", "m_mute", "Είστε εκεί;"))
        .await;
    // Paused for everyone; another customer writes meanwhile.
    stores.takeover.set_paused(true).await.unwrap();
    app.post_signed(&text_event("5557602", "m_pause", "Καλησπέρα"))
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        app.sent().await.is_empty(),
        "answered while muted or paused"
    );

    // Resume (from the API, as the console does) and unmute.
    let client = reqwest::Client::new();
    let admin = |p: &str| {
        client
            .post(app.url(&format!("/admin/api{p}")))
            .bearer_auth(crate::support::ADMIN_TOKEN)
    };
    assert!(admin("/resume").send().await.unwrap().status().is_success());
    let unmuted: Value = admin("/conversations/5557601/unmute")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(unmuted["requeued"], 1);
    // A third customer's message arrives now but is two days old (a backlog, a late
    // redelivery): the bot must not answer it.
    let old = now_ms() - 2 * 86_400_000;
    let old_event = json!({"object": "instagram", "entry": [{"id": ACCOUNT, "time": old,
        "messaging": [{"sender": {"id": "5557603"}, "recipient": {"id": ACCOUNT},
            "timestamp": old, "message": {"mid": "m_old", "text": "Παλιό μήνυμα"}}]}]})
    .to_string();
    app.post_signed(&old_event).await;
    let sent = app.wait_for_sends(2, Duration::from_secs(10)).await;
    let c = conv("5557603");
    assert!(
        wait_until(Duration::from_secs(10), || async {
            stores
                .log
                .recent(&c, 20)
                .await
                .unwrap()
                .iter()
                .any(|t| t.text == "handed to a person: OutsideWindow")
        })
        .await,
        "the old message was not handed to a person"
    );
    let recipients: Vec<&str> = sent
        .iter()
        .filter_map(|s| s["recipient"]["id"].as_str())
        .collect();
    assert!(recipients.contains(&"5557601"), "{recipients:?}");
    assert!(recipients.contains(&"5557602"), "{recipients:?}");
    assert!(
        !recipients.contains(&"5557603"),
        "the bot answered outside the window"
    );
    assert_eq!(app.sent().await.len(), 2);

    // Muted while a two-day-old message (a late redelivery) was recorded: unmuting does
    // not answer it, and the inbox lists the conversation for a person.
    let aged = conv("5557604");
    stores
        .takeover
        .mute(&aged, Utc::now() + ChronoDuration::hours(1), "test".into())
        .await
        .unwrap();
    let aged_event = json!({"object": "instagram", "entry": [{"id": ACCOUNT, "time": old,
        "messaging": [{"sender": {"id": "5557604"}, "recipient": {"id": ACCOUNT},
            "timestamp": old, "message": {"mid": "m_aged", "text": "Υπάρχει κανείς;"}}]}]})
    .to_string();
    app.post_signed(&aged_event).await;
    let unmuted: Value = admin("/conversations/5557604/unmute")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(unmuted["requeued"], 0);
    assert_eq!(unmuted["outside_window"], true);
    let list: Value = client
        .get(app.url("/admin/api/conversations"))
        .bearer_auth(crate::support::ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let row = list["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["conversation"] == "5557604")
        .cloned()
        .unwrap();
    assert_eq!(row["needs_a_person"], true, "{row}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.sent().await.len(), 2, "the aged message was answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_reply_whose_echo_arrives_first_is_one_staff_turn() {
    let (graph, graph_url) = EchoingGraph::start().await;
    let options = Options {
        env: vec![("IG_GRAPH_BASE_URL", graph_url)],
        with_model: false,
        ..Options::default()
    };
    let app = spawn_with(options, None, None).await;
    graph.deliver_to(&app.running);
    app.post_signed(&text_event("5557701", "m_q", "Πόσο κοστίζει;"))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let reply = reqwest::Client::new()
        .post(app.url("/admin/api/conversations/5557701/reply"))
        .bearer_auth(crate::support::ADMIN_TOKEN)
        .json(&json!({"text": "Γύρω στα 80€, ελάτε να το δούμε!"}))
        .send()
        .await
        .unwrap();
    assert!(reply.status().is_success(), "{}", reply.status());
    assert_eq!(graph.sent_texts().len(), 1);
    let stores = stores_of(&app.running).await;
    let turns = stores.log.recent(&conv("5557701"), 20).await.unwrap();
    let staff: Vec<_> = turns.iter().filter(|t| t.role == Role::Staff).collect();
    assert_eq!(
        staff.len(),
        1,
        "the console reply's echo was logged again: {turns:?}"
    );
}

/// A decided turn that finds the assistant paused waits, however many claims the pause
/// takes, and goes out once on resume: the waiting claims are not counted as crashes, so
/// the customer is not handed to a person as a failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decided_turn_waits_out_a_long_pause_and_is_sent_once_on_resume() {
    let (graph, graph_url) = EchoingGraph::start().await;
    let model = MockServer::start().await;
    crate::support::model_replies(&model, "Σας περιμένουμε στο στούντιο!").await;
    let faults = Arc::new(CrashOnce {
        step: Step::AfterPlan,
        fired: AtomicBool::new(false),
        crashed: tokio::sync::Notify::new(),
    });
    let options = Options {
        env: vec![("IG_GRAPH_BASE_URL", graph_url)],
        lease: Duration::from_secs(1),
        faults: Some(faults.clone()),
        // A crash limit of 4 claims, and a paused turn put back every 50 ms: a pause of a
        // few seconds takes dozens of claims.
        runner: Some(RunnerConfig {
            lease: Duration::from_secs(1),
            max_attempts: 1,
            retry_base: Duration::from_millis(50),
            retry_max: Duration::from_millis(50),
            ..RunnerConfig::default()
        }),
        ..Options::default()
    };
    let app = spawn_with(options, None, Some(model)).await;
    graph.deliver_to(&app.running);
    let stores = stores_of(&app.running).await;
    let c = conv("5557701");
    app.post_signed(&text_event("5557701", "m_wait", "Γεια σας!"))
        .await;
    tokio::time::timeout(Duration::from_secs(15), faults.crashed.notified())
        .await
        .expect("the fault plan never fired");
    stores.takeover.set_paused(true).await.unwrap();
    let held = |stores: Stores| async move {
        stores
            .journal
            .read_journal(&conv("5557701"))
            .await
            .unwrap()
            .and_then(|entry| Journal::from_value(&entry.body))
            .map_or(0, |journal| journal.held)
    };
    assert!(
        wait_until(Duration::from_secs(20), || {
            let stores = stores.clone();
            async move { held(stores).await >= 8 }
        })
        .await,
        "the paused turn was not put back again and again"
    );
    assert!(graph.sent_texts().is_empty(), "sent while paused");
    stores.takeover.set_paused(false).await.unwrap();
    let sent = graph.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(sent, ["Σας περιμένουμε στο στούντιο!"]);
    assert!(
        wait_until(Duration::from_secs(5), || async {
            stores.journal.read_journal(&c).await.unwrap().is_none()
        })
        .await,
        "the turn was never finished"
    );
    let turns = stores.log.recent(&c, 20).await.unwrap();
    assert!(
        turns
            .iter()
            .all(|t| !t.text.starts_with("handed to a person")),
        "{turns:?}"
    );
    assert!(stores.takeover.muted(&c).await.unwrap().is_none());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(graph.sent_texts().len(), 1, "sent twice");
}

/// `INKDESK_TURN_MAX_MESSAGES` bounds a turn: of a burst of three, the first turn answers
/// two and the third stays queued for the next turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_answers_at_most_the_configured_number_of_messages() {
    let graph = MockServer::start().await;
    crate::support::graph_accepts_sends(&graph).await;
    let model = MockServer::start().await;
    crate::support::model_replies(&model, "Μάλιστα!").await;
    let options = Options {
        env: vec![("INKDESK_TURN_MAX_MESSAGES", "2".to_owned())],
        ..Options::default()
    };
    let app = spawn_with(options, Some(graph), Some(model)).await;
    for (mid, text) in [("m_b1", "πρώτο"), ("m_b2", "δεύτερο"), ("m_b3", "τρίτο")]
    {
        app.post_signed(&text_event("5557801", mid, text)).await;
    }
    let sent = app.wait_for_sends(2, Duration::from_secs(15)).await;
    assert_eq!(sent.len(), 2, "two turns, one reply each: {sent:?}");
    let requests = app.model.received_requests().await.unwrap();
    let last_user = |body: &[u8]| -> String {
        let body: Value = serde_json::from_slice(body).unwrap();
        let messages = body["messages"].as_array().cloned().unwrap_or_default();
        messages
            .iter()
            .rev()
            .find(|m| m["role"] == "user")
            .map(|m| m["content"].to_string())
            .unwrap_or_default()
    };
    let first = last_user(&requests[0].body);
    assert!(
        first.contains("πρώτο") && first.contains("δεύτερο"),
        "{first}"
    );
    assert!(
        !first.contains("τρίτο"),
        "the first turn took three: {first}"
    );
    let second = last_user(&requests.last().unwrap().body);
    assert!(second.contains("τρίτο"), "{second}");
}
