//! Opening hours per weekday.

use std::fmt;

use chrono::{NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

/// The hours of one open day: `open` inclusive to `close` exclusive, same calendar day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpeningSpan {
    /// Opening time.
    pub open: NaiveTime,
    /// Closing time; always after `open`.
    pub close: NaiveTime,
}

impl OpeningSpan {
    /// A span, refused unless `close` is after `open`.
    pub fn new(open: NaiveTime, close: NaiveTime) -> Result<Self, String> {
        if close > open {
            Ok(Self { open, close })
        } else {
            Err(format!(
                "closing time {} is not after opening time {}",
                close.format("%H:%M"),
                open.format("%H:%M")
            ))
        }
    }
}

/// A day's hours as written in the profile: `"11:00-20:00"` or `"closed"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DayHours(pub Option<OpeningSpan>);

impl DayHours {
    /// A closed day.
    pub const CLOSED: DayHours = DayHours(None);
}

impl TryFrom<String> for DayHours {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        let text = value.trim();
        if text.eq_ignore_ascii_case("closed") || text.is_empty() {
            return Ok(Self(None));
        }
        let (open, close) = text
            .split_once('-')
            .ok_or_else(|| format!("`{text}` is not `HH:MM-HH:MM` or `closed`"))?;
        let parse = |t: &str| {
            crate::schedule::parse_time(t.trim()).map_err(|_| format!("`{t}` is not a time HH:MM"))
        };
        OpeningSpan::new(parse(open)?, parse(close)?).map(|span| Self(Some(span)))
    }
}

impl From<DayHours> for String {
    fn from(value: DayHours) -> Self {
        value.to_string()
    }
}

impl fmt::Display for DayHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(span) => write!(
                f,
                "{}-{}",
                span.open.format("%H:%M"),
                span.close.format("%H:%M")
            ),
            None => f.write_str("closed"),
        }
    }
}

/// Opening hours for each day of the week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // the weekday names say it all
pub struct WeeklyHours {
    pub monday: DayHours,
    pub tuesday: DayHours,
    pub wednesday: DayHours,
    pub thursday: DayHours,
    pub friday: DayHours,
    pub saturday: DayHours,
    pub sunday: DayHours,
}

impl WeeklyHours {
    /// The hours of `day`, or `None` when the studio is closed.
    pub fn on(&self, day: Weekday) -> Option<OpeningSpan> {
        match day {
            Weekday::Mon => self.monday.0,
            Weekday::Tue => self.tuesday.0,
            Weekday::Wed => self.wednesday.0,
            Weekday::Thu => self.thursday.0,
            Weekday::Fri => self.friday.0,
            Weekday::Sat => self.saturday.0,
            Weekday::Sun => self.sunday.0,
        }
    }

    /// The same hours every day from Monday to Saturday, Sunday closed.
    pub fn monday_to_saturday(span: OpeningSpan) -> Self {
        let open = DayHours(Some(span));
        Self {
            monday: open,
            tuesday: open,
            wednesday: open,
            thursday: open,
            friday: open,
            saturday: open,
            sunday: DayHours::CLOSED,
        }
    }

    /// True when the studio opens on at least one day.
    pub fn any_open(&self) -> bool {
        [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ]
        .into_iter()
        .any(|d| self.on(d).is_some())
    }
}

impl Default for WeeklyHours {
    /// Monday–Saturday 11:00–20:00, Sunday closed.
    fn default() -> Self {
        let eleven = NaiveTime::from_hms_opt(11, 0, 0).unwrap_or(NaiveTime::MIN);
        let eight_pm = NaiveTime::from_hms_opt(20, 0, 0).unwrap_or(NaiveTime::MIN);
        Self::monday_to_saturday(OpeningSpan {
            open: eleven,
            close: eight_pm,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_hours_parse_spans_and_closed_days() {
        let day = DayHours::try_from("11:00-20:00".to_owned()).unwrap();
        assert_eq!(day.to_string(), "11:00-20:00");
        assert_eq!(
            DayHours::try_from("Closed".to_owned()).unwrap(),
            DayHours::CLOSED
        );
        let err = DayHours::try_from("20:00-11:00".to_owned()).unwrap_err();
        assert!(err.contains("not after"), "{err}");
        assert!(DayHours::try_from("11-20".to_owned()).is_err());
    }

    #[test]
    fn default_week_is_monday_to_saturday_eleven_to_eight() {
        let week = WeeklyHours::default();
        assert!(week.on(Weekday::Sun).is_none());
        let sat = week.on(Weekday::Sat).unwrap();
        assert_eq!(sat.open.format("%H:%M").to_string(), "11:00");
        assert_eq!(sat.close.format("%H:%M").to_string(), "20:00");
    }
}
