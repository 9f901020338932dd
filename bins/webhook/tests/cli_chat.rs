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
