//! Small adapters from the store's ports to the engine's.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Duration, Utc};
use inkdesk_assistant::confirm::{ConfirmationStore, ConfirmationStoreError, PendingConfirmation};
use inkdesk_assistant::holds::{HeldSlot, HoldError, OfferHolds};
use inkdesk_assistant::quotes::{QuoteBook, QuoteStore, QuoteStoreError};
use inkdesk_calendar::Interval;
use inkdesk_domain::ConversationId;
use inkdesk_store::{HoldOutcome, Keyed, SlotHolds, SlotKey};

/// Offered-slot holds kept in the shared store, so every replica sees them, keyed by
/// interval and artist.
pub struct StoreOfferHolds {
    holds: Arc<dyn SlotHolds>,
    capacity: u32,
}

impl StoreOfferHolds {
    /// Holds over `holds`, never more than `capacity` conversations per slot of the
    /// studio, one per slot of an artist.
    pub fn new(holds: Arc<dyn SlotHolds>, capacity: u32) -> Self {
        Self { holds, capacity }
    }
}

/// The store's key of a hold: its interval and artist.
fn slot_key(slot: &HeldSlot) -> SlotKey {
    SlotKey {
        start: slot.interval.start,
        end: slot.interval.end,
        artist: slot.artist.clone(),
    }
}

fn hold_error(error: impl std::error::Error + Send + Sync + 'static) -> HoldError {
    HoldError(Box::new(error))
}

#[async_trait]
impl OfferHolds for StoreOfferHolds {
    async fn hold(
        &self,
        conversation: &ConversationId,
        slots: &[HeldSlot],
        ttl: Duration,
        _now: DateTime<Utc>,
    ) -> Result<(), HoldError> {
        let ttl = ttl.to_std().unwrap_or(StdDuration::from_secs(60));
        for slot in slots {
            // An artist takes one appointment at a time; the studio `capacity`.
            let capacity = if slot.artist.is_some() {
                1
            } else {
                self.capacity
            };
            let outcome = self
                .holds
                .hold(slot_key(slot), conversation, capacity, ttl)
                .await
                .map_err(hold_error)?;
            if outcome == HoldOutcome::Full {
                // Others hold every unit: the slot stays offered but unheld; booking
                // re-checks the calendar anyway.
                tracing::debug!(%conversation, "slot fully held by others");
            }
        }
        Ok(())
    }

    async fn held_by_others(
        &self,
        conversation: &ConversationId,
        range: Interval,
        _now: DateTime<Utc>,
    ) -> Result<Vec<HeldSlot>, HoldError> {
        let holds = self
            .holds
            .active(range.start, range.end)
            .await
            .map_err(hold_error)?;
        Ok(holds
            .into_iter()
            .filter(|h| &h.conversation != conversation)
            .map(|h| HeldSlot::new(Interval::new(h.slot.start, h.slot.end), h.slot.artist))
            .collect())
    }

    async fn reserve(
        &self,
        conversation: &ConversationId,
        slot: HeldSlot,
        free_units: u32,
        ttl: Duration,
        _now: DateTime<Utc>,
    ) -> Result<bool, HoldError> {
        if free_units == 0 {
            return Ok(false);
        }
        let key = slot_key(&slot);
        // The store's hold refreshes a conversation that already holds the slot without
        // counting: an offer hold would let two conversations offered the last unit both
        // reserve it. Giving ours up first makes the atomic count decide between them.
        self.holds
            .release(&key, conversation)
            .await
            .map_err(hold_error)?;
        let ttl = ttl.to_std().unwrap_or(StdDuration::from_secs(60));
        let outcome = self
            .holds
            .hold(key, conversation, free_units, ttl)
            .await
            .map_err(hold_error)?;
        Ok(outcome != HoldOutcome::Full)
    }

    async fn release(&self, conversation: &ConversationId) -> Result<(), HoldError> {
        self.holds
            .release_all(conversation)
            .await
            .map_err(hold_error)
    }
}

/// Pending cancel/reschedule confirmations kept in the shared store.
pub struct StoreConfirmations {
    keyed: Arc<dyn Keyed>,
}

impl StoreConfirmations {
    /// Confirmations stored under `confirm:<conversation>`.
    pub fn new(keyed: Arc<dyn Keyed>) -> Self {
        Self { keyed }
    }
}

/// Confirmations outlive any sensible wait for a customer's answer.
const CONFIRMATION_TTL: StdDuration = StdDuration::from_secs(7 * 24 * 3600);

/// Where a conversation's pending confirmation is kept (also read by the admin inbox).
pub fn confirmation_key(conversation: &ConversationId) -> String {
    format!("confirm:{conversation}")
}

