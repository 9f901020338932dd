//! The conformance suite against a real Redis, plus outage behaviour.
//!
//! Each test starts its own `redis-server` on a free port (stopped when the test's harness
//! drops), or uses `REDIS_URL` when set. Without a `redis-server` binary the tests print
//! `SKIPPED: redis-server not found` and pass, unless `INKDESK_REQUIRE_REDIS=1`, where they fail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use inkdesk_domain::SystemClock;
use inkdesk_store::testing::{Harness, conv};
use inkdesk_store::{Health, Inbox, RedisConfig, RedisStore, StoreError, StoreOptions, Stores};

/// A `redis-server` child process, killed on drop.
struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    fn start_on(port: u16) -> std::io::Result<Self> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(Self { child, port })
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server for one test: `REDIS_URL`, or a fresh `redis-server`; `None` means skip.
fn server() -> Option<(String, Option<RedisServer>)> {
    if let Ok(url) = std::env::var("REDIS_URL") {
        return Some((url, None));
    }
    match RedisServer::start_on(free_port()) {
        Ok(server) => Some((server.url(), Some(server))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                std::env::var("INKDESK_REQUIRE_REDIS").as_deref() != Ok("1"),
                "redis-server not found and INKDESK_REQUIRE_REDIS=1"
            );
            println!("SKIPPED: redis-server not found");
            None
        }
        Err(e) => panic!("cannot start redis-server: {e}"),
    }
}

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
    if std::env::var("REDIS_URL").is_ok() {
        return; // needs a server of its own to stop
    }
    let Some((url, Some(server))) = server() else {
        return;
    };
    let port = server.port;
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
