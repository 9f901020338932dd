//! The admin console's API and forms against the running service: auth, CSRF, the
//! login rate limit and each action's effect in the store and on the fake Graph API.

use std::time::Duration;

use chrono::Utc;
use inkdesk_domain::ConversationId;
use inkdesk_store::{Role, Turn};
use inkdesk_webhook::admin::notify::{SIGNATURE_HEADER, sign};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{
    ADMIN_TOKEN, Options, TestApp, graph_accepts_sends, spawn_app, spawn_with, wait_for_sends,
};

pub fn conv(id: &str) -> ConversationId {
    ConversationId::parse(id).unwrap()
}

/// Records a customer message `hours_ago` hours ago and an assistant reply with a trace.
pub async fn seed(app: &TestApp, id: &str, hours_ago: i64) {
    let log = &app.running.app.stores.log;
    let at = Utc::now() - chrono::Duration::hours(hours_ago);
    log.append(
        &conv(id),
        Turn {
            role: Role::Customer,
            text: "Γεια, πόσο κάνει ένα τριαντάφυλλο;".into(),
            message_id: Some(format!("m_{id}_1")),
            at,
            data: None,
        },
    )
    .await
    .unwrap();
    let trace = json!({"trace": {
        "turn": "t1", "conversation": id, "intents": ["pricing_without_image"],
        "tools": [{"name": "quote_price", "arguments": "{\"width_cm\":5}", "result": "150 €", "ok": true,
                   "latency": {"secs": 0, "nanos": 2000000}}],
        "model_calls": [{"kind": "reply", "model": "gpt-4o", "prompt_tokens": 3600, "cached_tokens": 3456,
                         "completion_tokens": 40, "latency": {"secs": 1, "nanos": 200000000}, "ok": true}],
        "rounds": 1, "outcome": {"kind": "replied"}, "failure": null, "latency": {"secs": 1, "nanos": 300000000}
    }});
    log.append(
        &conv(id),
        Turn {
            role: Role::Assistant,
            text: "Περίπου 150 €. ❤️🐼".into(),
            message_id: Some(format!("m_{id}_2")),
            at: at + chrono::Duration::seconds(5),
            data: Some(trace),
        },
    )
    .await
    .unwrap();
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
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

fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.strip_prefix(&format!("{name}="))
                .map(|rest| rest.split(';').next().unwrap_or("").to_owned())
        })
}

/// The value of the first hidden `csrf` field in `html`.
pub fn csrf_in(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[start..].split('"').next().unwrap().to_owned()
}

/// Logs in through the form; returns the session cookie's value.
async fn login(app: &TestApp) -> String {
    login_at(&app.url("")).await
}

