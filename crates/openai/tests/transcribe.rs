//! Contract tests of `POST /audio/transcriptions`: the multipart form OpenAI documents
//! (`file` with a file name and content type, `model`, `language`, `response_format`) and
//! how the JSON answer and failures are read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;

use bytes::Bytes;
use common::{API_KEY, client_with, clock, config, fixture, ok};
use inkdesk_openai::{ModelError, Transcriber, TranscriptionRequest};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// One part of a multipart body: its headers (lower-case names) and content.
#[derive(Debug)]
struct Part {
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Part {
    /// A parameter of the `Content-Disposition` header (`name`, `filename`).
    fn disposition(&self, key: &str) -> Option<String> {
        let value = self.headers.get("content-disposition")?;
        value.split(';').map(str::trim).find_map(|p| {
            p.strip_prefix(&format!("{key}=\""))
                .and_then(|v| v.strip_suffix('"'))
                .map(str::to_owned)
        })
    }
}

/// Parses a `multipart/form-data` request the way a server would (RFC 7578): the boundary
/// from the content type, parts between `--boundary` lines, headers then a blank line.
fn parts(request: &Request) -> HashMap<String, Part> {
    let content_type = request
        .headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap();
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))
        .expect("a boundary parameter");
    assert!(
        content_type.starts_with("multipart/form-data;"),
        "{content_type}"
    );
    let delimiter = format!("--{boundary}");
    let body = &request.body;
    let mut out = HashMap::new();
    let positions: Vec<usize> = (0..body.len().saturating_sub(delimiter.len()))
        .filter(|&i| body[i..].starts_with(delimiter.as_bytes()))
        .collect();
    assert!(
        body.ends_with(format!("{delimiter}--\r\n").as_bytes()),
        "closing delimiter"
    );
    for pair in positions.windows(2) {
        let chunk = &body[pair[0] + delimiter.len()..pair[1]];
        let chunk = chunk
            .strip_prefix(b"\r\n")
            .expect("CRLF after the delimiter");
        let chunk = chunk
            .strip_suffix(b"\r\n")
            .expect("CRLF before the delimiter");
        let split = chunk
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("blank line after the part's headers");
        let headers = String::from_utf8(chunk[..split].to_vec())
            .unwrap()
            .split("\r\n")
            .map(|line| {
                let (k, v) = line.split_once(':').unwrap();
                (k.trim().to_lowercase(), v.trim().to_owned())
            })
            .collect();
        let part = Part {
            headers,
            body: chunk[split + 4..].to_vec(),
        };
        let name = part.disposition("name").expect("a named part");
        assert!(out.insert(name.clone(), part).is_none(), "{name} twice");
    }
    out
}

fn text_of(parts: &HashMap<String, Part>, name: &str) -> Option<String> {
    parts
        .get(name)
        .map(|p| String::from_utf8(p.body.clone()).unwrap())
}

fn audio() -> Bytes {
    // Any bytes do for the server; the part must carry them unchanged (CRLFs and
    // something that looks like a delimiter included).
    Bytes::from_static(b"\0\0\0\x18ftypM4A \r\n--not-a-boundary\r\n\xff\xfe")
}

fn transcription_post() -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path("/v1/audio/transcriptions"))
        .and(header(
            "authorization",
            format!("Bearer {API_KEY}").as_str(),
        ))
}

