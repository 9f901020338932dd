//! Validated value types and the studio profile for inkdesk.
//!
//! This crate is pure: no IO beyond parsing text handed to it, no clock reads (time comes
//! from a [`Clock`]). Every type here can only hold a valid value, so the layers above
//! never re-check what a constructor already proved.
//!
//! Map:
//! - [`clock`]: `Clock` and its system, fixed and manual implementations.
//! - [`conversation`]: `ConversationId`, the server-bound identity of a customer thread.
//! - [`error`]: `ValidationError`, whose messages are safe for customers and the model.

pub mod clock;
pub mod conversation;
pub mod error;

pub use clock::{Clock, FixedClock, ManualClock, SystemClock};
pub use conversation::ConversationId;
pub use error::ValidationError;
