//! An image through the whole service: download → vision → quote from the formula → reply.

use std::time::Duration;

use inkdesk_assistant::message::image_ref;
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{ACCOUNT, graph_accepts_sends, send_reply_completion, spawn_app};

/// The first bytes of a JPEG file (enough for the MIME sniffing), padded.
fn jpeg_bytes() -> Vec<u8> {
    let mut bytes = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00,
    ];
    bytes.resize(2048, 0);
    bytes
}

fn completion_with(message: Value, finish: &str) -> Value {
    json!({
        "id": "chatcmpl-e2e", "object": "chat.completion", "created": 1764400000,
        "model": "gpt-4o-mini", "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 900, "completion_tokens": 60, "total_tokens": 960}
    })
}

#[tokio::test]
async fn an_image_is_downloaded_measured_and_priced_by_the_formula() {
    let app = spawn_app().await;
    graph_accepts_sends(&app.graph).await;
    let cdn = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v/t51/rose.jpg"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(jpeg_bytes()))
        .expect(1)
        .mount(&cdn)
        .await;
    let mid = "m_image_1";
    let reference = image_ref(mid, 0);
    // Vision: the request carrying the image gets the measurements (7×7 cm, light shading).
    let measurements = json!({"is_tattoo_design": true, "description": "τριαντάφυλλο",
        "height_cm": 7, "width_cm": 7, "ink_coverage": 0.3, "style": "light_shading"});
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .and(body_string_contains("image_url"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion_with(
            json!({"role": "assistant", "content": measurements.to_string()}),
            "stop",
        )))
        .with_priority(1)
        .expect(1)
        .mount(&app.model)
        .await;
    // Second reply round (it carries the tool result): the reply.
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .and(body_string_contains("tool_call_id"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(send_reply_completion(
                "Για αυτό το σχέδιο: 60 € ή 65 € σε λίγο μεγαλύτερο μέγεθος ❤️🐼",
            )),
        )
        .with_priority(2)
        .mount(&app.model)
        .await;
    // First reply round: the model asks for a quote of the measured image.
    let quote_call = json!({"pieces": [{"image_ref": reference}]}).to_string();
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion_with(
            json!({"role": "assistant", "content": null, "tool_calls": [{"id": "call_quote",
                "type": "function", "function": {"name": "quote", "arguments": quote_call}}]}),
            "tool_calls",
        )))
        .with_priority(3)
        .mount(&app.model)
        .await;

    let body = json!({"object": "instagram", "entry": [{"id": ACCOUNT, "time": crate::support::now_ms(),
        "messaging": [{"sender": {"id": "5552001"}, "recipient": {"id": ACCOUNT},
            "timestamp": crate::support::now_ms(),
            "message": {"mid": mid, "text": "Πόσο κοστίζει αυτό;",
                "attachments": [{"type": "image", "payload": {"url": format!("{}/v/t51/rose.jpg", cdn.uri())}}]}}]}]})
    .to_string();
    assert_eq!(app.post_signed(&body).await.status(), 200);

    let sent = app.wait_for_sends(1, Duration::from_secs(10)).await;
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0]["message"]["text"]
            .as_str()
            .unwrap()
            .contains("60 €")
    );
    // The price the model was given came from the formula: 7×7×1.21×1.09 → 60, and 65.
    let requests = app.model.received_requests().await.unwrap();
    let with_result = requests
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
        .find(|b| {
            b["messages"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["role"] == "tool")
        })
        .expect("a request with the quote's result");
    let tool_message = with_result["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tool")
        .unwrap();
    let result: Value = serde_json::from_str(tool_message["content"].as_str().unwrap()).unwrap();
    assert_eq!(result["price_as_measured"], 60, "{result}");
    assert_eq!(result["price_slightly_larger"], 65, "{result}");
    // The image's bytes went to the vision model as a data URL, not as the CDN link.
    let vision: Value = serde_json::from_slice(
        &requests
            .iter()
            .find(|r| String::from_utf8_lossy(&r.body).contains("image_url"))
            .unwrap()
            .body,
    )
    .unwrap();
    assert!(vision.to_string().contains("data:image/jpeg;base64,"));
}
