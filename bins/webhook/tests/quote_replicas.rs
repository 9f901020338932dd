//! Quotes live in the shared store (Redis here), so the replica that books is not
//! necessarily the one that quoted: a later turn on another replica, and a turn resumed
//! there after the first replica died mid-turn, both book at the quoted price and length.
//! Each replica has its own engine, model and Redis pool; they share the Redis and the
//! calendar, as replicas do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{Datelike, NaiveDate, Utc, Weekday};
use inkdesk_assistant::confirm::TurnId;
use inkdesk_assistant::history::HistoryEntry;
use inkdesk_assistant::message::CustomerMessage;
use inkdesk_assistant::{Engine, EngineConfig, EngineDeps, TurnInput, TurnOutcome};
use inkdesk_calendar::{Calendar, EmbeddedCalendar};
use inkdesk_domain::{ConversationId, StudioProfile, SystemClock};
use inkdesk_messaging::StaticFetcher;
use inkdesk_openai::{
    ChatModel, ChatRequest, ChatResponse, Message, ModelError, ScriptedModel, ToolCall,
};
use inkdesk_store::testing::redis_server;
use inkdesk_store::{RedisConfig, StoreOptions, Stores};
use inkdesk_webhook::adapters::{StoreConfirmations, StoreOfferHolds, StoreQuotes};
use serde_json::{Value, json};

/// A scripted model that never answers its `hang_at`-th call: the replica running the
/// turn is killed while it waits (its future dropped), like a process that died.
struct Dying {
    script: Arc<ScriptedModel>,
    calls: AtomicUsize,
    hang_at: usize,
}

#[async_trait]
impl ChatModel for Dying {
    async fn complete(&self, request: ChatRequest) -> Result<ChatResponse, ModelError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) + 1 >= self.hang_at {
            std::future::pending::<()>().await;
        }
        self.script.complete(request).await
    }
}

struct Replica {
    engine: Engine,
    script: Arc<ScriptedModel>,
}

