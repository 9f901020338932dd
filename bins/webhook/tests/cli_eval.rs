//! `inkdesk eval`: the shipped scenarios pass with their scripts, a bad answer is caught
//! and shown, a broken file is refused, and a configured model is the one evaluated.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn evals_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../evals")
}

fn eval(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_inkdesk"))
        .arg("eval")
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn every_shipped_scenario_passes_with_its_script() {
    let dir = evals_dir();
    let files = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "toml")
        })
        .count();
    assert!(files >= 20, "only {files} scenarios");
    let (code, stdout, stderr) = eval(&["--scripted", dir.to_str().unwrap()], &[]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("{files}/{files} scenarios passed")),
        "{stdout}"
    );
    assert!(stdout.contains("| 15_el_complaint | el |"), "{stdout}");
    assert!(!stdout.contains("FAIL"), "{stdout}");
}

const BAD_PRICE: &str = r#"
language = "el"
now = "2026-11-18T11:30"

[[turn]]
say = ["Πόσο κάνει ένα 10x8 με έντονη σκίαση, μισό γεμάτο;"]
[[turn.script]]
tools = [{ name = "quote", args = { pieces = [{ height_cm = 10, width_cm = 8, ink_coverage = 0.5, style = "heavy_shading" }] } }]
[[turn.script]]
reply = "Κοστίζει περίπου 120 €. Σας κλείσαμε για την Παρασκευή στις 19:00! ❤️🐼"
[turn.expect]
states_quote = true
"#;

#[test]
fn an_invented_price_and_time_fail_with_the_transcript() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad_price.toml"), BAD_PRICE).unwrap();
    let (code, stdout, _) = eval(&["--scripted", dir.path().to_str().unwrap()], &[]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("0/1 scenarios passed"), "{stdout}");
    assert!(stdout.contains("=== bad_price ==="), "{stdout}");
    assert!(
        stdout.contains("FAILED every price came from the studio: amounts no quote, booking or price guide gave: 120"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAILED every time came from the calendar: times no tool returned: 19:00"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAILED states the quote: the quote gave 130, 140"),
        "{stdout}"
    );
    assert!(stdout.contains("tool quote("), "{stdout}");
}

#[test]
fn a_broken_scenario_file_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.toml"),
        BAD_PRICE.replace("say =", "sya ="),
    )
    .unwrap();
    let (code, stdout, stderr) = eval(&[dir.path().to_str().unwrap()], &[]);
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("broken.toml"), "{stderr}");
    assert!(stderr.contains("sya"), "{stderr}");
    let (code, _, stderr) = eval(&["/nonexistent/evals"], &[]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("No such file"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_configured_model_is_the_one_evaluated() {
    let model = MockServer::start().await;
    let arguments = json!({
        "text": "Είμαστε στην Αιόλου 42, Αθήνα. ❤️🐼",
        "intents": ["studio_info"]
    })
    .to_string();
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1764400000, "model": "gpt-test",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
                "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "send_reply", "arguments": arguments}}]}}],
            "usage": {"prompt_tokens": 1500, "completion_tokens": 20, "total_tokens": 1520,
                      "prompt_tokens_details": {"cached_tokens": 1280}}
        })))
        .expect(1)
        .mount(&model)
        .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        evals_dir().join("21_el_studio_info.toml"),
        dir.path().join("21_el_studio_info.toml"),
    )
    .unwrap();
    let uri = model.uri();
    let dir_arg = dir.path().to_str().unwrap().to_owned();
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || {
        eval(
            &[&dir_arg],
            &[
                ("OPENAI_BASE_URL", &uri),
                ("OPENAI_MODEL_DEFAULT", "gpt-test"),
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("model: gpt-test (replies)"), "{stdout}");
    assert!(
        stdout.contains("| 21_el_studio_info | el | 1 | 11/11 | 100% | 1500 | 1280 | pass |"),
        "{stdout}"
    );
}
