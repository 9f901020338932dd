//! What staff type into the calendar forms (or send to the API), checked and turned into
//! the calendar's types. Every field arrives as text, so a wrong one is named in the error
//! and the form can be shown again with everything as it was typed.

use chrono::{DateTime, NaiveDate, Utc};
use inkdesk_calendar::{NewBooking, duration_for_price};
use inkdesk_domain::schedule::{parse_date, parse_time, resolve_local};
use inkdesk_domain::{
    AppointmentDuration, ArtistKey, Closure, ConversationId, CustomerName, FreeText, PhoneNumber,
    Price, StudioProfile, ValidationError,
};
use serde::{Deserialize, Deserializer, Serialize};

use super::super::i18n::Lang;
use super::texts::{text, validation};

/// The conversation a booking made from the console belongs to when staff name none
/// (the command line's are `cli`). Instagram ids are digits, so no customer has it.
pub const CONSOLE_CONVERSATION: &str = "console";

/// A field that is text in a form and text or a number in JSON.
fn text_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(s) => s,
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    })
}

/// The booking form (and the API's body): every field as typed.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct BookingInput {
    /// The customer's name.
    #[serde(default)]
    pub name: String,
    /// The customer's phone (national or international form).
    #[serde(default)]
    pub phone: String,
    /// An artist's key; empty: whoever is free first.
    #[serde(default)]
    pub artist: String,
    /// `YYYY-MM-DD` in the studio's time zone.
    #[serde(default)]
    pub date: String,
    /// `HH:MM` in the studio's time zone.
    #[serde(default)]
    pub time: String,
    /// Minutes; empty when the price gives the length.
    #[serde(default, deserialize_with = "text_or_number")]
    pub duration_minutes: String,
    /// Euros; gives the length when no duration is given.
    #[serde(default, deserialize_with = "text_or_number")]
    pub price: String,
    /// What is tattooed.
    #[serde(default)]
    pub design: String,
    /// The customer's Instagram conversation, so the assistant finds the booking there.
    #[serde(default)]
    pub conversation: String,
}

/// The move form (and the API's body): the new start, optionally a new length.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct MoveInput {
    /// `YYYY-MM-DD` in the studio's time zone.
    #[serde(default)]
    pub date: String,
    /// `HH:MM` in the studio's time zone.
    #[serde(default)]
    pub time: String,
    /// New length in minutes; empty keeps it (or the price gives it).
    #[serde(default, deserialize_with = "text_or_number")]
    pub duration_minutes: String,
    /// A price whose length the booking gets, when no duration is given.
    #[serde(default, deserialize_with = "text_or_number")]
    pub price: String,
}

/// The closure form (and the API's body).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ClosureInput {
    /// First closed day, `YYYY-MM-DD`.
    #[serde(default)]
    pub from: String,
    /// Last closed day, inclusive; empty: the first day only.
    #[serde(default)]
    pub to: String,
    /// The artist who is away; empty: the whole studio.
    #[serde(default)]
    pub artist: String,
    /// Why, in words the assistant may repeat to customers.
    #[serde(default)]
    pub reason: String,
}

/// What is wrong with one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Left empty.
    Missing,
    /// Refused by the value's own rules.
    Invalid(ValidationError),
    /// Neither a duration nor a price.
    NeedLength,
    /// Not a number.
    NotANumber,
    /// No artist with this key in the profile.
    UnknownArtist,
    /// A closure ending before it starts.
    ToBeforeFrom,
    /// A closure's reason over 200 characters.
    ReasonTooLong,
}

/// A field staff must correct.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {}", self.english())]
pub struct InputError {
    /// The field (`name`, `phone`, `date`, …), as the form and the API name it.
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: Problem,
}

impl InputError {
    fn new(field: &'static str, problem: Problem) -> Self {
        Self { field, problem }
    }

    fn invalid(field: &'static str) -> impl Fn(ValidationError) -> Self {
        move |e| Self::new(field, Problem::Invalid(e))
    }

    fn english(&self) -> String {
        self.problem_text(Lang::En)
    }

    fn problem_text(&self, lang: Lang) -> String {
        match &self.problem {
            Problem::Missing => text(lang, "missing").to_owned(),
            Problem::Invalid(e) => validation(e, lang),
            Problem::NeedLength => text(lang, "need_length").to_owned(),
            Problem::NotANumber => text(lang, "not_a_number").to_owned(),
            Problem::UnknownArtist => text(lang, "unknown_artist").to_owned(),
            Problem::ToBeforeFrom => text(lang, "to_before_from").to_owned(),
            Problem::ReasonTooLong => text(lang, "reason_too_long").to_owned(),
        }
    }

