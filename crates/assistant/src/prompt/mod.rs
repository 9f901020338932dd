//! The studio's prompts and fixed texts, rendered from the studio profile.
//!
//! Templates live in `prompts/` at the workspace root and are compiled in with
//! `include_str!`, so the binary reads nothing at run time. [`StudioPrompts::new`] renders
//! the stable parts once (system prompt, vision prompt, fixed texts); only the short
//! per-turn tail ([`StudioPrompts::turn_context`]) is rendered on every turn. The engine
//! sends them in this order — system prompt, tool schemas, history, turn tail, new
//! messages — so the long identical prefix is cached by the provider. Instructions are in
//! English for every studio (replies are in the customer's language).

mod facts;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use inkdesk_domain::{Language, StudioProfile};
use minijinja::{Environment, UndefinedBehavior, context};
use serde::Deserialize;

use crate::language::DetectedLanguage;
use crate::locale;
pub use facts::{DepositView, DepositWay, StudioFacts};

const SYSTEM: &str = include_str!("../../../../prompts/system.en.md.j2");
const CONTEXT: &str = include_str!("../../../../prompts/context.en.md.j2");

/// The language of the instructions. English costs about 40 % fewer tokens than Greek on
/// OpenAI's tokenizers; the reply language is set per turn in the turn note.
const PROMPT_LANGUAGE: Language = Language::En;
const VISION: &str = include_str!("../../../../prompts/vision.md.j2");
const TEXTS: &str = include_str!("../../../../prompts/texts.toml");

/// A template that does not compile or render. Templates are compiled into the binary and
/// covered by tests, so this means a broken build or a profile the templates cannot show.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// A template failed to compile or render.
    #[error("prompt template `{name}` failed")]
    Template {
        /// The template's name.
        name: &'static str,
        /// What minijinja reported.
        #[source]
        source: minijinja::Error,
    },
    /// `prompts/texts.toml` is malformed or lacks a key.
    #[error("fixed texts: {0}")]
    Texts(String),
}

/// A text the engine sends without asking the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FixedText {
    /// Something failed (model unavailable, unexpected tool failure); a person will reply.
    Apology,
    /// The customer complained; a person will reply personally.
    ComplaintAck,
    /// The conversation was handed to a person for another reason.
    Handoff,
}

/// What the per-turn tail says.
#[derive(Debug, Clone)]
pub struct TurnContext {
    /// The instant of the turn; shown as a date and time in the studio's zone.
    pub now: DateTime<Utc>,
    /// The customer's language.
    pub language: DetectedLanguage,
    /// A change waiting for the customer's confirmation, described in words.
    pub pending_confirmation: Option<String>,
    /// The customer missed an earlier appointment without notice; `Some(true)` when a
    /// deposit is therefore required of them, `Some(false)` when the studio takes none.
    pub no_show: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct TextTable {
    apology: String,
    complaint_ack: String,
    handoff: String,
}

/// The rendered prompts of one studio.
#[derive(Debug)]
pub struct StudioPrompts {
    env: Environment<'static>,
    time_zone: chrono_tz::Tz,
    system: String,
    vision: HashMap<Language, String>,
    texts: HashMap<(Language, FixedText), String>,
}

impl StudioPrompts {
    /// Renders the stable prompts of `profile`. The system prompt is in English whatever
    /// the studio's language, and identical for every customer.
    pub fn new(profile: &StudioProfile) -> Result<Self, PromptError> {
        Self::with_deposit(profile, None)
    }

    /// [`StudioPrompts::new`] for a studio taking deposits `deposit` (`None`: none; the
    /// prompt then says nothing of deposits).
    pub fn with_deposit(
        profile: &StudioProfile,
        deposit: Option<DepositWay>,
    ) -> Result<Self, PromptError> {
        Self::with_options(profile, deposit, false)
    }

