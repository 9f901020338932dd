//! Two real `inkdesk serve` processes on one Redis: one is SIGKILLed in the middle of a
//! turn (booked, chunk 1 of 2 sent, chunk 2 in flight but not yet accepted by Instagram)
//! and the other finishes the turn — each chunk once, one booking, no self-mute.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use inkdesk_domain::ConversationId;
use inkdesk_store::testing::redis_server;
use inkdesk_store::{RedisConfig, Role, StoreOptions, Stores};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

use crate::exactly_once::{BookThenReply, long_reply, next_tuesday};
use crate::support::{ACCOUNT, APP_SECRET, SEND_PATH, echo_event, post_signed_to, text_event};

/// An `inkdesk serve` child process, SIGKILLed when dropped (a failing test leaves none).
struct Serve {
    child: Child,
    token: String,
    port: u16,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(token: &str, redis: &str, data_dir: &Path, graph: &str, model: &str) -> Serve {
    let port = redis_server::free_port();
    let log = std::fs::File::create(data_dir.join(format!("{token}.log"))).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_inkdesk"))
        .arg("serve")
        .current_dir(data_dir)
        .env_clear()
        .env("PORT", port.to_string())
        .env("RUST_LOG", "warn")
        .env("REDIS_URL", redis)
        .env("INKDESK_DATA_DIR", data_dir)
        .env("INKDESK_LEASE_SECONDS", "3")
        .env("INKDESK_DEBOUNCE_SECONDS", "1")
        .env("IG_APP_SECRET", APP_SECRET)
        .env("IG_VERIFY_TOKEN", "verify-me")
        .env("IG_ACCOUNT_ID", ACCOUNT)
        // The token names the process: the Graph fake knows who sent what.
        .env("IG_USER_ACCESS_TOKEN", token)
        .env("IG_GRAPH_BASE_URL", graph)
        .env("OPENAI_API_KEY", "sk-test")
        .env("OPENAI_BASE_URL", model)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    Serve {
        child,
        token: token.to_owned(),
        port,
    }
}

async fn healthy(serve: &Serve, data_dir: &Path) {
    let client = reqwest::Client::new();
    for _ in 0..400 {
        let url = format!("http://127.0.0.1:{}/health", serve.port);
        if client
            .get(url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = std::fs::read_to_string(data_dir.join(format!("{}.log", serve.token)));
    panic!("{} never became healthy: {log:?}", serve.token);
}

/// Meta's Graph API as the test needs it: every accepted message is echoed to a running
/// replica other than its sender (before the Send API answers); the first process to
/// send the reply's second chunk is left hanging — Instagram never accepts it — and
/// reported, so the test can kill that process with the chunk in flight.
#[derive(Clone)]
struct Graph {
    /// (recipient, text, sender's token) of every accepted message.
    accepted: Arc<Mutex<Vec<(String, String, String)>>>,
    /// (token, webhook URL) of the running replicas.
    replicas: Arc<Mutex<Vec<(String, String)>>>,
    stall_text: String,
    stalled: Arc<Mutex<Option<String>>>,
    counter: Arc<AtomicU64>,
    client: reqwest::Client,
}

impl Graph {
    async fn send(
        State(graph): State<Self>,
        headers: HeaderMap,
        Json(body): Json<Value>,
    ) -> Json<Value> {
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("")
            .to_owned();
        let recipient = body["recipient"]["id"].as_str().unwrap_or("").to_owned();
        let text = body["message"]["text"].as_str().unwrap_or("").to_owned();
        let stall = text == graph.stall_text && {
            let mut stalled = graph.stalled.lock().unwrap();
            let first = stalled.is_none();
            if first {
                *stalled = Some(token.clone());
            }
            first
        };
        if stall {
            // Instagram has not taken it; the process dies waiting.
            std::future::pending::<()>().await;
        }
        let n = graph.counter.fetch_add(1, Ordering::SeqCst);
        let mid = format!("aWdfZAG1faWQ-proc-{n}");
        graph
            .accepted
            .lock()
            .unwrap()
            .push((recipient.clone(), text.clone(), token.clone()));
        let target = {
            let replicas = graph.replicas.lock().unwrap();
            replicas
                .iter()
                .find(|(t, _)| *t != token)
                .or_else(|| replicas.first())
                .map(|(_, url)| url.clone())
        };
        if let Some(url) = target {
            let delivered =
                post_signed_to(&graph.client, &url, echo_event(&recipient, &mid, &text)).await;
            assert!(delivered.is_ok_and(|r| r.status().is_success()));
        }
        Json(json!({"recipient_id": recipient, "message_id": mid}))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_process_killed_mid_turn_is_finished_by_the_other_each_chunk_once_one_booking() {
    let Some((redis, _server)) = redis_server::server() else {
        return;
    };
    // A fresh redis-server needs a moment before it listens; `serve` refuses to start
    // without its store, so wait for it here (a busy machine made this race).
    let address = redis.trim_start_matches("redis://").to_owned();
    for _ in 0..200 {
        if std::net::TcpStream::connect(&address).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let customer = "5558801";
    let reply = long_reply();
    let chunks = inkdesk_messaging::split_message(&reply, inkdesk_messaging::MAX_MESSAGE_BYTES);
    assert_eq!(chunks.len(), 2);

    let graph = Graph {
        accepted: Arc::default(),
        replicas: Arc::default(),
        stall_text: chunks[1].clone(),
        stalled: Arc::default(),
        counter: Arc::default(),
        client: reqwest::Client::new(),
    };
    let app = Router::new()
        .route(SEND_PATH, post(Graph::send))
        .with_state(graph.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let graph_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let model = MockServer::start().await;
    let model_calls = Arc::new(AtomicU64::new(0));
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(BookThenReply {
            date: next_tuesday(),
            reply: reply.clone(),
            delay: Duration::ZERO,
            calls: model_calls.clone(),
        })
        .mount(&model)
        .await;

    let data = tempfile::tempdir().unwrap();
    let mut a = Some(serve(
        "proc-a",
        &redis,
        data.path(),
        &graph_url,
        &model.uri(),
    ));
    let mut b = Some(serve(
        "proc-b",
        &redis,
        data.path(),
        &graph_url,
        &model.uri(),
    ));
    for serve in [&a, &b].into_iter().flatten() {
        healthy(serve, data.path()).await;
        graph.replicas.lock().unwrap().push((
            serve.token.clone(),
            format!("http://127.0.0.1:{}/webhook", serve.port),
        ));
    }
    let body = text_event(customer, "m_proc_1", "Κλείσε μου την Τρίτη στις 11");
    let port = a.as_ref().unwrap().port;
    let url = format!("http://127.0.0.1:{port}/webhook");
    let posted = post_signed_to(&reqwest::Client::new(), &url, body)
        .await
        .unwrap();
    assert!(posted.status().is_success());

    // Whichever process claimed the turn books, sends chunk 1 and hangs on chunk 2.
    let mut victim = None;
    for _ in 0..300 {
        victim = graph.stalled.lock().unwrap().clone();
        if victim.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let victim = victim.expect("no process reached the reply's second chunk");
    let (dead, survivor) = if victim == "proc-a" {
        (a.take(), b.take())
    } else {
        (b.take(), a.take())
    };
    graph
        .replicas
        .lock()
        .unwrap()
        .retain(|(token, _)| *token != victim);
    drop(dead); // SIGKILL, mid-turn.

    // The survivor takes the conversation once the dead one's lease (3 s) runs out.
    for _ in 0..300 {
        let accepted = graph.accepted.lock().unwrap().clone();
        if accepted.iter().any(|(_, text, _)| *text == chunks[1]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Room for anything sent twice to show up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let accepted = graph.accepted.lock().unwrap().clone();
    let survivor = survivor.unwrap();
    let senders = |k: usize| -> Vec<&str> {
        accepted
            .iter()
            .filter(|(to, text, _)| to == customer && *text == chunks[k])
            .map(|(_, _, token)| token.as_str())
            .collect()
    };
    assert_eq!(senders(0), [victim.as_str()], "chunk 1: {accepted:?}");
    assert_eq!(
        senders(1),
        [survivor.token.as_str()],
        "chunk 2: {accepted:?}"
    );
    assert_eq!(accepted.len(), 2, "something else was sent: {accepted:?}");
    assert_eq!(
        model_calls.load(Ordering::SeqCst),
        2,
        "the survivor asked the model again for a decided turn"
    );

    let stores = Stores::redis(
        RedisConfig::from_url(redis.clone()),
        StoreOptions::default(),
    )
    .await
    .unwrap();
    let c = ConversationId::parse(customer).unwrap();
    assert!(
        stores.takeover.muted(&c).await.unwrap().is_none(),
        "self-muted"
    );
    let turns = stores.log.recent(&c, 50).await.unwrap();
    assert!(turns.iter().all(|t| t.role != Role::Staff), "{turns:?}");
    assert_eq!(
        turns.iter().filter(|t| t.role == Role::Assistant).count(),
        1,
        "{turns:?}"
    );
    assert!(stores.journal.read_journal(&c).await.unwrap().is_none());
    assert!(stores.inbox.next_due().await.unwrap().is_none());
    drop(survivor);

    // One booking, read the way the studio would: `inkdesk bookings --json` (the replicas'
    // calendar is in their Redis, which the command line reads too).
    let out = Command::new(env!("CARGO_BIN_EXE_inkdesk"))
        .args(["bookings", "--json"])
        .current_dir(data.path())
        .env("INKDESK_DATA_DIR", data.path())
        .env("REDIS_URL", &redis)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bookings: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let ours: Vec<&Value> = bookings
        .iter()
        .filter(|b| b["conversation"] == customer)
        .collect();
    assert_eq!(ours.len(), 1, "{bookings:?}");
}
