//! Contract tests: the exact JSON we send and how we read OpenAI-shaped replies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{chat_post, client_with, clock, config, fixture, ok};
use inkdesk_openai::{
    ChatModel, ChatModelExt, ChatRequest, FinishReason, ImageDetail, ImagePart, JsonSchemaFormat,
    Message, ModelError, ModelTask, ToolChoice, ToolDefinition, UserPart,
};
use serde::Deserialize;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header};
use wiremock::{MockServer, Request, ResponseTemplate};

const SYSTEM: &str = "You are the front desk of Ink & Iron studio.";

fn availability_tool() -> ToolDefinition {
    ToolDefinition {
        name: "check_availability".to_owned(),
        description: "Free start times on a date".to_owned(),
        parameters: json!({
            "type": "object",
            "properties": {
                "date": {"type": "string"},
                "duration_minutes": {"type": "integer"}
            },
            "required": ["date", "duration_minutes"],
            "additionalProperties": false
        }),
        strict: true,
    }
}

fn availability_tool_json() -> Value {
    json!({
        "type": "function",
        "function": {
            "name": "check_availability",
            "description": "Free start times on a date",
            "parameters": availability_tool().parameters,
            "strict": true
        }
    })
}

#[derive(Debug, Deserialize, PartialEq)]
struct Availability {
    date: String,
    duration_minutes: u32,
}

#[derive(Debug, Deserialize, PartialEq)]
struct Measurements {
    description: String,
    height_cm: f64,
    width_cm: f64,
    ink_coverage: f64,
    difficulty: String,
}

fn measurement_format() -> JsonSchemaFormat {
    JsonSchemaFormat::new(
        "tattoo_measurements",
        json!({
            "type": "object",
            "properties": {
                "description": {"type": "string"},
                "height_cm": {"type": "number"},
                "width_cm": {"type": "number"},
                "ink_coverage": {"type": "number"},
                "difficulty": {"type": "string", "enum": ["easy", "medium", "hard"]}
            },
            "required": ["description", "height_cm", "width_cm", "ink_coverage", "difficulty"],
            "additionalProperties": false
        }),
    )
}

#[tokio::test]
async fn plain_reply_sends_model_settings_and_headers_and_reads_usage() {
    let server = MockServer::start().await;
    chat_post()
        .and(header("openai-organization", "org-inkdesk"))
        .and(header("openai-project", "proj_studio"))
        .and(body_json(json!({
            "model": "gpt-4o",
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": "Γεια!"}
            ],
            "temperature": 0.4,
            "max_completion_tokens": 800
        })))
        .respond_with(ok("plain_reply.json"))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_with(config(&server), &clock());

    let reply = client
        .complete(ChatRequest::new(
            ModelTask::Default,
            vec![Message::system(SYSTEM), Message::user("Γεια!")],
        ))
        .await
        .unwrap();

    assert_eq!(
        reply.text.as_deref(),
        Some("Γεια σας! Πώς μπορώ να βοηθήσω;")
    );
    assert_eq!(reply.finish_reason, FinishReason::Stop);
    assert!(reply.tool_calls.is_empty());
    assert_eq!(reply.usage.prompt_tokens, 1480);
    assert_eq!(reply.usage.completion_tokens, 14);
    assert_eq!(reply.usage.cached_tokens, 1280);
    assert_eq!(reply.usage.model, "gpt-4o-2024-08-06");
    assert_eq!(reply.usage.retries, 0);
}