    /// [`StudioPrompts::with_deposit`], saying whether reminders may go by SMS
    /// (`sms_reminders`): without, the prompt promises no reminder, since a DM is allowed
    /// only inside Meta's 24-hour window.
    pub fn with_options(
        profile: &StudioProfile,
        deposit: Option<DepositWay>,
        sms_reminders: bool,
    ) -> Result<Self, PromptError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for (name, source) in [("system", SYSTEM), ("context", CONTEXT), ("vision", VISION)] {
            env.add_template(name, source)
                .map_err(|source| PromptError::Template { name, source })?;
        }
        let facts = StudioFacts::from_profile(profile, PROMPT_LANGUAGE)
            .with_deposit(profile, deposit)
            .with_sms_reminders(sms_reminders);
        let system = render(
            &env,
            "system",
            minijinja::Value::from(minijinja::value::Serde(&facts)),
        )?;

        let mut vision = HashMap::new();
        for language in [Language::El, Language::En] {
            let (name, example) = match language {
                Language::El => ("Greek", "τριαντάφυλλο με λεπτές γραμμές και απαλή σκίαση"),
                Language::En => ("English", "rose in fine lines with soft shading"),
            };
            let text = render(
                &env,
                "vision",
                context! { language => name, example => example },
            )?;
            vision.insert(language, text);
        }

        let tables: HashMap<String, TextTable> =
            toml::from_str(TEXTS).map_err(|e| PromptError::Texts(e.to_string()))?;
        let mut texts = HashMap::new();
        for language in [Language::El, Language::En] {
            let code = match language {
                Language::El => "el",
                Language::En => "en",
            };
            let table = tables
                .get(code)
                .ok_or_else(|| PromptError::Texts(format!("no table [{code}]")))?;
            for (kind, source) in [
                (FixedText::Apology, &table.apology),
                (FixedText::ComplaintAck, &table.complaint_ack),
                (FixedText::Handoff, &table.handoff),
            ] {
                let text = env
                    .render_str(source, context! { sign_off => &profile.sign_off })
                    .map_err(|source| PromptError::Template {
                        name: "texts.toml",
                        source,
                    })?;
                texts.insert((language, kind), text);
            }
        }

        Ok(Self {
            env,
            time_zone: profile.time_zone,
            system,
            vision,
            texts,
        })
    }

    /// The system prompt: role, rules, studio facts, price guide. Identical on every turn.
    pub fn system(&self) -> &str {
        &self.system
    }

    /// The image-measurement prompt, asking for descriptions in `language`.
    pub fn vision(&self, language: Language) -> &str {
        self.vision
            .get(&language)
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// A fixed text in `language`, signed with the studio's sign-off.
    pub fn fixed(&self, language: Language, text: FixedText) -> &str {
        self.texts
            .get(&(language, text))
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// The per-turn tail: today's date and time in the studio's zone, the customer's
    /// language and any pending confirmation. Sent after the history, before the new
    /// messages.
    pub fn turn_context(&self, turn: &TurnContext) -> Result<String, PromptError> {
        let lang = PROMPT_LANGUAGE;
        let local = turn.now.with_timezone(&self.time_zone);
        let date = local.date_naive();
        let today = context! {
            weekday => locale::weekday_name(lang, chrono::Datelike::weekday(&date)),
            date => locale::long_date(lang, date),
            iso => date.format("%Y-%m-%d").to_string(),
            time => local.format("%H:%M").to_string(),
        };
        render(
            &self.env,
            "context",
            context! {
                today => today,
                time_zone => self.time_zone.name(),
                customer_language => locale::language_name(lang, turn.language.language),
                language_unclear => !turn.language.clear,
                pending => turn.pending_confirmation.clone(),
                no_show => turn.no_show.is_some(),
                no_show_deposit => turn.no_show == Some(true),
            },
        )
    }
}

fn render(
    env: &Environment<'static>,
    name: &'static str,
    ctx: minijinja::Value,
) -> Result<String, PromptError> {
    env.get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|source| PromptError::Template { name, source })
}

#[cfg(test)]
mod tests;