fn confirm_error(error: impl std::error::Error + Send + Sync + 'static) -> ConfirmationStoreError {
    ConfirmationStoreError(Box::new(error))
}

#[async_trait]
impl ConfirmationStore for StoreConfirmations {
    async fn put(
        &self,
        conversation: &ConversationId,
        pending: PendingConfirmation,
    ) -> Result<(), ConfirmationStoreError> {
        let value = serde_json::to_value(&pending).map_err(confirm_error)?;
        self.keyed
            .put(
                conversation,
                &confirmation_key(conversation),
                value,
                CONFIRMATION_TTL,
            )
            .await
            .map_err(confirm_error)
    }

    async fn get(
        &self,
        conversation: &ConversationId,
    ) -> Result<Option<PendingConfirmation>, ConfirmationStoreError> {
        match self
            .keyed
            .get(conversation, &confirmation_key(conversation))
            .await
            .map_err(confirm_error)?
        {
            Some(value) => Ok(Some(serde_json::from_value(value).map_err(confirm_error)?)),
            None => Ok(None),
        }
    }

    async fn clear(&self, conversation: &ConversationId) -> Result<(), ConfirmationStoreError> {
        self.keyed
            .delete(conversation, &confirmation_key(conversation))
            .await
            .map_err(confirm_error)
    }
}

/// The quotes each conversation was given, kept in the shared store under
/// `quotes:<conversation>` (scoped to the conversation, so they are deleted with it and no
/// other conversation's booking can name them), until the latest one expires.
pub struct StoreQuotes {
    keyed: Arc<dyn Keyed>,
}

impl StoreQuotes {
    /// Quote books over `keyed`.
    pub fn new(keyed: Arc<dyn Keyed>) -> Self {
        Self { keyed }
    }
}

/// Where a conversation's quote book is kept.
fn quotes_key(conversation: &ConversationId) -> String {
    format!("quotes:{conversation}")
}

fn quote_error(error: impl std::error::Error + Send + Sync + 'static) -> QuoteStoreError {
    QuoteStoreError(Box::new(error))
}

#[async_trait]
impl QuoteStore for StoreQuotes {
    async fn load(&self, conversation: &ConversationId) -> Result<QuoteBook, QuoteStoreError> {
        match self
            .keyed
            .get(conversation, &quotes_key(conversation))
            .await
            .map_err(quote_error)?
        {
            Some(value) => serde_json::from_value(value).map_err(quote_error),
            None => Ok(QuoteBook::default()),
        }
    }

    async fn save(
        &self,
        conversation: &ConversationId,
        book: &QuoteBook,
        keep_for: Duration,
    ) -> Result<(), QuoteStoreError> {
        let value = serde_json::to_value(book).map_err(quote_error)?;
        // The engine checks each quote's own expiry; the store only has to keep the book
        // at least that long (never under a minute).
        let ttl = keep_for
            .to_std()
            .unwrap_or_default()
            .max(StdDuration::from_secs(60));
        self.keyed
            .put(conversation, &quotes_key(conversation), value, ttl)
            .await
            .map_err(quote_error)
    }
}

/// Query embeddings of tone retrieval, cached in the shared store so replicas and restarts
/// reuse them. They live under one reserved scope of the `Keyed` port (`inkdesk-tone-cache`;
/// no conversation id can name a reserved scope), as little-endian `f32` bytes in base64, for a
/// day — burst texts rarely repeat for longer, and the store drops them on its own.
pub struct StoreEmbeddingCache {
    keyed: Arc<dyn Keyed>,
    scope: ConversationId,
}

/// The reserved scope of the cache (`inkdesk-tone-cache`).
const EMBEDDING_SCOPE: &str = "tone-cache";
/// How long a query embedding is kept.
const EMBEDDING_TTL: StdDuration = StdDuration::from_secs(24 * 3600);

impl StoreEmbeddingCache {
    /// A cache over `keyed`.
    pub fn new(keyed: Arc<dyn Keyed>) -> Option<Self> {
        let scope = ConversationId::reserved(EMBEDDING_SCOPE).ok()?;
        Some(Self { keyed, scope })
    }
}

#[async_trait]
impl inkdesk_tone::retrieve::EmbeddingCache for StoreEmbeddingCache {
    async fn get(&self, key: &str) -> Option<Vec<f32>> {
        let value = match self.keyed.get(&self.scope, key).await {
            Ok(value) => value?,
            Err(error) => {
                tracing::debug!(%error, "embedding cache unavailable");
                return None;
            }
        };
        let bytes = BASE64.decode(value.as_str()?).ok()?;
        if bytes.len() % 4 != 0 {
            return None;
        }
        Some(
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        )
    }

