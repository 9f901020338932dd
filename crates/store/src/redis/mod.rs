//! Redis adapter: one multiplexed connection from a deadpool-redis pool, Lua scripts for
//! every read-modify-write, TTLs on per-conversation state, and a time limit on every call.
//!
//! Key layout (`P` is [`StoreOptions::key_prefix`]):
//!
//! | key | type | what |
//! |---|---|---|
//! | `{P:conv:ID}:log` | list | turns as JSON, trimmed to `max_turns`, TTL = retention |
//! | `{P:conv:ID}:msgs` / `:order` / `:meta` | hash / list / hash | pending messages, their order, due/token/lease |
//! | `{P:conv:ID}:mute` | string | the mute, expiring at its end |
//! | `{P:conv:ID}:kv` / `:kvsweep` | hash / string | keyed values (JSON with their own expiry); the sweep's cursor |
//! | `{P:queue}:due` | zset | conversation → when it is claimable (due, or lease end) |
//! | `{P:queue}:token` | counter | fencing tokens |
//! | `{P:index}:convs` / `{P:index}:muted` | zset | conversation → last turn / mute end |
//! | `{P:holds}:slot:START:END` / `{P:holds}:index` | zset | holder → expiry; slots held |
//! | `{P}:seen:ID`, `{P}:sent:ID`, `{P}:paused` | string | dedupe, outbox, global switch |
//! | `{P:usage}:day:DATE` / `{P:conv:ID}:usage` | hash | model usage totals (`model\|counter`), 400 days / retention |
//!
//! Time: scripts get "now" from the injected clock as an argument (so every replica agrees
//! with its own clock and tests can steer it); Redis' own expiry uses relative TTLs.

pub mod calendar;
mod config;
mod inbox;
mod intake;
mod journal;
mod log;
mod schedule;
mod state;
mod usage;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_redis::redis::aio::MultiplexedConnection;
use deadpool_redis::redis::{self, RedisError, Script};
use deadpool_redis::{Pool, Runtime};
use inkdesk_domain::{Clock, ConversationId};
use secrecy::ExposeSecret;

pub use calendar::RedisCalendar;
pub use config::RedisConfig;

use crate::StoreError;
use crate::model::StoreOptions;
use crate::ports::{Dedupe, Health, Keyed, Outbox};

/// How often a compare-and-set rewrite reads again after a concurrent write before giving up.
const REWRITE_ATTEMPTS: usize = 8;

/// How long pending-message keys live without activity (a safety net; acks delete them).
const PENDING_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// The Lua scripts, loaded once per connection on first use (EVALSHA, then EVAL fallback).
/// `queue.lua` holds the queueing step both `push` and `record` take; it is prepended to them.
struct Scripts {
    push: Script,
    claim: Script,
    ack: Script,
    release: Script,
    remove: Script,
    hold: Script,
    active: Script,
    release_all: Script,
    conversations: Script,
    record: Script,
    keyed_put: Script,
    keyed_increment: Script,
    replace_turns: Script,
    replace_field: Script,
    renew: Script,
    journal: Script,
}

impl Scripts {
    fn new() -> Self {
        Self {
            push: Script::new(concat!(
                include_str!("scripts/queue.lua"),
                include_str!("scripts/push.lua")
            )),
            claim: Script::new(include_str!("scripts/claim.lua")),
            ack: Script::new(include_str!("scripts/ack.lua")),
            release: Script::new(include_str!("scripts/release.lua")),
            remove: Script::new(include_str!("scripts/remove.lua")),
            hold: Script::new(include_str!("scripts/hold.lua")),
            active: Script::new(include_str!("scripts/active.lua")),
            release_all: Script::new(include_str!("scripts/release_all.lua")),
            conversations: Script::new(include_str!("scripts/conversations.lua")),
            record: Script::new(concat!(
                include_str!("scripts/queue.lua"),
                include_str!("scripts/record.lua")
            )),
            keyed_put: Script::new(include_str!("scripts/keyed_put.lua")),
            keyed_increment: Script::new(include_str!("scripts/keyed_increment.lua")),
            replace_turns: Script::new(include_str!("scripts/replace_turns.lua")),
            replace_field: Script::new(include_str!("scripts/replace_field.lua")),
            renew: Script::new(include_str!("scripts/renew.lua")),
            journal: Script::new(include_str!("scripts/journal.lua")),
        }
    }
}

/// Every port on one Redis server.
pub struct RedisStore {
    connections: Connections,
    clock: Arc<dyn Clock>,
    options: StoreOptions,
    command_timeout: Duration,
    scripts: Scripts,
}

