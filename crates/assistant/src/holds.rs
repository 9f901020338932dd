//! Holds on offered slots, as the engine needs them.
//!
//! The store crate owns the durable, atomic, capacity-aware holds; this narrow port is what
//! the engine calls, so the store's adapters plug in with a few lines and the engine's tests
//! run on [`MemoryOfferHolds`].
//!
//! A hold names the artist it is for when the studio has artists ([`HeldSlot::artist`]):
//! holds of one artist count against that artist's one appointment at a time, so two
//! customers held (or reserving) different artists at the same hour never block each
//! other, and two for the same artist do. A hold without an artist is a unit of the
//! studio's capacity (a studio without artists), and with artists one of the pool.

use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use inkdesk_calendar::Interval;
use inkdesk_domain::{ArtistKey, ConversationId};

/// An interval held for an artist (`None`: for the studio).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldSlot {
    /// The appointment's time.
    pub interval: Interval,
    /// The artist it is held for.
    pub artist: Option<ArtistKey>,
}

impl HeldSlot {
    /// A hold of `interval` for `artist`.
    pub fn new(interval: Interval, artist: Option<ArtistKey>) -> Self {
        Self { interval, artist }
    }
}

/// The hold store failed.
#[derive(Debug, thiserror::Error)]
#[error("slot holds unavailable")]
pub struct HoldError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// Holds of offered slots per conversation.
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait OfferHolds: Send + Sync {
    /// Holds `slots` for `conversation` until `now + ttl` (replacing its earlier holds on
    /// the same slots).
    async fn hold(
        &self,
        conversation: &ConversationId,
        slots: &[HeldSlot],
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<(), HoldError>;

    /// Active holds of every *other* conversation overlapping `range`.
    async fn held_by_others(
        &self,
        conversation: &ConversationId,
        range: Interval,
        now: DateTime<Utc>,
    ) -> Result<Vec<HeldSlot>, HoldError>;

    /// Takes one unit of exactly `slot` for `conversation` until `now + ttl`, atomically
    /// against every replica, when fewer than `free_units` other conversations hold it:
    /// what booking does before its final re-check and insert. `false` means others hold
    /// every free unit (the slot is taken). The conversation's own earlier hold on the slot
    /// (from an offer) does not count for it: it is given up and taken anew under the
    /// limit, so two conversations that were both offered the last unit cannot both win.
    /// `free_units` is the calendar's room at the slot (capacity minus overlapping
    /// entries; 1 for an artist), holds not subtracted — they are what this call counts.
    /// Only holds of the same artist (or, for `None`, the studio's) count.
    async fn reserve(
        &self,
        conversation: &ConversationId,
        slot: HeldSlot,
        free_units: u32,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, HoldError>;

    /// Drops the conversation's holds (after it booked).
    async fn release(&self, conversation: &ConversationId) -> Result<(), HoldError>;
}

/// Holds in process memory.
#[derive(Debug, Default)]
pub struct MemoryOfferHolds {
    holds: Mutex<Vec<(ConversationId, HeldSlot, DateTime<Utc>)>>,
}

impl MemoryOfferHolds {
    /// No holds.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl OfferHolds for MemoryOfferHolds {
    async fn hold(
        &self,
        conversation: &ConversationId,
        slots: &[HeldSlot],
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<(), HoldError> {
        let mut holds = self.holds.lock().unwrap_or_else(PoisonError::into_inner);
        holds.retain(|(c, i, until)| *until > now && !(c == conversation && slots.contains(i)));
        holds.extend(
            slots
                .iter()
                .map(|slot| (conversation.clone(), slot.clone(), now + ttl)),
        );
        Ok(())
    }

    async fn held_by_others(
        &self,
        conversation: &ConversationId,
        range: Interval,
        now: DateTime<Utc>,
    ) -> Result<Vec<HeldSlot>, HoldError> {
        let holds = self.holds.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(holds
            .iter()
            .filter(|(c, h, until)| {
                c != conversation && *until > now && h.interval.overlaps(&range)
            })
            .map(|(_, h, _)| h.clone())
            .collect())
    }

    async fn reserve(
        &self,
        conversation: &ConversationId,
        slot: HeldSlot,
        free_units: u32,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, HoldError> {
        let mut holds = self.holds.lock().unwrap_or_else(PoisonError::into_inner);
        holds.retain(|(c, h, until)| *until > now && !(c == conversation && *h == slot));
        let others = holds.iter().filter(|(_, h, _)| *h == slot).count();
        if others >= free_units as usize {
            return Ok(false);
        }
        holds.push((conversation.clone(), slot, now + ttl));
        Ok(true)
    }

    async fn release(&self, conversation: &ConversationId) -> Result<(), HoldError> {
        self.holds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(c, _, _)| c != conversation);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn conv(id: &str) -> ConversationId {
        ConversationId::parse(id).unwrap()
    }

    #[tokio::test]
    async fn reserving_counts_other_holders_of_the_exact_slot_only() {
        let holds = MemoryOfferHolds::new();
        let now = DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000);
        let interval = Interval::new(now + Duration::hours(5), now + Duration::hours(6));
        let slot = HeldSlot::new(interval, None);
        let overlapping = HeldSlot::new(
            Interval::new(interval.start, interval.end + Duration::minutes(30)),
            None,
        );
        let ttl = Duration::minutes(10);
        // Both were offered the last unit; only one of them can reserve it.
        holds
            .hold(&conv("a"), std::slice::from_ref(&slot), ttl, now)
            .await
            .unwrap();
        holds
            .hold(&conv("b"), &[slot.clone(), overlapping], ttl, now)
            .await
            .unwrap();
        assert!(
            !holds
                .reserve(&conv("a"), slot.clone(), 1, ttl, now)
                .await
                .unwrap()
        );
        holds.release(&conv("b")).await.unwrap();
        assert!(
            holds
                .reserve(&conv("a"), slot.clone(), 1, ttl, now)
                .await
                .unwrap()
        );
        assert!(
            !holds
                .reserve(&conv("b"), slot.clone(), 1, ttl, now)
                .await
                .unwrap()
        );
        assert!(
            holds
                .reserve(&conv("b"), slot.clone(), 2, ttl, now)
                .await
                .unwrap()
        );
        assert!(
            !holds
                .reserve(&conv("c"), slot.clone(), 2, ttl, now)
                .await
                .unwrap()
        );
        assert!(
            !holds
                .reserve(&conv("c"), slot.clone(), 0, ttl, now)
                .await
                .unwrap()
        );
        // Repeating one's own reservation is not blocked by it; expiry frees the units.
        assert!(
            holds
                .reserve(&conv("a"), slot.clone(), 2, ttl, now)
                .await
                .unwrap()
        );
        let later = now + ttl + Duration::seconds(1);
        assert!(
            holds
                .reserve(&conv("c"), slot.clone(), 1, ttl, later)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn holds_of_two_artists_at_one_time_never_block_each_other() {
        let holds = MemoryOfferHolds::new();
        let now = DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000);
        let interval = Interval::new(now + Duration::hours(5), now + Duration::hours(6));
        let artist = |k: &str| Some(ArtistKey::parse(k).unwrap());
        let maria = HeldSlot::new(interval, artist("maria"));
        let nikos = HeldSlot::new(interval, artist("nikos"));
        let ttl = Duration::minutes(5);
        assert!(
            holds
                .reserve(&conv("a"), maria.clone(), 1, ttl, now)
                .await
                .unwrap()
        );
        assert!(holds.reserve(&conv("b"), nikos, 1, ttl, now).await.unwrap());
        assert!(!holds.reserve(&conv("c"), maria, 1, ttl, now).await.unwrap());
        let seen = holds
            .held_by_others(&conv("c"), interval, now)
            .await
            .unwrap();
        assert_eq!(seen.len(), 2);
        assert!(seen.iter().all(|h| h.artist.is_some()));
    }
}
