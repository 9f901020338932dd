//! Tone examples from the studio's past replies: shown last in the request, recorded in the
//! trace, and a failing retrieval changes nothing else.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::DateTime;
use inkdesk_assistant::engine::{ToneHitRecord, ToneRecord};
use inkdesk_assistant::tone::ToneSource;
use inkdesk_openai::Message;
use inkdesk_tone::review::ToneExample;
use inkdesk_tone::{
    EmbedError, Embedder, FileIndex, MemoryEmbeddingCache, RetrievalConfig, ToneRetriever,
    VectorIndex,
};
use support::World;

/// Answers every text with one fixed vector (or fails), remembering what it was asked.
struct FixedEmbedder {
    vector: Option<Vec<f32>>,
    asked: Mutex<Vec<String>>,
}

impl FixedEmbedder {
    fn answering(vector: &[f32]) -> Arc<Self> {
        Arc::new(Self {
            vector: Some(vector.to_vec()),
            asked: Mutex::new(Vec::new()),
        })
    }

    fn failing() -> Arc<Self> {
        Arc::new(Self {
            vector: None,
            asked: Mutex::new(Vec::new()),
        })
    }

    fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

#[async_trait]
impl Embedder for FixedEmbedder {
    fn model(&self) -> String {
        "fixed-3".into()
    }

    async fn embed(&self, inputs: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.asked.lock().unwrap().extend(inputs.iter().cloned());
        match &self.vector {
            Some(v) => Ok(inputs.iter().map(|_| v.clone()).collect()),
            None => Err(EmbedError::Unavailable("connection refused".into())),
        }
    }
}

fn example(customer: &str, studio: &str) -> ToneExample {
    ToneExample {
        customer: customer.into(),
        studio: studio.into(),
        thread: "thread-1".into(),
        at: DateTime::from_timestamp_millis(1_700_000_000_000).unwrap(),
        approved: None,
    }
}

/// Three past exchanges: one identical in direction to [1,0,0], one at cosine 0.8, one
/// orthogonal (below any threshold).
fn index() -> VectorIndex {
    let mut index = VectorIndex::new("fixed-3", 3);
    index
        .push(
            example(
                "How much for a small rose?",
                "Small roses start at [price], send us a photo of the spot 🌹",
            ),
            &[1.0, 0.0, 0.0],
        )
        .unwrap();
    index
        .push(
            example(
                "Price for a tiny heart?",
                "Tiny ones are quick, around [price]. Which day suits you?",
            ),
            &[0.8, 0.6, 0.0],
        )
        .unwrap();
    index
        .push(
            example("Where are you?", "Right behind the square, see you!"),
            &[0.0, 1.0, 0.0],
        )
        .unwrap();
    index
}

fn retriever(embedder: Arc<FixedEmbedder>) -> Arc<dyn ToneSource> {
    Arc::new(ToneRetriever::new(
        embedder,
        Arc::new(FileIndex::from_index("memory", index())),
        Arc::new(MemoryEmbeddingCache::new(16)),
        RetrievalConfig::default(),
    ))
}

const ASK: &str = "Hi! How much would a small rose on the wrist cost?";

/// One text turn answered with `send_reply`; returns the outcome.
async fn one_turn(world: &World) -> inkdesk_assistant::TurnOutcome {
    let mut chat = world.conversation("9101");
    world.then_reply("A small rose is [from the quote tool] ❤️🐼", &["price"]);
    let msg = chat.text(world, ASK);
    chat.turn(world, vec![msg]).await
}

fn system_text(message: &Message) -> &str {
    match message {
        Message::System { text } => text,
        other => panic!("expected a system message, got {other:?}"),
    }
}

#[tokio::test]
async fn tone_examples_come_last_in_the_request_marked_as_examples_not_facts() {
    let embedder = FixedEmbedder::answering(&[1.0, 0.0, 0.0]);
    let world = World::with_tone(retriever(embedder.clone()));
    let outcome = one_turn(&world).await;
    let plain = World::new();
    one_turn(&plain).await;

    assert_eq!(
        embedder.asked(),
        [ASK],
        "the customer's typed text is the query"
    );
    let request = world.model.requests().remove(0);
    let (last, before) = request.messages.split_last().unwrap();
    let section = system_text(last);
    assert!(section.starts_with("## Tone examples"), "{section}");
    assert!(section.contains("Their prices, dates and times are out of date: never use them"));
    let rose = section.find("Small roses start at [price]").unwrap();
    let heart = section.find("Tiny ones are quick").unwrap();
    assert!(rose < heart, "best example first");
    assert!(
        !section.contains("Right behind the square"),
        "below the threshold"
    );

    // Everything before the examples is exactly the request without tone: the stable
    // prefix (system prompt, history) and the per-turn tail are untouched.
    let plain_request = plain.model.requests().remove(0);
    assert_eq!(before, plain_request.messages.as_slice());
    assert_eq!(
        system_text(&request.messages[0]),
        world.engine.prompts().system()
    );

    let ToneRecord::Retrieved { hits } = &outcome.record.tone else {
        panic!("expected hits, got {:?}", outcome.record.tone);
    };
    let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, ["0", "1"]);
    assert!((hits[0].score - 1.0).abs() < 1e-4 && (hits[1].score - 0.8).abs() < 1e-4);
    assert_eq!(
        outcome.reply.as_deref(),
        Some("A small rose is [from the quote tool] ❤️🐼")
    );
}

