//! The conversation engine: one turn from pending messages to a reply.
//!
//! [`Engine::respond`] is the pure-ish core (model, calendar, holds and confirmations; no
//! sending, no log): transcripts of new voice notes, vision for new images, the reply with tools in bounded rounds, and a
//! [`TurnOutcome`] saying what to send, what to store and what happened. Failures never
//! escape as raw errors: they become the localised apology and a handoff.

mod deposit;
mod executor;
pub mod ledger;
mod question;
pub mod record;
mod turn;
pub mod vision;
pub mod voice;

use std::sync::Arc;

use chrono::Duration;
use inkdesk_calendar::Calendar;
use inkdesk_domain::StudioProfile;
use inkdesk_messaging::AttachmentFetcher;
use inkdesk_openai::{ChatModel, ImageDetail, ToolChoice, ToolDefinition, Transcriber};
use inkdesk_pricing::PricingRules;

pub use executor::ToolFailure;
pub use ledger::{EffectLedger, Fenced, Unjournaled};
pub use record::{
    CallKind, ModelCallRecord, ToneHitRecord, ToneRecord, ToolRecord, TurnOutcomeKind, TurnRecord,
};
pub use turn::{HandoffRequest, TurnInput, TurnOutcome};
pub use vision::NewAnalysis;
pub use voice::NewTranscript;

use crate::confirm::ConfirmationStore;
use crate::holds::OfferHolds;
use crate::prompt::{PromptError, StudioPrompts};
use crate::quotes::QuoteStore;
use crate::tone::ToneSource;
use crate::tools::tool_specs_for;

/// Tunables of the engine (the studio's rules live in the profile).
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Model calls that may run tools before the reply is forced (default 4).
    pub max_tool_rounds: u32,
    /// How long a cancel/reschedule question stays answerable (default 24 h).
    pub confirmation_ttl: Duration,
    /// Appointment length when neither price nor duration is known (default 60 min).
    pub default_appointment_minutes: u32,
    /// How long a stated price can be booked by its quote id (default 14 days): long
    /// enough for a customer who comes back the next week, short enough that a price the
    /// studio has changed since is quoted again.
    pub quote_ttl: Duration,
    /// Image detail for vision. Default low: on gpt-4o-mini a 1080×1350 photo costs 2,833
    /// tokens at low against about 25,500 at high, and a reference design's motif, size
    /// clues and coverage survive the 512-px view the model gets at low.
    pub vision_detail: ImageDetail,
    /// Tool choice on ordinary rounds (default auto; the last round forces `send_reply`).
    pub tool_choice: ToolChoice,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_tool_rounds: 4,
            confirmation_ttl: Duration::hours(24),
            default_appointment_minutes: 60,
            quote_ttl: Duration::days(14),
            vision_detail: ImageDetail::Low,
            tool_choice: ToolChoice::Auto,
        }
    }
}

/// The ports the engine calls.
#[derive(Clone)]
pub struct EngineDeps {
    /// The language model (reply and vision).
    pub model: Arc<dyn ChatModel>,
    /// The studio's calendar.
    pub calendar: Arc<dyn Calendar>,
    /// Holds of offered slots.
    pub holds: Arc<dyn OfferHolds>,
    /// Pending cancel/reschedule confirmations.
    pub confirmations: Arc<dyn ConfirmationStore>,
    /// The prices stated in each conversation, which bookings refer to.
    pub quotes: Arc<dyn QuoteStore>,
    /// Downloads image attachments.
    pub fetcher: Arc<dyn AttachmentFetcher>,
    /// The studio's past replies as tone examples; `None` = no tone examples.
    pub tone: Option<Arc<dyn ToneSource>>,
}

