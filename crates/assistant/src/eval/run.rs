//! Running one scenario: a fresh engine on an in-memory calendar with the scenario's
//! entries, a fixed clock moved forward turn by turn, and either the scenario's script or
//! the configured model.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use inkdesk_calendar::{Booking, Calendar, EmbeddedCalendar, NewBooking};
use inkdesk_domain::schedule::resolve_local;
use inkdesk_domain::{
    AppointmentDuration, Clock, ConversationId, CustomerName, FreeText, Language, ManualClock,
    PhoneNumber, Price, StudioProfile,
};
use inkdesk_messaging::StaticFetcher;
use inkdesk_openai::{ChatModel, ChatResponse, ScriptedModel, ToolCall};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::checks::{Check, Known, TurnView, check_turn};
use super::scenario::{Owner, Scenario, ScriptStep};
use crate::confirm::{MemoryConfirmationStore, TurnId};
use crate::engine::{ToolRecord, TurnOutcomeKind};
use crate::holds::MemoryOfferHolds;
use crate::message::{CustomerMessage, ImageAnalysis, image_ref};
use crate::{Engine, EngineConfig, EngineDeps, TurnInput};

/// Which model answers.
#[derive(Clone)]
pub enum EvalModel {
    /// Each scenario's own script (checks the engine and the checks, not a model).
    Scripted,
    /// A real model (the configured one); scripts are ignored.
    Live(Arc<dyn ChatModel>),
}

impl std::fmt::Debug for EvalModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Scripted => f.write_str("Scripted"),
            Self::Live(_) => f.write_str("Live"),
        }
    }
}

/// A scenario that could not be set up (a bad entry, an unreadable image or profile).
#[derive(Debug, thiserror::Error)]
#[error("{scenario}: {message}")]
pub struct SetupError {
    /// The scenario's name.
    pub scenario: String,
    /// What is wrong.
    pub message: String,
}

/// One turn as it went.
#[derive(Debug, Clone)]
pub struct TurnResult {
    /// What the customer sent, one line per message.
    pub customer: Vec<String>,
    /// The tool calls.
    pub tools: Vec<ToolRecord>,
    /// The reply.
    pub reply: Option<String>,
    /// The outcome.
    pub outcome: TurnOutcomeKind,
    /// The checks.
    pub checks: Vec<Check>,
    /// Prompt tokens the model reported over the turn's calls.
    pub prompt_tokens: u32,
    /// Of which cached.
    pub cached_tokens: u32,
}

/// One scenario as it went.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    /// Its name.
    pub name: String,
    /// Its language.
    pub language: Language,
    /// Its turns.
    pub turns: Vec<TurnResult>,
}

impl ScenarioResult {
    /// Checks that held, and all checks.
    pub fn score(&self) -> (usize, usize) {
        let all = self.turns.iter().flat_map(|t| &t.checks);
        let total = all.clone().count();
        (all.filter(|c| c.passed).count(), total)
    }

    /// Every check held.
    pub fn passed(&self) -> bool {
        let (ok, total) = self.score();
        ok == total
    }
}

const CUSTOMER: &str = "eval-customer";
const OTHER: &str = "eval-other";

