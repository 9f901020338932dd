//! Opening hours per weekday: one or several spans a day.

use std::fmt;

use chrono::{NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

/// One span of an open day: `open` inclusive to `close` exclusive, same calendar day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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

    /// True when `time` lies inside the span.
    pub fn contains(&self, time: NaiveTime) -> bool {
        self.open <= time && time < self.close
    }
}

impl fmt::Display for OpeningSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}",
            self.open.format("%H:%M"),
            self.close.format("%H:%M")
        )
    }
}

/// A day's hours as written in the profile: `"11:00-20:00"`, several spans separated by
/// commas (`"11:00-14:00, 17:00-21:00"`, a studio that closes for the afternoon), or
/// `"closed"`. The spans are kept sorted; overlapping spans are refused and spans that
/// touch (`"11:00-14:00, 14:00-18:00"`) are joined into one.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DayHours(Vec<OpeningSpan>);

impl DayHours {
    /// A closed day.
    pub const CLOSED: DayHours = DayHours(Vec::new());

    /// One span.
    pub fn single(span: OpeningSpan) -> Self {
        Self(vec![span])
    }

    /// Several spans, refused when two overlap; touching spans are joined.
    pub fn from_spans(mut spans: Vec<OpeningSpan>) -> Result<Self, String> {
        spans.sort();
        let mut joined: Vec<OpeningSpan> = Vec::with_capacity(spans.len());
        for span in spans {
            match joined.last_mut() {
                Some(last) if span.open < last.close => {
                    return Err(format!("the spans {last} and {span} overlap"));
                }
                Some(last) if span.open == last.close => last.close = span.close,
                _ => joined.push(span),
            }
        }
        Ok(Self(joined))
    }

    /// The spans, earliest first; empty on a closed day.
    pub fn spans(&self) -> &[OpeningSpan] {
        &self.0
    }

    /// True when the day has no span.
    pub fn is_closed(&self) -> bool {
        self.0.is_empty()
    }
}

impl TryFrom<String> for DayHours {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        let text = value.trim();
        if text.eq_ignore_ascii_case("closed") || text.is_empty() {
            return Ok(Self::CLOSED);
        }
        let parse = |t: &str| {
            crate::schedule::parse_time(t.trim()).map_err(|_| format!("`{t}` is not a time HH:MM"))
        };
        let mut spans = Vec::new();
        for part in text.split(',') {
            let part = part.trim();
            let (open, close) = part.split_once('-').ok_or_else(|| {
                format!("`{part}` is not `HH:MM-HH:MM` (spans separated by commas) or `closed`")
            })?;
            spans.push(OpeningSpan::new(parse(open)?, parse(close)?)?);
        }
        Self::from_spans(spans)
    }
}

impl From<DayHours> for String {
    fn from(value: DayHours) -> Self {
        value.to_string()
    }
}

impl fmt::Display for DayHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("closed");
        }
        for (index, span) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{span}")?;
        }
        Ok(())
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

/// Every weekday, Monday first.
pub const WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

impl WeeklyHours {
    /// The hours of `day` (no span when the studio is closed).
    pub fn day(&self, day: Weekday) -> &DayHours {
        match day {
            Weekday::Mon => &self.monday,
            Weekday::Tue => &self.tuesday,
            Weekday::Wed => &self.wednesday,
            Weekday::Thu => &self.thursday,
            Weekday::Fri => &self.friday,
            Weekday::Sat => &self.saturday,
            Weekday::Sun => &self.sunday,
        }
    }

    /// The spans of `day`, earliest first; empty when the studio is closed.
    pub fn on(&self, day: Weekday) -> &[OpeningSpan] {
        self.day(day).spans()
    }

    /// The same hours every day from Monday to Saturday, Sunday closed.
    pub fn monday_to_saturday(span: OpeningSpan) -> Self {
        let open = DayHours::single(span);
        Self {
            monday: open.clone(),
            tuesday: open.clone(),
            wednesday: open.clone(),
            thursday: open.clone(),
            friday: open.clone(),
            saturday: open,
            sunday: DayHours::CLOSED,
        }
    }

    /// True when the studio opens on at least one day.
    pub fn any_open(&self) -> bool {
        WEEKDAYS.into_iter().any(|d| !self.on(d).is_empty())
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

/// An artist's own hours: each weekday given replaces the studio's for that artist; a
/// weekday left out keeps the studio's.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[allow(missing_docs)] // the weekday names say it all
pub struct HoursOverride {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monday: Option<DayHours>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tuesday: Option<DayHours>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wednesday: Option<DayHours>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thursday: Option<DayHours>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub friday: Option<DayHours>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saturday: Option<DayHours>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sunday: Option<DayHours>,
}

impl HoursOverride {
    /// The override for `day`, when one is given.
    pub fn day(&self, day: Weekday) -> Option<&DayHours> {
        match day {
            Weekday::Mon => self.monday.as_ref(),
            Weekday::Tue => self.tuesday.as_ref(),
            Weekday::Wed => self.wednesday.as_ref(),
            Weekday::Thu => self.thursday.as_ref(),
            Weekday::Fri => self.friday.as_ref(),
            Weekday::Sat => self.saturday.as_ref(),
            Weekday::Sun => self.sunday.as_ref(),
        }
    }

    /// True when no weekday is overridden.
    pub fn is_empty(&self) -> bool {
        WEEKDAYS.into_iter().all(|d| self.day(d).is_none())
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
    fn a_day_may_have_several_spans_sorted_and_disjoint() {
        let day = DayHours::try_from("17:00-21:00, 11:00-14:00".to_owned()).unwrap();
        assert_eq!(day.to_string(), "11:00-14:00, 17:00-21:00");
        assert_eq!(day.spans().len(), 2);
        let err = DayHours::try_from("11:00-15:00, 14:00-18:00".to_owned()).unwrap_err();
        assert!(err.contains("overlap"), "{err}");
        let joined = DayHours::try_from("11:00-14:00,14:00-18:00".to_owned()).unwrap();
        assert_eq!(joined.to_string(), "11:00-18:00");
        assert!(DayHours::try_from("11:00-14:00,".to_owned()).is_err());
    }

    #[test]
    fn default_week_is_monday_to_saturday_eleven_to_eight() {
        let week = WeeklyHours::default();
        assert!(week.on(Weekday::Sun).is_empty());
        let sat = week.on(Weekday::Sat)[0];
        assert_eq!(sat.open.format("%H:%M").to_string(), "11:00");
        assert_eq!(sat.close.format("%H:%M").to_string(), "20:00");
    }
}
