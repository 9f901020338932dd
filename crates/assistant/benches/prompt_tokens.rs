//! Prompt tokens and their cost over the ten-turn Greek conversation of issue 18 (photo →
//! price, availability twice, slot choice, name and phone → booking, a studio question,
//! thanks, a reschedule request and its confirmation), every model call counted: reply
//! rounds and the vision call with its image.
//!
//! Counting: text with tiktoken's o200k_base (about 4 tokens of chat framing per message;
//! tool schemas as name + description + JSON parameters); the photo as OpenAI prices a
//! 1080×1350 Instagram photo on gpt-4o-mini at the detail the request asks for. Caching as
//! OpenAI applies it: the longest whole-message prefix a request shares with an earlier one
//! (the system prompt and tools count as shared from the first call on, since every
//! conversation of the studio sends them), counted only from 1,024 tokens on and in steps of
//! 128. Effective = uncached + ½ cached (OpenAI's discount on gpt-4o and gpt-4o-mini).
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
use inkdesk_calendar::{Calendar, EmbeddedCalendar};
use inkdesk_domain::{ConversationId, ManualClock, StudioProfile};
use inkdesk_messaging::StaticFetcher;
use inkdesk_openai::{
    ChatRequest, ChatResponse, ImageDetail, Message, ModelTask, ScriptedModel, ToolCall, UserPart,
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

/// OpenAI's image pricing for gpt-4o-mini: a base per image and a price per 512-px tile.
const MINI_IMAGE_BASE: usize = 2_833;
const MINI_IMAGE_TILE: usize = 5_667;
/// An Instagram portrait photo.
const PHOTO: (u32, u32) = (1080, 1350);

/// Image tokens on gpt-4o-mini for a `width`×`height` image at `detail` (auto = high).
fn image_tokens(detail: ImageDetail, (width, height): (u32, u32)) -> usize {
    if detail == ImageDetail::Low {
        return MINI_IMAGE_BASE;
    }
    let (mut w, mut h) = (f64::from(width), f64::from(height));
    let fit = (2048.0 / w.max(h)).min(1.0);
    w *= fit;
    h *= fit;
    let short = (768.0 / w.min(h)).min(1.0);
    w *= short;
    h *= short;
    let tiles = (w / 512.0).ceil() as usize * (h / 512.0).ceil() as usize;
    MINI_IMAGE_BASE + MINI_IMAGE_TILE * tiles
}

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

fn message_images(message: &Message) -> usize {
    match message {
        Message::User { parts } => parts
            .iter()
            .map(|p| match p {
                UserPart::Image(image) => image_tokens(image.detail(), PHOTO),
                UserPart::Text(_) => 0,
            })
            .sum(),
        _ => 0,
    }
}

#[derive(Default, Clone, Copy)]
struct Counted {
    total: usize,
    image: usize,
    cached: usize,
    completion: usize,
}

impl Counted {
    fn effective(&self) -> f64 {
        (self.total - self.cached) as f64 + self.cached as f64 / 2.0
    }
}

/// OpenAI caches a shared prefix only from 1,024 tokens on, in steps of 128.
fn cacheable(shared: usize) -> usize {
    if shared < 1024 {
        0
    } else {
        1024 + (shared - 1024) / 128 * 128
    }
}

fn count(bpe: &CoreBPE, request: &ChatRequest, earlier: &[ChatRequest]) -> Counted {
    let tokens = |s: &str| bpe.encode_with_special_tokens(s).len();
    let mut tools: usize = request
        .tools
        .iter()
        .map(|t| tokens(&t.name) + tokens(&t.description) + tokens(&t.parameters.to_string()))
        .sum();
    if let Some(format) = &request.response_format {
        tools += tokens(&format.name) + tokens(&format.schema.to_string());
    }
    let per: Vec<usize> = request
        .messages
        .iter()
        .map(|m| tokens(&message_text(m)) + PER_MESSAGE + message_images(m))
        .collect();
    let image: usize = request.messages.iter().map(message_images).sum();
    let shared = earlier
        .iter()
        .filter(|e| e.tools == request.tools && e.response_format == request.response_format)
        .map(|e| {
            e.messages
                .iter()
                .zip(&request.messages)
                .take_while(|(a, b)| a == b)
                .count()
        })
        .max()
        .unwrap_or(0)
        // The system prompt (and tools) are the same for every conversation of the studio.
        .max(1);
    let total = tools + per.iter().sum::<usize>();
    Counted {
        total,
        image,
        cached: cacheable(tools + per[..shared].iter().sum::<usize>()).min(total),
        completion: 0,
    }
}

fn completion_tokens(bpe: &CoreBPE, response: &ChatResponse) -> usize {
    let tokens = |s: &str| bpe.encode_with_special_tokens(s).len();
    response.text.as_deref().map_or(0, tokens)
        + response
            .tool_calls
            .iter()
            .map(|c| tokens(&c.name) + tokens(&c.arguments_text()) + PER_MESSAGE)
            .sum::<usize>()
}

/// List prices in dollars per million tokens: (input, cached input, output).
fn list_price(model: &str) -> (f64, f64, f64) {
    match model {
        "gpt-4o" => (2.50, 1.25, 10.00),
        _ => (0.15, 0.075, 0.60),
    }
}

fn dollars(model: &str, c: &Counted) -> f64 {
    let (input, cached, output) = list_price(model);
    ((c.total - c.cached) as f64 * input + c.cached as f64 * cached + c.completion as f64 * output)
        / 1e6
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
    let calendar = Arc::new(
        EmbeddedCalendar::open_in_memory(Arc::new(profile.clone()), Arc::new(clock.clone()))
            .unwrap(),
    );
    let config = EngineConfig::default();
    let engine = Engine::new(
        profile.clone(),
        EngineDeps {
            model: model.clone(),
            calendar: calendar.clone(),
            holds: Arc::new(MemoryOfferHolds::new()),
            confirmations: Arc::new(MemoryConfirmationStore::new()),
            quotes: Arc::new(inkdesk_assistant::quotes::MemoryQuoteStore::new()),
            fetcher,
            tone,
        },
        config,
    )
    .unwrap();
    let tokens = |s: &str| bpe.encode_with_special_tokens(s).len();
    let schema_tokens: Vec<(String, usize)> = engine
        .tool_definitions()
        .iter()
        .map(|t| {
            (
                t.name.clone(),
                tokens(&t.name) + tokens(&t.description) + tokens(&t.parameters.to_string()),
            )
        })
        .collect();
    println!(
        "Stable prefix: system prompt {} tokens, tool schemas {} ({}).\n",
        tokens(engine.prompts().system()),
        schema_tokens.iter().map(|(_, n)| n).sum::<usize>(),
        schema_tokens
            .iter()
            .map(|(name, n)| format!("{name} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let conversation = ConversationId::parse("bench").unwrap();
    let image_mid = "bench-m1";
    let rose = image_ref(image_mid, 0);

    let mut earlier: Vec<ChatRequest> = Vec::new();
    let mut history: Vec<HistoryEntry> = Vec::new();
    let mut known = HashMap::new();
    let mut all: Vec<(ModelTask, Counted)> = Vec::new();
    println!("| turn | calls | prompt tokens | of which image | cached | effective |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for n in 0..10 {
        let (text, with_image, responses) = script(
            n,
            &rose,
            &booking_id(calendar.as_ref(), &conversation, clock_now(&clock)).await,
        );
        let before = model.requests().len();
        let completions: Vec<usize> = responses
            .iter()
            .map(|r| completion_tokens(&bpe, r))
            .collect();
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
        assert!(
            outcome.handoff.is_none(),
            "turn {} failed: {:?}",
            n + 1,
            outcome.record.failure
        );
        assert_eq!(model.remaining(), 0, "turn {} left script unused", n + 1);
        for a in &outcome.analyses {
            if let ImageAnalysis::Measured(m) = &a.analysis {
                known.insert(image_ref(&a.mid, a.index), m.clone());
            }
        }
        history.extend(outcome.customer_entry.clone());
        history.extend(outcome.assistant_entry(at));
        let requests: Vec<ChatRequest> = model.requests()[before..].to_vec();
        let mut turn = Counted::default();
        for (request, completion) in requests.iter().zip(&completions) {
            let mut c = count(&bpe, request, &earlier);
            c.completion = *completion;
            earlier.push(request.clone());
            turn.total += c.total;
            turn.image += c.image;
            turn.cached += c.cached;
            all.push((request.task, c));
        }
        println!(
            "| {} | {} | {} | {} | {} | {:.0} |",
            n + 1,
            requests.len(),
            turn.total,
            turn.image,
            turn.cached,
            turn.effective(),
        );
        clock.advance(Duration::minutes(2));
    }
    let sum = |f: &dyn Fn(&Counted) -> usize| all.iter().map(|(_, c)| f(c)).sum::<usize>();
    let total = Counted {
        total: sum(&|c| c.total),
        image: sum(&|c| c.image),
        cached: sum(&|c| c.cached),
        completion: sum(&|c| c.completion),
    };
    println!(
        "| all | {} | {} | {} | {} ({:.0} %) | {:.0} |",
        all.len(),
        total.total,
        total.image,
        total.cached,
        100.0 * total.cached as f64 / total.total as f64,
        total.effective()
    );
    let defaults = inkdesk_openai::TaskModels::default();
    let cost: f64 = all
        .iter()
        .map(|(task, c)| dollars(&defaults.for_task(*task).model, c))
        .sum();
    let replies = all.iter().filter(|(t, _)| *t == ModelTask::Default).count();
    println!(
        "\n{replies} reply calls on {}, {} other calls on {}; {} completion tokens; ${cost:.4} per conversation at list prices",
        defaults.default.model,
        all.len() - replies,
        defaults.vision.model,
        total.completion,
    );
}

async fn booking_id(
    calendar: &dyn Calendar,
    conversation: &ConversationId,
    now: chrono::DateTime<Utc>,
) -> String {
    calendar
        .upcoming_for(conversation, now)
        .await
        .unwrap()
        .first()
        .map(|b| b.id.as_str().to_owned())
        .unwrap_or_default()
}

/// Turn `n`: (customer text, with the photo?, scripted model answers).
fn script(n: usize, rose: &str, booking: &str) -> (&'static str, bool, Vec<ChatResponse>) {
    match n {
        0 => ("Γεια σας! Πόσο κοστίζει αυτό το τριαντάφυλλο;", true, vec![
            ChatResponse::text(json!({"is_tattoo_design": true, "description": "τριαντάφυλλο με απαλή σκίαση", "height_cm": 7, "width_cm": 7, "ink_coverage": 0.3, "style": "light_shading"}).to_string()),
            tool("c1", "quote", json!({"pieces": [{"image_ref": rose}]})),
            reply("c2", "Γεια σας! Για αυτό το σχέδιο η τιμή είναι 60 € ή 65 € σε λίγο μεγαλύτερο μέγεθος. ❤️🐼", &["pricing_with_image"]),
        ]),
        1 => ("Τέλεια! Μπορώ την Παρασκευή;", false, vec![
            tool("c3", "check_availability", json!({"from_date": "2026-11-20", "to_date": "2026-11-20", "price": 60})),
            reply("c4", "Την Παρασκευή 20 Νοεμβρίου έχουμε 11:00, 12:00 ή 13:00. Ποια ώρα σας βολεύει; ❤️🐼", &["booking_available_slots"]),
        ]),
        2 => ("Έχετε κάτι πιο απογευματινό;", false, vec![
            tool("c5", "check_availability", json!({"from_date": "2026-11-20", "to_date": "2026-11-20", "preferred_time": "16:00", "price": 60})),
            reply("c6", "Την Παρασκευή έχουμε 16:00, 17:00 ή 18:00. ❤️🐼", &["booking_available_slots"]),
        ]),
        3 => ("Στις 17:00 τότε", false, vec![
            reply("c7", "Τέλεια! Θα χρειαστούμε το ονοματεπώνυμό σας και ένα τηλέφωνο. ❤️🐼", &["booking_new"]),
        ]),
        4 => ("Γιάννης Παπαδόπουλος, 6912345678", false, vec![
            tool("c8", "book_appointment", json!({"date": "2026-11-20", "time": "17:00", "name": "Γιάννης Παπαδόπουλος", "phone": "6912345678", "design": "τριαντάφυλλο με απαλή σκίαση", "quote_id": "q1"})),
            reply("c9", "Κλείσαμε! Παρασκευή 20 Νοεμβρίου στις 17:00. Σας περιμένουμε! ❤️🐼", &["booking_details", "booking_confirmation"]),
        ]),
        5 => ("Πού ακριβώς είστε;", false, vec![
            reply("c10", "Είμαστε στην Αιόλου 42, Αθήνα 105 51. ❤️🐼", &["studio_info"]),
        ]),
        6 => ("Ευχαριστώ πολύ!", false, vec![
            reply("c11", "Εμείς ευχαριστούμε! Τα λέμε την Παρασκευή. ❤️🐼", &["follow_up"]),
        ]),
        7 => ("Μπορώ τελικά να το μεταφέρω το Σάββατο στις 12:00;", false, reschedule_request(booking)),
        8 => ("Ναι, κανονίστε το", false, vec![
            tool("c15", "change_booking", json!({"action": "move", "step": "confirm", "booking_id": booking})),
            reply("c16", "Έγινε! Σας περιμένουμε το Σάββατο 21 Νοεμβρίου στις 12:00. ❤️🐼", &["booking_confirmation"]),
        ]),
        _ => ("Ευχαριστώ, τα λέμε!", false, vec![
            reply("c17", "Να είστε καλά, τα λέμε το Σάββατο! ❤️🐼", &["follow_up"]),
        ]),
    }
}

fn reschedule_request(_booking: &str) -> Vec<ChatResponse> {
    vec![
        tool(
            "c13",
            "change_booking",
            json!({"action": "move", "step": "ask", "new_date": "2026-11-21", "new_time": "12:00"}),
        ),
        reply(
            "c14",
            "Να μεταφέρουμε το ραντεβού σας από την Παρασκευή 20 Νοεμβρίου 17:00 στο Σάββατο 21 Νοεμβρίου 12:00; ❤️🐼",
            &["booking_reschedule"],
        ),
    ]
}

fn clock_now(clock: &ManualClock) -> chrono::DateTime<Utc> {
    use inkdesk_domain::Clock;
    clock.now()
}