/// Runs `scenario` on `profile` (unless the scenario names its own) with `model`.
pub async fn run_scenario(
    scenario: &Scenario,
    profile: &StudioProfile,
    config: &EngineConfig,
    model: &EvalModel,
) -> Result<ScenarioResult, SetupError> {
    let fail = |message: String| SetupError {
        scenario: scenario.name.clone(),
        message,
    };
    let profile = match &scenario.studio {
        None => profile.clone(),
        Some(path) => {
            let path = scenario.base_dir().join(path);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| fail(format!("studio {}: {e}", path.display())))?;
            StudioProfile::from_toml_str(&text)
                .map_err(|e| fail(format!("studio {}: {e}", path.display())))?
        }
    };
    let start = local(&profile, scenario.now).map_err(|e| fail(format!("now: {e}")))?;
    let clock = ManualClock::new(start);
    let calendar = Arc::new(
        EmbeddedCalendar::open_in_memory(Arc::new(profile.clone()), Arc::new(clock.clone()))
            .map_err(|e| fail(format!("calendar: {e}")))?,
    );
    let customer = ConversationId::parse(CUSTOMER).map_err(|e| fail(e.to_string()))?;
    let other = ConversationId::parse(OTHER).map_err(|e| fail(e.to_string()))?;

    let mut known = Known::from_profile(&profile);
    let mut booking_ids = Vec::new();
    let mut others: Vec<Booking> = Vec::new();
    for (n, entry) in scenario.calendar.iter().enumerate() {
        let at = |m: String| fail(format!("calendar entry {}: {m}", n + 1));
        let start = local(&profile, entry.date.and_time(entry.time)).map_err(at)?;
        let max = profile.pricing.max_price;
        let booking = NewBooking {
            conversation: match entry.owner {
                Owner::Customer => customer.clone(),
                Owner::Other => other.clone(),
            },
            customer: CustomerName::parse(&entry.name).map_err(|e| at(e.to_string()))?,
            phone: PhoneNumber::parse(&entry.phone, profile.phone_region)
                .map_err(|e| at(e.to_string()))?,
            design: entry
                .design
                .as_deref()
                .map(FreeText::parse)
                .transpose()
                .map_err(|e| at(e.to_string()))?,
            price: entry
                .price
                .map(|p| Price::new(Decimal::from(p), max))
                .transpose()
                .map_err(|e| at(e.to_string()))?,
            start,
            duration: AppointmentDuration::from_minutes(
                i64::from(entry.minutes),
                profile.booking.max_appointment_minutes,
            )
            .map_err(|e| at(e.to_string()))?,
            artist: None,
            idempotency_key: None,
            deposit: None,
            sms_consent: false,
        };
        let made = calendar
            .create(booking)
            .await
            .map_err(|e| at(e.to_string()))?;
        known.add_time(
            made.start
                .with_timezone(&profile.time_zone)
                .format("%H:%M")
                .to_string(),
        );
        if let Some(p) = made.price {
            known.add_amount(p.amount());
        }
        booking_ids.push(made.id.as_str().to_owned());
        if entry.owner == Owner::Other {
            others.push(made);
        }
    }

    let fetcher = Arc::new(StaticFetcher::new());
    let scripted = Arc::new(ScriptedModel::new());
    let chat_model: Arc<dyn ChatModel> = match model {
        EvalModel::Scripted => scripted.clone(),
        EvalModel::Live(m) => m.clone(),
    };
    let engine = Engine::new(
        profile.clone(),
        EngineDeps {
            model: chat_model,
            calendar: calendar.clone(),
            holds: Arc::new(MemoryOfferHolds::new()),
            confirmations: Arc::new(MemoryConfirmationStore::new()),
            quotes: Arc::new(crate::quotes::MemoryQuoteStore::new()),
            fetcher: fetcher.clone(),
            tone: None,
        },
        config.clone(),
    )
    .map_err(|e| fail(e.to_string()))?;

    let mut history = Vec::new();
    let mut known_images = HashMap::new();
    let mut image_refs: Vec<String> = Vec::new();
    let mut turns = Vec::new();
    for (n, turn) in scenario.turns.iter().enumerate() {
        clock.advance(Duration::minutes(i64::from(turn.after_minutes)));
        let now = clock.now();
        let mut pending = Vec::new();
        let mut customer_lines = Vec::new();
        for (k, path) in turn.images.iter().enumerate() {
            let file = scenario.base_dir().join(path);
            let bytes = std::fs::read(&file)
                .map_err(|e| fail(format!("turn {}: image {}: {e}", n + 1, file.display())))?;
            let mid = format!("{CUSTOMER}-t{}-i{k}", n + 1);
            let url = format!("https://eval.invalid/{mid}");
            fetcher.insert(url.clone(), bytes);
            image_refs.push(image_ref(&mid, 0));
            customer_lines.push(format!("[image {}]", path.display()));
            pending.push(CustomerMessage::image(mid, now, url));
        }
        for (k, line) in turn.say.iter().enumerate() {
            known.add_customer_text(line);
            customer_lines.push(line.clone());
            pending.push(CustomerMessage::text(
                format!("{CUSTOMER}-t{}-m{k}", n + 1),
                now,
                line,
            ));
        }
        let placeholders = Placeholders {
            images: &image_refs,
            bookings: &booking_ids,
        };
        if matches!(model, EvalModel::Scripted) {
            for (k, step) in turn.script.iter().enumerate() {
                scripted.push(Ok(scripted_response(
                    step,
                    &placeholders,
                    &format!("t{}s{k}", n + 1),
                )));
            }
        }

        let outcome = engine
            .respond(
                TurnInput {
                    conversation: customer.clone(),
                    turn: TurnId(format!("{CUSTOMER}-t{}", n + 1)),
                    pending,
                    history: history.clone(),
                    known_images: known_images.clone(),
                },
                now,
            )
            .await;
        for analysis in &outcome.analyses {
            if let ImageAnalysis::Measured(m) = &analysis.analysis {
                known_images.insert(image_ref(&analysis.mid, analysis.index), m.clone());
            }
        }
        history.extend(outcome.customer_entry.clone());
        history.extend(outcome.assistant_entry(now));

        let mine = calendar
            .upcoming_for(&customer, now)
            .await
            .map_err(|e| fail(format!("calendar: {e}")))?;
        let bookings: Vec<(String, String)> = mine
            .iter()
            .map(|b| {
                let local = b.start.with_timezone(&profile.time_zone);
                (
                    local.format("%Y-%m-%d").to_string(),
                    local.format("%H:%M").to_string(),
                )
            })
            .collect();
        let booking_prices: Vec<Option<rust_decimal::Decimal>> =
            mine.iter().map(|b| b.price.map(|p| p.amount())).collect();
        let others_unchanged = others_as_seeded(calendar.as_ref(), &others).await;

        let record = &outcome.record;
        let handoff = outcome.handoff.as_ref().map(|h| h.reason);
        let expect = placeholders.expect(&turn.expect);
        // Checks compare against what was known before this turn's own tool answers,
        // plus those answers.
        for tool in &record.tools {
            known.add_tool_result(&tool.result);
        }
        let view = TurnView {
            reply: outcome.reply.as_deref(),
            outcome: &record.outcome,
            handoff,
            tools: &record.tools,
            bookings: &bookings,
            booking_prices: &booking_prices,
            others_unchanged,
            script_left: matches!(model, EvalModel::Scripted).then(|| scripted.remaining()),
        };
        let language = turn.expect.language.unwrap_or(scenario.language).into();
        let checks = check_turn(&view, &expect, language, &known, &profile);
        // A scripted answer left over belongs to this turn: do not let it leak into the next.
        scripted.discard_remaining();
        turns.push(TurnResult {
            customer: customer_lines,
            tools: record.tools.clone(),
            reply: outcome.reply.clone(),
            outcome: record.outcome,
            checks,
            prompt_tokens: record.prompt_tokens(),
            cached_tokens: record.model_calls.iter().map(|c| c.cached_tokens).sum(),
        });
    }
    Ok(ScenarioResult {
        name: scenario.name.clone(),
        language: scenario.language.into(),
        turns,
    })
}

