//! Customers' Instagram names for the console: each conversation's profile (name and
//! username, from the User Profile API) fetched once and kept in the store beside the
//! conversation (`Keyed`, key [`PROFILE_KEY`]), so every replica shows it, the per-customer
//! delete removes it with the rest and the export includes it.
//!
//! A fetch is started in the background — never on the webhook's path, never delaying a
//! turn or a page — when a worker claims the conversation or the console lists it without
//! a name. A failure is kept too, for [`RETRY_AFTER_FAILURE`] (or [`RETRY_AFTER_REFUSAL`]
//! when Meta refused this customer), so a profile that cannot be had is asked for again
//! only after that, never in a loop; until then the console shows the id.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use inkdesk_domain::{Clock, ConversationId};
use inkdesk_messaging::{ProfileError, ProfileLookup, UserProfile};
use inkdesk_store::{ConversationLog, Keyed};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

/// The `Keyed` key of a conversation's profile.
pub const PROFILE_KEY: &str = "instagram-profile";
/// How long a failed fetch (rate limit, outage, refused token) is kept before another try.
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(3600);
/// How long a refusal for this customer (no consent, blocked) is kept before another try.
pub const RETRY_AFTER_REFUSAL: Duration = Duration::from_secs(7 * 86_400);
/// Fetches running at once in this process.
const CONCURRENT_FETCHES: usize = 4;

/// What the store keeps for a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum StoredProfile {
    /// The profile as Meta gave it.
    Found {
        /// Name and username.
        #[serde(flatten)]
        profile: UserProfile,
        /// When it was fetched.
        fetched_at: DateTime<Utc>,
    },
    /// The fetch failed; not tried again before the entry expires.
    Unavailable {
        /// `refused` (Meta refused this customer) or `failed`.
        reason: String,
        /// When it was tried.
        tried_at: DateTime<Utc>,
    },
}

impl StoredProfile {
    /// The name and username, when they were found.
    pub fn profile(&self) -> Option<&UserProfile> {
        match self {
            Self::Found { profile, .. } => Some(profile),
            Self::Unavailable { .. } => None,
        }
    }
}

/// Fetches and keeps customers' profiles. One per process.
pub struct CustomerProfiles {
    lookup: Option<Arc<dyn ProfileLookup>>,
    keyed: Arc<dyn Keyed>,
    log: Arc<dyn ConversationLog>,
    clock: Arc<dyn Clock>,
    /// How long a found profile is kept: the history's retention.
    keep: Duration,
    in_flight: Mutex<HashSet<ConversationId>>,
    permits: Arc<Semaphore>,
}

impl std::fmt::Debug for CustomerProfiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomerProfiles")
            .field("configured", &self.lookup.is_some())
            .finish_non_exhaustive()
    }
}

impl CustomerProfiles {
    /// Profiles looked up with `lookup` (none without an Instagram token), kept in `keyed`
    /// for `keep` (the history's retention) while `log` holds the conversation.
    pub fn new(
        lookup: Option<Arc<dyn ProfileLookup>>,
        keyed: Arc<dyn Keyed>,
        log: Arc<dyn ConversationLog>,
        clock: Arc<dyn Clock>,
        keep: Duration,
    ) -> Self {
        Self {
            lookup,
            keyed,
            log,
            clock,
            keep,
            in_flight: Mutex::new(HashSet::new()),
            permits: Arc::new(Semaphore::new(CONCURRENT_FETCHES)),
        }
    }

    /// What the store holds for `conversation` (`None` when nothing, or the store failed:
    /// the console then shows the id).
    pub async fn stored(&self, conversation: &ConversationId) -> Option<StoredProfile> {
        match self.keyed.get(conversation, PROFILE_KEY).await {
            Ok(Some(value)) => serde_json::from_value(value).ok(),
            Ok(None) => None,
            Err(error) => {
                tracing::debug!(%error, "cannot read a stored profile");
                None
            }
        }
    }

    /// The customer's name and username, when known; starts a fetch in the background
    /// when nothing is stored yet.
    pub async fn known(self: &Arc<Self>, conversation: &ConversationId) -> Option<UserProfile> {
        match self.stored(conversation).await {
            Some(stored) => stored.profile().cloned(),
            None => {
                self.fetch_in_background(conversation.clone());
                None
            }
        }
    }

    /// Makes sure a fetch happens for `conversation` if nothing is stored (a worker calls
    /// this when it claims the conversation). Returns at once.
    pub fn ensure(self: &Arc<Self>, conversation: &ConversationId) {
        let this = Arc::clone(self);
        let conversation = conversation.clone();
        if self.lookup.is_none() || conversation.is_reserved() {
            return;
        }
        tokio::spawn(async move {
            if this.stored(&conversation).await.is_none() {
                this.fetch(conversation).await;
            }
        });
    }

