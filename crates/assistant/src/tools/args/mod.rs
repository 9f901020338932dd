//! Tool arguments, validated with the domain's types before anything runs.
//!
//! Every refusal is a [`ToolArgError`] naming the field and saying what is accepted, sent
//! back to the model as the tool result so it can correct the call or ask the customer.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use inkdesk_domain::profile::fold;
use inkdesk_domain::schedule::{parse_date, parse_time};
use inkdesk_domain::{
    AppointmentDuration, ArtistKey, CustomerName, EventId, FreeText, PhoneNumber, Price,
    StudioProfile,
};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use super::schema::{self, STYLES};
use crate::intent::Intent;
use crate::quotes::QuoteRef;

/// What the validation needs to know: the studio's rules and the turn's instant.
#[derive(Debug, Clone, Copy)]
pub struct ArgContext<'a> {
    /// The studio's profile (phone region, limits, time zone).
    pub profile: &'a StudioProfile,
    /// The instant of the turn; dates before today in the studio's zone are refused.
    pub now: DateTime<Utc>,
}

/// A tool call the engine refused before running it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ToolArgError {
    /// The argument at fault (`phone`, `pieces[1].style`), or `tool` for an unknown tool.
    pub field: String,
    /// What is wrong and what is accepted, safe to show the model.
    pub message: String,
}

impl ToolArgError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    fn missing(field: &str) -> Self {
        Self::new(field, "is required")
    }

    /// The tool result telling the model what to fix.
    pub fn to_tool_result(&self) -> String {
        json!({
            "error": "invalid_arguments",
            "field": self.field,
            "message": self.message,
            "hint": "fix this argument (ask the customer if you do not know it) and call the tool again",
        })
        .to_string()
    }
}

/// How long the appointment will be, as the model gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppointmentLength {
    /// From the quoted price (the pricing crate's duration rule).
    Price(Price),
    /// Given directly.
    Minutes(AppointmentDuration),
    /// Not known yet: the studio's default slot.
    Unknown,
}

/// Arguments of `check_availability`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvailabilityArgs {
    /// First day searched (not before today).
    pub from: NaiveDate,
    /// Last day searched.
    pub to: NaiveDate,
    /// Preferred earliest time on the first day.
    pub preferred_time: Option<NaiveTime>,
    /// The appointment's length.
    pub length: AppointmentLength,
    /// The artists the customer accepts (asked by name, or doing the style asked for);
    /// `None`: any (or the studio has no artists).
    pub artists: Option<Vec<ArtistKey>>,
}

/// Arguments of `book_appointment`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingArgs {
    /// Day.
    pub date: NaiveDate,
    /// Start time.
    pub time: NaiveTime,
    /// Customer's name.
    pub name: CustomerName,
    /// Customer's phone.
    pub phone: PhoneNumber,
    /// Design note.
    pub design: FreeText,
    /// The quote (or price-guide line) the booking is for: its price and length are the
    /// booking's. The model never passes an amount.
    pub quote: QuoteRef,
    /// The artist asked for (by name or key); `None`: the first free one.
    pub artist: Option<ArtistKey>,
    /// The customer agreed to a reminder by SMS (`sms_reminder`; absent: no).
    pub sms_consent: bool,
}

/// Arguments of `change_booking` with action `move`, step `ask`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RescheduleArgs {
    /// The booking to move; `None` = the customer's only upcoming booking.
    pub booking: Option<EventId>,
    /// New day.
    pub date: NaiveDate,
    /// New start time.
    pub time: NaiveTime,
}

/// One piece to price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PieceArg {
    /// The measurements of an analysed image.
    Image(String),
    /// Measurements the customer stated.
    Stated {
        /// Height in cm.
        height_cm: Decimal,
        /// Width in cm.
        width_cm: Decimal,
        /// Ink coverage 0..=1.
        ink: Decimal,
        /// Style class name (one of [`STYLES`]).
        style: &'static str,
    },
}

/// Why the model hands over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoffReason {
    /// The customer complained.
    Complaint,
    /// The customer asked for a person.
    AskedForPerson,
    /// The question is outside what the assistant can answer.
    CannotAnswer,
    /// Anything else.
    Other,
}

