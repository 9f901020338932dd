//! A whole engine on test doubles: scripted model, in-memory embedded calendar, memory
//! holds and confirmations, static image fetcher; the clock is manual.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use inkdesk_assistant::confirm::{MemoryConfirmationStore, TurnId};
use inkdesk_assistant::engine::NewAnalysis;
use inkdesk_assistant::history::HistoryEntry;
use inkdesk_assistant::holds::MemoryOfferHolds;
use inkdesk_assistant::message::{CustomerMessage, ImageAnalysis, image_ref};
use inkdesk_assistant::quotes::{MemoryQuoteStore, QuoteStore};
use inkdesk_assistant::tone::ToneSource;
use inkdesk_assistant::{Engine, EngineConfig, EngineDeps, TurnInput, TurnOutcome};
use inkdesk_calendar::{Calendar, EmbeddedCalendar};
use inkdesk_domain::{ConversationId, ManualClock, StudioProfile};
use inkdesk_messaging::StaticFetcher;
use inkdesk_openai::{ChatRequest, Message, ScriptedModel, ToolCall};
use serde_json::Value;

/// Wednesday 18 November 2026, 11:30 in Athens.
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 18, 9, 30, 0).unwrap()
}

/// A tiny valid PNG (1×1).
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

/// Shared doubles; one `Harness` per conversation on top of them.
pub struct World {
    pub engine: Arc<Engine>,
    pub model: Arc<ScriptedModel>,
    pub calendar: Arc<EmbeddedCalendar>,
    pub holds: Arc<MemoryOfferHolds>,
    pub confirmations: Arc<MemoryConfirmationStore>,
    pub quotes: Arc<dyn QuoteStore>,
    pub fetcher: Arc<StaticFetcher>,
    pub clock: ManualClock,
}

impl World {
    pub fn new() -> Self {
        Self::with_config(EngineConfig::default())
    }

    pub fn with_config(config: EngineConfig) -> Self {
        Self::build(config, None)
    }

    /// An engine that asks `tone` for tone examples.
    pub fn with_tone(tone: Arc<dyn ToneSource>) -> Self {
        Self::build(EngineConfig::default(), Some(tone))
    }

    /// An engine for `profile` (e.g. one with artists).
    pub fn with_profile(profile: StudioProfile) -> Self {
        Self::build_for(profile, EngineConfig::default(), None)
    }

    fn build(config: EngineConfig, tone: Option<Arc<dyn ToneSource>>) -> Self {
        Self::build_for(StudioProfile::example(), config, tone)
    }

    fn build_for(
        profile: StudioProfile,
        config: EngineConfig,
        tone: Option<Arc<dyn ToneSource>>,
    ) -> Self {
        let clock = ManualClock::new(start());
        let model = Arc::new(ScriptedModel::new());
        let calendar = Arc::new(
            EmbeddedCalendar::open_in_memory(Arc::new(profile.clone()), Arc::new(clock.clone()))
                .unwrap(),
        );
        let holds = Arc::new(MemoryOfferHolds::new());
        let confirmations = Arc::new(MemoryConfirmationStore::new());
        let quotes: Arc<dyn QuoteStore> = Arc::new(MemoryQuoteStore::new());
        let fetcher = Arc::new(StaticFetcher::new());
        let engine = Engine::new(
            profile,
            EngineDeps {
                model: model.clone(),
                calendar: calendar.clone(),
                holds: holds.clone(),
                confirmations: confirmations.clone(),
                quotes: quotes.clone(),
                fetcher: fetcher.clone(),
                tone,
            },
            config,
        )
        .unwrap();
        Self {
            engine: Arc::new(engine),
            model,
            calendar,
            holds,
            confirmations,
            quotes,
            fetcher,
            clock,
        }
    }

