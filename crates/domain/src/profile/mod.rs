//! The studio profile: every fact and rule of one studio, loaded from TOML.
//!
//! Every default here is the first studio's (behaviour reference §1). A profile file only
//! needs the keys it changes; unknown keys are refused so a typo cannot silently fall back
//! to a default. [`StudioProfile::from_toml_str`] parses and validates in one step.

mod artists;
mod hours;
mod payment;
mod sections;
mod voice;

use std::str::FromStr;

use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use artists::{Artist, ArtistKey, Closure, fold};
pub use hours::{DayHours, HoursOverride, OpeningSpan, WEEKDAYS, WeeklyHours};
pub use payment::{DepositRounding, PaymentInstructions, PaymentMethod};
pub use sections::{
    BookingRules, ConversationRules, Language, Policies, PriceGuideItem, PricingLimits,
};
pub use voice::{TRANSCRIPTION_MAX_BYTES, VoiceNotes};

use crate::phone::Region;

/// The example profile of the first studio, shipped as `config/studio.example.toml`.
pub const EXAMPLE_TOML: &str = include_str!("../../../../config/studio.example.toml");

/// Why a profile was refused.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The TOML could not be read into a profile (syntax, unknown key, bad value); the
    /// message names the line and the key.
    #[error("cannot read the studio profile: {0}")]
    Parse(String),
    /// A value is well-formed but not acceptable.
    #[error("studio profile: `{field}` {message}")]
    Invalid {
        /// Dotted path of the offending key, e.g. `booking.capacity`.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
}

fn payments_unset(payments: &PaymentInstructions) -> bool {
    payments == &PaymentInstructions::default()
}

/// Everything inkdesk knows about one studio.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StudioProfile {
    /// The studio's name as customers know it.
    pub name: String,
    /// The studio's display name in Instagram threads (tells its turns in an inbox export).
    pub instagram_name: Option<String>,
    /// Street address for directions.
    pub address: String,
    /// IANA time zone in which every date and time decision is made.
    #[serde(serialize_with = "ser_tz", deserialize_with = "de_tz")]
    pub time_zone: Tz,
    /// Region for phone numbers written without a country code (ISO 3166 alpha-2).
    #[serde(serialize_with = "ser_region", deserialize_with = "de_region")]
    pub phone_region: Region,
    /// Default reply language when the customer's is unclear.
    pub language: Language,
    /// ISO 4217 currency code.
    pub currency: String,
    /// Symbol written after amounts.
    pub currency_symbol: String,
    /// The studio's signature at the end of replies.
    pub sign_off: String,
    /// Opening hours per weekday.
    pub hours: WeeklyHours,
    /// Capacity, slots, notice, horizon, holds.
    pub booking: BookingRules,
    /// History, debounce, takeover.
    pub conversation: ConversationRules,
    /// Price limits and deposit.
    pub pricing: PricingLimits,
    /// The studio's own ways to be paid a deposit (manual payments).
    #[serde(skip_serializing_if = "payments_unset")]
    pub payments: PaymentInstructions,
    /// Policies the assistant states when asked.
    pub policies: Policies,
    /// Prices for common requests without a reference image.
    pub price_guide: Vec<PriceGuideItem>,
    /// Caps on voice notes.
    pub voice_notes: VoiceNotes,
    /// The artists (`[[artists]]`). Empty: one pool of `booking.capacity` appointments at
    /// a time; otherwise each artist takes one appointment at a time and `capacity` is
    /// not used.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub artists: Vec<Artist>,
    /// Dates the studio or an artist is away (`[[closures]]`); more are added at run time
    /// in the calendar.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub closures: Vec<Closure>,
}

impl Default for StudioProfile {
    fn default() -> Self {
        Self {
            name: "Tattoo Studio".to_owned(),
            instagram_name: None,
            address: String::new(),
            time_zone: chrono_tz::Europe::Athens,
            phone_region: Region::GREECE,
            language: Language::El,
            currency: "EUR".to_owned(),
            currency_symbol: "€".to_owned(),
            sign_off: "❤️🐼".to_owned(),
            hours: WeeklyHours::default(),
            booking: BookingRules::default(),
            conversation: ConversationRules::default(),
            pricing: PricingLimits::default(),
            payments: PaymentInstructions::default(),
            policies: Policies::default(),
            price_guide: PriceGuideItem::defaults(),
            voice_notes: VoiceNotes::default(),
            artists: Vec::new(),
            closures: Vec::new(),
        }
    }
}

