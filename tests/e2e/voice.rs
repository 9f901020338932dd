//! A voice note through the whole service: Instagram `audio` attachment → download from
//! the CDN → `/audio/transcriptions` → the transcript is what the model reads, and the
//! console shows it marked as a voice note. A failed transcription leaves the old line.

use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::admin::{client, login_at};
use crate::support::{
    ACCOUNT, ADMIN_TOKEN, TestApp, graph_accepts_sends, now_ms, send_reply_completion, spawn_app,
};

const WAIT: Duration = Duration::from_secs(10);
const WORDS: &str = "Γεια σας, θα ήθελα ένα μικρό τριαντάφυλλο στον καρπό. Πόσο κάνει;";

/// A webhook body with one voice note, the way Meta delivers it: an `audio` attachment with
/// a CDN URL and no text.
fn voice_event(sender: &str, mid: &str, url: &str) -> String {
    json!({"object": "instagram", "entry": [{"id": ACCOUNT, "time": now_ms(),
        "messaging": [{"sender": {"id": sender}, "recipient": {"id": ACCOUNT},
            "timestamp": now_ms(),
            "message": {"mid": mid, "attachments": [{"type": "audio", "payload": {"url": url}}]}}]}]})
    .to_string()
}

/// The CDN serving a 12-second MP4 voice note at `/ig_messaging_cdn/voice`.
async fn cdn_with_voice_note() -> MockServer {
    let cdn = MockServer::start().await;
    let mut file = inkdesk_messaging::download::duration::mp4_header_for_tests(12);
    file.resize(4096, 0);
    Mock::given(method("GET"))
        .and(path("/ig_messaging_cdn/voice"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(file))
        .expect(1)
        .mount(&cdn)
        .await;
    cdn
}

async fn conversation_json(app: &TestApp, id: &str) -> Value {
    client()
        .get(app.url(&format!("/admin/api/conversations/{id}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn conversation_page(app: &TestApp, id: &str) -> String {
    let session = login_at(&app.url("")).await;
    client()
        .get(app.url(&format!("/admin/c/{id}")))
        .header("cookie", format!("inkdesk_admin={session}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_voice_note_is_transcribed_and_the_model_reads_its_words() {
    let app = spawn_app().await;
    graph_accepts_sends(&app.graph).await;
    let cdn = cdn_with_voice_note().await;
    Mock::given(method("POST"))
        .and(path("/audio/transcriptions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "text": WORDS,
            "usage": {"type": "tokens", "input_tokens": 120, "output_tokens": 28, "total_tokens": 148,
                      "input_token_details": {"text_tokens": 0, "audio_tokens": 120}}
        })))
        .expect(1)
        .mount(&app.model)
        .await;
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(send_reply_completion(
                "Ένα μικρό τριαντάφυλλο ξεκινά από 60 € ❤️🐼",
            )),
        )
        .mount(&app.model)
        .await;

    let url = format!("{}/ig_messaging_cdn/voice", cdn.uri());
    let status = app
        .post_signed(&voice_event("5553001", "m_voice_1", &url))
        .await
        .status();
    assert_eq!(status, 200);
    let sent = app.wait_for_sends(1, WAIT).await;
    assert_eq!(sent.len(), 1);

    let requests = app.model.received_requests().await.unwrap();
    // The upload: the documented multipart fields, the studio's language (Greek).
    let upload = requests
        .iter()
        .find(|r| r.url.path() == "/audio/transcriptions")
        .unwrap();
    let content_type = upload
        .headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        content_type.starts_with("multipart/form-data; boundary="),
        "{content_type}"
    );
    let form = String::from_utf8_lossy(&upload.body);
    for part in [
        "name=\"file\"; filename=\"voice-note.m4a\"\r\nContent-Type: audio/mp4",
        "name=\"model\"\r\n\r\ngpt-4o-mini-transcribe\r\n",
        "name=\"language\"\r\n\r\nel\r\n",
        "name=\"response_format\"\r\n\r\njson\r\n",
    ] {
        assert!(form.contains(part), "{part:?} missing");
    }
    // The reply call carried the transcript as the customer's words, marked.
    let chat = requests
        .iter()
        .find(|r| r.url.path() == "/chat/completions")
        .unwrap();
    let body: Value = serde_json::from_slice(&chat.body).unwrap();
    assert!(
        body.to_string()
            .contains(&format!("[voice note, transcribed] {WORDS}")),
        "{body}"
    );
    assert!(!body.to_string().contains("[voice message"), "{body}");

    // The console: the customer's entry is marked as a voice note with its words.
    let view = conversation_json(&app, "5553001").await;
    let entry = view["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["message_id"] == "m_voice_1")
        .unwrap()
        .clone();
    assert_eq!(entry["voice_note"]["transcript"], WORDS, "{view}");
    // The transcription's usage is priced like any model call: 120 audio tokens at 1.25 $
    // and 28 output tokens at 5.00 $ per million.
    let transcribe = view["usage"]["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["model"] == "gpt-4o-mini-transcribe")
        .cloned();
    let transcribe = match transcribe {
        Some(row) => row,
        None => {
            // Written beside the turn: give it a moment.
            tokio::time::sleep(Duration::from_millis(500)).await;
            conversation_json(&app, "5553001").await["usage"]["models"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["model"] == "gpt-4o-mini-transcribe")
                .cloned()
                .expect("the transcription's usage")
        }
    };
    assert_eq!(transcribe["prompt_tokens"], 120, "{transcribe}");
    assert_eq!(transcribe["completion_tokens"], 28, "{transcribe}");
    assert_eq!(transcribe["cost_usd"], "0.000290", "{transcribe}");
    let html = conversation_page(&app, "5553001").await;
    assert!(html.contains("Φωνητικό μήνυμα"), "{html}");
    assert!(html.contains("μικρό τριαντάφυλλο στον καρπό"), "{html}");

    // A later turn still sees the words in its history, and nothing is transcribed again.
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .and(body_string_contains("Και στο χέρι;"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(send_reply_completion("Βεβαίως ❤️🐼")),
        )
        .with_priority(1)
        .mount(&app.model)
        .await;
    app.post_signed(&crate::support::text_event(
        "5553001",
        "m_voice_2",
        "Και στο χέρι;",
    ))
    .await;
    app.wait_for_sends(2, WAIT).await;
    let requests = app.model.received_requests().await.unwrap();
    let later = requests
        .iter()
        .filter(|r| r.url.path() == "/chat/completions")
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .find(|b| b.contains("Και στο χέρι;"))
        .unwrap();
    assert!(
        later.contains("[voice note, transcribed] Γεια σας"),
        "{later}"
    );
}

#[tokio::test]
async fn a_failed_transcription_keeps_the_voice_message_line_and_the_turn_goes_on() {
    let app = spawn_app().await;
    graph_accepts_sends(&app.graph).await;
    let cdn = cdn_with_voice_note().await;
    // A compatible server without audio support.
    Mock::given(method("POST"))
        .and(path("/audio/transcriptions"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": {
            "message": "Not found", "type": "invalid_request_error", "param": null, "code": null}})))
        .mount(&app.model)
        .await;
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(send_reply_completion(
                "Δεν μπορώ να ακούσω φωνητικά, μπορείτε να μου γράψετε; ❤️🐼",
            )),
        )
        .mount(&app.model)
        .await;
    let url = format!("{}/ig_messaging_cdn/voice", cdn.uri());
    app.post_signed(&voice_event("5553002", "m_voice_3", &url))
        .await;
    let sent = app.wait_for_sends(1, WAIT).await;
    assert_eq!(sent.len(), 1);
    let requests = app.model.received_requests().await.unwrap();
    let chat = requests
        .iter()
        .find(|r| r.url.path() == "/chat/completions")
        .unwrap();
    let body = String::from_utf8_lossy(&chat.body);
    assert!(
        body.contains("[voice message; it cannot be viewed here]"),
        "{body}"
    );
    assert!(!body.contains("voice note, transcribed"), "{body}");
    let view = conversation_json(&app, "5553002").await;
    let entry = view["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["message_id"] == "m_voice_3")
        .unwrap()
        .clone();
    // Marked as a voice note, without words.
    assert!(entry["voice_note"].is_object(), "{entry}");
    assert!(entry["voice_note"]["transcript"].is_null(), "{entry}");
    let html = conversation_page(&app, "5553002").await;
    assert!(
        html.contains("Φωνητικό μήνυμα χωρίς απομαγνητοφώνηση"),
        "{html}"
    );
}