/// Logs in through the form of the service at `base` (`http://host:port`).
pub async fn login_at(base: &str) -> String {
    let url = |path: &str| format!("{base}{path}");
    let form = client().get(url("/admin/login")).send().await.unwrap();
    let double = set_cookie(&form, "inkdesk_login").unwrap();
    let csrf = csrf_in(&form.text().await.unwrap());
    let response = client()
        .post(url("/admin/login"))
        .header("cookie", format!("inkdesk_login={double}"))
        .form(&[("token", ADMIN_TOKEN), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Path=/admin"),
        "{cookie}"
    );
    set_cookie(&response, "inkdesk_admin").unwrap()
}

async fn page(app: &TestApp, session: &str, path: &str) -> (StatusCode, String) {
    let response = client()
        .get(app.url(path))
        .header("cookie", format!("inkdesk_admin={session}"))
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn the_console_is_off_without_a_token() {
    let app = spawn_with(
        Options {
            env: vec![("INKDESK_ADMIN_TOKEN", String::new())],
            ..Options::default()
        },
        None,
        None,
    )
    .await;
    for path in ["/admin/", "/admin/login", "/admin/api/conversations"] {
        let response = client()
            .get(app.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn the_api_refuses_a_missing_or_wrong_token_and_sets_security_headers() {
    let app = spawn_app().await;
    let url = app.url("/admin/api/conversations");
    let none = client().get(&url).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    let wrong = client()
        .get(&url)
        .bearer_auth("test-admin-token-012345678X")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let ok = api(&app, reqwest::Method::GET, "/conversations", None).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let headers = ok.headers();
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    // Pages without a session go to the login form.
    let page = client().get(app.url("/admin/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()["location"], "/admin/login");
}

#[tokio::test]
async fn api_actions_change_the_store() {
    let app = spawn_app().await;
    seed(&app, "5552001", 1).await;
    let stores = &app.running.app.stores;
    let id = conv("5552001");

    let list: Value = api(&app, reqwest::Method::GET, "/conversations", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["conversations"][0]["conversation"], "5552001");
    assert_eq!(list["conversations"][0]["status"]["kind"], "bot");
    assert_eq!(list["conversations"][0]["awaiting_confirmation"], false);

    // A cancel question waiting for the customer's yes shows in the inbox.
    let key = inkdesk_webhook::adapters::confirmation_key(&id);
    stores
        .keyed
        .put(
            &id,
            &key,
            json!({"pending": "cancel"}),
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap();
    let list: Value = api(&app, reqwest::Method::GET, "/conversations", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["conversations"][0]["awaiting_confirmation"], true);
    stores.keyed.delete(&id, &key).await.unwrap();

    let muted = api(
        &app,
        reqwest::Method::POST,
        "/conversations/5552001/mute",
        Some(json!({"hours": 3})),
    )
    .await;
    assert_eq!(muted.status(), StatusCode::OK);
    let mute = stores.takeover.muted(&id).await.unwrap().unwrap();
    assert!(mute.until > Utc::now() + chrono::Duration::minutes(170));
    let bad = api(
        &app,
        reqwest::Method::POST,
        "/conversations/5552001/mute",
        Some(json!({"hours": 0})),
    )
    .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    let one: Value = api(&app, reqwest::Method::GET, "/conversations/5552001", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["status"]["kind"], "muted");
    assert_eq!(
        one["entries"][1]["trace"]["intents"][0],
        "pricing_without_image"
    );
    assert_eq!(
        one["entries"][1]["trace"]["model_calls"][0]["latency_ms"],
        1200
    );

    let unmuted = api(
        &app,
        reqwest::Method::POST,
        "/conversations/5552001/unmute",
        None,
    )
    .await;
    assert_eq!(unmuted.status(), StatusCode::OK);
    assert!(stores.takeover.muted(&id).await.unwrap().is_none());

    api(&app, reqwest::Method::POST, "/pause", None).await;
    assert!(stores.takeover.is_paused().await.unwrap());
    api(&app, reqwest::Method::POST, "/resume", None).await;
    assert!(!stores.takeover.is_paused().await.unwrap());

    let traces: Value = api(
        &app,
        reqwest::Method::GET,
        "/traces?intent=pricing_without_image",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(traces["traces"].as_array().unwrap().len(), 1);
    let none: Value = api(&app, reqwest::Method::GET, "/traces?intent=booking", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(none["traces"].as_array().unwrap().is_empty());

    let status: Value = api(&app, reqwest::Method::GET, "/status", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["store"], "ok");
    assert_eq!(status["calendar"], "ok");
    assert_eq!(status["graph_token"], true);
    assert_eq!(status["model"], "closed");

    let deleted = api(
        &app,
        reqwest::Method::DELETE,
        "/conversations/5552001",
        None,
    )
    .await;
    assert_eq!(deleted.status(), StatusCode::OK);
    let report: Value = deleted.json().await.unwrap();
    assert_eq!(report["anonymised_bookings"], json!([]));
    assert!(stores.log.recent(&id, 10).await.unwrap().is_empty());
    let gone = api(&app, reqwest::Method::GET, "/conversations/5552001", None).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_staff_reply_outside_24_hours_carries_the_human_agent_tag_and_keeps_the_bot_muted() {
    let app = spawn_app().await;
    graph_accepts_sends(&app.graph).await;
    seed(&app, "5552002", 30).await;
    seed(&app, "5552003", 1).await;

    let sent: Value = api(
        &app,
        reqwest::Method::POST,
        "/conversations/5552002/reply",
        Some(json!({"text": "Καλησπέρα, εδώ η Μαρία από το στούντιο."})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(sent["human_agent_tag"], true);
    let inside: Value = api(
        &app,
        reqwest::Method::POST,
        "/conversations/5552003/reply",
        Some(json!({"text": "Ναι, ελάτε!"})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(inside["human_agent_tag"], false);

    let bodies = wait_for_sends(&app.graph, 2, Duration::from_secs(5)).await;
    assert_eq!(
        bodies[0],
        json!({"recipient": {"id": "5552002"}, "message": {"text": "Καλησπέρα, εδώ η Μαρία από το στούντιο."},
               "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"})
    );
    assert_eq!(
        bodies[1],
        json!({"recipient": {"id": "5552003"}, "message": {"text": "Ναι, ελάτε!"}})
    );

    let stores = &app.running.app.stores;
    let turns = stores.log.recent(&conv("5552002"), 10).await.unwrap();
    let staff = turns.last().unwrap();
    assert_eq!(staff.role, Role::Staff);
    let mid = sent["message_ids"][0].as_str().unwrap();
    assert_eq!(staff.message_id.as_deref(), Some(mid));
    assert!(
        stores.outbox.contains(mid).await.unwrap(),
        "the echo must be recognised as ours"
    );
    let mute = stores
        .takeover
        .muted(&conv("5552002"))
        .await
        .unwrap()
        .unwrap();
    assert!(mute.until > Utc::now() + chrono::Duration::minutes(100));
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_are_refused() {
    let app = spawn_app().await;
    seed(&app, "5552004", 1).await;
    let session = login(&app).await;
    let (status, html) = page(&app, &session, "/admin/c/5552004").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Περίπου 150 €"), "{html}");
    let csrf = csrf_in(&html);
    let id = conv("5552004");
    let takeover = &app.running.app.stores.takeover;

    for token in ["", "not-the-token"] {
        let refused = client()
            .post(app.url("/admin/c/5552004/mute"))
            .header("cookie", format!("inkdesk_admin={session}"))
            .form(&[("hours", "2"), ("csrf", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert!(takeover.muted(&id).await.unwrap().is_none());
    }
    let accepted = client()
        .post(app.url("/admin/c/5552004/mute"))
        .header("cookie", format!("inkdesk_admin={session}"))
        .form(&[("hours", "2"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
    assert!(takeover.muted(&id).await.unwrap().is_some());

    // The same token without the session cookie is not enough either.
    let no_session = client()
        .post(app.url("/admin/c/5552004/unmute"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(no_session.status(), StatusCode::SEE_OTHER);
    assert!(takeover.muted(&id).await.unwrap().is_some());
}

#[tokio::test]
async fn login_refuses_a_wrong_token_and_limits_attempts() {
    let app = spawn_app().await;
    let form = client()
        .get(app.url("/admin/login?lang=en"))
        .send()
        .await
        .unwrap();
    let double = set_cookie(&form, "inkdesk_login").unwrap();
    let csrf = csrf_in(&form.text().await.unwrap());
    let attempt = |token: &'static str| {
        client()
            .post(app.url("/admin/login"))
            .header("cookie", format!("inkdesk_login={double}"))
            .form(&[("token", token), ("csrf", csrf.as_str())])
            .send()
    };
    for _ in 0..5 {
        assert_eq!(
            attempt("wrong").await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // The sixth attempt within the minute is refused even with the right token.
    assert_eq!(
        attempt(ADMIN_TOKEN).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // A login form post without the double-submit cookie is a CSRF.
    let forged = client()
        .post(app.url("/admin/login"))
        .form(&[("token", ADMIN_TOKEN), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn pages_render_in_greek_by_default_and_in_english_on_request() {
    let app = spawn_app().await;
    seed(&app, "5552005", 1).await;
    let session = login(&app).await;
    let (_, greek) = page(&app, &session, "/admin/").await;
    assert!(
        greek.contains("Εισερχόμενα") && greek.contains("5552005"),
        "{greek}"
    );
    let (_, english) = page(&app, &session, "/admin/?lang=en").await;
    assert!(english.contains("Inbox"), "{english}");
    for path in [
        "/admin/bookings",
        "/admin/traces?intent=pricing_without_image",
        "/admin/status",
        "/admin/c/5552005/delete",
    ] {
        let (status, html) = page(&app, &session, path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {html}");
    }
    // The traces page shows the rendered instructions every turn starts with.
    let (_, traces) = page(&app, &session, "/admin/traces?lang=en").await;
    assert!(
        traces.contains("The assistant&#x27;s instructions")
            || traces.contains("The assistant's instructions"),
        "{traces}"
    );
    assert!(traces.contains("Panda Ink Tattoo"), "{traces}");
    let css = client()
        .get(app.url("/admin/static/admin.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
}

#[tokio::test]
async fn a_handoff_notifies_telegram_and_the_signed_webhook_without_message_text() {
    let hooks = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/bot123456:telegram-token/sendMessage"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "result": {"message_id": 1}})),
        )
        .expect(1)
        .mount(&hooks)
        .await;
    Mock::given(method("POST"))
        .and(path("/studio-hook"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&hooks)
        .await;
    let app = spawn_with(
        Options {
            env: vec![
                ("TELEGRAM_BOT_TOKEN", "123456:telegram-token".into()),
                ("TELEGRAM_CHAT_ID", "-100200300".into()),
                ("TELEGRAM_API_BASE_URL", hooks.uri()),
                ("INKDESK_NOTIFY_URL", format!("{}/studio-hook", hooks.uri())),
                ("INKDESK_NOTIFY_SECRET", "hook-secret".into()),
                ("INKDESK_PUBLIC_URL", "https://ink.example".into()),
            ],
            ..Options::default()
        },
        None,
        None,
    )
    .await;
    app.running
        .app
        .admin
        .notifier()
        .send_handoff(&conv("5552006"), "Complaint")
        .await;
    let requests = hooks.received_requests().await.unwrap();
    let telegram: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(telegram["chat_id"], "-100200300");
    let text = telegram["text"].as_str().unwrap();
    assert!(
        text.contains("5552006") && text.contains("Complaint"),
        "{text}"
    );
    assert!(
        text.contains("https://ink.example/admin/c/5552006"),
        "{text}"
    );
    let hook = &requests[1];
    let body: Value = serde_json::from_slice(&hook.body).unwrap();
    assert_eq!(
        body,
        json!({"event": "handoff", "conversation": "5552006", "reason": "Complaint",
                            "link": "https://ink.example/admin/c/5552006"})
    );
    let expected = sign(&SecretString::from("hook-secret"), &hook.body);
    assert_eq!(hook.headers[SIGNATURE_HEADER].to_str().unwrap(), expected);
}
