//! inkdesk's conversation engine.
//!
//! Map of the crate:
//! - [`prompt`]: the studio's system prompt, per-turn tail, vision prompt and fixed texts,
//!   rendered from the studio profile with templates from `prompts/` compiled in.
//! - [`language`]: which language the customer writes in (Greek when unclear).
//! - [`message`]: the customer's pending messages and how a burst is combined in order.
//! - [`confirm`]: the two-step cancel/reschedule check and the `ConfirmationStore` port.
//! - [`intent`]: the intents of a burst and their answering order (price, booking, rest).
//! - [`tools`]: tool schemas and argument validation with the domain's types.
//! - [`locale`]: weekday and month names, dates, hours, durations and amounts in Greek and
//!   English.

pub mod confirm;
pub mod intent;
pub mod language;
pub mod locale;
pub mod message;
pub mod prompt;
pub mod tools;

pub use intent::Intent;
pub use language::{DetectedLanguage, detect, detect_in_conversation};
pub use prompt::{FixedText, PromptError, StudioPrompts, TurnContext};