    /// `Phone: the number is not valid…` in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        format!(
            "{}: {}",
            field_label(self.field, lang),
            self.problem_text(lang)
        )
    }
}

/// The label of a field in `lang`.
pub fn field_label(field: &'static str, lang: Lang) -> &'static str {
    let key = match field {
        "name" => "field_name",
        "phone" => "field_phone",
        "date" => "field_date",
        "time" => "field_time",
        "duration_minutes" => "field_duration",
        "price" => "field_price",
        "design" => "field_design",
        "artist" => "field_artist",
        "conversation" => "field_conversation",
        "booking" => "field_booking",
        "closure" => "field_closure",
        "from" => "field_from",
        "to" => "field_to",
        "reason" => "field_reason",
        "week" => "field_week",
        other => other,
    };
    text(lang, key)
}

fn required<'a>(value: &'a str, field: &'static str) -> Result<&'a str, InputError> {
    let value = value.trim();
    if value.is_empty() {
        Err(InputError::new(field, Problem::Missing))
    } else {
        Ok(value)
    }
}

fn optional(value: &str) -> Option<&str> {
    Some(value.trim()).filter(|v| !v.is_empty())
}

/// The artist `key` names (`None` when empty), refused unless the profile has it.
pub fn artist(key: &str, profile: &StudioProfile) -> Result<Option<ArtistKey>, InputError> {
    let Some(key) = optional(key) else {
        return Ok(None);
    };
    let unknown = || InputError::new("artist", Problem::UnknownArtist);
    let key = ArtistKey::parse(key).map_err(|_| unknown())?;
    profile
        .artist(&key)
        .map(|_| Some(key.clone()))
        .ok_or_else(unknown)
}

/// The instant `date` `time` names in the studio's zone (a time the clocks skip is refused;
/// an ambiguous one is its first occurrence).
pub fn start(date: &str, time: &str, profile: &StudioProfile) -> Result<DateTime<Utc>, InputError> {
    let date = parse_date(required(date, "date")?).map_err(InputError::invalid("date"))?;
    let time = parse_time(required(time, "time")?).map_err(InputError::invalid("time"))?;
    resolve_local(profile.time_zone, date, time)
        .map(|t| t.with_timezone(&Utc))
        .map_err(InputError::invalid("time"))
}

fn price(raw: &str, profile: &StudioProfile) -> Result<Option<Price>, InputError> {
    optional(raw)
        .map(|p| Price::parse(p, profile.pricing.max_price))
        .transpose()
        .map_err(InputError::invalid("price"))
}

/// The length from the minutes, else from the price; `None` when neither is given.
fn length(
    minutes: &str,
    price: Option<Price>,
    profile: &StudioProfile,
) -> Result<Option<AppointmentDuration>, InputError> {
    let max = profile.booking.max_appointment_minutes;
    if let Some(minutes) = optional(minutes) {
        let minutes: i64 = minutes
            .parse()
            .map_err(|_| InputError::new("duration_minutes", Problem::NotANumber))?;
        return AppointmentDuration::from_minutes(minutes, max)
            .map(Some)
            .map_err(InputError::invalid("duration_minutes"));
    }
    price
        .map(|p| duration_for_price(p, profile))
        .transpose()
        .map_err(InputError::invalid("price"))
}

/// The booking the form describes. `idempotency_key` makes a repeated submission the same
/// booking.
pub fn booking(
    input: &BookingInput,
    profile: &StudioProfile,
    idempotency_key: Option<String>,
) -> Result<NewBooking, InputError> {
    let customer =
        CustomerName::parse(required(&input.name, "name")?).map_err(InputError::invalid("name"))?;
    let phone = PhoneNumber::parse(required(&input.phone, "phone")?, profile.phone_region)
        .map_err(InputError::invalid("phone"))?;
    let artist = artist(&input.artist, profile)?;
    let start = start(&input.date, &input.time, profile)?;
    let price = price(&input.price, profile)?;
    let duration = length(&input.duration_minutes, price, profile)?
        .ok_or_else(|| InputError::new("duration_minutes", Problem::NeedLength))?;
    let design = optional(&input.design)
        .map(FreeText::parse)
        .transpose()
        .map_err(InputError::invalid("design"))?;
    let conversation =
        ConversationId::parse(optional(&input.conversation).unwrap_or(CONSOLE_CONVERSATION))
            .map_err(InputError::invalid("conversation"))?;
    Ok(NewBooking {
        conversation,
        customer,
        phone,
        design,
        price,
        start,
        duration,
        artist,
        idempotency_key,
    })
}

/// The new start and, when given, the new length of a move.
pub fn movement(
    input: &MoveInput,
    profile: &StudioProfile,
) -> Result<(DateTime<Utc>, Option<AppointmentDuration>), InputError> {
    let start = start(&input.date, &input.time, profile)?;
    let price = price(&input.price, profile)?;
    Ok((start, length(&input.duration_minutes, price, profile)?))
}

/// The closure the form describes.
pub fn closure(input: &ClosureInput, profile: &StudioProfile) -> Result<Closure, InputError> {
    let from: NaiveDate =
        parse_date(required(&input.from, "from")?).map_err(InputError::invalid("from"))?;
    let to = optional(&input.to)
        .map(parse_date)
        .transpose()
        .map_err(InputError::invalid("to"))?
        .unwrap_or(from);
    if to < from {
        return Err(InputError::new("to", Problem::ToBeforeFrom));
    }
    let reason = optional(&input.reason).map(str::to_owned);
    if reason.as_ref().is_some_and(|r| r.chars().count() > 200) {
        return Err(InputError::new("reason", Problem::ReasonTooLong));
    }
    let artist = artist(&input.artist, profile)?;
    Closure::new(from, to, artist, reason).map_err(|_| InputError::new("to", Problem::ToBeforeFrom))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn form(date: &str, time: &str) -> BookingInput {
        BookingInput {
            name: "Ελένη Κ".into(),
            phone: "691 234 5678".into(),
            date: date.into(),
            time: time.into(),
            price: "130".into(),
            ..BookingInput::default()
        }
    }

    #[test]
    fn a_price_gives_the_length_and_the_time_is_the_studios() {
        let profile = StudioProfile::example();
        let new = booking(&form("2026-12-08", "11:00"), &profile, None).unwrap();
        // 130 € → 80 minutes; Athens is UTC+2 in December.
        assert_eq!(new.duration.minutes(), 80);
        assert_eq!(new.start.to_rfc3339(), "2026-12-08T09:00:00+00:00");
        assert_eq!(new.phone.e164(), "+306912345678");
        assert_eq!(new.conversation.as_str(), CONSOLE_CONVERSATION);
        // An explicit duration wins over the price (which is still recorded).
        let mut both = form("2026-12-08", "11:00");
        both.duration_minutes = "45".into();
        let new = booking(&both, &profile, None).unwrap();
        assert_eq!(new.duration.minutes(), 45);
        assert!(new.price.is_some());
    }

    #[test]
    fn each_bad_field_is_named_in_plain_words() {
        let profile = StudioProfile::example();
        let mut bad = form("2026-12-08", "11:00");
        bad.phone = "12".into();
        let error = booking(&bad, &profile, None).unwrap_err();
        assert_eq!(error.field, "phone");
        assert_eq!(
            error.message(Lang::En),
            "Phone: the phone number is not valid; please give a full mobile or landline number"
        );
        assert!(
            error.message(Lang::El).starts_with("Τηλέφωνο: "),
            "{}",
            error.message(Lang::El)
        );
        let error = booking(&form("8/12/2026", "11:00"), &profile, None).unwrap_err();
        assert_eq!(error.field, "date");
        let error = booking(&form("2026-12-08", "25:00"), &profile, None).unwrap_err();
        assert_eq!(error.field, "time");
        // The clocks skip 03:00–04:00 in Athens on 29 March 2026.
        let error = booking(&form("2026-03-29", "03:30"), &profile, None).unwrap_err();
        assert_eq!(
            error.problem,
            Problem::Invalid(ValidationError::NonexistentLocalTime)
        );
        let mut no_length = form("2026-12-08", "11:00");
        no_length.price.clear();
        assert_eq!(
            booking(&no_length, &profile, None).unwrap_err().problem,
            Problem::NeedLength
        );
        let mut artist = form("2026-12-08", "11:00");
        artist.artist = "maria".into();
        assert_eq!(
            booking(&artist, &profile, None).unwrap_err().problem,
            Problem::UnknownArtist
        );
    }

    #[test]
    fn a_closure_defaults_to_one_day_and_refuses_reversed_dates() {
        let profile = StudioProfile::example();
        let one = closure(
            &ClosureInput {
                from: "2026-12-24".into(),
                reason: " Χριστούγεννα ".into(),
                ..ClosureInput::default()
            },
            &profile,
        )
        .unwrap();
        assert_eq!((one.from, one.to), (one.from, one.from));
        assert_eq!(one.reason.as_deref(), Some("Χριστούγεννα"));
        let reversed = ClosureInput {
            from: "2026-12-24".into(),
            to: "2026-12-20".into(),
            ..ClosureInput::default()
        };
        assert_eq!(
            closure(&reversed, &profile).unwrap_err().problem,
            Problem::ToBeforeFrom
        );
    }
}