/// The conversation engine of one studio. Cheap to share behind an `Arc`.
pub struct Engine {
    profile: StudioProfile,
    prompts: StudioPrompts,
    pricing: PricingRules,
    tools: Vec<ToolDefinition>,
    config: EngineConfig,
    model: Arc<dyn ChatModel>,
    calendar: Arc<dyn Calendar>,
    holds: Arc<dyn OfferHolds>,
    confirmations: Arc<dyn ConfirmationStore>,
    quotes: Arc<dyn QuoteStore>,
    fetcher: Arc<dyn AttachmentFetcher>,
    tone: Option<Arc<dyn ToneSource>>,
    transcriber: Option<Arc<dyn Transcriber>>,
    lifecycle: Option<Arc<crate::deposits::Lifecycle>>,
    no_shows: Option<Arc<crate::noshow::NoShows>>,
    /// How deposits are paid, as the prompt says it (set by `with_lifecycle`).
    deposit_way: Option<crate::prompt::DepositWay>,
    /// Reminders may go by SMS (set by `with_sms_reminders`).
    sms_reminders: bool,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("studio", &self.profile.name)
            .field("config", &self.config)
            .field("tone", &self.tone.is_some())
            .field("transcriber", &self.transcriber.is_some())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine for `profile`; renders the stable prompts once.
    pub fn new(
        profile: StudioProfile,
        deps: EngineDeps,
        config: EngineConfig,
    ) -> Result<Self, PromptError> {
        let prompts = StudioPrompts::new(&profile)?;
        let pricing = PricingRules {
            max_minutes: profile.booking.max_appointment_minutes,
            ..PricingRules::default()
        };
        let tools = tool_specs_for(!profile.artists.is_empty())
            .into_iter()
            .map(|spec| ToolDefinition::new(spec.name, spec.description, spec.parameters))
            .collect();
        Ok(Self {
            profile,
            prompts,
            pricing,
            tools,
            config,
            model: deps.model,
            calendar: deps.calendar,
            holds: deps.holds,
            confirmations: deps.confirmations,
            quotes: deps.quotes,
            fetcher: deps.fetcher,
            tone: deps.tone,
            transcriber: None,
            lifecycle: None,
            no_shows: None,
            deposit_way: None,
            sms_reminders: false,
        })
    }

    /// The same engine with the booking lifecycle: bookings wait for a deposit when the
    /// lifecycle takes deposits (the prompt then says so, and how to pay), and confirmed
    /// ones are announced to its observers.
    pub fn with_lifecycle(
        mut self,
        lifecycle: Arc<crate::deposits::Lifecycle>,
    ) -> Result<Self, PromptError> {
        // Stated only when every booking asks for one; a customer who must always pay
        // (percent 0) learns it from the booking's answer.
        let way = lifecycle
            .deposits()
            .filter(|d| d.for_everyone())
            .map(|d| match d.provider() {
                inkdesk_payments::Provider::Stripe => crate::prompt::DepositWay::Link,
                inkdesk_payments::Provider::Manual => crate::prompt::DepositWay::Instructions,
            });
        self.deposit_way = way;
        self.prompts = StudioPrompts::with_options(&self.profile, way, self.sms_reminders)?;
        self.lifecycle = Some(lifecycle);
        Ok(self)
    }

    /// The same engine telling customers that reminders may come by SMS (Twilio is
    /// configured): the prompt asks them once, when booking, whether they want one, and
    /// `book_appointment` stores the answer with the booking.
    pub fn with_sms_reminders(mut self, on: bool) -> Result<Self, PromptError> {
        self.sms_reminders = on;
        self.prompts = StudioPrompts::with_options(&self.profile, self.deposit_way, on)?;
        Ok(self)
    }

    /// The same engine telling the model, each turn, when the customer has a no-show on
    /// record (and that a deposit is then required, when the studio takes deposits).
    #[must_use]
    pub fn with_no_shows(mut self, no_shows: Arc<crate::noshow::NoShows>) -> Self {
        self.no_shows = Some(no_shows);
        self
    }

    /// The same engine transcribing voice notes with `transcriber` (downloaded through the
    /// engine's fetcher, within the profile's `voice_notes` caps). Without one, a voice
    /// note stays a "[voice message …]" line.
    pub fn with_transcriber(mut self, transcriber: Arc<dyn Transcriber>) -> Self {
        self.transcriber = Some(transcriber);
        self
    }

    /// The studio's profile.
    pub fn profile(&self) -> &StudioProfile {
        &self.profile
    }

    /// The rendered prompts (for `inkdesk` diagnostics and the token benchmark).
    pub fn prompts(&self) -> &StudioPrompts {
        &self.prompts
    }

    /// The tool definitions sent on every reply call.
    pub fn tool_definitions(&self) -> &[ToolDefinition] {
        &self.tools
    }
}
