//! Two replicas booking on one Google calendar: each has its own engine, its own Google
//! client (so nothing in one process serialises them) and its own Redis connection pool
//! over one real Redis, whose slot holds are the only thing they share. The calendar is
//! the stateful fake of `inkdesk-calendar`'s tests, its listings slowed so that both
//! replicas read the calendar before either inserts — the race the holds must decide.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../crates/calendar/tests/support/fake_google.rs"]
mod fake_google;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use fake_google::FakeGoogle;
use inkdesk_assistant::confirm::{MemoryConfirmationStore, TurnId};
use inkdesk_assistant::message::CustomerMessage;
use inkdesk_assistant::{Engine, EngineConfig, EngineDeps, TurnInput, TurnOutcome};
use inkdesk_calendar::google::RetryPolicy;
use inkdesk_calendar::{Credentials, GoogleCalendar, GoogleConfig, Interval};
use inkdesk_domain::{ConversationId, StudioProfile, SystemClock};
use inkdesk_messaging::StaticFetcher;
use inkdesk_openai::{ChatResponse, Message, ScriptedModel, ToolCall};
use inkdesk_store::testing::redis_server;
use inkdesk_store::{RedisConfig, StoreOptions, Stores};
use inkdesk_webhook::adapters::{StoreOfferHolds, StoreQuotes};
use serde_json::{Value, json};

const CALENDAR_ID: &str = "studio@group.calendar.google.com";

/// One replica: an engine on its own Google client and its own Redis pool.
struct Replica {
    engine: Engine,
    model: Arc<ScriptedModel>,
}

fn google(fake: &FakeGoogle, profile: &StudioProfile) -> GoogleCalendar {
    let token = json!({
        "token": "ya29.stale", "refresh_token": "1//refresh",
        "token_uri": format!("{}/token", fake.server.uri()),
        "client_id": "123-test.apps.googleusercontent.com", "client_secret": "GOCSPX-test",
        "scopes": ["https://www.googleapis.com/auth/calendar"], "expiry": "2020-01-01T00:00:00Z"
    });
    let credentials = Credentials::from_token_json(&token.to_string(), None).unwrap();
    let mut config =
        GoogleConfig::new(CALENDAR_ID).with_api_base(fake.server.uri().parse().unwrap());
    config.retry = RetryPolicy {
        max_retries: 2,
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(1),
    };
    GoogleCalendar::new(
        config,
        credentials,
        Arc::new(profile.clone()),
        Arc::new(SystemClock),
    )
    .unwrap()
}

async fn replica(redis_url: &str, prefix: &str, fake: &FakeGoogle) -> Replica {
    replica_of(StudioProfile::example(), redis_url, prefix, fake).await
}

