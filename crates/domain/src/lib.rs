//! Validated value types and the studio profile for inkdesk.
//!
//! This crate is pure: no IO beyond parsing text handed to it, no clock reads (time comes
//! from a [`Clock`]). Every value type here can only hold a valid value, so the layers
//! above never re-check what a constructor already proved. The rules (behaviour reference
//! §1 and §4) live here and nowhere else:
//!
//! - [`profile`]: `StudioProfile` — hours, capacity, notice, horizon, holds, history,
//!   debounce, takeover, limits, policies, price guide — with every default, loaded from
//!   TOML and validated with errors that name the field.
//! - [`schedule`]: date/time parsing and the appointment check (past, notice, horizon,
//!   opening hours, ends by closing) in the studio's time zone, with the DST policy.
//! - [`phone`]: `PhoneNumber` (libphonenumber metadata; E.164 stored, national shown).
//! - [`name`]: `CustomerName` (letters of any script, 2–100 chars).
//! - [`amount`]: `Price` (exact decimal, positive, ≤ max) and `AppointmentDuration`.
//! - [`text`]: `EventId` (base32hex) and `FreeText` (sanitised, ≤ 1000 chars).
//! - [`conversation`]: `ConversationId`, the server-bound identity of a customer thread.
//! - [`clock`]: `Clock` and its system, fixed and manual implementations.
//! - [`error`]: `ValidationError`, whose messages are safe for customers and the model.

pub mod amount;
pub mod clock;
pub mod conversation;
pub mod error;
pub mod name;
pub mod phone;
pub mod profile;
pub mod schedule;
pub mod text;

pub use amount::{AppointmentDuration, Price};
pub use clock::{Clock, FixedClock, ManualClock, SystemClock};
pub use conversation::{ConversationId, RESERVED_PREFIX};
pub use error::ValidationError;
pub use name::CustomerName;
pub use phone::{PhoneNumber, Region};
pub use profile::{ArtistKey, Closure, Language, ProfileError, StudioProfile};
pub use text::{EventId, FreeText};
