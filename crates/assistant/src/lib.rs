//! inkdesk's conversation engine.
//!
//! Map of the crate:
//! - [`engine`]: [`Engine`] — one turn ([`Engine::respond`]): vision once per new image,
//!   the reply with tools in bounded rounds ending in `send_reply`, tools bound to the
//!   sender (`engine/executor.rs`), the [`engine::TurnRecord`] for traces;
//!   [`Engine::note_question`] remembers the ids of a sent confirmation question.
//! - [`prompt`]: the studio's system prompt, per-turn tail, vision prompt and fixed texts,
//!   rendered from the studio profile with templates from `prompts/` compiled in.
//! - [`tools`]: tool schemas (no user id anywhere), argument validation with the domain's
//!   types (errors the model can act on), the quote tool on inkdesk-pricing.
//! - [`confirm`]: the two-step cancel/reschedule check and the `ConfirmationStore` port
//!   (memory impl; the store crate has no port for it).
//! - [`quotes`]: the prices the engine stated in a conversation (`q1`, …) and the
//!   price-guide line ids (`g3a`) that `book_appointment` refers to; the `QuoteStore` port.
//! - [`holds`]: the `OfferHolds` port the engine uses for offered slots (memory impl; the
//!   store's `SlotHolds` plugs in behind it).
//! - [`takeover`]: what the webhook path does with echoes and reactions (mute, or queue a
//!   customer reaction) and the conversion of webhook events into customer messages.
//! - [`message`]: the customer's pending messages and how a burst is combined in order.
//! - [`history`]: earlier turns as the model sees them.
//! - [`intent`]: the intents of a burst and their answering order (price, booking, rest).
//! - [`language`]: which language the customer writes in (Greek when unclear).
//! - [`locale`]: weekday and month names, dates, hours, durations and amounts.
//! - [`tone`](mod@tone): the [`tone::ToneSource`] port (the studio's past replies similar to
//!   the burst, from inkdesk-tone), shown at the end of the request as tone examples.
//!
//! - [`runner`]: [`runner::Runner`] — one claimed conversation's turn, exactly once: the
//!   turn journal, the lease heartbeat and fencing, per-chunk delivery records, the
//!   outcome in the log, the handoff, the failure policy; [`runner::echo`] tells our
//!   echoes from a person's; [`runner::requeue`] answers what arrived while muted or paused.
//!
//! - [`reminders`]: customer reminders of confirmed appointments — the job per booking
//!   ([`reminders::ReminderPlanner`], kept in step by [`reminders::RemindingCalendar`]) and
//!   [`reminders::ReminderSender`], which sends each once (DM in the window, SMS with
//!   consent, else the console's "remind by hand" list).
//! - [`deposits`]: deposits around a booking ([`deposits::Deposits`]: amount, hold,
//!   payment request, hold-expiry job) and the booking's life after it is made
//!   ([`deposits::Lifecycle`]: deposit received, unpaid hold expired, payment events once,
//!   confirmation observers); [`jobs`]: runs claimed scheduled jobs by kind.
//!
//! - [`noshow`]: staff mark past bookings completed or no-show; a customer with a no-show
//!   is flagged to the assistant (the turn's prompt), to the deposits (always required) and
//!   in the console.
//!
//! The binary's workers claim conversations and hand each claim to [`runner::Runner::run`].
//!
//! Webhook events that need no turn go through [`takeover::decide`].
//!
//! Invariants: the conversation id comes from the server, never from the model; prices
//! come only from inkdesk-pricing; cancel/reschedule run only in a turn after the one that
//! asked; customers never see an error text.

pub mod confirm;
pub mod deposits;
pub mod engine;
pub mod eval;
pub mod history;
pub mod holds;
pub mod intent;
pub mod jobs;
pub mod language;
pub mod locale;
pub mod message;
pub mod noshow;
pub mod prompt;
pub mod quotes;
pub mod reminders;
pub mod runner;
pub mod takeover;
pub mod tone;
pub mod tools;

pub use engine::{Engine, EngineConfig, EngineDeps, TurnInput, TurnOutcome};
pub use intent::Intent;
pub use language::{DetectedLanguage, detect, detect_in_conversation};
pub use prompt::{FixedText, PromptError, StudioPrompts, TurnContext};
