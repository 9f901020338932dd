//! `inkdesk import-inbox` and `inkdesk index` as a studio runs them, against a wiremock
//! embeddings server (and a wiremock Pinecone); and the live retriever `inkdesk serve` wires.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use inkdesk_tone::VectorIndex;
use inkdesk_tone::review::{ToneExample, read_jsonl, write_jsonl};
use inkdesk_webhook::commands::tone::{TONE_INDEX_FILE, memory_cache, retriever};
use inkdesk_webhook::settings::Settings;
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The display name the fixture export uses for the studio.
const STUDIO_NAME: &str = "Panda Ink Studio";

fn export() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../crates/tone/tests/fixtures/export")
}

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_inkdesk"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A studio profile file with one extra line.
fn studio(dir: &Path, line: &str) -> PathBuf {
    let path = dir.join("studio.toml");
    std::fs::write(&path, format!("{line}\n")).unwrap();
    path
}

fn import(dir: &Path, profile_line: &str) -> PathBuf {
    let profile = studio(dir, profile_line);
    let review = dir.join("review.jsonl");
    let (code, stdout, stderr) = run(
        dir,
        &[
            "import-inbox",
            export().to_str().unwrap(),
            "--out",
            review.to_str().unwrap(),
            "--studio",
            profile.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("wrote 5 pairs"), "{stdout}");
    review
}

/// Approves every example but the first; returns the approved customer texts.
fn approve_all_but_first(review: &Path) -> Vec<String> {
    let mut examples = read_jsonl(review).unwrap();
    for example in examples.iter_mut().skip(1) {
        example.approved = Some(true);
    }
    write_jsonl(review, &examples).unwrap();
    examples
        .iter()
        .skip(1)
        .map(|e| e.customer.clone())
        .collect()
}

/// Answers `POST /embeddings` in the documented shape (OpenAI API reference, "Embeddings >
/// Create embeddings"): one `{"object":"embedding","index","embedding"}` per input, listed
/// in reverse so results must be placed by `index`. Vectors count letters (8 buckets).
struct Embeddings;

fn letters(text: &str) -> Vec<f32> {
    let mut v = vec![0.0f32; 8];
    for ch in text.to_lowercase().chars().filter(|c| c.is_alphabetic()) {
        v[(ch as usize) % 8] += 1.0;
    }
    v
}

impl Respond for Embeddings {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let inputs = body["input"].as_array().unwrap();
        let data: Vec<Value> = inputs
            .iter()
            .enumerate()
            .rev()
            .map(|(i, text)| {
                json!({"object": "embedding", "index": i, "embedding": letters(text.as_str().unwrap())})
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "object": "list",
            "data": data,
            "model": body["model"],
            "usage": {"prompt_tokens": 12, "total_tokens": 12},
        }))
    }
}

async fn embeddings_server(model: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .and(header("authorization", "Bearer sk-test"))
        .and(body_partial_json(
            json!({"model": model, "encoding_format": "float"}),
        ))
        .respond_with(Embeddings)
        .mount(&server)
        .await;
    server
}

fn embedded_inputs(server_requests: &[Request]) -> Vec<String> {
    server_requests
        .iter()
        .filter(|r| r.url.path() == "/v1/embeddings")
        .flat_map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            body["input"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Runs the binary off the async test's thread (the mock server keeps serving).
async fn run_async(
    dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Option<i32>, String, String) {
    let dir = dir.to_path_buf();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run(&dir, &args, &env)
    })
    .await
    .unwrap()
}

#[test]
fn import_writes_scrubbed_unapproved_pairs_using_the_profiles_instagram_name() {
    let dir = tempfile::tempdir().unwrap();
    let review = import(
        dir.path(),
        &format!("name = \"Panda\"\ninstagram_name = \"{STUDIO_NAME}\""),
    );
    let lines: Vec<Value> = std::fs::read_to_string(&review)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    for line in &lines {
        assert_eq!(line["approved"], false, "{line}");
        assert!(!line["customer"].as_str().unwrap().is_empty());
        assert!(line["thread"].is_string() && line["at"].is_string());
    }
    let studio_texts: Vec<&str> = lines
        .iter()
        .map(|l| l["studio"].as_str().unwrap())
        .collect();
    assert!(
        studio_texts.iter().all(|t| !t.contains('€')),
        "prices scrubbed: {studio_texts:?}"
    );
    assert!(
        studio_texts.iter().any(|t| t.contains("[price]")),
        "{studio_texts:?}"
    );
}

#[test]
fn import_falls_back_to_the_studio_name_without_an_instagram_name() {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &format!("name = \"{STUDIO_NAME}\""));
}