/// A validated tool call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolCommand {
    /// Price pieces.
    Quote(Vec<PieceArg>),
    /// Find free times.
    CheckAvailability(AvailabilityArgs),
    /// Book a time.
    BookAppointment(Box<BookingArgs>),
    /// List the sender's bookings.
    FindMyBookings,
    /// Prepare a cancellation (`None` = the customer's only upcoming booking).
    RequestCancellation(Option<EventId>),
    /// Execute the prepared cancellation (the id, if given, must match it).
    ConfirmCancellation(Option<EventId>),
    /// Prepare a reschedule.
    RequestReschedule(RescheduleArgs),
    /// Execute the prepared reschedule (the id, if given, must match it).
    ConfirmReschedule(Option<EventId>),
    /// Hand the conversation to a person.
    Handoff {
        /// Why.
        reason: HandoffReason,
        /// A line for the studio.
        note: Option<FreeText>,
    },
    /// End the turn with this reply.
    SendReply {
        /// The message for the customer.
        text: String,
        /// Intents the model recognised (unknown names dropped).
        intents: Vec<Intent>,
    },
    /// End the turn without a message (`send_reply` with `outcome: "no_reply"`): the
    /// customer's new messages need no answer.
    NoReply {
        /// Intents the model recognised (unknown names dropped).
        intents: Vec<Intent>,
    },
}

/// Validates the call of tool `name` with `arguments`.
pub fn parse_tool_call(
    name: &str,
    arguments: &Value,
    ctx: &ArgContext<'_>,
) -> Result<ToolCommand, ToolArgError> {
    let empty = Map::new();
    let map = match arguments {
        Value::Object(map) => map,
        Value::Null => &empty,
        _ => return Err(ToolArgError::new("arguments", "must be a JSON object")),
    };
    let args = Args { map, ctx };
    match name {
        schema::QUOTE => args.quote(),
        schema::CHECK_AVAILABILITY => args.availability(),
        schema::BOOK_APPOINTMENT => args
            .booking()
            .map(|b| ToolCommand::BookAppointment(Box::new(b))),
        schema::FIND_MY_BOOKINGS => Ok(ToolCommand::FindMyBookings),
        schema::CHANGE_BOOKING => args.change(),
        schema::HANDOFF_TO_HUMAN => args.handoff(),
        schema::SEND_REPLY => args.reply(),
        other => Err(ToolArgError::new(
            "tool",
            format!("there is no tool named `{other}`"),
        )),
    }
}

struct Args<'a> {
    map: &'a Map<String, Value>,
    ctx: &'a ArgContext<'a>,
}

