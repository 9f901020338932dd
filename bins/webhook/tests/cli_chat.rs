//! `inkdesk chat`: the terminal simulator with a fake model server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn chat(env: &[(&str, &str)], input: &str) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_inkdesk"))
        .args(["chat", "--ephemeral"])
        .env_clear()
        .envs(env.iter().copied())
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let written = child.stdin.take().unwrap().write_all(input.as_bytes());
    // A chat that exits at once (no model configured) may close stdin before we write.
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn without_a_model_it_says_how_to_configure_one() {
    let (code, _, stderr) = chat(&[], "Γεια\n");
    assert_eq!(code, Some(2));
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("OPENAI_BASE_URL"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_typed_line_gets_the_models_reply() {
    let model = MockServer::start().await;
    let arguments =
        json!({"text": "Καλησπέρα! Τι σχέδιο θέλετε; ❤️🐼", "intents": ["other"]}).to_string();
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1764400000, "model": "local",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
                "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "send_reply", "arguments": arguments}}]}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        })))
        .mount(&model)
        .await;
    let uri = model.uri();
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || {
        chat(&[("OPENAI_BASE_URL", &uri)], "Γεια σας\n/bookings\n/quit\n")
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("Καλησπέρα! Τι σχέδιο θέλετε;"), "{stdout}");
    assert!(stdout.contains("(no bookings)"), "{stdout}");
    assert_eq!(model.received_requests().await.unwrap().len(), 1);
}

/// Answers model calls from a queue, in order.
struct Script(std::sync::Mutex<std::collections::VecDeque<serde_json::Value>>);

impl wiremock::Respond for Script {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        match self.0.lock().unwrap().pop_front() {
            Some(body) => ResponseTemplate::new(200).set_body_json(body),
            None => ResponseTemplate::new(500),
        }
    }
}

fn completion(name: &str, arguments: serde_json::Value) -> serde_json::Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1764400000, "model": "local",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
            "tool_calls": [{"id": format!("call_{name}"), "type": "function",
                "function": {"name": name, "arguments": arguments.to_string()}}]}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    })
}

/// The chat books through the same tools as the webhook: a quote first, then the booking
/// names its id, and `/bookings` shows the quote's price and length.
#[tokio::test(flavor = "multi_thread")]
async fn a_quote_then_a_booking_by_its_id_shows_the_quoted_price() {
    use chrono::Datelike;
    let profile = inkdesk_domain::StudioProfile::example();
    let mut day = chrono::Utc::now()
        .with_timezone(&profile.time_zone)
        .date_naive()
        + chrono::Days::new(2);
    while day.weekday() != chrono::Weekday::Tue {
        day = day.succ_opt().unwrap();
    }
    let date = day.format("%Y-%m-%d").to_string();
    let model = MockServer::start().await;
    let script = Script(std::sync::Mutex::new(
        [
            completion(
                "quote",
                json!({"pieces": [{"height_cm": 3, "width_cm": 8, "ink_coverage": 0.2, "style": "tiny_script"}]}),
            ),
            completion(
                "send_reply",
                json!({"text": "95 € ή 105 € λίγο μεγαλύτερο ❤️🐼", "intents": ["price_no_image"]}),
            ),
            completion(
                "book_appointment",
                json!({"date": date, "time": "12:00", "name": "Ελένη Μάρκου", "phone": "6972222222",
                       "design": "όνομα στον καρπό", "quote_id": "q2"}),
            ),
            completion(
                "send_reply",
                json!({"text": "Κλείσαμε την Τρίτη στις 12:00 ❤️🐼", "intents": ["booking_confirmation"]}),
            ),
            // After /reset the conversation's quotes are gone with it.
            completion(
                "book_appointment",
                json!({"date": date, "time": "15:00", "name": "Ελένη Μάρκου", "phone": "6972222222",
                       "design": "όνομα στον καρπό", "quote_id": "q2"}),
            ),
            completion(
                "send_reply",
                json!({"text": "Τι σχέδιο θα θέλατε; ❤️🐼", "intents": ["booking_details"]}),
            ),
        ]
        .into(),
    ));
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(script)
        .mount(&model)
        .await;
    let uri = model.uri();
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || {
        chat(
            &[("OPENAI_BASE_URL", &uri)],
            "Πόσο ένα όνομα 3x8;\nΤο μεγαλύτερο, Τρίτη 12:00, Ελένη Μάρκου 6972222222\n/bookings\n/reset\nΚαι άλλο ένα στις 15:00\n/bookings\n/quit\n",
        )
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("Κλείσαμε την Τρίτη"), "{stdout}");
    // 105 € (the larger size's quote) → 65 minutes.
    assert!(
        stdout.contains(&format!("{date} 12:00  65 min  105 €  Ελένη Μάρκου")),
        "{stdout}"
    );
    let requests = model.received_requests().await.unwrap();
    assert_eq!(requests.len(), 6);
    let last = String::from_utf8_lossy(&requests[5].body).to_string();
    assert!(
        last.contains("no quote `q2` in this conversation"),
        "{last}"
    );
    assert_eq!(
        stdout.matches("65 min").count(),
        2,
        "one booking, listed twice: {stdout}"
    );
}