#[tokio::test]
async fn one_tool_call_sends_tools_and_choice_and_parses_arguments() {
    let server = MockServer::start().await;
    chat_post()
        .and(body_json(json!({
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": "Free on Monday?"}],
            "temperature": 0.4,
            "max_completion_tokens": 800,
            "tools": [availability_tool_json()],
            "tool_choice": "auto"
        })))
        .respond_with(ok("one_tool_call.json"))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_with(config(&server), &clock());

    let reply = client
        .complete(
            ChatRequest::new(ModelTask::Default, vec![Message::user("Free on Monday?")])
                .with_tools(vec![availability_tool()], ToolChoice::Auto),
        )
        .await
        .unwrap();

    assert_eq!(reply.finish_reason, FinishReason::ToolCalls);
    assert_eq!(reply.text, None);
    let [call] = reply.tool_calls.as_slice() else {
        panic!("one call expected: {:?}", reply.tool_calls)
    };
    assert_eq!(call.id, "call_avail_1");
    assert_eq!(call.name, "check_availability");
    assert_eq!(
        call.parse_args::<Availability>().unwrap(),
        Availability {
            date: "2026-03-02".into(),
            duration_minutes: 120
        }
    );
}

#[tokio::test]
async fn several_tool_calls_keep_their_order_and_forced_choice_names_the_function() {
    let server = MockServer::start().await;
    chat_post()
        .and(|req: &Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            body["tool_choice"]
                == json!({"type": "function", "function": {"name": "check_availability"}})
        })
        .respond_with(ok("parallel_tool_calls.json"))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_with(config(&server), &clock());

    let reply = client
        .complete(
            ChatRequest::new(ModelTask::Default, vec![Message::user("Price and a date?")])
                .with_tools(
                    vec![availability_tool()],
                    ToolChoice::Function("check_availability".into()),
                ),
        )
        .await
        .unwrap();

    let names: Vec<_> = reply.tool_calls.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["quote_price", "check_availability"]);
    assert_eq!(
        reply.tool_calls[0].arguments,
        Ok(json!({"height_cm": 12, "width_cm": 8}))
    );
    assert_eq!(reply.usage.cached_tokens, 0);
}

#[tokio::test]
async fn tool_result_round_trip_sends_assistant_calls_and_tool_messages() {
    let server = MockServer::start().await;
    chat_post()
        .and(body_json(json!({
            "model": "gpt-4o",
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": "Free on Monday?"},
                {"role": "assistant", "content": null, "tool_calls": [{
                    "id": "call_avail_1",
                    "type": "function",
                    "function": {
                        "name": "check_availability",
                        "arguments": "{\"date\":\"2026-03-02\",\"duration_minutes\":120}"
                    }
                }]},
                {"role": "tool", "tool_call_id": "call_avail_1", "content": "{\"free\":[\"12:00\",\"15:00\"]}"}
            ],
            "temperature": 0.4,
            "max_completion_tokens": 800,
            "tools": [availability_tool_json()],
            "tool_choice": "auto"
        })))
        .respond_with(ok("final_reply_after_tool.json"))
        .expect(1)
        .mount(&server)
        .await;
    chat_post()
        .respond_with(ok("one_tool_call.json"))
        .expect(1)
        .with_priority(10)
        .mount(&server)
        .await;
    let client = client_with(config(&server), &clock());

    let mut messages = vec![Message::system(SYSTEM), Message::user("Free on Monday?")];
    let request = |messages: Vec<Message>| {
        ChatRequest::new(ModelTask::Default, messages)
            .with_tools(vec![availability_tool()], ToolChoice::Auto)
    };
    let first = client.complete(request(messages.clone())).await.unwrap();
    messages.push(first.to_message());
    messages.push(Message::tool_result(
        &first.tool_calls[0].id,
        r#"{"free":["12:00","15:00"]}"#,
    ));
    let second = client.complete(request(messages)).await.unwrap();

    assert_eq!(
        second.text.as_deref(),
        Some("Monday 2 March is free at 12:00 and 15:00. Which suits you?")
    );
    assert_eq!(second.usage.cached_tokens, 2176);
}

