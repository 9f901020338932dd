//! The reminder texts of `prompts/reminders.toml`, rendered for one booking.

use std::collections::BTreeMap;

use chrono::{Datelike, Timelike};
use inkdesk_calendar::Booking;
use inkdesk_calendar::format::{month_name, weekday_name};
use inkdesk_domain::{Language, StudioProfile};
use inkdesk_messaging::MAX_MESSAGE_BYTES;
use serde::Deserialize;

const TEXTS: &str = include_str!("../../../../prompts/reminders.toml");

/// Which reminder text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderKind {
    /// An Instagram message (the customer may answer it in the conversation).
    Dm,
    /// An SMS (answers go to Instagram).
    Sms,
}

#[derive(Deserialize)]
struct Texts {
    dm: String,
    sms: String,
}

/// The reminder templates, checked once.
#[derive(Debug, Clone)]
pub struct ReminderTexts {
    templates: BTreeMap<(bool, bool), String>,
}

/// The reminder templates could not be read (a build with a broken `prompts/reminders.toml`).
#[derive(Debug, thiserror::Error)]
#[error("prompts/reminders.toml: {0}")]
pub struct ReminderTextError(String);

fn key(language: Language, kind: ReminderKind) -> (bool, bool) {
    (language == Language::El, kind == ReminderKind::Dm)
}

impl ReminderTexts {
    /// Reads and checks the templates compiled in.
    pub fn new() -> Result<Self, ReminderTextError> {
        let all: BTreeMap<String, Texts> =
            toml::from_str(TEXTS).map_err(|e| ReminderTextError(e.to_string()))?;
        let mut templates = BTreeMap::new();
        for (name, language) in [("el", Language::El), ("en", Language::En)] {
            let texts = all
                .get(name)
                .ok_or_else(|| ReminderTextError(format!("no [{name}] table")))?;
            for (kind, text) in [
                (ReminderKind::Dm, &texts.dm),
                (ReminderKind::Sms, &texts.sms),
            ] {
                let env = minijinja::Environment::new();
                env.template_from_str(text)
                    .map_err(|e| ReminderTextError(e.to_string()))?;
                templates.insert(key(language, kind), text.clone());
            }
        }
        Ok(Self { templates })
    }

    /// The reminder of `booking` in `language`. A DM that would not fit one Instagram
    /// message goes without the preparation lines.
    pub fn render(
        &self,
        profile: &StudioProfile,
        booking: &Booking,
        language: Language,
        kind: ReminderKind,
    ) -> String {
        let preparation = match language {
            Language::El => profile.policies.preparation_el.join(" "),
            Language::En => profile.policies.preparation_en.join(" "),
        };
        let full = self.fill(profile, booking, language, kind, &preparation);
        if kind == ReminderKind::Dm && full.len() > MAX_MESSAGE_BYTES {
            return self.fill(profile, booking, language, kind, "");
        }
        full
    }

    fn fill(
        &self,
        profile: &StudioProfile,
        booking: &Booking,
        language: Language,
        kind: ReminderKind,
        preparation: &str,
    ) -> String {
        let local = booking.start.with_timezone(&profile.time_zone);
        let date = local.date_naive();
        let weekday = weekday_name(language, date.weekday());
        let month = month_name(language, date.month());
        let day = match language {
            // Σάββατο is the only neuter weekday.
            Language::El if date.weekday() == chrono::Weekday::Sat => {
                format!("το {weekday} {} {month}", date.day())
            }
            Language::El => format!("την {weekday} {} {month}", date.day()),
            Language::En => format!("on {weekday} {} {month}", date.day()),
        };
        let first_name = booking
            .customer
            .as_str()
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        let context = minijinja::context! {
            name => first_name,
            studio => profile.name.clone(),
            day => day,
            time => format!("{:02}:{:02}", local.hour(), local.minute()),
            address => profile.address.clone(),
            preparation => preparation,
            sign_off => profile.sign_off.clone(),
        };
        let template = self
            .templates
            .get(&key(language, kind))
            .map(String::as_str)
            .unwrap_or_default();
        let env = minijinja::Environment::new();
        env.render_str(template, context)
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }
}