    async fn put(&self, key: &str, vector: Vec<f32>) {
        let bytes: Vec<u8> = vector.iter().flat_map(|f| f.to_le_bytes()).collect();
        let value = serde_json::Value::String(BASE64.encode(bytes));
        if let Err(error) = self.keyed.put(&self.scope, key, value, EMBEDDING_TTL).await {
            tracing::debug!(%error, "embedding not cached");
        }
    }
}

#[cfg(test)]
mod tests {
    use inkdesk_domain::{Clock, ManualClock, SystemClock};
    use inkdesk_store::{StoreOptions, Stores};
    use inkdesk_tone::retrieve::EmbeddingCache;

    use super::*;

    /// Two conversations were both offered the last unit of a slot (their offer holds
    /// fill it); when both reserve it at once, exactly one wins, every time.
    async fn exactly_one_of_two_offered_conversations_reserves_the_last_unit(stores: Stores) {
        let holds = Arc::new(StoreOfferHolds::new(stores.holds.clone(), 2));
        let now = Utc::now();
        let ttl = Duration::minutes(5);
        for round in 0..20 {
            let start = now + Duration::days(2) + Duration::hours(round);
            let slot = HeldSlot::new(Interval::new(start, start + Duration::minutes(60)), None);
            let (a, b) = (
                ConversationId::parse(format!("81{round:03}")).unwrap(),
                ConversationId::parse(format!("82{round:03}")).unwrap(),
            );
            holds
                .hold(&a, std::slice::from_ref(&slot), ttl, now)
                .await
                .unwrap();
            holds
                .hold(&b, std::slice::from_ref(&slot), ttl, now)
                .await
                .unwrap();
            let (got_a, got_b) = tokio::join!(
                holds.reserve(&a, slot.clone(), 1, ttl, now),
                holds.reserve(&b, slot.clone(), 1, ttl, now)
            );
            let (got_a, got_b) = (got_a.unwrap(), got_b.unwrap());
            assert!(got_a ^ got_b, "round {round}: {got_a} {got_b}");
            let winner = if got_a { &a } else { &b };
            // The winner reserving again (a retry) keeps it; a third party is refused.
            assert!(
                holds
                    .reserve(winner, slot.clone(), 1, ttl, now)
                    .await
                    .unwrap()
            );
            let c = ConversationId::parse(format!("83{round:03}")).unwrap();
            assert!(!holds.reserve(&c, slot.clone(), 1, ttl, now).await.unwrap());
            assert!(!holds.reserve(&c, slot.clone(), 0, ttl, now).await.unwrap());
            // Once it booked and let go, the slot's room is the calendar's to tell.
            holds.release(winner).await.unwrap();
            assert!(holds.reserve(&c, slot.clone(), 1, ttl, now).await.unwrap());
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reserving_the_last_unit_on_the_memory_store() {
        let stores = Stores::memory(Arc::new(SystemClock), StoreOptions::default());
        exactly_one_of_two_offered_conversations_reserves_the_last_unit(stores).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reserving_the_last_unit_on_redis() {
        let Some((url, _server)) = inkdesk_store::testing::redis_server::server() else {
            return;
        };
        let options = StoreOptions {
            key_prefix: format!("inkdesk-reserve:{}", std::process::id()),
            ..StoreOptions::default()
        };
        let mut stores = None;
        for _ in 0..100 {
            match Stores::redis(inkdesk_store::RedisConfig::from_url(&url), options.clone()).await {
                Ok(s) => {
                    stores = Some(s);
                    break;
                }
                Err(_) => tokio::time::sleep(StdDuration::from_millis(50)).await,
            }
        }
        exactly_one_of_two_offered_conversations_reserves_the_last_unit(stores.unwrap()).await;
    }

    #[tokio::test]
    async fn query_embeddings_round_trip_through_the_store_and_expire() {
        let clock = ManualClock::new(SystemClock.now());
        let stores = Stores::memory(Arc::new(clock.clone()), StoreOptions::default());
        let cache = StoreEmbeddingCache::new(stores.keyed.clone()).unwrap();
        let vector = vec![0.25_f32, -1.5, 3.0e-7, f32::MAX];
        assert_eq!(cache.get("tone:emb:abc").await, None);
        cache.put("tone:emb:abc", vector.clone()).await;
        assert_eq!(cache.get("tone:emb:abc").await, Some(vector.clone()));
        let scope = ConversationId::reserved(EMBEDDING_SCOPE).unwrap();
        let stored = || stores.keyed.get(&scope, "tone:emb:abc");
        assert!(stored().await.unwrap().is_some());
        clock.advance(chrono::Duration::hours(25));
        assert_eq!(cache.get("tone:emb:abc").await, None);
        assert!(
            stored().await.unwrap().is_none(),
            "expired in the store too"
        );
    }
}