/// One multiplexed connection shared by every call, taken from the deadpool pool.
///
/// Why not a pooled connection per call: deadpool verifies a connection with a PING round
/// trip every time it hands one out, which doubled the cost of each call, and a connection
/// per call sends one command per socket write. A `MultiplexedConnection` pipelines the
/// commands of every concurrent call on one socket (the webhook went from 5,100 to over
/// 10,000 req/s). The pool still opens connections (with the configured timeouts) and checks
/// them: after a connection-level failure the shared one is dropped, and the next call
/// takes one from the pool again, which PINGs it or opens a new one.
struct Connections {
    pool: Pool,
    shared: std::sync::Mutex<Option<MultiplexedConnection>>,
}

impl Connections {
    /// The shared connection, taking one from the pool if there is none.
    async fn get(&self) -> Result<MultiplexedConnection, StoreError> {
        if let Some(conn) = self.lock().clone() {
            return Ok(conn);
        }
        let pooled = self.pool.get().await.map_err(StoreError::unavailable)?;
        let conn = MultiplexedConnection::clone(&pooled);
        *self.lock() = Some(conn.clone());
        Ok(conn)
    }

    /// Drops the shared connection after a failure that may have broken it.
    fn reset(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<MultiplexedConnection>> {
        self.shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Whether an error says the connection itself may be unusable (as opposed to a command
/// refused by Redis, which leaves the connection fine).
fn breaks_connection(err: &RedisError) -> bool {
    err.is_io_error()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || err.is_timeout()
        || err.is_unrecoverable_error()
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("key_prefix", &self.options.key_prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Builds the pool. Connections open lazily; call [`Health::ping`] to check reachability.
    pub fn connect(
        config: &RedisConfig,
        clock: Arc<dyn Clock>,
        options: StoreOptions,
    ) -> Result<Self, StoreError> {
        let pool = deadpool_redis::Config::from_url(config.url.expose_secret())
            .builder()
            .map_err(StoreError::unavailable)?
            .max_size(config.pool_size)
            .wait_timeout(Some(config.wait_timeout))
            .create_timeout(Some(config.connect_timeout))
            .recycle_timeout(Some(config.recycle_timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(StoreError::unavailable)?;
        Ok(Self {
            connections: Connections {
                pool,
                shared: std::sync::Mutex::new(None),
            },
            clock,
            options,
            command_timeout: config.command_timeout,
            scripts: Scripts::new(),
        })
    }

    /// Runs `op` on the shared connection within the command timeout.
    async fn with_conn<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        let work = async {
            let conn = self.connections.get().await?;
            op(conn).await.map_err(|e| {
                if breaks_connection(&e) {
                    self.connections.reset();
                }
                StoreError::unavailable(e)
            })
        };
        match tokio::time::timeout(self.command_timeout, work).await {
            Ok(result) => result,
            Err(elapsed) => {
                // A call that hangs may be on a half-open socket: start afresh next time.
                self.connections.reset();
                Err(StoreError::unavailable(elapsed))
            }
        }
    }

    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    fn prefix(&self) -> &str {
        &self.options.key_prefix
    }

    /// `{P:conv:` — scripts append `ID}` and a suffix.
    fn conv_head(&self) -> String {
        format!("{{{}:conv:", self.prefix())
    }

    fn conv_key(&self, conv: &ConversationId, suffix: &str) -> String {
        format!("{{{}:conv:{}}}:{suffix}", self.prefix(), conv.as_str())
    }

    fn queue_key(&self, name: &str) -> String {
        format!("{{{}:queue}}:{name}", self.prefix())
    }

    fn index_key(&self, name: &str) -> String {
        format!("{{{}:index}}:{name}", self.prefix())
    }

    fn holds_head(&self) -> String {
        format!("{{{}:holds}}:slot:", self.prefix())
    }

    fn holds_index(&self) -> String {
        format!("{{{}:holds}}:index", self.prefix())
    }

    fn plain_key(&self, name: &str) -> String {
        format!("{{{}}}:{name}", self.prefix())
    }
}

/// Milliseconds of a std duration, at least 1 (Redis refuses a zero TTL).
fn ttl_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[async_trait]
impl Health for RedisStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.with_conn(
            |mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await },
        )
        .await
        .map(|_| ())
    }
}

#[async_trait]
impl Dedupe for RedisStore {
    async fn first_seen(&self, id: &str, ttl: Duration) -> Result<bool, StoreError> {
        let key = self.plain_key(&format!("seen:{id}"));
        let set: Option<String> = self
            .with_conn(|mut c| async move {
                redis::cmd("SET")
                    .arg(&key)
                    .arg(1)
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl_ms(ttl))
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(set.is_some())
    }

    async fn forget(&self, id: &str) -> Result<(), StoreError> {
        let key = self.plain_key(&format!("seen:{id}"));
        self.with_conn(|mut c| async move {
            redis::cmd("DEL").arg(&key).query_async::<()>(&mut c).await
        })
        .await
    }
}

impl RedisStore {
    /// The lowest score of the sorted set `key` as a time (the earliest due entry of a
    /// queue or schedule), `None` when it is empty.
    pub(crate) async fn earliest_score(
        &self,
        key: String,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        let first: Vec<(String, f64)> = self
            .with_conn(|mut c| async move {
                redis::cmd("ZRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(0)
                    .arg("WITHSCORES")
                    .query_async(&mut c)
                    .await
            })
            .await?;
        // Scores are whole milliseconds, exact in an f64.
        #[allow(clippy::cast_possible_truncation)]
        first
            .first()
            .map(|(_, score)| crate::model::from_ms(*score as i64))
            .transpose()
    }
}

/// Keyed values live in one hash per conversation (`{P:conv:ID}:kv`), each field a JSON
/// envelope `{"exp":<ms>,"v":<value>}` with its own expiry (Redis before 7.4 has no
/// per-field TTL). Every put also sweeps a batch of fields and drops the expired ones
/// (`scripts/keyed_put.lua`, resuming from a cursor in `{P:conv:ID}:kvsweep`), so a scope
/// written every day stays as large as its live values. The hash expires with its
/// longest-lived field and goes with `delete_conversation`.
#[async_trait]
impl Keyed for RedisStore {
    async fn put(
        &self,
        conversation: &ConversationId,
        key: &str,
        value: serde_json::Value,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let now = self.now_ms();
        let expires = now.saturating_add(i64::try_from(ttl_ms(ttl)).unwrap_or(i64::MAX));
        // Written by hand so "exp" comes first: the sweep reads it without parsing JSON.
        let envelope = format!("{{\"exp\":{expires},\"v\":{value}}}");
        let mut inv = self.scripts.keyed_put.prepare_invoke();
        inv.key(self.conv_key(conversation, "kv"))
            .key(self.conv_key(conversation, "kvsweep"))
            .arg(key)
            .arg(envelope)
            .arg(ttl_ms(ttl))
            .arg(now);
        self.with_conn(|mut c| async move { inv.invoke_async::<i64>(&mut c).await })
            .await
            .map(|_| ())
    }

    async fn get(
        &self,
        conversation: &ConversationId,
        key: &str,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        let hash = self.conv_key(conversation, "kv");
        let field = key.to_owned();
        let text: Option<String> = self
            .with_conn(|mut c| async move {
                redis::cmd("HGET")
                    .arg(&hash)
                    .arg(field)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        let Some(text) = text else { return Ok(None) };
        let envelope: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| StoreError::Corrupt(format!("keyed value: {e}")))?;
        let live = envelope["exp"]
            .as_i64()
            .is_some_and(|exp| exp > self.now_ms());
        Ok(live.then(|| envelope["v"].clone()))
    }

    async fn increment(
        &self,
        conversation: &ConversationId,
        key: &str,
        ttl: Duration,
    ) -> Result<u64, StoreError> {
        let mut inv = self.scripts.keyed_increment.prepare_invoke();
        inv.key(self.conv_key(conversation, "kv"))
            .arg(key)
            .arg(ttl_ms(ttl).max(1))
            .arg(self.now_ms());
        self.with_conn(|mut c| async move { inv.invoke_async::<u64>(&mut c).await })
            .await
    }

    async fn delete(&self, conversation: &ConversationId, key: &str) -> Result<(), StoreError> {
        let hash = self.conv_key(conversation, "kv");
        let field = key.to_owned();
        self.with_conn(|mut c| async move {
            redis::cmd("HDEL")
                .arg(&hash)
                .arg(field)
                .query_async::<()>(&mut c)
                .await
        })
        .await
    }
}

#[async_trait]
impl Outbox for RedisStore {
    async fn remember(&self, message_id: &str, ttl: Duration) -> Result<(), StoreError> {
        let key = self.plain_key(&format!("sent:{message_id}"));
        self.with_conn(|mut c| async move {
            redis::cmd("SET")
                .arg(&key)
                .arg(1)
                .arg("PX")
                .arg(ttl_ms(ttl))
                .query_async::<()>(&mut c)
                .await
        })
        .await
    }

    async fn contains(&self, message_id: &str) -> Result<bool, StoreError> {
        let key = self.plain_key(&format!("sent:{message_id}"));
        self.with_conn(
            |mut c| async move { redis::cmd("EXISTS").arg(&key).query_async(&mut c).await },
        )
        .await
    }
}