#[tokio::test]
async fn the_upload_is_the_documented_multipart_form_and_the_answer_is_read() {
    let server = MockServer::start().await;
    transcription_post()
        .respond_with(ok("transcription_tokens.json"))
        .expect(1)
        .mount(&server)
        .await;
    let mut config = config(&server);
    config.tasks.transcribe = "gpt-4o-mini-transcribe".to_owned();
    let client = client_with(config, &clock());
    let request = TranscriptionRequest::for_audio(audio(), "audio/m4a", Some("el")).unwrap();
    let transcript = client.transcribe(request).await.unwrap();

    assert_eq!(
        transcript.text,
        "Γεια σας, θα ήθελα ένα μικρό τριαντάφυλλο στον καρπό. Πόσο κάνει;"
    );
    assert_eq!(transcript.usage.model, "gpt-4o-mini-transcribe");
    assert_eq!(transcript.usage.input_tokens, 112);
    assert_eq!(transcript.usage.output_tokens, 31);
    assert_eq!(transcript.usage.seconds, None);

    let received = server.received_requests().await.unwrap();
    let form = parts(&received[0]);
    let file = &form["file"];
    assert_eq!(
        file.disposition("filename").as_deref(),
        Some("voice-note.m4a")
    );
    assert_eq!(
        file.headers.get("content-type").map(String::as_str),
        Some("audio/mp4")
    );
    assert_eq!(file.body, audio().to_vec());
    assert_eq!(
        text_of(&form, "model").as_deref(),
        Some("gpt-4o-mini-transcribe")
    );
    assert_eq!(text_of(&form, "language").as_deref(), Some("el"));
    assert_eq!(text_of(&form, "response_format").as_deref(), Some("json"));
    assert_eq!(form.len(), 4, "{:?}", form.keys().collect::<Vec<_>>());
    // The project headers go with every call, like chat completions.
    assert_eq!(
        received[0].headers.get("openai-project").unwrap(),
        "proj_studio"
    );
}

#[tokio::test]
async fn without_a_language_the_field_is_left_out_and_duration_billing_is_read() {
    let server = MockServer::start().await;
    transcription_post()
        .respond_with(ok("transcription_duration.json"))
        .mount(&server)
        .await;
    let mut config = config(&server);
    config.tasks.transcribe = "whisper-1".to_owned();
    let client = client_with(config, &clock());
    let request = TranscriptionRequest::for_audio(audio(), "audio/ogg", None).unwrap();
    let transcript = client.transcribe(request).await.unwrap();
    assert_eq!(transcript.text, "Hi, can I come on Friday afternoon?");
    assert_eq!(transcript.usage.seconds, Some(4.0));
    let received = server.received_requests().await.unwrap();
    let form = parts(&received[0]);
    assert!(!form.contains_key("language"));
    assert_eq!(text_of(&form, "model").as_deref(), Some("whisper-1"));
    assert_eq!(
        form["file"].disposition("filename").as_deref(),
        Some("voice-note.ogg")
    );
}

#[tokio::test]
async fn a_server_error_is_retried_and_a_refusal_is_not() {
    let server = MockServer::start().await;
    transcription_post()
        .respond_with(ResponseTemplate::new(500).set_body_json(fixture("error_server.json")))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    transcription_post()
        .respond_with(ok("transcription_tokens.json"))
        .mount(&server)
        .await;
    let client = client_with(config(&server), &clock());
    let request = TranscriptionRequest::for_audio(audio(), "video/mp4", Some("el")).unwrap();
    assert!(client.transcribe(request.clone()).await.is_ok());

    // A server without the endpoint (404) or a bad file (400) is not asked again.
    let server = MockServer::start().await;
    transcription_post()
        .respond_with(ResponseTemplate::new(400).set_body_json(fixture("error_bad_request.json")))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_with(config(&server), &clock());
    let error = client.transcribe(request.clone()).await.unwrap_err();
    assert!(
        matches!(error, ModelError::Rejected { status: 400, .. }),
        "{error:?}"
    );

    // A 200 that is not a transcription is an invalid answer, not a panic.
    let server = MockServer::start().await;
    transcription_post()
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>proxy</html>"))
        .mount(&server)
        .await;
    let client = client_with(config(&server), &clock());
    let error = client.transcribe(request).await.unwrap_err();
    assert!(
        matches!(error, ModelError::InvalidResponse { .. }),
        "{error:?}"
    );
}