#[tokio::test]
async fn greek_customers_get_the_greek_examples_header() {
    let world = World::with_tone(retriever(FixedEmbedder::answering(&[1.0, 0.0, 0.0])));
    let mut chat = world.conversation("9102");
    world.then_reply("Καλησπέρα!", &["price"]);
    let msg = chat.text(&world, "Καλησπέρα, πόσο κοστίζει ένα μικρό τριαντάφυλλο;");
    chat.turn(&world, vec![msg]).await;
    let request = world.model.last_request().unwrap();
    let section = system_text(request.messages.last().unwrap());
    assert!(section.starts_with("## Παραδείγματα ύφους"), "{section}");
    assert!(section.contains("μην τις χρησιμοποιήσεις ποτέ"));
}

#[tokio::test]
async fn a_failing_retriever_changes_nothing_but_the_trace() {
    let embedder = FixedEmbedder::failing();
    let world = World::with_tone(retriever(embedder.clone()));
    let outcome = one_turn(&world).await;
    let plain = World::new();
    let plain_outcome = one_turn(&plain).await;

    assert_eq!(embedder.asked(), [ASK], "retrieval was attempted");
    assert_eq!(outcome.record.tone, ToneRecord::Off);
    assert_eq!(plain_outcome.record.tone, ToneRecord::NotAsked);
    assert_eq!(world.model.requests(), plain.model.requests());
    assert_eq!(outcome.reply, plain_outcome.reply);
    assert_eq!(outcome.record.outcome, plain_outcome.record.outcome);
    let tools = |o: &inkdesk_assistant::TurnOutcome| {
        o.record
            .tools
            .iter()
            .map(|t| (t.name.clone(), t.arguments.clone(), t.result.clone(), t.ok))
            .collect::<Vec<_>>()
    };
    assert_eq!(tools(&outcome), tools(&plain_outcome));
    assert_eq!(outcome.record.intents, plain_outcome.record.intents);
    assert!(outcome.handoff.is_none());
}

#[tokio::test]
async fn nothing_similar_enough_adds_no_section_and_records_no_hits() {
    let world = World::with_tone(retriever(FixedEmbedder::answering(&[0.0, 0.0, 1.0])));
    let outcome = one_turn(&world).await;
    let plain = World::new();
    one_turn(&plain).await;

    assert_eq!(outcome.record.tone, ToneRecord::Retrieved { hits: vec![] });
    assert_eq!(world.model.requests(), plain.model.requests());
}

#[tokio::test]
async fn the_examples_stay_in_place_across_tool_rounds() {
    let world = World::with_tone(retriever(FixedEmbedder::answering(&[1.0, 0.0, 0.0])));
    let mut chat = world.conversation("9103");
    world.then_tools(vec![support::call(
        "quote",
        serde_json::json!({"pieces": [{"height_cm": 5, "width_cm": 5, "ink_coverage": 0.3, "style": "fine_line"}]}),
    )]);
    world.then_reply("Around the quoted price ❤️🐼", &["price"]);
    let msg = chat.text(&world, ASK);
    let outcome = chat.turn(&world, vec![msg]).await;

    let requests = world.model.requests();
    assert_eq!(requests.len(), 2);
    let first = &requests[0].messages;
    let second = &requests[1].messages;
    assert_eq!(
        &second[..first.len()],
        first.as_slice(),
        "the second round extends the first"
    );
    let sections = second
        .iter()
        .filter(|m| matches!(m, Message::System { text } if text.starts_with("## Tone examples")))
        .count();
    assert_eq!(sections, 1);
    let ToneRecord::Retrieved { hits } = &outcome.record.tone else {
        panic!("expected hits, got {:?}", outcome.record.tone);
    };
    let ids: Vec<&str> = hits.iter().map(|h: &ToneHitRecord| h.id.as_str()).collect();
    assert_eq!(ids, ["0", "1"]);
    assert!(
        requests[1].messages.len() > first.len(),
        "tool result appended after the examples"
    );
}