#[tokio::test]
async fn malformed_arguments_are_recoverable_and_go_back_verbatim() {
    let server = MockServer::start().await;
    let fixture_body = fixture("malformed_arguments.json");
    let raw = fixture_body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
        .as_str()
        .unwrap()
        .to_owned();
    let raw_for_matcher = raw.clone();
    chat_post()
        .and(move |req: &Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            body["messages"][1]["tool_calls"][0]["function"]["arguments"] == json!(raw_for_matcher)
                && body["messages"][2]["role"] == "tool"
        })
        .respond_with(ok("final_reply_after_tool.json"))
        .expect(1)
        .mount(&server)
        .await;
    chat_post()
        .respond_with(ok("malformed_arguments.json"))
        .expect(1)
        .with_priority(10)
        .mount(&server)
        .await;
    let client = client_with(config(&server), &clock());
    let ask = |messages| {
        ChatRequest::new(ModelTask::Default, messages)
            .with_tools(vec![availability_tool()], ToolChoice::Auto)
    };

    let reply = client
        .complete(ask(vec![Message::user("Monday?")]))
        .await
        .unwrap();

    let bad_json = reply.tool_calls[0].arguments.as_ref().unwrap_err();
    assert_eq!(bad_json.raw, raw);
    assert!(
        bad_json.reason.contains("not valid JSON"),
        "{}",
        bad_json.reason
    );
    let missing = reply.tool_calls[1]
        .parse_args::<Availability>()
        .unwrap_err();
    assert!(
        missing.reason.contains("duration_minutes"),
        "{}",
        missing.reason
    );

    // The engine answers the bad call with the error and lets the model retry.
    let messages = vec![
        Message::user("Monday?"),
        Message::Assistant {
            text: None,
            tool_calls: vec![reply.tool_calls[0].clone()],
        },
        Message::tool_result(&reply.tool_calls[0].id, bad_json.to_tool_result()),
    ];
    let next = client.complete(ask(messages)).await.unwrap();
    assert!(next.text.is_some());
}

#[tokio::test]
async fn vision_request_sends_a_data_url_with_the_sniffed_mime_and_detail() {
    let server = MockServer::start().await;
    let jpeg: Vec<u8> = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F'].to_vec();
    chat_post()
        .and(body_json(json!({
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "Measure the tattoo reference."},
                {"role": "user", "content": [
                    {"type": "text", "text": "Reference photo"},
                    {"type": "image_url", "image_url": {
                        "url": "data:image/jpeg;base64,/9j/4AAQSkZJRg==",
                        "detail": "high"
                    }}
                ]}
            ],
            "temperature": 0.0,
            "max_completion_tokens": 600
        })))
        .respond_with(ok("plain_reply.json"))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_with(config(&server), &clock());
    let image = ImagePart::new(jpeg, ImageDetail::High).unwrap();

    let reply = client
        .complete(ChatRequest::new(
            ModelTask::Vision,
            vec![
                Message::system("Measure the tattoo reference."),
                Message::user_parts(vec![
                    UserPart::Text("Reference photo".into()),
                    UserPart::Image(image),
                ]),
            ],
        ))
        .await;

    assert!(reply.is_ok(), "{reply:?}");
}

#[tokio::test]
async fn structured_output_sends_the_json_schema_and_parses_the_reply() {
    let server = MockServer::start().await;
    let format = measurement_format();
    chat_post()
        .and(body_json(json!({
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "Measure it."}],
            "temperature": 0.0,
            "max_completion_tokens": 600,
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": "tattoo_measurements",
                    "schema": format.schema,
                    "strict": true
                }
            }
        })))
        .respond_with(ok("structured_output.json"))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_with(config(&server), &clock());

    let out = client
        .complete_json::<Measurements>(
            ChatRequest::new(ModelTask::Vision, vec![Message::user("Measure it.")])
                .with_response_format(format),
        )
        .await
        .unwrap();

    assert_eq!(out.value.description, "fine-line rose with stem");
    assert_eq!((out.value.height_cm, out.value.width_cm), (12.5, 6.0));
    assert_eq!(out.value.difficulty, "medium");
    assert_eq!(out.response.usage.prompt_tokens, 1105);
}

