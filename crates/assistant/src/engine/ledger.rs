//! The engine's view of a turn journal: side effects decided once.
//!
//! A tool that changes the world (a booking, a cancel, a move) asks the ledger first
//! whether this turn already did it — a turn resumed after a crash must find its own
//! booking instead of booking again — then asks for the right to act (the runner checks the
//! lease and that no person took the conversation), acts, and records the result.

use async_trait::async_trait;
use serde_json::Value;

/// The turn may no longer act: its lease is gone, or a person took the conversation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the turn may no longer act: {0}")]
pub struct Fenced(pub String);

/// Records a turn's side effects so that each is performed once.
#[async_trait]
pub trait EffectLedger: Send + Sync {
    /// The recorded result of effect `key`, when this turn already performed it.
    async fn performed(&self, key: &str) -> Option<Value>;
    /// Asks for the right to perform effect `key` now.
    async fn begin(&self, key: &str) -> Result<(), Fenced>;
    /// Records that effect `key` was performed with `result` (before anything else happens).
    async fn done(&self, key: &str, result: &Value) -> Result<(), Fenced>;
}

/// No journal: every effect is performed when asked (`inkdesk chat`, unit tests).
#[derive(Debug, Default, Clone, Copy)]
pub struct Unjournaled;

#[async_trait]
impl EffectLedger for Unjournaled {
    async fn performed(&self, _key: &str) -> Option<Value> {
        None
    }

    async fn begin(&self, _key: &str) -> Result<(), Fenced> {
        Ok(())
    }

    async fn done(&self, _key: &str, _result: &Value) -> Result<(), Fenced> {
        Ok(())
    }
}
