//! inkdesk's conversation engine.
//!
//! Map of the crate:
//! - [`prompt`]: the studio's system prompt, per-turn tail, vision prompt and fixed texts,
//!   rendered from the studio profile with templates from `prompts/` compiled in.
//! - [`language`]: which language the customer writes in (Greek when unclear).
//! - [`engine`]: [`Engine`] — one turn: vision, the reply with tools in bounded rounds,
//!   tools bound to the sender (`executor`), the turn record for traces.
//! - [`holds`]: the `OfferHolds` port the engine uses for offered slots, with a memory impl.
//! - [`takeover`]: what the webhook path does with echoes and reactions (mute, or queue a
//!   customer reaction), and the conversion of webhook events into customer messages.
//! - [`history`]: earlier turns as the model sees them.
//! - [`message`]: the customer's pending messages and how a burst is combined in order.
//! - [`confirm`]: the two-step cancel/reschedule check and the `ConfirmationStore` port.
//! - [`intent`]: the intents of a burst and their answering order (price, booking, rest).
//! - [`tools`]: tool schemas and argument validation with the domain's types.
//! - [`locale`]: weekday and month names, dates, hours, durations and amounts in Greek and
//!   English.

pub mod confirm;
pub mod engine;
pub mod history;
pub mod holds;
pub mod intent;
pub mod language;
pub mod locale;
pub mod message;
pub mod prompt;
pub mod takeover;
pub mod tools;

pub use engine::{Engine, EngineConfig, EngineDeps, TurnInput, TurnOutcome};
pub use intent::Intent;
pub use language::{DetectedLanguage, detect, detect_in_conversation};
pub use prompt::{FixedText, PromptError, StudioPrompts, TurnContext};