impl Args<'_> {
    fn text(&self, field: &str) -> Result<Option<&str>, ToolArgError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(ToolArgError::new(field, "must be a string")),
        }
    }

    fn required_text(&self, field: &str) -> Result<&str, ToolArgError> {
        self.text(field)?
            .ok_or_else(|| ToolArgError::missing(field))
    }

    fn decimal(&self, field: &str) -> Result<Option<Decimal>, ToolArgError> {
        decimal_of(self.map.get(field), field)
    }

    fn future_date(&self, field: &str) -> Result<Option<NaiveDate>, ToolArgError> {
        let Some(raw) = self.text(field)? else {
            return Ok(None);
        };
        let date = parse_date(raw).map_err(|e| ToolArgError::new(field, e.to_string()))?;
        self.ctx
            .profile
            .check_date_not_past(date, self.ctx.now)
            .map_err(|e| {
                ToolArgError::new(
                    field,
                    format!("{e}; today is {}", self.ctx.profile.today(self.ctx.now)),
                )
            })?;
        Ok(Some(date))
    }

    fn time(&self, field: &str) -> Result<Option<NaiveTime>, ToolArgError> {
        self.text(field)?
            .map(|raw| parse_time(raw).map_err(|e| ToolArgError::new(field, e.to_string())))
            .transpose()
    }

    fn event_id(&self, field: &str) -> Result<Option<EventId>, ToolArgError> {
        self.text(field)?
            .map(|raw| EventId::parse(raw).map_err(|e| ToolArgError::new(field, e.to_string())))
            .transpose()
    }

    /// A `quote_id`: a quote the engine gave (`q1`) or a price-guide line (`g3a`). Whether
    /// it exists in this conversation is the executor's check.
    fn quote_ref(&self, field: &str) -> Result<QuoteRef, ToolArgError> {
        let raw = self.required_text(field)?;
        QuoteRef::parse(raw).ok_or_else(|| {
            ToolArgError::new(
                field,
                "must be the quote_id a quote answer gave (e.g. q1) or a price-guide line id \
                 with a or b for the size (e.g. g3a); call quote first if there is none",
            )
        })
    }

    fn price(&self, field: &str) -> Result<Option<Price>, ToolArgError> {
        let max = self.ctx.profile.pricing.max_price;
        self.decimal(field)?
            .map(|amount| {
                Price::new(amount, max).map_err(|e| ToolArgError::new(field, e.to_string()))
            })
            .transpose()
    }

    fn duration(&self, field: &str) -> Result<Option<AppointmentDuration>, ToolArgError> {
        let max = self.ctx.profile.booking.max_appointment_minutes;
        let Some(minutes) = self.decimal(field)? else {
            return Ok(None);
        };
        let whole = i64::try_from(minutes.round()).unwrap_or(-1);
        AppointmentDuration::from_minutes(whole, max)
            .map(Some)
            .map_err(|e| ToolArgError::new(field, e.to_string()))
    }

    /// The artist named in `field` (key or name, case and accents as written in the
    /// profile, `_`/`-` as spaces). Without artists in the profile the argument is ignored.
    fn artist(&self, field: &str) -> Result<Option<ArtistKey>, ToolArgError> {
        let profile = self.ctx.profile;
        let Some(raw) = self.text(field)? else {
            return Ok(None);
        };
        if profile.artists.is_empty() {
            return Ok(None);
        }
        let wanted = fold(raw);
        profile
            .artists
            .iter()
            .find(|a| fold(a.key.as_str()) == wanted || fold(&a.name) == wanted)
            .or_else(|| {
                // A first name alone ("Maria" for "Maria K.").
                profile
                    .artists
                    .iter()
                    .find(|a| fold(&a.name).split(' ').next() == Some(wanted.as_str()))
            })
            .map(|a| Some(a.key.clone()))
            .ok_or_else(|| {
                ToolArgError::new(
                    field,
                    format!("no artist `{raw}`; {}", artist_list(profile)),
                )
            })
    }

    /// The artists doing the style in `field`.
    fn artists_for_style(&self, field: &str) -> Result<Option<Vec<ArtistKey>>, ToolArgError> {
        let profile = self.ctx.profile;
        let Some(raw) = self.text(field)? else {
            return Ok(None);
        };
        if profile.artists.is_empty() {
            return Ok(None);
        }
        let doing: Vec<ArtistKey> = profile
            .artists
            .iter()
            .filter(|a| a.does(raw))
            .map(|a| a.key.clone())
            .collect();
        if doing.is_empty() {
            return Err(ToolArgError::new(
                field,
                format!("no artist does `{raw}`; {}", artist_list(profile)),
            ));
        }
        Ok(Some(doing))
    }

    fn availability(&self) -> Result<ToolCommand, ToolArgError> {
        let from = self
            .future_date("from_date")?
            .ok_or_else(|| ToolArgError::missing("from_date"))?;
        let to = self
            .future_date("to_date")?
            .unwrap_or(from + chrono::Duration::days(6));
        if to < from {
            return Err(ToolArgError::new("to_date", "must not be before from_date"));
        }
        let length = match (self.duration("duration_minutes")?, self.price("price")?) {
            (Some(minutes), _) => AppointmentLength::Minutes(minutes),
            (None, Some(price)) => AppointmentLength::Price(price),
            (None, None) => AppointmentLength::Unknown,
        };
        let artists = match (self.artist("artist")?, self.artists_for_style("style")?) {
            (Some(one), _) => Some(vec![one]),
            (None, by_style) => by_style,
        };
        Ok(ToolCommand::CheckAvailability(AvailabilityArgs {
            from,
            to,
            preferred_time: self.time("preferred_time")?,
            length,
            artists,
        }))
    }

    fn booking(&self) -> Result<BookingArgs, ToolArgError> {
        let region = self.ctx.profile.phone_region;
        let field_err = |field: &'static str| {
            move |e: inkdesk_domain::ValidationError| ToolArgError::new(field, e.to_string())
        };
        Ok(BookingArgs {
            date: self
                .future_date("date")?
                .ok_or_else(|| ToolArgError::missing("date"))?,
            time: self
                .time("time")?
                .ok_or_else(|| ToolArgError::missing("time"))?,
            name: CustomerName::parse(self.required_text("name")?).map_err(field_err("name"))?,
            phone: PhoneNumber::parse(self.required_text("phone")?, region)
                .map_err(field_err("phone"))?,
            design: FreeText::parse(self.required_text("design")?).map_err(field_err("design"))?,
            quote: self.quote_ref("quote_id")?,
            artist: self.artist("artist")?,
            sms_consent: self.map.get("sms_reminder").and_then(Value::as_bool) == Some(true),
        })
    }

    fn quote(&self) -> Result<ToolCommand, ToolArgError> {
        let Some(Value::Array(items)) = self.map.get("pieces") else {
            return Err(ToolArgError::new(
                "pieces",
                "must be a non-empty array of pieces",
            ));
        };
        if items.is_empty() {
            return Err(ToolArgError::new(
                "pieces",
                "must be a non-empty array of pieces",
            ));
        }
        items
            .iter()
            .enumerate()
            .map(|(i, item)| piece(i, item))
            .collect::<Result<Vec<_>, _>>()
            .map(ToolCommand::Quote)
    }

    fn change(&self) -> Result<ToolCommand, ToolArgError> {
        let action = self.required_text("action")?.trim();
        let step = self.required_text("step")?.trim();
        let id = self.event_id("booking_id")?;
        match (action, step) {
            ("cancel", "ask") => Ok(ToolCommand::RequestCancellation(id)),
            ("cancel", "confirm") => Ok(ToolCommand::ConfirmCancellation(id)),
            ("move", "ask") => Ok(ToolCommand::RequestReschedule(RescheduleArgs {
                booking: id,
                date: self
                    .future_date("new_date")?
                    .ok_or_else(|| ToolArgError::missing("new_date"))?,
                time: self
                    .time("new_time")?
                    .ok_or_else(|| ToolArgError::missing("new_time"))?,
            })),
            ("move", "confirm") => Ok(ToolCommand::ConfirmReschedule(id)),
            ("cancel" | "move", _) => Err(ToolArgError::new("step", "must be ask or confirm")),
            _ => Err(ToolArgError::new("action", "must be cancel or move")),
        }
    }

    fn handoff(&self) -> Result<ToolCommand, ToolArgError> {
        let raw = self.required_text("reason")?;
        let reason: HandoffReason = serde_json::from_value(Value::String(raw.trim().to_owned()))
            .map_err(|_| {
                ToolArgError::new(
                    "reason",
                    "must be one of complaint, asked_for_person, cannot_answer, other",
                )
            })?;
        let note = self.text("note")?.and_then(|n| FreeText::parse(n).ok());
        Ok(ToolCommand::Handoff { reason, note })
    }

    fn reply(&self) -> Result<ToolCommand, ToolArgError> {
        let intents = match self.map.get("intents") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .filter_map(Intent::parse)
                .collect(),
            _ => Vec::new(),
        };
        match self.text("outcome")?.map(str::trim) {
            None | Some(schema::OUTCOME_REPLY) => {}
            Some(schema::OUTCOME_NO_REPLY) => return Ok(ToolCommand::NoReply { intents }),
            Some(_) => {
                return Err(ToolArgError::new("outcome", "must be reply or no_reply"));
            }
        }
        let text = self.required_text("text")?.trim().to_owned();
        Ok(ToolCommand::SendReply { text, intents })
    }
}

