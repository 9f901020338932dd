//! Prompt tokens per turn over a scripted ten-turn Greek booking conversation, counted with
//! the o200k_base tokenizer, and the share of each request that is the stable prefix
//! (system prompt + tool schemas) or cacheable (stable prefix + history seen last turn).
//!
//! Run: `cargo bench -p inkdesk-assistant --bench prompt_tokens`
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use inkdesk_assistant::confirm::{MemoryConfirmationStore, TurnId};
use inkdesk_assistant::history::HistoryEntry;
use inkdesk_assistant::holds::MemoryOfferHolds;
use inkdesk_assistant::message::{CustomerMessage, ImageAnalysis, image_ref};
use inkdesk_assistant::tone::{ToneHit, ToneSource};
use inkdesk_assistant::{Engine, EngineConfig, EngineDeps, TurnInput};
use inkdesk_calendar::EmbeddedCalendar;
use inkdesk_domain::{ConversationId, ManualClock, StudioProfile};
use inkdesk_messaging::StaticFetcher;
use inkdesk_openai::{
    ChatRequest, ChatResponse, Message, ModelTask, ScriptedModel, ToolCall, UserPart,
};
use inkdesk_tone::review::ToneExample;
use serde_json::{Value, json};
use tiktoken_rs::CoreBPE;

const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

fn tool(id: &str, name: &str, args: Value) -> ChatResponse {
    ChatResponse::tool_calls(vec![ToolCall::new(id, name, args)])
}

fn reply(id: &str, text: &str, intents: &[&str]) -> ChatResponse {
    tool(id, "send_reply", json!({"text": text, "intents": intents}))
}

/// Approximate chat-format overhead per message (role markers).
const PER_MESSAGE: usize = 4;

fn message_text(message: &Message) -> String {
    match message {
        Message::System { text } => text.clone(),
        Message::User { parts } => parts
            .iter()
            .map(|p| match p {
                UserPart::Text(t) => t.clone(),
                UserPart::Image(_) => String::new(),
            })
            .collect(),
        Message::Assistant { text, tool_calls } => {
            let mut out = text.clone().unwrap_or_default();
            for call in tool_calls {
                out.push_str(&call.name);
                out.push_str(&call.arguments_text());
            }
            out
        }
        Message::ToolResult { content, .. } => content.clone(),
    }
}

struct Counted {
    total: usize,
    stable: usize,
    /// Tokens of the longest prefix (tools + whole messages) shared with an earlier request
    /// (at least the stable prefix).
    cached: usize,
}

fn count(bpe: &CoreBPE, request: &ChatRequest, earlier: &[ChatRequest]) -> Counted {
    let tokens = |s: &str| bpe.encode_with_special_tokens(s).len();
    let tools: usize = request
        .tools
        .iter()
        .map(|t| tokens(&t.name) + tokens(&t.description) + tokens(&t.parameters.to_string()))
        .sum();
    let per: Vec<usize> = request
        .messages
        .iter()
        .map(|m| tokens(&message_text(m)) + PER_MESSAGE)
        .collect();
    let shared = earlier
        .iter()
        .filter(|e| e.tools == request.tools)
        .map(|e| {
            e.messages
                .iter()
                .zip(&request.messages)
                .take_while(|(a, b)| a == b)
                .count()
        })
        .max()
        .unwrap_or(0);
    // The system prompt and tools are identical for every customer, so they are cached
    // from other conversations even on a conversation's first request.
    let cached = (tools + per[..shared].iter().sum::<usize>()).max(tools + per[0]);
    Counted {
        total: tools + per.iter().sum::<usize>(),
        stable: tools + per[0],
        cached,
    }
}

/// Three typical Greek tone examples for every burst (the engine's retrieval path without an
/// embedder), to measure what the examples add to each turn.
struct FixedTone;

