//! The conformance suite against a real Redis, plus outage behaviour.
//!
//! Each test starts its own `redis-server` on a free port (stopped when the test's harness
//! drops), or uses `REDIS_URL` when set. Without a `redis-server` binary the tests print
//! `SKIPPED: redis-server not found` and pass, unless `INKDESK_REQUIRE_REDIS=1`, where they fail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use inkdesk_domain::SystemClock;
use inkdesk_store::testing::redis_server::{RedisServer, free_port, own_server, server};
use inkdesk_store::testing::{Harness, conv};
use inkdesk_store::{Health, Inbox, RedisConfig, RedisStore, StoreError, StoreOptions, Stores};

/// Connects, retrying while the fresh server starts up.
async fn stores(url: &str, options: StoreOptions) -> Stores {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match Stores::redis(RedisConfig::from_url(url), options.clone()).await {
            Ok(stores) => return stores,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("redis at {url} never answered: {e:?}"),
        }
    }
}

async fn harness(options: StoreOptions) -> Option<Harness> {
    let (url, server) = server()?;
    let stores = stores(&url, options).await;
    Some(Harness::real(stores, server.map(|s| Box::new(s) as _)))
}

inkdesk_store::conformance_suite!(redis, harness);

fn quick(url: &str) -> RedisConfig {
    RedisConfig {
        wait_timeout: Duration::from_millis(500),
        connect_timeout: Duration::from_millis(500),
        recycle_timeout: Duration::from_millis(500),
        command_timeout: Duration::from_secs(1),
        ..RedisConfig::from_url(url)
    }
}

#[tokio::test]
async fn closed_port_gives_unavailable_quickly() {
    let url = format!("redis://127.0.0.1:{}", free_port());
    let started = Instant::now();
    let err = Stores::redis(quick(&url), StoreOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let store =
        RedisStore::connect(&quick(&url), Arc::new(SystemClock), StoreOptions::default()).unwrap();
    let err = store
        .push(&conv("c"), pending(), Duration::ZERO)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn silent_server_times_out_instead_of_hanging() {
    // Accepts TCP connections (kernel backlog) but never answers a byte.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "redis://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    let store =
        RedisStore::connect(&quick(&url), Arc::new(SystemClock), StoreOptions::default()).unwrap();
    let started = Instant::now();
    let err = store.ping().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    drop(listener);
}

#[tokio::test]
async fn pool_recovers_after_redis_restarts() {
    // Needs a server of its own to stop, even when REDIS_URL names a shared one.
    let Some(server) = own_server() else {
        return;
    };
    let (url, port) = (server.url(), server.port());
    let store =
        RedisStore::connect(&quick(&url), Arc::new(SystemClock), StoreOptions::default()).unwrap();
    wait_for(&store).await;
    drop(server);
    let err = store.ping().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let _again = RedisServer::start_on(port).unwrap();
    wait_for(&store).await;
    store
        .push(&conv("after"), pending(), Duration::ZERO)
        .await
        .unwrap();
}

async fn wait_for(store: &RedisStore) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.ping().await.is_err() {
        assert!(Instant::now() < deadline, "redis never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn pending() -> inkdesk_store::PendingMessage {
    inkdesk_store::PendingMessage {
        message_id: "m1".into(),
        received_at: chrono::Utc::now(),
        payload: serde_json::json!({}),
    }
}

#[tokio::test]
async fn a_corrupt_mute_fails_the_intake_without_writing_anything() {
    use deadpool_redis::redis;
    use inkdesk_store::{IncomingMessage, Role, Turn};
    let Some((url, _server)) = server() else {
        return;
    };
    let options = StoreOptions {
        key_prefix: format!("inkdesk-test:{}:corrupt-mute", std::process::id()),
        ..StoreOptions::default()
    };
    let stores = stores(&url, options.clone()).await;
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let mute_key = format!("{{{}:conv:c}}:mute", options.key_prefix);
    redis::cmd("SET")
        .arg(&mute_key)
        .arg("not json")
        .query_async::<()>(&mut raw)
        .await
        .unwrap();
    let message = IncomingMessage {
        event_key: "ev-corrupt".into(),
        dedupe_ttl: Duration::from_secs(60),
        turn: Turn {
            role: Role::Customer,
            text: "hi".into(),
            message_id: Some("m1".into()),
            at: chrono::Utc::now(),
            data: None,
        },
        pending: pending(),
        debounce: Duration::ZERO,
        answerable: true,
    };
    let err = stores
        .intake
        .record_message(&conv("c"), message)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    // Nothing was written: the redelivery will be recorded afresh.
    assert!(stores.log.recent(&conv("c"), 5).await.unwrap().is_empty());
    assert_eq!(stores.inbox.next_due().await.unwrap(), None);
    assert!(
        stores
            .dedupe
            .first_seen("ev-corrupt", Duration::from_secs(60))
            .await
            .unwrap(),
        "a dedupe mark was left behind"
    );
}

#[tokio::test]
async fn keyed_puts_sweep_expired_fields_out_of_the_hash() {
    use deadpool_redis::redis;
    let Some((url, _server)) = server() else {
        return;
    };
    let options = StoreOptions {
        key_prefix: format!("inkdesk-test:{}:keyed-sweep", std::process::id()),
        ..StoreOptions::default()
    };
    let stores = stores(&url, options.clone()).await;
    let scope = conv("scope");
    let short = Duration::from_millis(100);
    // Big values, so Redis keeps a real hash table and HSCAN works in batches.
    let big = serde_json::json!("x".repeat(200));
    for i in 0..60 {
        let key = format!("old{i}");
        stores
            .keyed
            .put(&scope, &key, big.clone(), short)
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    for i in 0..10 {
        let key = format!("new{i}");
        let live = Duration::from_secs(60);
        stores
            .keyed
            .put(&scope, &key, big.clone(), live)
            .await
            .unwrap();
    }
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let hash = format!("{{{}:conv:scope}}:kv", options.key_prefix);
    let fields: i64 = redis::cmd("HLEN")
        .arg(&hash)
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(fields, 10, "only the live values are left");
    assert_eq!(
        stores.keyed.get(&scope, "new3").await.unwrap(),
        Some(big.clone())
    );
    stores.log.delete_conversation(&scope).await.unwrap();
    let left: i64 = redis::cmd("EXISTS")
        .arg(&hash)
        .arg(format!("{{{}:conv:scope}}:kvsweep", options.key_prefix))
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(
        left, 0,
        "the values and the sweep cursor go with the conversation"
    );
}

async fn schedule_harness(
    options: StoreOptions,
) -> Option<(Harness, Arc<dyn inkdesk_store::Schedule>)> {
    let (url, server) = server()?;
    // Connected and answering (the retry loop in `stores`), then the adapter itself.
    let _ready = stores(&url, options.clone()).await;
    let store = RedisStore::connect(
        &RedisConfig::from_url(&url),
        Arc::new(SystemClock),
        options.clone(),
    )
    .unwrap();
    // The harness is used for time (the system clock) and to keep the server alive.
    let h = Harness::real(
        Stores::memory(Arc::new(SystemClock), options),
        server.map(|s| Box::new(s) as _),
    );
    Some((h, Arc::new(store)))
}

inkdesk_store::schedule_suite!(schedule, schedule_harness);