#[test]
fn import_with_the_wrong_display_name_finds_no_pairs_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let profile = studio(dir.path(), "instagram_name = \"Someone Else\"");
    let (code, stdout, stderr) = run(
        dir.path(),
        &[
            "import-inbox",
            export().to_str().unwrap(),
            "--studio",
            profile.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("wrote 0 pairs"), "{stdout}");
    assert!(stdout.contains("instagram_name"), "{stdout}");
    assert!(
        dir.path().join("tone-review.jsonl").exists(),
        "default --out"
    );
}

#[test]
fn import_of_a_folder_without_an_inbox_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run(
        dir.path(),
        &["import-inbox", dir.path().to_str().unwrap()],
        &[],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("no Instagram inbox folder"), "{stderr}");
}

#[tokio::test]
async fn index_embeds_only_approved_pairs_into_the_data_dirs_index_file() {
    let dir = tempfile::tempdir().unwrap();
    let review = import(dir.path(), &format!("instagram_name = \"{STUDIO_NAME}\""));
    let approved = approve_all_but_first(&review);
    let server = embeddings_server("text-embedding-3-small").await;
    let data = dir.path().join("data");
    let base = format!("{}/v1", server.uri());
    let (code, stdout, stderr) = run_async(
        dir.path(),
        &["index", review.to_str().unwrap()],
        &[
            ("OPENAI_API_KEY", "sk-test"),
            ("OPENAI_BASE_URL", &base),
            ("INKDESK_DATA_DIR", data.to_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("indexed 4 approved pairs"), "{stdout}");

    let requests = server.received_requests().await.unwrap();
    assert_eq!(embedded_inputs(&requests), approved);
    let index = VectorIndex::load(&data.join(TONE_INDEX_FILE)).unwrap();
    assert_eq!(index.len(), 4);
    assert_eq!(index.model(), "text-embedding-3-small");
    assert_eq!(index.dimension(), 8);
    let stored: Vec<&ToneExample> = (0..4).map(|i| index.entry(i).unwrap()).collect();
    let customers: Vec<&str> = stored.iter().map(|e| e.customer.as_str()).collect();
    assert_eq!(customers, approved);
    // Vectors were placed by `index`, not by answer order: the stored example nearest to
    // its own customer text is itself.
    let hits = index.search(&letters(&approved[2]), 1).unwrap();
    assert_eq!(hits[0].0, 2);
}

#[tokio::test]
async fn index_uses_the_configured_embedding_model() {
    let dir = tempfile::tempdir().unwrap();
    let review = import(dir.path(), &format!("instagram_name = \"{STUDIO_NAME}\""));
    approve_all_but_first(&review);
    let server = embeddings_server("nomic-embed-text").await;
    let data = dir.path().join("data");
    let base = format!("{}/v1", server.uri());
    let (code, _, stderr) = run_async(
        dir.path(),
        &["index", review.to_str().unwrap()],
        &[
            ("OPENAI_API_KEY", "sk-test"),
            ("OPENAI_BASE_URL", &base),
            ("INKDESK_EMBEDDING_MODEL", "nomic-embed-text"),
            ("INKDESK_DATA_DIR", data.to_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    let index = VectorIndex::load(&data.join(TONE_INDEX_FILE)).unwrap();
    assert_eq!(index.model(), "nomic-embed-text");
}

#[tokio::test]
async fn index_of_an_unreviewed_file_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let review = import(dir.path(), &format!("instagram_name = \"{STUDIO_NAME}\""));
    let server = embeddings_server("text-embedding-3-small").await;
    let data = dir.path().join("data");
    let base = format!("{}/v1", server.uri());
    let (code, _, stderr) = run_async(
        dir.path(),
        &["index", review.to_str().unwrap()],
        &[
            ("OPENAI_API_KEY", "sk-test"),
            ("OPENAI_BASE_URL", &base),
            ("INKDESK_DATA_DIR", data.to_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("approved"), "{stderr}");
    assert!(!data.join(TONE_INDEX_FILE).exists());
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn index_without_an_embeddings_service_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let review = import(dir.path(), &format!("instagram_name = \"{STUDIO_NAME}\""));
    approve_all_but_first(&review);
    let (code, _, stderr) = run_async(dir.path(), &["index", review.to_str().unwrap()], &[]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("OPENAI_API_KEY"), "{stderr}");
}

#[tokio::test]
async fn index_reports_a_refused_key_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let review = import(dir.path(), &format!("instagram_name = \"{STUDIO_NAME}\""));
    approve_all_but_first(&review);
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let data = dir.path().join("data");
    let base = format!("{}/v1", server.uri());
    let (code, _, stderr) = run_async(
        dir.path(),
        &["index", review.to_str().unwrap()],
        &[
            ("OPENAI_API_KEY", "sk-wrong"),
            ("OPENAI_BASE_URL", &base),
            ("INKDESK_DATA_DIR", data.to_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("401"), "{stderr}");
    assert!(!data.join(TONE_INDEX_FILE).exists());
}

#[tokio::test]
async fn index_pinecone_looks_up_the_host_and_upserts_the_approved_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let review = import(dir.path(), &format!("instagram_name = \"{STUDIO_NAME}\""));
    let approved = approve_all_but_first(&review);
    let server = embeddings_server("text-embedding-3-small").await;
    let pinecone = MockServer::start().await;
    // Control plane, "Describe an index" (docs.pinecone.io/reference/api/2025-04/control-plane/
    // describe_index). Pinecone answers the host without a scheme (https is implied); the
    // mock serves plain HTTP, so its host carries `http://`, which the adapter keeps.
    Mock::given(method("GET"))
        .and(path("/indexes/studio-tone"))
        .and(header("Api-Key", "pc-test"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "name": "studio-tone", "dimension": 8, "metric": "cosine",
            "host": pinecone.uri(),
            "spec": {"serverless": {"cloud": "aws", "region": "us-east-1"}},
            "status": {"ready": true, "state": "Ready"}
        })))
        .expect(1)
        .mount(&pinecone)
        .await;
    // Data plane, "Upsert vectors" (…/data-plane/upsert).
    Mock::given(method("POST"))
        .and(path("/vectors/upsert"))
        .and(header("Api-Key", "pc-test"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"upsertedCount": 4})))
        .expect(1)
        .mount(&pinecone)
        .await;
    let base = format!("{}/v1", server.uri());
    let control = pinecone.uri();
    let data = dir.path().join("data");
    let (code, stdout, stderr) = run_async(
        dir.path(),
        &["index", "--pinecone", review.to_str().unwrap()],
        &[
            ("OPENAI_API_KEY", "sk-test"),
            ("OPENAI_BASE_URL", &base),
            ("PINECONE_API_KEY", "pc-test"),
            ("PINECONE_INDEX", "studio-tone"),
            ("PINECONE_CONTROL_URL", &control),
            ("INKDESK_DATA_DIR", data.to_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("upserted 4"), "{stdout}");
    assert!(
        !data.join(TONE_INDEX_FILE).exists(),
        "nothing written locally"
    );

    let upserts: Vec<Value> = pinecone
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/vectors/upsert")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    let vectors = upserts[0]["vectors"].as_array().unwrap();
    let customers: Vec<&str> = vectors
        .iter()
        .map(|v| v["metadata"]["customer"].as_str().unwrap())
        .collect();
    assert_eq!(customers, approved);
    assert!(
        vectors
            .iter()
            .all(|v| v["values"].as_array().unwrap().len() == 8)
    );
    assert!(
        vectors
            .iter()
            .all(|v| v["id"].as_str().unwrap().len() == 32)
    );
}

#[tokio::test]
async fn index_pinecone_without_its_settings_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let review = import(dir.path(), &format!("instagram_name = \"{STUDIO_NAME}\""));
    approve_all_but_first(&review);
    let (code, _, stderr) = run_async(
        dir.path(),
        &["index", "--pinecone", review.to_str().unwrap()],
        &[
            ("OPENAI_API_KEY", "sk-test"),
            ("PINECONE_API_KEY", "pc-test"),
        ],
    )
    .await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("PINECONE_INDEX"), "{stderr}");
}

fn settings(pairs: &[(&str, &str)]) -> Settings {
    let env: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Settings::from_env(&env).unwrap()
}

#[tokio::test]
async fn serve_wires_the_retriever_only_when_an_index_file_exists() {
    let dir = tempfile::tempdir().unwrap();
    let review = import(dir.path(), &format!("instagram_name = \"{STUDIO_NAME}\""));
    let approved = approve_all_but_first(&review);
    let server = embeddings_server("text-embedding-3-small").await;
    let data = dir.path().join("data");
    let base = format!("{}/v1", server.uri());
    let env = [
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", base.as_str()),
        ("INKDESK_DATA_DIR", data.to_str().unwrap()),
    ];
    assert!(
        retriever(&settings(&env), memory_cache()).await.is_none(),
        "no index yet"
    );

    let (code, _, stderr) = run_async(dir.path(), &["index", review.to_str().unwrap()], &env).await;
    assert_eq!(code, Some(0), "{stderr}");
    let live = retriever(&settings(&env), memory_cache())
        .await
        .expect("index exists now");
    let hits = live.retrieve(&approved[1]).await.expect("retrieval on");
    assert_eq!(hits[0].example.customer, approved[1]);
    assert!(hits[0].score > 0.999, "{}", hits[0].score);

    let without_model = [("INKDESK_DATA_DIR", data.to_str().unwrap())];
    assert!(
        retriever(&settings(&without_model), memory_cache())
            .await
            .is_none(),
        "no embedder, no retriever"
    );
}
