//! Two replicas of `inkdesk serve` sharing one real Redis.

use std::collections::HashMap;
use std::time::Duration;

use inkdesk_webhook::app::StoreChoice;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{
    Options, Replica, graph_accepts_sends, model_replies, send_reply_completion, text_event,
    wait_for_sends,
};
use inkdesk_store::testing::redis_server;

async fn replica(
    url: &str,
    prefix: &str,
    lease: Duration,
    graph: &MockServer,
    model: &MockServer,
) -> Replica {
    // Redis may need a moment after the process starts.
    for _ in 0..100 {
        let options = Options {
            store: StoreChoice::RedisUrl(url.to_owned()),
            key_prefix: Some(prefix.to_owned()),
            lease,
            ..Options::default()
        };
        if let Some(app) = crate::support::try_replica(options, graph, model).await {
            return app;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("redis at {url} never answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_answer_each_burst_exactly_once() {
    let Some((redis_url, _redis)) = redis_server::server() else {
        return;
    };
    let (graph, model) = (MockServer::start().await, MockServer::start().await);
    graph_accepts_sends(&graph).await;
    model_replies(&model, "Ευχαριστούμε! ❤️🐼").await;
    let lease = Duration::from_secs(30);
    let a = replica(&redis_url, "e2e-burst", lease, &graph, &model).await;
    let b = replica(&redis_url, "e2e-burst", lease, &graph, &model).await;
    let replicas = [&a, &b];

    const CONVERSATIONS: usize = 200;
    for round in 0..3 {
        let posts = (0..CONVERSATIONS).map(|i| {
            let target = replicas[(i + round) % 2];
            let body = text_event(&format!("77{i:06}"), &format!("m_{i}_{round}"), "Γεια σας");
            async move { target.post_signed(&body).await.status() }
        });
        for status in futures::future::join_all(posts).await {
            assert_eq!(status, 200);
        }
    }
    let sent = wait_for_sends(&graph, CONVERSATIONS, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let sent = if sent.len() == CONVERSATIONS {
        crate::support::sent_bodies(&graph).await
    } else {
        sent
    };
    let mut per_recipient: HashMap<String, usize> = HashMap::new();
    for body in &sent {
        *per_recipient
            .entry(body["recipient"]["id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(
        per_recipient.len(),
        CONVERSATIONS,
        "some burst got no reply"
    );
    assert!(
        per_recipient.values().all(|&n| n == 1),
        "some burst got two replies"
    );
    // Both replicas did some of the work.
    let turns = |app: &Replica| app.running.app.metrics.render();
    assert!(
        turns(&a).contains("inkdesk_turns_total"),
        "replica a ran no turn"
    );
    assert!(
        turns(&b).contains("inkdesk_turns_total"),
        "replica b ran no turn"
    );
    a.running.stop().await;
    b.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_stopped_mid_turn_is_finished_by_the_other_after_the_lease() {
    let Some((redis_url, _redis)) = redis_server::server() else {
        return;
    };
    let (graph, model) = (MockServer::start().await, MockServer::start().await);
    graph_accepts_sends(&graph).await;
    // Each model call takes 2 s: long enough to stop replica A in the middle of one.
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(send_reply_completion("Σας απαντάμε αμέσως. ❤️🐼"))
                .set_delay(Duration::from_secs(2)),
        )
        .mount(&model)
        .await;
    let lease = Duration::from_secs(4);
    let a = replica(&redis_url, "e2e-crash", lease, &graph, &model).await;
    a.post_signed(&text_event("7800001", "m_crash", "Γεια"))
        .await;
    // Debounce (1 s), then A claims and waits on the model; stop it mid-call.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while model.received_requests().await.unwrap().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "replica A never started the turn"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.running.kill();
    let b = replica(&redis_url, "e2e-crash", lease, &graph, &model).await;
    let sent = wait_for_sends(&graph, 1, Duration::from_secs(15)).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["recipient"]["id"], "7800001");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(crate::support::sent_bodies(&graph).await.len(), 1);
    assert_eq!(
        model.received_requests().await.unwrap().len(),
        2,
        "B re-ran the abandoned turn"
    );
    b.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_login_on_one_replica_is_known_to_the_other() {
    use crate::admin::{client, csrf_in, login_at};
    let Some((redis_url, _redis)) = redis_server::server() else {
        return;
    };
    let (graph, model) = (MockServer::start().await, MockServer::start().await);
    let lease = Duration::from_secs(30);
    let a = replica(&redis_url, "e2e-admin", lease, &graph, &model).await;
    let b = replica(&redis_url, "e2e-admin", lease, &graph, &model).await;
    let base = |r: &Replica| format!("http://{}", r.running.addr);
    let session = login_at(&base(&a)).await;
    let cookie = format!("inkdesk_admin={session}");
    let inbox = client()
        .get(format!("{}/admin/", base(&b)))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(inbox.status(), 200, "the other replica knows the session");
    let csrf = csrf_in(&inbox.text().await.unwrap());
    let logout = client()
        .post(format!("{}/admin/logout", base(&b)))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 303);
    let after = client()
        .get(format!("{}/admin/", base(&a)))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        after.status(),
        303,
        "logging out on one replica ends it on both"
    );
    assert_eq!(
        after.headers()["location"],
        "/admin/login",
        "sent back to the login form"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_outage_answers_503_and_the_redelivery_is_answered_once() {
    // A server of its own to stop, even when REDIS_URL names a shared one.
    let Some(server) = redis_server::own_server() else {
        return;
    };
    let (redis_url, port) = (server.url(), server.port());
    let (graph, model) = (MockServer::start().await, MockServer::start().await);
    graph_accepts_sends(&graph).await;
    model_replies(&model, "Γεια σας! ❤️🐼").await;
    let app = replica(
        &redis_url,
        "e2e-outage",
        Duration::from_secs(30),
        &graph,
        &model,
    )
    .await;
    let event = text_event("5552001", "m_outage", "Γεια");

    drop(server);
    let refused = app.post_signed(&event).await;
    assert_eq!(
        refused.status(),
        503,
        "Meta must redeliver what was not recorded"
    );

    let _again = redis_server::RedisServer::start_on(port).unwrap();
    // Meta redelivers the same event until it gets a 200.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let status = app.post_signed(&event).await.status();
        if status == 200 {
            break;
        }
        assert_eq!(status, 503);
        assert!(
            tokio::time::Instant::now() < deadline,
            "redis never came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A second redelivery after the 200 changes nothing.
    assert_eq!(app.post_signed(&event).await.status(), 200);
    let sent = wait_for_sends(&graph, 1, Duration::from_secs(10)).await;
    assert_eq!(sent.len(), 1, "the redelivered message was answered");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        crate::support::sent_bodies(&graph).await.len(),
        1,
        "answered once"
    );
    app.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_limit_counts_attempts_on_every_replica() {
    use crate::admin::{client, csrf_in};
    let Some((redis_url, _redis)) = redis_server::server() else {
        return;
    };
    let (graph, model) = (MockServer::start().await, MockServer::start().await);
    let lease = Duration::from_secs(30);
    // A prefix of this run's own: a shared REDIS_URL may hold another run's counts.
    let prefix = format!("e2e-login-limit-{}", std::process::id());
    let a = replica(&redis_url, &prefix, lease, &graph, &model).await;
    let b = replica(&redis_url, &prefix, lease, &graph, &model).await;
    let base = |r: &Replica| format!("http://{}", r.running.addr);
    let form = client()
        .get(format!("{}/admin/login", base(&a)))
        .send()
        .await
        .unwrap();
    let double = form
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("inkdesk_login="))
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_owned();
    let csrf = csrf_in(&form.text().await.unwrap());
    let attempt = |replica: &Replica, token: &'static str| {
        client()
            .post(format!("{}/admin/login", base(replica)))
            .header("cookie", format!("inkdesk_login={double}"))
            .form(&[("token", token), ("csrf", csrf.as_str())])
            .send()
    };
    for n in 0..5 {
        let replica = if n % 2 == 0 { &a } else { &b };
        assert_eq!(attempt(replica, "wrong").await.unwrap().status(), 401);
    }
    for replica in [&a, &b] {
        assert_eq!(
            attempt(replica, crate::support::ADMIN_TOKEN)
                .await
                .unwrap()
                .status(),
            429,
            "five attempts across both replicas use up the minute"
        );
    }
}

/// Runs the `inkdesk` binary with `REDIS_URL` (and a data dir of its own, which must stay
/// unused); returns stdout, panicking with stderr on failure.
fn cli(redis_url: &str, data_dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_inkdesk"))
        .args(args)
        .env("REDIS_URL", redis_url)
        .env("INKDESK_DATA_DIR", data_dir)
        .env_remove("GOOGLE_TOKEN_FILE")
        .env_remove("GOOGLE_SERVICE_ACCOUNT_FILE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "inkdesk {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn admin_bookings(replica: &Replica) -> Vec<serde_json::Value> {
    let answer: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "http://{}/admin/api/bookings",
            replica.running.addr
        ))
        .bearer_auth(crate::support::ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["bookings"].as_array().cloned().unwrap_or_default()
}

/// With Redis and no Google, the calendar lives in Redis: a booking made from the command
/// line shows in both replicas' consoles, one made through a replica's calendar shows in
/// `inkdesk bookings`, and a slot both fill is full for the other replica's availability.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_on_one_redis_share_one_calendar() {
    // Its own server: the command line uses the default key prefix.
    let Some(redis) = redis_server::own_server() else {
        return;
    };
    let url = redis.url();
    let (graph, model) = (MockServer::start().await, MockServer::start().await);
    let lease = Duration::from_secs(30);
    let a = replica(&url, "inkdesk", lease, &graph, &model).await;
    let b = replica(&url, "inkdesk", lease, &graph, &model).await;
    let data = tempfile::tempdir().unwrap();

    let profile = inkdesk_domain::StudioProfile::example();
    let duration = inkdesk_domain::AppointmentDuration::from_minutes(60, 600).unwrap();
    let today = chrono::Utc::now()
        .with_timezone(&profile.time_zone)
        .date_naive();
    let request = inkdesk_calendar::SlotRequest::range(
        today + chrono::Duration::days(2),
        today + chrono::Duration::days(16),
        duration,
    );
    let free = |calendar| {
        let (profile, request) = (profile.clone(), request.clone());
        async move {
            inkdesk_calendar::available_slots(calendar, &profile, &[], &request, chrono::Utc::now())
                .await
                .unwrap()
        }
    };
    let slot = free(b.running.app.calendar.as_ref()).await[0].clone();
    let start = slot.start.to_rfc3339();

    let id = cli(
        &url,
        data.path(),
        &[
            "book",
            "--name",
            "Μαρία Κ.",
            "--phone",
            "6912345678",
            "--start",
            &start,
            "--duration",
            "60",
        ],
    );
    let id = id.trim().to_owned();
    for replica in [&a, &b] {
        let listed = admin_bookings(replica).await;
        assert!(
            listed.iter().any(|b| b["id"] == id.as_str()),
            "{id} missing in {listed:?}"
        );
    }

    // The second unit (capacity 2), taken through replica A's own wiring.
    let second = a
        .running
        .app
        .calendar
        .create(inkdesk_calendar::NewBooking {
            conversation: inkdesk_domain::ConversationId::parse("17841400000000999").unwrap(),
            customer: inkdesk_domain::CustomerName::parse("Νίκος Π.").unwrap(),
            phone: inkdesk_domain::PhoneNumber::parse("6987654321", inkdesk_domain::Region::GREECE)
                .unwrap(),
            design: None,
            price: None,
            start: slot.start.with_timezone(&chrono::Utc),
            duration,
            artist: None,
            idempotency_key: Some("e2e-shared-calendar".into()),
            deposit: None,
            sms_consent: false,
        })
        .await
        .unwrap();
    let listed: Vec<serde_json::Value> =
        serde_json::from_str(&cli(&url, data.path(), &["bookings", "--json"])).unwrap();
    let ids: Vec<&str> = listed.iter().filter_map(|b| b["id"].as_str()).collect();
    assert!(
        ids.contains(&id.as_str()) && ids.contains(&second.id.as_str()),
        "{listed:?}"
    );
    // Full now, for replica B's availability too.
    assert!(
        free(b.running.app.calendar.as_ref())
            .await
            .iter()
            .all(|s| s.start != slot.start),
        "replica B still offers the full slot"
    );
    // Nothing went to a local calendar file.
    assert!(!data.path().join("calendar.sqlite3").exists());
    a.running.stop().await;
    b.running.stop().await;
}