    fn fetch_in_background(self: &Arc<Self>, conversation: ConversationId) {
        if self.lookup.is_none() || conversation.is_reserved() {
            return;
        }
        let this = Arc::clone(self);
        tokio::spawn(async move { this.fetch(conversation).await });
    }

    /// One fetch, unless one for the same conversation is already running here; the answer
    /// (or the failure) is stored.
    async fn fetch(&self, conversation: ConversationId) {
        let Some(lookup) = self.lookup.clone() else {
            return;
        };
        if !self.lock().insert(conversation.clone()) {
            return;
        }
        let Ok(_permit) = self.permits.acquire().await else {
            self.lock().remove(&conversation);
            return;
        };
        let now = self.clock.now();
        let (stored, ttl) = match lookup.profile(&conversation).await {
            Ok(profile) => (
                StoredProfile::Found {
                    profile,
                    fetched_at: now,
                },
                self.keep,
            ),
            Err(error) => {
                let refused = matches!(error, ProfileError::Refused(_));
                tracing::info!(%error, "customer profile not available; showing the id");
                (
                    StoredProfile::Unavailable {
                        reason: if refused { "refused" } else { "failed" }.to_owned(),
                        tried_at: now,
                    },
                    if refused {
                        RETRY_AFTER_REFUSAL
                    } else {
                        RETRY_AFTER_FAILURE
                    },
                )
            }
        };
        // A customer whose data was deleted while the request ran gets nothing kept.
        let still_here =
            matches!(self.log.recent(&conversation, 1).await, Ok(turns) if !turns.is_empty());
        match serde_json::to_value(&stored) {
            Ok(_) if !still_here => {}
            Ok(value) => {
                if let Err(error) = self.keyed.put(&conversation, PROFILE_KEY, value, ttl).await {
                    tracing::warn!(%error, "cannot keep a customer profile");
                }
            }
            Err(error) => tracing::warn!(%error, "cannot encode a customer profile"),
        }
        self.lock().remove(&conversation);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<ConversationId>> {
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// How the console names a customer: `Name (@username)`, or the id when unknown.
pub fn label(profile: Option<&UserProfile>, conversation: &str) -> String {
    profile
        .and_then(UserProfile::label)
        .unwrap_or_else(|| conversation.to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use inkdesk_domain::FixedClock;
    use inkdesk_messaging::outbound::MockProfileLookup;
    use inkdesk_store::StoreOptions;

    use super::*;

    fn conv() -> ConversationId {
        ConversationId::parse("5723000000000001").unwrap()
    }

    async fn settle(profiles: &Arc<CustomerProfiles>) -> Option<StoredProfile> {
        for _ in 0..100 {
            if let Some(stored) = profiles.stored(&conv()).await {
                return Some(stored);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        None
    }

    async fn profiles(lookup: MockProfileLookup) -> Arc<CustomerProfiles> {
        let clock: Arc<dyn Clock> = Arc::new(FixedClock(Utc::now()));
        let stores = inkdesk_store::Stores::memory(clock.clone(), StoreOptions::default());
        let turn = inkdesk_store::Turn {
            role: inkdesk_store::Role::Customer,
            text: "Γεια".into(),
            message_id: None,
            at: clock.now(),
            data: None,
        };
        stores.log.append(&conv(), turn).await.unwrap();
        Arc::new(CustomerProfiles::new(
            Some(Arc::new(lookup)),
            stores.keyed,
            stores.log,
            clock,
            Duration::from_secs(3600),
        ))
    }

    #[tokio::test]
    async fn a_profile_is_fetched_once_and_kept() {
        let mut lookup = MockProfileLookup::new();
        lookup.expect_profile().times(1).returning(|_| {
            Ok(UserProfile {
                name: Some("Μαρία".into()),
                username: Some("maria".into()),
            })
        });
        let profiles = profiles(lookup).await;
        assert_eq!(profiles.known(&conv()).await, None);
        let stored = settle(&profiles).await.unwrap();
        assert_eq!(stored.profile().unwrap().username.as_deref(), Some("maria"));
        for _ in 0..3 {
            profiles.ensure(&conv());
            assert_eq!(
                profiles.known(&conv()).await.unwrap().label().unwrap(),
                "Μαρία (@maria)"
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    #[tokio::test]
    async fn a_failure_is_kept_and_not_retried_meanwhile() {
        let mut lookup = MockProfileLookup::new();
        lookup
            .expect_profile()
            .times(1)
            .returning(|_| Err(ProfileError::Unavailable("down".into())));
        let profiles = profiles(lookup).await;
        profiles.ensure(&conv());
        let stored = settle(&profiles).await.unwrap();
        assert!(
            matches!(stored, StoredProfile::Unavailable { ref reason, .. } if reason == "failed")
        );
        for _ in 0..5 {
            profiles.ensure(&conv());
            assert_eq!(profiles.known(&conv()).await, None);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(label(None, "5723000000000001"), "5723000000000001");
    }
}