fn local(profile: &StudioProfile, at: NaiveDateTime) -> Result<DateTime<Utc>, String> {
    resolve_local(profile.time_zone, at.date(), at.time())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| e.to_string())
}

async fn others_as_seeded(calendar: &dyn Calendar, seeded: &[Booking]) -> Result<(), String> {
    for booking in seeded {
        match calendar.get(&booking.id).await {
            Ok(now) if now.start == booking.start && now.duration == booking.duration => {}
            Ok(now) => {
                return Err(format!(
                    "another customer's booking {} moved to {}",
                    booking.id, now.start
                ));
            }
            Err(e) => {
                return Err(format!(
                    "another customer's booking {} is gone: {e}",
                    booking.id
                ));
            }
        }
    }
    Ok(())
}

struct Placeholders<'a> {
    images: &'a [String],
    bookings: &'a [String],
}

impl Placeholders<'_> {
    fn fill(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.fill_str(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.fill(v)).collect()),
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), self.fill(v))).collect())
            }
            other => other.clone(),
        }
    }

    fn fill_str(&self, s: &str) -> String {
        let lookup = |prefix: &str, list: &[String]| {
            s.strip_prefix(prefix)
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|n| n.checked_sub(1))
                .and_then(|i| list.get(i).cloned())
        };
        lookup("$img", self.images)
            .or_else(|| lookup("$booking", self.bookings))
            .unwrap_or_else(|| s.to_owned())
    }

    fn expect(&self, expect: &super::scenario::Expect) -> super::scenario::Expect {
        let mut filled = expect.clone();
        for tool in &mut filled.tools {
            tool.args = self.fill(&tool.args);
        }
        filled
    }
}

fn scripted_response(step: &ScriptStep, placeholders: &Placeholders<'_>, id: &str) -> ChatResponse {
    if let Some(vision) = &step.vision {
        return ChatResponse::text(vision.to_string());
    }
    if let Some(text) = &step.reply {
        return ChatResponse::tool_calls(vec![ToolCall::new(
            format!("{id}-reply"),
            crate::tools::schema::SEND_REPLY,
            json!({"text": text, "intents": step.intents}),
        )]);
    }
    let calls = step
        .tools
        .iter()
        .flatten()
        .enumerate()
        .map(|(k, t)| ToolCall::new(format!("{id}-{k}"), &t.name, placeholders.fill(&t.args)))
        .collect();
    ChatResponse::tool_calls(calls)
}
