//! `spawn_app` and helpers shared by the end-to-end tests.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use inkdesk_domain::StudioProfile;
use inkdesk_messaging::signature_header;
use inkdesk_webhook::app::{App, Overrides, StoreChoice, WorkerConfig};
use inkdesk_webhook::settings::Settings;
use inkdesk_webhook::startup::{self, Running};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The studio's Instagram account id in every fixture.
pub const ACCOUNT: &str = "17841400000000001";
/// The webhook signing secret.
pub const APP_SECRET: &str = "test-app-secret";
/// The admin console's bearer token.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
/// The Graph API version the messenger uses by default.
pub const SEND_PATH: &str = "/v23.0/me/messages";

/// A running application with its fakes.
pub struct TestApp {
    pub running: Running,
    pub graph: MockServer,
    pub model: MockServer,
    pub client: reqwest::Client,
}

/// How to start the app.
pub struct Options {
    pub store: StoreChoice,
    pub key_prefix: Option<String>,
    pub with_model: bool,
    pub lease: Duration,
    /// Extra environment variables (e.g. notification settings), or removals with "".
    pub env: Vec<(&'static str, String)>,
    /// A calendar shared by replicas (instead of each one's own in memory).
    pub calendar: Option<Arc<dyn inkdesk_calendar::Calendar>>,
    /// Where turns stop as if the process died (crash injection).
    pub faults: Option<Arc<dyn inkdesk_assistant::runner::faults::FaultPlan>>,
    /// Runner settings (deadlines, retries).
    pub runner: Option<inkdesk_assistant::runner::RunnerConfig>,
    /// The studio profile (default: the example).
    pub profile: Option<StudioProfile>,
    /// Where reminders stop as if the process died (crash injection).
    pub reminder_faults:
        Option<Arc<dyn Fn(inkdesk_assistant::reminders::ReminderStep) -> bool + Send + Sync>>,
    /// The application's clock (default: the system's).
    pub clock: Option<Arc<dyn inkdesk_domain::Clock>>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            store: StoreChoice::Memory,
            key_prefix: None,
            with_model: true,
            lease: Duration::from_secs(60),
            env: Vec::new(),
            calendar: None,
            faults: None,
            runner: None,
            profile: None,
            reminder_faults: None,
            clock: None,
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_with(Options::default(), None, None).await
}

/// Starts the application against fresh fakes (or the given ones, for replicas).
pub async fn spawn_with(
    options: Options,
    graph: Option<MockServer>,
    model: Option<MockServer>,
) -> TestApp {
    let graph = match graph {
        Some(graph) => graph,
        None => MockServer::start().await,
    };
    let model = match model {
        Some(model) => model,
        None => MockServer::start().await,
    };
    let running = build(options, &graph, &model).await.unwrap();
    TestApp {
        running,
        graph,
        model,
        client: reqwest::Client::new(),
    }
}

/// One replica among several sharing the test's fakes and store.
pub struct Replica {
    pub running: Running,
    client: reqwest::Client,
}

impl Replica {
    /// POSTs `body` signed as Meta signs it.
    pub async fn post_signed(&self, body: &str) -> reqwest::Response {
        post_signed(&self.client, &self.running, body).await
    }
}

/// A replica using the given fakes; `None` if the store is not reachable yet.
pub async fn try_replica(
    options: Options,
    graph: &MockServer,
    model: &MockServer,
) -> Option<Replica> {
    let running = build(options, graph, model).await.ok()?;
    Some(Replica {
        running,
        client: reqwest::Client::new(),
    })
}

async fn post_signed(client: &reqwest::Client, running: &Running, body: &str) -> reqwest::Response {
    let secret = SecretString::from(APP_SECRET);
    let signature = signature_header(&secret, body.as_bytes()).unwrap();
    client
        .post(format!("http://{}/webhook", running.addr))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

async fn build(
    options: Options,
    graph: &MockServer,
    model: &MockServer,
) -> anyhow::Result<Running> {
    let mut env: HashMap<String, String> = [
        ("IG_APP_SECRET", APP_SECRET),
        ("IG_VERIFY_TOKEN", "verify-me"),
        ("IG_ACCOUNT_ID", ACCOUNT),
        ("IG_USER_ACCESS_TOKEN", "IGAA-test-token"),
        ("INKDESK_DEBOUNCE_SECONDS", "1"),
        ("INKDESK_ADMIN_TOKEN", ADMIN_TOKEN),
        // The fake CDN listens on loopback, which downloads refuse unless allowed.
        ("INKDESK_DOWNLOAD_ALLOW_HOSTS", "127.0.0.1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    env.insert("IG_GRAPH_BASE_URL".into(), graph.uri());
    if options.with_model {
        env.insert("OPENAI_API_KEY".into(), "sk-test".into());
        env.insert("OPENAI_BASE_URL".into(), model.uri());
    }
    for (key, value) in options.env {
        env.insert(key.to_owned(), value);
    }
    let settings = Settings::from_env(&env)?;
    // Every field is set today; the update keeps this compiling when one is added.
    #[allow(clippy::needless_update)]
    let overrides = Overrides {
        store: Some(options.store),
        key_prefix: options.key_prefix,
        ephemeral: true,
        fast_retries: true,
        worker: Some(WorkerConfig {
            lease: options.lease,
            concurrency: 16,
            idle_poll: Duration::from_millis(50),
            shutdown_grace: Duration::from_secs(5),
        }),
        calendar: options.calendar,
        faults: options.faults,
        // Without one, the runner is configured from the settings (INKDESK_TURN_*), as
        // `serve` does, with the fast retries of tests.
        runner: options.runner,
        clock: options.clock,
        reminder_faults: options.reminder_faults,
        reminders: Some(inkdesk_assistant::reminders::ReminderConfig {
            lease: options.lease,
            retry_base: Duration::from_millis(200),
            retry_max: Duration::from_secs(2),
            ..Default::default()
        }),
        ..Overrides::default()
    };
    let profile = options.profile.unwrap_or_else(StudioProfile::example);
    let app = App::build(&settings, profile, overrides).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let running = startup::start(Arc::new(app), listener)?;
    Ok(running)
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.running.addr)
    }

    /// POSTs `body` signed as Meta signs it.
    pub async fn post_signed(&self, body: &str) -> reqwest::Response {
        post_signed(&self.client, &self.running, body).await
    }

    /// Requests the fake Graph API received to send messages.
    pub async fn sent(&self) -> Vec<Value> {
        sent_bodies(&self.graph).await
    }

    /// Waits until the Graph fake has received `n` send requests (or the timeout).
    pub async fn wait_for_sends(&self, n: usize, timeout: Duration) -> Vec<Value> {
        wait_for_sends(&self.graph, n, timeout).await
    }
}

pub async fn sent_bodies(graph: &MockServer) -> Vec<Value> {
    graph
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == SEND_PATH)
        .map(|r: &Request| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

pub async fn wait_for_sends(graph: &MockServer, n: usize, timeout: Duration) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let sent = sent_bodies(graph).await;
        if sent.len() >= n || tokio::time::Instant::now() > deadline {
            return sent;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Graph answers every send with a fresh message id.
pub async fn graph_accepts_sends(graph: &MockServer) {
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    Mock::given(method("POST"))
        .and(path(SEND_PATH))
        .respond_with(move |req: &Request| {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            ResponseTemplate::new(200).set_body_json(json!({
                "recipient_id": body["recipient"]["id"],
                "message_id": format!("aWdfZAG1faWQ-out-{n}"),
            }))
        })
        .mount(graph)
        .await;
}

/// The model answers every call by replying `text` through the `send_reply` tool.
pub async fn model_replies(model: &MockServer, text: &str) {
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(send_reply_completion(text)))
        .mount(model)
        .await;
}

/// A chat completion (OpenAI's documented shape) whose only output is a `send_reply` call.
pub fn send_reply_completion(text: &str) -> Value {
    let arguments = json!({"text": text, "intents": ["studio_info"]}).to_string();
    json!({
        "id": "chatcmpl-e2e",
        "object": "chat.completion",
        "created": 1764400000,
        "model": "gpt-4o-2024-08-06",
        "choices": [{
            "index": 0,
            "message": {
                "role": "assistant",
                "content": null,
                "tool_calls": [{
                    "id": "call_reply",
                    "type": "function",
                    "function": {"name": "send_reply", "arguments": arguments}
                }]
            },
            "finish_reason": "tool_calls"
        }],
        "usage": {"prompt_tokens": 3600, "completion_tokens": 40, "total_tokens": 3640,
                  "prompt_tokens_details": {"cached_tokens": 3456}}
    })
}

/// Now, in the milliseconds Meta's timestamps use: fixtures are dated now, as Meta dates
/// live events (the bot answers only inside the 24-hour window of the customer's message).
pub fn now_ms() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0)
}

/// A webhook body with one customer text message.
pub fn text_event(sender: &str, mid: &str, text: &str) -> String {
    json!({
        "object": "instagram",
        "entry": [{
            "id": ACCOUNT,
            "time": now_ms(),
            "messaging": [{
                "sender": {"id": sender},
                "recipient": {"id": ACCOUNT},
                "timestamp": now_ms(),
                "message": {"mid": mid, "text": text}
            }]
        }]
    })
    .to_string()
}

/// A webhook body with the studio's own message (sent by a person in the app).
pub fn echo_event(customer: &str, mid: &str, text: &str) -> String {
    json!({
        "object": "instagram",
        "entry": [{
            "id": ACCOUNT,
            "time": now_ms(),
            "messaging": [{
                "sender": {"id": ACCOUNT},
                "recipient": {"id": customer},
                "timestamp": now_ms(),
                "message": {"mid": mid, "text": text, "is_echo": true}
            }]
        }]
    })
    .to_string()
}

/// Waits until `check` holds, polling every 50 ms; false if `timeout` passed first.
pub async fn wait_until<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Posts `body` to the webhook at `url`, signed with the app secret as Meta signs it.
pub async fn post_signed_to(
    client: &reqwest::Client,
    url: &str,
    body: String,
) -> reqwest::Result<reqwest::Response> {
    let signature = signature_header(&SecretString::from(APP_SECRET), body.as_bytes())
        .expect("the test secret is a valid HMAC key");
    client
        .post(url)
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(body)
        .send()
        .await
}

/// Real time moved forward by an offset the test sets: the debounce and leases keep
/// running, and a test can jump hours ahead (a deposit hold running out).
#[derive(Debug, Clone, Default)]
pub struct OffsetClock(Arc<std::sync::Mutex<chrono::Duration>>);

impl OffsetClock {
    /// Moves the clock `by` forward.
    pub fn advance(&self, by: chrono::Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl inkdesk_domain::Clock for OffsetClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() + *self.0.lock().unwrap()
    }
}