    pub fn conversation(&self, id: &str) -> Harness {
        Harness {
            conversation: ConversationId::parse(id).unwrap(),
            history: Vec::new(),
            known_images: HashMap::new(),
            turns: 0,
            next_mid: 0,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        use inkdesk_domain::Clock;
        self.clock.now()
    }

    pub fn advance_minutes(&self, minutes: i64) {
        self.clock.advance(Duration::minutes(minutes));
    }

    /// Scripts one model reply with these tool calls.
    pub fn then_tools(&self, calls: Vec<ToolCall>) {
        self.model
            .push(Ok(inkdesk_openai::ChatResponse::tool_calls(calls)));
    }

    /// Scripts a `send_reply` call.
    pub fn then_reply(&self, text: &str, intents: &[&str]) {
        self.then_tools(vec![call(
            "send_reply",
            serde_json::json!({"text": text, "intents": intents}),
        )]);
    }

    /// Scripts a vision answer.
    pub fn then_vision(&self, json: Value) {
        self.model
            .push(Ok(inkdesk_openai::ChatResponse::text(json.to_string())));
    }

    /// The tool results the model received in its most recent request, by tool call id order.
    pub fn last_tool_results(&self) -> Vec<Value> {
        let request = self.model.last_request().unwrap();
        tool_results(&request)
    }

    pub async fn bookings_of(&self, conversation: &str) -> Vec<inkdesk_calendar::Booking> {
        self.calendar
            .upcoming_for(&ConversationId::parse(conversation).unwrap(), self.now())
            .await
            .unwrap()
    }
}

pub fn tool_results(request: &ChatRequest) -> Vec<Value> {
    request
        .messages
        .iter()
        .filter_map(|m| match m {
            Message::ToolResult { content, .. } => Some(serde_json::from_str(content).unwrap()),
            _ => None,
        })
        .collect()
}

static CALL_IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A tool call with a fresh id.
pub fn call(name: &str, arguments: Value) -> ToolCall {
    let n = CALL_IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    ToolCall::new(format!("call_{n}"), name, arguments)
}

/// A `quote` call for a stated piece priced 95 as measured (`q1`, 60 min) and 105 a
/// little larger (`q2`, 65 min) in a conversation with no earlier quote.
pub fn quote_95() -> ToolCall {
    call(
        "quote",
        serde_json::json!({"pieces": [{"height_cm": 3, "width_cm": 8, "ink_coverage": 0.2, "style": "tiny_script"}]}),
    )
}

/// One customer conversation: keeps its history between turns like the store would.
pub struct Harness {
    pub conversation: ConversationId,
    pub history: Vec<HistoryEntry>,
    pub known_images: HashMap<String, inkdesk_assistant::message::Measurements>,
    turns: u32,
    next_mid: u32,
}

impl Harness {
    pub fn mid(&mut self) -> String {
        self.next_mid += 1;
        format!("{}-m{}", self.conversation, self.next_mid)
    }

    pub fn text(&mut self, world: &World, text: &str) -> CustomerMessage {
        let mid = self.mid();
        CustomerMessage::text(mid, world.now(), text)
    }

    pub fn image(&mut self, world: &World, url: &str) -> CustomerMessage {
        world.fetcher.insert(url, PNG.to_vec());
        let mid = self.mid();
        CustomerMessage::image(mid, world.now(), url)
    }

    /// Runs a turn with `pending`, then records the burst and the reply in the history.
    pub async fn turn(&mut self, world: &World, pending: Vec<CustomerMessage>) -> TurnOutcome {
        self.turns += 1;
        let turn = TurnId(format!("{}-t{}", self.conversation, self.turns));
        self.turn_with_id(world, turn, pending).await
    }

    /// Runs a turn under the given id (running one id twice is a retried or resumed turn).
    pub async fn turn_with_id(
        &mut self,
        world: &World,
        turn: TurnId,
        pending: Vec<CustomerMessage>,
    ) -> TurnOutcome {
        let input = TurnInput {
            conversation: self.conversation.clone(),
            turn,
            pending,
            history: self.history.clone(),
            known_images: self.known_images.clone(),
        };
        let outcome = world.engine.respond(input, world.now()).await;
        for NewAnalysis {
            mid,
            index,
            analysis,
        } in &outcome.analyses
        {
            if let ImageAnalysis::Measured(m) = analysis {
                self.known_images.insert(image_ref(mid, *index), m.clone());
            }
        }
        if let Some(entry) = &outcome.customer_entry {
            self.history.push(entry.clone());
        }
        if let Some(entry) = outcome.assistant_entry(world.now()) {
            self.history.push(entry);
        }
        outcome
    }
}