#[async_trait::async_trait]
impl ToneSource for FixedTone {
    async fn similar(&self, _burst: &str) -> Option<Vec<ToneHit>> {
        let pairs = [
            (
                "Καλησπέρα! Πόσο κάνει ένα μικρό λουλουδάκι στον καρπό;",
                "Καλησπέρα σας! Για κάτι τόσο μικρό ξεκινάμε από [price]. Αν μας στείλετε μια φωτογραφία του σχεδίου θα σας πούμε ακριβώς ❤️🐼",
            ),
            (
                "Έχετε ραντεβού για την άλλη εβδομάδα;",
                "Ναι! Έχουμε διαθεσιμότητα [time]. Πείτε μας ποια μέρα σας βολεύει και το κανονίζουμε ❤️🐼",
            ),
            (
                "Θέλω ένα τριαντάφυλλο στο μπράτσο, περίπου 10 πόντους",
                "Τέλεια ιδέα! Στείλτε μας αν θέλετε μια φωτογραφία αναφοράς για να δούμε το στυλ και τη σκίαση ❤️🐼",
            ),
        ];
        let at = chrono::DateTime::from_timestamp_millis(1_700_000_000_000).unwrap();
        Some(
            pairs
                .iter()
                .enumerate()
                .map(|(i, (customer, studio))| ToneHit {
                    example: ToneExample {
                        customer: (*customer).into(),
                        studio: (*studio).into(),
                        thread: "bench".into(),
                        at,
                        approved: None,
                    },
                    score: 0.9 - 0.02 * i as f32,
                    id: i.to_string(),
                })
                .collect(),
        )
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    println!("Without tone examples:\n");
    table(None).await;
    println!("\nWith three tone examples per turn:\n");
    table(Some(Arc::new(FixedTone))).await;
}

async fn table(tone: Option<Arc<dyn ToneSource>>) {
    let bpe = tiktoken_rs::o200k_base().unwrap();
    let profile = StudioProfile::example();
    let start = Utc.with_ymd_and_hms(2026, 11, 18, 9, 30, 0).unwrap();
    let clock = ManualClock::new(start);
    let model = Arc::new(ScriptedModel::new());
    let fetcher = Arc::new(StaticFetcher::new());
    fetcher.insert("https://cdn.example/rose.jpg", PNG.to_vec());
    let engine = Engine::new(
        profile.clone(),
        EngineDeps {
            model: model.clone(),
            calendar: Arc::new(
                EmbeddedCalendar::open_in_memory(Arc::new(profile), Arc::new(clock.clone()))
                    .unwrap(),
            ),
            holds: Arc::new(MemoryOfferHolds::new()),
            confirmations: Arc::new(MemoryConfirmationStore::new()),
            fetcher,
            tone,
        },
        EngineConfig::default(),
    )
    .unwrap();
    let conversation = ConversationId::parse("bench").unwrap();
    let image_mid = "bench-m1";
    let rose = image_ref(image_mid, 0);

    // (customer text, with image?, scripted model replies)
    let script: Vec<(&str, bool, Vec<ChatResponse>)> = vec![
        ("Γεια σας! Πόσο κοστίζει αυτό το τριαντάφυλλο;", true, vec![
            ChatResponse::text(json!({"is_tattoo_design": true, "description": "τριαντάφυλλο με απαλή σκίαση", "height_cm": 7, "width_cm": 7, "ink_coverage": 0.3, "style": "light_shading"}).to_string()),
            tool("c1", "quote", json!({"pieces": [{"image_ref": rose}]})),
            reply("c2", "Γεια σας! Για αυτό το σχέδιο η τιμή είναι 60 € ή 65 € σε λίγο μεγαλύτερο μέγεθος. ❤️🐼", &["pricing_with_image"]),
        ]),
        ("Τέλεια! Μπορώ την Παρασκευή;", false, vec![
            tool("c3", "check_availability", json!({"from_date": "2026-11-20", "to_date": "2026-11-20", "price": 60})),
            reply("c4", "Την Παρασκευή 20 Νοεμβρίου έχουμε 11:00, 12:00 ή 13:00. Ποια ώρα σας βολεύει; ❤️🐼", &["booking_available_slots"]),
        ]),
        ("Έχετε κάτι πιο απογευματινό;", false, vec![
            tool("c5", "check_availability", json!({"from_date": "2026-11-20", "to_date": "2026-11-20", "preferred_time": "16:00", "price": 60})),
            reply("c6", "Την Παρασκευή έχουμε 16:00, 17:00 ή 18:00. ❤️🐼", &["booking_available_slots"]),
        ]),
        ("Στις 17:00 τότε", false, vec![
            reply("c7", "Τέλεια! Θα χρειαστούμε το ονοματεπώνυμό σας και ένα τηλέφωνο. ❤️🐼", &["booking_new"]),
        ]),
        ("Γιάννης Παπαδόπουλος, 6912345678", false, vec![
            tool("c8", "book_appointment", json!({"date": "2026-11-20", "time": "17:00", "name": "Γιάννης Παπαδόπουλος", "phone": "6912345678", "design": "τριαντάφυλλο με απαλή σκίαση", "price": 60})),
            reply("c9", "Κλείσαμε! Παρασκευή 20 Νοεμβρίου στις 17:00. Σας περιμένουμε! ❤️🐼", &["booking_details", "booking_confirmation"]),
        ]),
        ("Πού ακριβώς είστε;", false, vec![
            reply("c10", "Είμαστε στην Αιόλου 42, Αθήνα 105 51. ❤️🐼", &["studio_info"]),
        ]),
        ("Χρειάζεται προκαταβολή;", false, vec![
            reply("c11", "Ναι, 30% της τιμής για να κλειδώσει το ραντεβού· δεν επιστρέφεται. ❤️🐼", &["studio_info"]),
        ]),
        ("Πώς το φροντίζω μετά;", false, vec![
            reply("c12", "Θα σας δώσουμε οδηγίες φροντίδας την ημέρα του ραντεβού. ❤️🐼", &["aftercare"]),
        ]),
        ("Μπορώ να φέρω μια φίλη μαζί;", false, vec![
            reply("c13", "Φυσικά, είναι ευπρόσδεκτη! ❤️🐼", &["other"]),
        ]),
        ("Ευχαριστώ πολύ!", false, vec![
            reply("c14", "Εμείς ευχαριστούμε! Τα λέμε την Παρασκευή. ❤️🐼", &["follow_up"]),
        ]),
    ];

    println!(
        "| turn | reply calls | prompt tokens (all calls) | first call | stable prefix | stable share | cacheable share |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let mut earlier: Vec<ChatRequest> = Vec::new();
    let mut history: Vec<HistoryEntry> = Vec::new();
    let mut known = HashMap::new();
    let (mut sum_total, mut sum_stable, mut sum_cacheable) = (0usize, 0usize, 0usize);
    for (n, (text, with_image, responses)) in script.into_iter().enumerate() {
        let before = model.requests().len();
        for r in responses {
            model.push(Ok(r));
        }
        let at = clock_now(&clock);
        let mut pending = Vec::new();
        if with_image {
            pending.push(CustomerMessage::image(
                image_mid,
                at,
                "https://cdn.example/rose.jpg",
            ));
        }
        pending.push(CustomerMessage::text(format!("bench-t{n}"), at, text));
        let outcome = engine
            .respond(
                TurnInput {
                    conversation: conversation.clone(),
                    turn: TurnId(format!("t{n}")),
                    pending,
                    history: history.clone(),
                    known_images: known.clone(),
                },
                at,
            )
            .await;
        for a in &outcome.analyses {
            if let ImageAnalysis::Measured(m) = &a.analysis {
                known.insert(image_ref(&a.mid, a.index), m.clone());
            }
        }
        history.extend(outcome.customer_entry.clone());
        history.extend(outcome.assistant_entry(at));
        let requests: Vec<ChatRequest> = model.requests()[before..]
            .iter()
            .filter(|r| r.task == ModelTask::Default)
            .cloned()
            .collect();
        let mut counted = Vec::new();
        for request in &requests {
            counted.push(count(&bpe, request, &earlier));
            earlier.push(request.clone());
        }
        let total: usize = counted.iter().map(|c| c.total).sum();
        let first = &counted[0];
        let cacheable: usize = counted.iter().map(|c| c.cached).sum();
        let stable_all: usize = counted.iter().map(|c| c.stable).sum();
        sum_total += total;
        sum_stable += stable_all;
        sum_cacheable += cacheable;
        println!(
            "| {} | {} | {} | {} | {} | {:.0}% | {:.0}% |",
            n + 1,
            requests.len(),
            total,
            first.total,
            first.stable,
            100.0 * stable_all as f64 / total as f64,
            100.0 * cacheable as f64 / total as f64,
        );
        clock.advance(Duration::minutes(2));
    }
    println!(
        "| all | | {sum_total} | | | {:.0}% | {:.0}% |",
        100.0 * sum_stable as f64 / sum_total as f64,
        100.0 * sum_cacheable as f64 / sum_total as f64
    );
}

fn clock_now(clock: &ManualClock) -> chrono::DateTime<Utc> {
    use inkdesk_domain::Clock;
    clock.now()
}