async fn replica_of(
    profile: StudioProfile,
    redis_url: &str,
    prefix: &str,
    fake: &FakeGoogle,
) -> Replica {
    let options = StoreOptions {
        key_prefix: prefix.to_owned(),
        ..StoreOptions::default()
    };
    let mut stores = None;
    // Redis may need a moment after the process starts.
    for _ in 0..100 {
        if let Ok(s) = Stores::redis(RedisConfig::from_url(redis_url), options.clone()).await {
            stores = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stores = stores.unwrap_or_else(|| panic!("redis at {redis_url} never answered"));
    let model = Arc::new(ScriptedModel::new());
    let engine = Engine::new(
        profile.clone(),
        EngineDeps {
            model: model.clone(),
            calendar: Arc::new(google(fake, &profile)),
            holds: Arc::new(StoreOfferHolds::new(
                stores.holds.clone(),
                profile.booking.capacity,
            )),
            confirmations: Arc::new(MemoryConfirmationStore::new()),
            quotes: Arc::new(StoreQuotes::new(stores.keyed.clone())),
            fetcher: Arc::new(StaticFetcher::new()),
            tone: None,
        },
        EngineConfig::default(),
    )
    .unwrap();
    Replica { engine, model }
}

/// The first Tuesday at least two days from now in Athens (the studio is open, the
/// notice is respected, the holds' index keeps it).
fn next_tuesday(profile: &StudioProfile) -> NaiveDate {
    let mut day = Utc::now().with_timezone(&profile.time_zone).date_naive() + chrono::Days::new(2);
    while day.weekday() != Weekday::Tue {
        day = day.succ_opt().unwrap();
    }
    day
}

fn athens(profile: &StudioProfile, day: NaiveDate, hour: u32) -> DateTime<Utc> {
    inkdesk_domain::schedule::resolve_local(
        profile.time_zone,
        day,
        chrono::NaiveTime::from_hms_opt(hour, 0, 0).unwrap(),
    )
    .unwrap()
    .with_timezone(&Utc)
}

fn call(id: &str, name: &str, arguments: Value) -> ToolCall {
    ToolCall::new(id, name, arguments)
}

/// Scripts the model of `replica` for one booking turn: book, then reply.
fn script_booking(replica: &Replica, date: &str, name: &str, phone: &str) {
    script_booking_with(
        replica,
        json!({"date": date, "time": "11:00", "name": name, "phone": phone,
                   "design": "μικρό κλαδί ελιάς", "quote_id": "g7b"}),
    );
}

/// Scripts one booking turn with these `book_appointment` arguments.
fn script_booking_with(replica: &Replica, arguments: Value) {
    let phone = arguments["phone"].as_str().unwrap_or("x").to_owned();
    replica.model.push(Ok(ChatResponse::tool_calls(vec![call(
        &format!("call_book_{phone}"),
        "book_appointment",
        arguments,
    )])));
    replica.model.push(Ok(ChatResponse::tool_calls(vec![call(
        &format!("call_reply_{phone}"),
        "send_reply",
        json!({"text": "Σας απαντάμε αμέσως ❤️🐼", "intents": ["booking_new"]}),
    )])));
}

async fn turn(replica: &Replica, conversation: &str, turn: &str, text: &str) -> TurnOutcome {
    let now = Utc::now();
    let input = TurnInput {
        conversation: ConversationId::parse(conversation).unwrap(),
        turn: TurnId(turn.to_owned()),
        pending: vec![CustomerMessage::text(format!("m_{turn}"), now, text)],
        history: Vec::new(),
        known_images: HashMap::new(),
    };
    replica.engine.respond(input, now).await
}

/// What the booking tool answered in this replica's turn.
fn booking_result(replica: &Replica) -> Value {
    let request = replica.model.last_request().unwrap();
    let results: Vec<Value> = request
        .messages
        .iter()
        .filter_map(|m| match m {
            Message::ToolResult { content, .. } => Some(serde_json::from_str(content).unwrap()),
            _ => None,
        })
        .collect();
    assert_eq!(results.len(), 1, "{results:?}");
    results[0].clone()
}

/// The live events inkdesk made, as the fake stores them.
fn bookings_in(fake: &FakeGoogle) -> Vec<Value> {
    fake.live_ids()
        .iter()
        .filter_map(|id| fake.event(id))
        .filter(|e| e["extendedProperties"]["private"]["inkdeskConversation"].is_string())
        .collect()
}

/// Starts Redis, the fake and two replicas; the studio's own entry fills one of the two
/// units at 11:00 on `day`.
async fn setup(
    prefix: &str,
) -> Option<(
    Replica,
    Replica,
    FakeGoogle,
    NaiveDate,
    Option<redis_server::RedisServer>,
)> {
    let (redis_url, redis) = redis_server::server()?;
    let fake = FakeGoogle::start(50).await;
    let profile = StudioProfile::example();
    assert_eq!(profile.booking.capacity, 2);
    let day = next_tuesday(&profile);
    let local = |h: u32| {
        athens(&profile, day, h)
            .with_timezone(&profile.time_zone)
            .to_rfc3339()
    };
    fake.seed(json!({
        "summary": "Artist consultation",
        "start": {"dateTime": local(11)},
        "end": {"dateTime": local(12)}
    }));
    let a = replica(&redis_url, prefix, &fake).await;
    let b = replica(&redis_url, prefix, &fake).await;
    // Wide enough that both replicas' reads happen before either insert.
    fake.set_list_delay(Duration::from_millis(250));
    Some((a, b, fake, day, redis))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_racing_for_the_last_slot_make_one_booking_and_the_other_gets_alternatives() {
    let prefix = format!("inkdesk-race:{}", std::process::id());
    let Some((a, b, fake, day, _redis)) = setup(&prefix).await else {
        return;
    };
    let date = day.format("%Y-%m-%d").to_string();
    script_booking(&a, &date, "Άννα Παπά", "6912345671");
    script_booking(&b, &date, "Βασίλης Κ", "6912345672");

    let (outcome_a, outcome_b) = tokio::join!(
        turn(&a, "7001", "7001-t1", "Τρίτη 11:00, Άννα Παπά 6912345671"),
        turn(&b, "7002", "7002-t1", "Τρίτη 11:00, Βασίλης Κ 6912345672"),
    );
    for outcome in [&outcome_a, &outcome_b] {
        assert_eq!(
            outcome.record.outcome,
            inkdesk_assistant::engine::TurnOutcomeKind::Replied,
            "{:?}",
            outcome.record
        );
    }

    let bookings = bookings_in(&fake);
    assert_eq!(bookings.len(), 1, "{bookings:#?}");
    let (ra, rb) = (booking_result(&a), booking_result(&b));
    let (won, lost) = if ra["booked"] == true {
        (ra, rb)
    } else {
        (rb, ra)
    };
    assert_eq!(won["booked"], true, "{won}");
    assert_eq!(won["booking_id"], bookings[0]["id"]);
    assert_eq!(lost["error"], "slot_taken", "{lost}");
    let profile = StudioProfile::example();
    let taken = Interval::new(athens(&profile, day, 11), athens(&profile, day, 12));
    let alternatives = lost["alternatives"].as_array().unwrap();
    assert!(!alternatives.is_empty(), "{lost}");
    for slot in alternatives {
        let (date, time) = slot.as_str().unwrap().split_once(' ').unwrap();
        let start = inkdesk_domain::schedule::resolve_local(
            profile.time_zone,
            date.parse().unwrap(),
            chrono::NaiveTime::parse_from_str(time, "%H:%M").unwrap(),
        )
        .unwrap()
        .with_timezone(&Utc);
        let offered = Interval::new(start, start + chrono::Duration::minutes(60));
        assert!(!offered.overlaps(&taken), "{slot} overlaps the taken slot");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_turn_run_on_both_replicas_at_once_books_once() {
    let prefix = format!("inkdesk-race-same:{}", std::process::id());
    let Some((a, b, fake, day, _redis)) = setup(&prefix).await else {
        return;
    };
    let date = day.format("%Y-%m-%d").to_string();
    // The same turn (a lease that lapsed while the first replica still ran it).
    script_booking(&a, &date, "Άννα Παπά", "6912345671");
    script_booking(&b, &date, "Άννα Παπά", "6912345671");
    let text = "Τρίτη 11:00, Άννα Παπά 6912345671";
    tokio::join!(
        turn(&a, "7001", "7001-t1", text),
        turn(&b, "7001", "7001-t1", text)
    );
    let bookings = bookings_in(&fake);
    assert_eq!(bookings.len(), 1, "{bookings:#?}");
    for result in [booking_result(&a), booking_result(&b)] {
        assert_eq!(result["booked"], true, "{result}");
        assert_eq!(result["booking_id"], bookings[0]["id"]);
    }
}

/// A studio with two artists, both free: two replicas booking the same artist for the same
/// hour at once make one booking of that artist (Google takes any insert, so the holds
/// must decide), and the other customer is told the slot is taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_booking_the_same_artist_at_once_book_that_artist_once() {
    let Some((redis_url, _redis)) = redis_server::server() else {
        return;
    };
    let prefix = format!("inkdesk-race-artist:{}", std::process::id());
    let fake = FakeGoogle::start(50).await;
    let mut profile = StudioProfile::example();
    for (key, name) in [("maria", "Μαρία"), ("nikos", "Νίκος")] {
        profile.artists.push(inkdesk_domain::profile::Artist {
            key: inkdesk_domain::ArtistKey::parse(key).unwrap(),
            name: name.to_owned(),
            styles: Vec::new(),
            hours: inkdesk_domain::profile::HoursOverride::default(),
            google_calendar_id: None,
        });
    }
    let a = replica_of(profile.clone(), &redis_url, &prefix, &fake).await;
    let b = replica_of(profile.clone(), &redis_url, &prefix, &fake).await;
    fake.set_list_delay(Duration::from_millis(250));
    let date = next_tuesday(&profile).format("%Y-%m-%d").to_string();
    for (replica, name, phone) in [
        (&a, "Άννα Παπά", "6912345671"),
        (&b, "Βασίλης Κ", "6912345672"),
    ] {
        script_booking_with(
            replica,
            json!({"date": date, "time": "11:00", "name": name, "phone": phone,
                   "design": "μικρό κλαδί ελιάς", "quote_id": "g7b", "artist": "maria"}),
        );
    }
    let (_, _) = tokio::join!(
        turn(&a, "7101", "7101-t1", "Τρίτη 11:00 με τη Μαρία"),
        turn(&b, "7102", "7102-t1", "Τρίτη 11:00 με τη Μαρία"),
    );
    let bookings = bookings_in(&fake);
    assert_eq!(bookings.len(), 1, "Μαρία booked twice: {bookings:#?}");
    assert_eq!(
        bookings[0]["extendedProperties"]["private"]["inkdeskArtist"], "maria",
        "{bookings:#?}"
    );
    let results = [booking_result(&a), booking_result(&b)];
    assert_eq!(
        results.iter().filter(|r| r["booked"] == true).count(),
        1,
        "{results:?}"
    );
    assert!(
        results.iter().any(|r| r["error"] == "slot_taken"),
        "{results:?}"
    );
}

/// The two-artist studio of the test above, on two replicas.
async fn two_artist_replicas(
    prefix: &str,
) -> Option<(
    Replica,
    Replica,
    FakeGoogle,
    String,
    Option<redis_server::RedisServer>,
)> {
    let (redis_url, redis) = redis_server::server()?;
    let fake = FakeGoogle::start(50).await;
    let mut profile = StudioProfile::example();
    for (key, name) in [("maria", "Μαρία"), ("nikos", "Νίκος")] {
        profile.artists.push(inkdesk_domain::profile::Artist {
            key: inkdesk_domain::ArtistKey::parse(key).unwrap(),
            name: name.to_owned(),
            styles: Vec::new(),
            hours: inkdesk_domain::profile::HoursOverride::default(),
            google_calendar_id: None,
        });
    }
    let a = replica_of(profile.clone(), &redis_url, prefix, &fake).await;
    let b = replica_of(profile.clone(), &redis_url, prefix, &fake).await;
    fake.set_list_delay(Duration::from_millis(250));
    let date = next_tuesday(&profile).format("%Y-%m-%d").to_string();
    Some((a, b, fake, date, redis))
}

/// Holds carry the artist: two replicas booking *different* artists for the same hour at
/// once both book, each with the artist asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_booking_different_artists_at_once_both_book() {
    let prefix = format!("inkdesk-race-two-artists:{}", std::process::id());
    let Some((a, b, fake, date, _redis)) = two_artist_replicas(&prefix).await else {
        return;
    };
    for (replica, name, phone, artist) in [
        (&a, "Άννα Παπά", "6912345671", "maria"),
        (&b, "Βασίλης Κ", "6912345672", "nikos"),
    ] {
        script_booking_with(
            replica,
            json!({"date": date, "time": "11:00", "name": name, "phone": phone,
                   "design": "μικρό κλαδί ελιάς", "quote_id": "g7b", "artist": artist}),
        );
    }
    tokio::join!(
        turn(&a, "7201", "7201-t1", "Τρίτη 11:00 με τη Μαρία"),
        turn(&b, "7202", "7202-t1", "Τρίτη 11:00 με τον Νίκο"),
    );
    let results = [booking_result(&a), booking_result(&b)];
    assert!(results.iter().all(|r| r["booked"] == true), "{results:?}");
    let mut artists: Vec<String> = bookings_in(&fake)
        .iter()
        .map(|e| {
            e["extendedProperties"]["private"]["inkdeskArtist"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    artists.sort();
    assert_eq!(artists, ["maria", "nikos"]);
}

/// Two replicas booking the same hour with no artist named at once: each reserves the
/// first artist whose hold it wins, so they get one artist each, never the same one twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_booking_any_artist_at_once_get_one_artist_each() {
    let prefix = format!("inkdesk-race-any-artist:{}", std::process::id());
    let Some((a, b, fake, date, _redis)) = two_artist_replicas(&prefix).await else {
        return;
    };
    script_booking(&a, &date, "Άννα Παπά", "6912345671");
    script_booking(&b, &date, "Βασίλης Κ", "6912345672");
    tokio::join!(
        turn(&a, "7301", "7301-t1", "Τρίτη 11:00"),
        turn(&b, "7302", "7302-t1", "Τρίτη 11:00"),
    );
    let results = [booking_result(&a), booking_result(&b)];
    assert!(results.iter().all(|r| r["booked"] == true), "{results:?}");
    let mut artists: Vec<String> = bookings_in(&fake)
        .iter()
        .map(|e| {
            e["extendedProperties"]["private"]["inkdeskArtist"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    artists.sort();
    assert_eq!(artists, ["maria", "nikos"]);
}
