#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Contract tests of the Pinecone adapter against wiremock.

use std::time::Duration;

use chrono::DateTime;
use inkdesk_tone::{IndexError, PineconeConfig, PineconeIndex, ToneExample, ToneSearch};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn index(server: &MockServer, namespace: Option<&str>) -> PineconeIndex {
    let mut config = PineconeConfig::new(
        server.uri().parse().unwrap(),
        SecretString::from("pc-test-key"),
    );
    config.namespace = namespace.map(str::to_owned);
    config.retry.min_delay = Duration::from_millis(1);
    PineconeIndex::new(config).unwrap()
}

#[tokio::test]
async fn query_sends_vector_top_k_and_api_key_and_maps_metadata() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/query"))
        .and(header("Api-Key", "pc-test-key"))
        .and(header("X-Pinecone-API-Version", "2025-04"))
        .and(body_json(json!({
            "vector": [0.5, 0.25, 0.0],
            "topK": 3,
            "includeMetadata": true,
            "includeValues": false,
            "namespace": "tone"
        })))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("pinecone_query_response.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let hits = index(&server, Some("tone"))
        .search(&[0.5, 0.25, 0.0], "any-model", 3)
        .await
        .unwrap();
    assert_eq!(hits.len(), 2, "the match with foreign metadata is skipped");
    assert_eq!(hits[0].id, "a1b2");
    assert!((hits[0].score - 0.91).abs() < 1e-6);
    assert_eq!(hits[0].example.customer, "Πόσο κάνει ένα μικρό στον καρπό;");
    assert_eq!(hits[0].example.thread, "nikos_3344556677");
    assert_eq!(hits[1].example.studio, "Yes we do! Send us a photo");
}

#[tokio::test]
async fn query_without_namespace_omits_the_field() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/query"))
        .and(body_json(json!({
            "vector": [1.0],
            "topK": 1,
            "includeMetadata": true,
            "includeValues": false
        })))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"matches": [], "namespace": ""})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let hits = index(&server, None).search(&[1.0], "m", 1).await.unwrap();
    assert!(hits.is_empty());
}

#[tokio::test]
async fn upsert_sends_ids_values_and_metadata() {
    let server = MockServer::start().await;
    let at = DateTime::from_timestamp_millis(1_700_000_004_000).unwrap();
    Mock::given(method("POST"))
        .and(path("/vectors/upsert"))
        .and(header("Api-Key", "pc-test-key"))
        .and(body_json(json!({
            "vectors": [
                {"id": "p1", "values": [0.0, 1.0],
                 "metadata": {"customer": "c1", "studio": "s1", "thread": "t", "at": "2023-11-14T22:13:24Z"}},
                {"id": "p2", "values": [1.0, 0.0],
                 "metadata": {"customer": "c2", "studio": "s2", "thread": "t", "at": "2023-11-14T22:13:24Z"}}
            ],
            "namespace": "tone"
        })))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("pinecone_upsert_response.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let example = |n: u8| ToneExample {
        customer: format!("c{n}"),
        studio: format!("s{n}"),
        thread: "t".into(),
        at,
        approved: None,
    };
    let count = index(&server, Some("tone"))
        .upsert(&[
            ("p1".into(), vec![0.0, 1.0], example(1)),
            ("p2".into(), vec![1.0, 0.0], example(2)),
        ])
        .await
        .unwrap();
    assert_eq!(count, 2);
}

#[tokio::test]
async fn dimension_error_and_outage_are_remote_errors() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/query"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "code": 3,
            "message": "Vector dimension 2 does not match the dimension of the index 1536",
            "details": []
        })))
        .expect(1)
        .mount(&server)
        .await;
    let err = index(&server, None)
        .search(&[1.0, 0.0], "m", 3)
        .await
        .unwrap_err();
    assert!(matches!(err, IndexError::Remote(_)), "{err:?}");

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .expect(2)
        .mount(&server)
        .await;
    let err = index(&server, None)
        .search(&[1.0], "m", 3)
        .await
        .unwrap_err();
    assert!(matches!(err, IndexError::Remote(_)), "{err:?}");
}

#[tokio::test]
async fn the_host_lookup_gives_up_at_its_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"host": "late.pinecone.io"}))
                .set_delay(Duration::from_secs(30)),
        )
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    let result = PineconeIndex::resolve_host(
        &server.uri().parse().unwrap(),
        &SecretString::from("pc-test-key"),
        "studio-tone",
        Duration::from_millis(300),
    )
    .await;
    assert!(result.is_err(), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn host_is_resolved_from_the_index_name() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/indexes/studio-tone"))
        .and(header("Api-Key", "pc-test-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "name": "studio-tone", "dimension": 1536, "metric": "cosine",
            "host": "studio-tone-abc123.svc.aped-4627-b74a.pinecone.io",
            "status": {"ready": true, "state": "Ready"}
        })))
        .mount(&server)
        .await;
    let host = PineconeIndex::resolve_host(
        &server.uri().parse().unwrap(),
        &SecretString::from("pc-test-key"),
        "studio-tone",
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(
        host.as_str(),
        "https://studio-tone-abc123.svc.aped-4627-b74a.pinecone.io/"
    );
}