impl StudioProfile {
    /// Parses and validates a profile written in TOML.
    pub fn from_toml_str(text: &str) -> Result<Self, ProfileError> {
        let profile: StudioProfile =
            toml::from_str(text).map_err(|e| ProfileError::Parse(e.to_string()))?;
        profile.validate()?;
        Ok(profile)
    }

    /// The first studio's profile (`config/studio.example.toml`).
    pub fn example() -> Self {
        // The example is checked by a unit test; fall back to the defaults rather than panic.
        Self::from_toml_str(EXAMPLE_TOML).unwrap_or_default()
    }

    /// The profile as TOML (for `inkdesk check-config`).
    pub fn to_toml_string(&self) -> Result<String, ProfileError> {
        toml::to_string_pretty(self).map_err(|e| ProfileError::Parse(e.to_string()))
    }

    /// Checks the rules no single field can check alone.
    pub fn validate(&self) -> Result<(), ProfileError> {
        let invalid = |field, message: &str| ProfileError::Invalid {
            field,
            message: message.to_owned(),
        };
        if self.name.trim().is_empty() {
            return Err(invalid("name", "must not be empty"));
        }
        if !self.hours.any_open() {
            return Err(invalid("hours", "the studio must open on at least one day"));
        }
        self.validate_artists()?;
        self.booking.validate()?;
        self.conversation.validate()?;
        self.pricing.validate()?;
        self.voice_notes.validate()?;
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(invalid(
                "currency",
                "must be a three-letter ISO 4217 code such as EUR",
            ));
        }
        for item in &self.price_guide {
            if item.low <= rust_decimal::Decimal::ZERO
                || item.high.is_some_and(|high| high < item.low)
            {
                return Err(ProfileError::Invalid {
                    field: "price_guide",
                    message: format!("entry `{}` needs 0 < low <= high", item.key),
                });
            }
        }
        Ok(())
    }
}

impl StudioProfile {
    /// The artist with this key.
    pub fn artist(&self, key: &ArtistKey) -> Option<&Artist> {
        self.artists.iter().find(|a| &a.key == key)
    }

    /// The opening spans on `day` for `artist` (their own hours when they have them), or
    /// the studio's for `None`.
    pub fn spans_on(&self, artist: Option<&ArtistKey>, day: chrono::Weekday) -> &[OpeningSpan] {
        match artist.and_then(|key| self.artist(key)) {
            Some(artist) => artist.spans_on(&self.hours, day),
            None => self.hours.on(day),
        }
    }

    /// The profile's closure that keeps `artist` (or the studio) away on `date`, if any.
    pub fn closure_on(
        &self,
        date: chrono::NaiveDate,
        artist: Option<&ArtistKey>,
    ) -> Option<&Closure> {
        self.closures
            .iter()
            .find(|c| c.covers(date) && c.applies_to(artist))
    }

    fn validate_artists(&self) -> Result<(), ProfileError> {
        let invalid = |field, message: String| ProfileError::Invalid { field, message };
        for (index, artist) in self.artists.iter().enumerate() {
            if artist.name.trim().is_empty() {
                return Err(invalid(
                    "artists",
                    format!("artist `{}` needs a name", artist.key),
                ));
            }
            if self.artists[..index].iter().any(|a| a.key == artist.key) {
                return Err(invalid(
                    "artists",
                    format!("the key `{}` is used twice", artist.key),
                ));
            }
            if artist
                .google_calendar_id
                .as_ref()
                .is_some_and(|id| id.trim().is_empty())
            {
                return Err(invalid(
                    "artists",
                    format!("artist `{}` has an empty google_calendar_id", artist.key),
                ));
            }
        }
        for closure in &self.closures {
            if closure.to < closure.from {
                return Err(invalid(
                    "closures",
                    format!("{} to {} ends before it starts", closure.from, closure.to),
                ));
            }
            if let Some(key) = &closure.artist
                && self.artist(key).is_none()
            {
                return Err(invalid(
                    "closures",
                    format!("no artist with the key `{key}`"),
                ));
            }
        }
        Ok(())
    }
}

fn ser_tz<S: Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}

fn de_tz<'de, D: Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
    let name = String::deserialize(d)?;
    Tz::from_str(name.trim()).map_err(|_| {
        serde::de::Error::custom(format!(
            "unknown time zone `{name}`; use an IANA name such as Europe/Athens"
        ))
    })
}

fn ser_region<S: Serializer>(region: &Region, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&region.to_string())
}

fn de_region<'de, D: Deserializer<'de>>(d: D) -> Result<Region, D::Error> {
    let code = String::deserialize(d)?;
    Region::parse(&code).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "unknown region `{code}`; use a two-letter country code such as GR"
        ))
    })
}

#[cfg(test)]
mod tests;