/// `artists: Maria (realistic), Nikos (line_work)` for a refusal the model can act on.
fn artist_list(profile: &StudioProfile) -> String {
    let names: Vec<String> = profile
        .artists
        .iter()
        .map(|a| format!("{} ({})", a.name, a.styles.join(", ")))
        .collect();
    format!("artists: {}", names.join("; "))
}

/// A JSON number (or numeric string such as `"45,5"` or `"45€"`) as an exact decimal.
pub fn decimal_value(value: &Value) -> Option<Decimal> {
    decimal_of(Some(value), "value").ok().flatten()
}

fn decimal_of(value: Option<&Value>, field: &str) -> Result<Option<Decimal>, ToolArgError> {
    let not_number = || ToolArgError::new(field, "must be a number");
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            let text = n.to_string();
            Decimal::from_str(&text)
                .or_else(|_| Decimal::from_scientific(&text))
                .map(Some)
                .map_err(|_| not_number())
        }
        Some(Value::String(s)) => {
            let cleaned = s
                .trim()
                .trim_matches(|c: char| c == '€' || c.is_whitespace())
                .replace(',', ".");
            Decimal::from_str(&cleaned)
                .map(Some)
                .map_err(|_| not_number())
        }
        Some(_) => Err(not_number()),
    }
}

fn piece(index: usize, item: &Value) -> Result<PieceArg, ToolArgError> {
    let field = |name: &str| format!("pieces[{index}].{name}");
    let Value::Object(map) = item else {
        return Err(ToolArgError::new(
            format!("pieces[{index}]"),
            "must be an object",
        ));
    };
    if let Some(Value::String(reference)) = map.get("image_ref")
        && !reference.trim().is_empty()
    {
        return Ok(PieceArg::Image(reference.trim().to_owned()));
    }
    let number = |name: &str| -> Result<Decimal, ToolArgError> {
        decimal_of(map.get(name), &field(name))?.ok_or_else(|| {
            ToolArgError::new(
                field(name),
                "is required when there is no image_ref (ask the customer for the size in cm)",
            )
        })
    };
    let height_cm = number("height_cm")?;
    let width_cm = number("width_cm")?;
    let ink = match decimal_of(map.get("ink_coverage"), &field("ink_coverage"))? {
        Some(ink) => ink,
        None => {
            return Err(ToolArgError::new(
                field("ink_coverage"),
                "is required, between 0 and 1",
            ));
        }
    };
    let raw_style = map.get("style").and_then(Value::as_str).unwrap_or_default();
    let key = raw_style.trim().to_lowercase().replace(['-', ' '], "_");
    let style = STYLES.into_iter().find(|s| *s == key).ok_or_else(|| {
        ToolArgError::new(
            field("style"),
            format!("must be one of {}", STYLES.join(", ")),
        )
    })?;
    Ok(PieceArg::Stated {
        height_cm,
        width_cm,
        ink,
        style,
    })
}

#[cfg(test)]
mod tests;