#[tokio::test]
async fn server_that_ignores_response_format_still_yields_the_typed_value() {
    let server = MockServer::start().await;
    chat_post()
        .respond_with(ok("prose_with_json.json"))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_with(config(&server), &clock());

    let out = client
        .complete_json::<Measurements>(
            ChatRequest::new(ModelTask::Vision, vec![Message::user("Measure it.")])
                .with_response_format(measurement_format()),
        )
        .await
        .unwrap();

    assert_eq!(out.value.description, "rose {stem} with \"dew\"");
    assert_eq!(out.value.ink_coverage, 0.35);
}

#[tokio::test]
async fn server_that_refuses_response_format_gets_the_schema_in_the_prompt_from_then_on() {
    let server = MockServer::start().await;
    chat_post()
        .and(|req: &Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            body.get("response_format").is_some()
        })
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(fixture("error_response_format_unsupported.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    chat_post()
        .and(|req: &Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            let last = body["messages"].as_array().unwrap().last().unwrap().clone();
            body.get("response_format").is_none()
                && last["role"] == "system"
                && last["content"].as_str().unwrap().contains("ink_coverage")
        })
        .respond_with(ok("prose_with_json.json"))
        .expect(2)
        .mount(&server)
        .await;
    let client = client_with(config(&server), &clock());
    let ask = || {
        ChatRequest::new(ModelTask::Vision, vec![Message::user("Measure it.")])
            .with_response_format(measurement_format())
    };

    let first = client.complete_json::<Measurements>(ask()).await.unwrap();
    let second = client.complete_json::<Measurements>(ask()).await.unwrap();

    assert_eq!(first.value, second.value);
    assert_eq!(first.value.height_cm, 12.5);
}

#[tokio::test]
async fn reply_that_fits_no_schema_is_a_structured_output_error_with_the_text() {
    let server = MockServer::start().await;
    chat_post()
        .respond_with(ok("plain_reply.json"))
        .mount(&server)
        .await;
    let client = client_with(config(&server), &clock());

    let err = client
        .complete_json::<Measurements>(
            ChatRequest::new(ModelTask::Vision, vec![Message::user("Measure it.")])
                .with_response_format(measurement_format()),
        )
        .await
        .unwrap_err();

    let ModelError::StructuredOutput(bad) = err else {
        panic!("expected StructuredOutput, got {err:?}")
    };
    assert_eq!(bad.raw, "Γεια σας! Πώς μπορώ να βοηθήσω;");
}

#[tokio::test]
async fn reply_without_choices_is_an_invalid_response_not_a_panic() {
    let server = MockServer::start().await;
    chat_post()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-x", "object": "chat.completion", "created": 1, "model": "m", "choices": []
        })))
        .mount(&server)
        .await;
    chat_post()
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>gateway</html>"))
        .with_priority(1)
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let client = client_with(config(&server), &clock());
    let ask = || ChatRequest::new(ModelTask::Default, vec![Message::user("hi")]);

    let html = client.complete(ask()).await.unwrap_err();
    let empty = client.complete(ask()).await.unwrap_err();

    assert!(
        matches!(html, ModelError::InvalidResponse { .. }),
        "{html:?}"
    );
    assert!(
        matches!(&empty, ModelError::InvalidResponse { reason } if reason.contains("no choices")),
        "{empty:?}"
    );
}

#[tokio::test]
async fn azure_deployment_url_keeps_api_version_and_sends_the_api_key_header() {
    let server = MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path(
            "/openai/deployments/ink-gpt4o/chat/completions",
        ))
        .and(wiremock::matchers::query_param("api-version", "2024-10-21"))
        .and(header("api-key", common::API_KEY))
        .respond_with(ok("plain_reply.json"))
        .expect(1)
        .mount(&server)
        .await;
    let config = inkdesk_openai::OpenAiConfig {
        base_url: format!(
            "{}/openai/deployments/ink-gpt4o?api-version=2024-10-21",
            server.uri()
        ),
        auth_scheme: inkdesk_openai::AuthScheme::ApiKeyHeader,
        ..config(&server)
    };
    let client = client_with(config, &clock());

    let reply = client
        .complete(ChatRequest::new(
            ModelTask::Default,
            vec![Message::user("hi")],
        ))
        .await;

    assert!(reply.is_ok(), "{reply:?}");
}