async fn stores(redis_url: &str, prefix: &str) -> Stores {
    let options = StoreOptions {
        key_prefix: prefix.to_owned(),
        ..StoreOptions::default()
    };
    for _ in 0..100 {
        if let Ok(s) = Stores::redis(RedisConfig::from_url(redis_url), options.clone()).await {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("redis at {redis_url} never answered");
}

/// A replica on its own Redis pool; `hang_at` makes its model hang at that call.
async fn replica(
    redis_url: &str,
    prefix: &str,
    calendar: Arc<EmbeddedCalendar>,
    hang_at: Option<usize>,
) -> Replica {
    let profile = StudioProfile::example();
    let stores = stores(redis_url, prefix).await;
    let script = Arc::new(ScriptedModel::new());
    let model: Arc<dyn ChatModel> = match hang_at {
        Some(hang_at) => Arc::new(Dying {
            script: script.clone(),
            calls: AtomicUsize::new(0),
            hang_at,
        }),
        None => script.clone(),
    };
    let engine = Engine::new(
        profile.clone(),
        EngineDeps {
            model,
            calendar,
            holds: Arc::new(StoreOfferHolds::new(
                stores.holds.clone(),
                profile.booking.capacity,
            )),
            confirmations: Arc::new(StoreConfirmations::new(stores.keyed.clone())),
            quotes: Arc::new(StoreQuotes::new(stores.keyed.clone())),
            fetcher: Arc::new(StaticFetcher::new()),
            tone: None,
        },
        EngineConfig::default(),
    )
    .unwrap();
    Replica { engine, script }
}

fn calendar() -> Arc<EmbeddedCalendar> {
    Arc::new(
        EmbeddedCalendar::open_in_memory(Arc::new(StudioProfile::example()), Arc::new(SystemClock))
            .unwrap(),
    )
}

fn next_tuesday() -> NaiveDate {
    let profile = StudioProfile::example();
    let mut day = Utc::now().with_timezone(&profile.time_zone).date_naive() + chrono::Days::new(2);
    while day.weekday() != Weekday::Tue {
        day = day.succ_opt().unwrap();
    }
    day
}

fn tools(replica: &Replica, calls: Vec<(&str, Value)>) {
    let calls = calls
        .into_iter()
        .enumerate()
        .map(|(n, (name, args))| ToolCall::new(format!("call_{name}_{n}"), name, args))
        .collect();
    replica.script.push(Ok(ChatResponse::tool_calls(calls)));
}

fn reply(replica: &Replica, text: &str) {
    tools(
        replica,
        vec![(
            "send_reply",
            json!({"text": text, "intents": ["booking_new"]}),
        )],
    );
}

/// 3×8 cm tiny script: 95 € as described (`q1`, 60 min), 105 € a little larger (`q2`).
fn quote() -> (&'static str, Value) {
    (
        "quote",
        json!({"pieces": [{"height_cm": 3, "width_cm": 8, "ink_coverage": 0.2, "style": "tiny_script"}]}),
    )
}

fn book(date: NaiveDate, quote_id: &str) -> (&'static str, Value) {
    (
        "book_appointment",
        json!({"date": date.format("%Y-%m-%d").to_string(), "time": "12:00",
               "name": "Ελένη Μάρκου", "phone": "6972222222", "design": "όνομα στον καρπό",
               "quote_id": quote_id}),
    )
}

async fn turn(
    replica: &Replica,
    conversation: &str,
    turn: &str,
    history: Vec<HistoryEntry>,
) -> TurnOutcome {
    let now = Utc::now();
    replica
        .engine
        .respond(
            TurnInput {
                conversation: ConversationId::parse(conversation).unwrap(),
                turn: TurnId(turn.to_owned()),
                pending: vec![CustomerMessage::text(format!("m_{turn}"), now, "…")],
                history,
                known_images: HashMap::new(),
            },
            now,
        )
        .await
}

fn results(replica: &Replica) -> Vec<Value> {
    replica
        .script
        .last_request()
        .unwrap()
        .messages
        .iter()
        .filter_map(|m| match m {
            Message::ToolResult { content, .. } => Some(serde_json::from_str(content).unwrap()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quote_made_on_one_replica_books_on_another() {
    let Some((redis_url, _redis)) = redis_server::server() else {
        return;
    };
    let prefix = format!("inkdesk-quotes:{}", std::process::id());
    let calendar = calendar();
    let a = replica(&redis_url, &prefix, calendar.clone(), None).await;
    let b = replica(&redis_url, &prefix, calendar.clone(), None).await;
    let day = next_tuesday();

    tools(&a, vec![quote()]);
    reply(&a, "95 € ή 105 € ❤️🐼");
    let first = turn(&a, "8101", "8101-t1", Vec::new()).await;
    assert_eq!(results(&a)[0]["quote_id_slightly_larger"], "q2");

    // The next message lands on replica B, which never saw the quote.
    tools(&b, vec![book(day, "q2")]);
    reply(&b, "Κλείσαμε ❤️🐼");
    let mut history: Vec<HistoryEntry> = first.customer_entry.clone().into_iter().collect();
    history.extend(first.assistant_entry(Utc::now()));
    turn(&b, "8101", "8101-t2", history).await;
    assert_eq!(results(&b)[0]["booked"], true, "{:?}", results(&b));
    let mine = calendar
        .upcoming_for(&ConversationId::parse("8101").unwrap(), Utc::now())
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].price.unwrap().amount().to_string(), "105");
    assert_eq!(mine[0].duration.minutes(), 65);

    // Replica B's quote book is the conversation's, not another one's.
    tools(&b, vec![book(day, "q2")]);
    reply(&b, "Πείτε μας πρώτα το σχέδιο ❤️🐼");
    turn(&b, "8102", "8102-t1", Vec::new()).await;
    assert_eq!(results(&b)[0]["field"], "quote_id", "{:?}", results(&b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_resumed_on_another_replica_after_a_crash_books_at_the_quote() {
    let Some((redis_url, _redis)) = redis_server::server() else {
        return;
    };
    let prefix = format!("inkdesk-quotes-crash:{}", std::process::id());
    let calendar = calendar();
    // Replica A quotes in turn 1; in turn 2 it books, then dies waiting for the model's
    // reply (its fourth call).
    let a = replica(&redis_url, &prefix, calendar.clone(), Some(4)).await;
    let b = replica(&redis_url, &prefix, calendar.clone(), None).await;
    let day = next_tuesday();
    tools(&a, vec![quote()]);
    reply(&a, "95 € ή 105 € ❤️🐼");
    let first = turn(&a, "8201", "8201-t1", Vec::new()).await;
    let mut history: Vec<HistoryEntry> = first.customer_entry.clone().into_iter().collect();
    history.extend(first.assistant_entry(Utc::now()));

    tools(&a, vec![book(day, "q2")]);
    let died = tokio::time::timeout(
        Duration::from_millis(500),
        turn(&a, "8201", "8201-t2", history.clone()),
    )
    .await;
    assert!(died.is_err(), "replica A was meant to die mid-turn");
    assert_eq!(
        a.script.requests().len(),
        3,
        "A booked and asked for its reply"
    );

    // The lease lapses; replica B runs turn 2 again from its start. Its model names the
    // same quote, which B finds in the shared store; the booking A made is found, not
    // made twice, and it is at the quote's price and length.
    tools(&b, vec![book(day, "q2")]);
    reply(&b, "Κλείσαμε ❤️🐼");
    let outcome = turn(&b, "8201", "8201-t2", history).await;
    assert_eq!(
        outcome.record.outcome,
        inkdesk_assistant::engine::TurnOutcomeKind::Replied
    );
    let answers = results(&b);
    assert_eq!(answers[0]["booked"], true, "{answers:?}");
    assert_eq!(answers[0]["price"], "105", "{answers:?}");
    let mine = calendar
        .upcoming_for(&ConversationId::parse("8201").unwrap(), Utc::now())
        .await
        .unwrap();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0].price.unwrap().amount().to_string(), "105");
    assert_eq!(mine[0].duration.minutes(), 65);

    // Asked again in that resumed turn, the same piece keeps its ids.
    tools(&b, vec![quote()]);
    reply(&b, "95 € ή 105 € ❤️🐼");
    turn(&b, "8201", "8201-t3", Vec::new()).await;
    assert_eq!(results(&b)[0]["quote_id_slightly_larger"], "q2");
}
