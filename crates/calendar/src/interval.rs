//! Spans of time: plain intervals, busy calendar entries and offered slots.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use chrono_tz::Tz;
use inkdesk_domain::{ArtistKey, EventId};
use serde::{Serialize, Serializer};

/// A half-open span of time `[start, end)` in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval {
    /// First instant inside the span.
    pub start: DateTime<Utc>,
    /// First instant after the span.
    pub end: DateTime<Utc>,
}

impl Interval {
    /// A span from `start` to `end`; an `end` before `start` gives an empty span at `start`.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Self {
            start,
            end: end.max(start),
        }
    }

    /// True when the two spans share at least one instant.
    pub fn overlaps(&self, other: &Interval) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// True when the span holds no instant.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// When a busy calendar entry takes place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusySpan {
    /// An event with start and end times.
    Timed(Interval),
    /// An all-day event: closes the studio's dates `first..end` (end exclusive, as in
    /// Google's `{"date"}` form and RFC 5545).
    AllDay {
        /// First closed date.
        first: NaiveDate,
        /// Date after the last closed date.
        end: NaiveDate,
    },
}

/// An entry of the calendar that may block appointments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusyInterval {
    /// When it happens.
    pub span: BusySpan,
    /// A transparent ("free") entry never blocks time.
    pub transparent: bool,
    /// The calendar's id for the entry, when it has one (lets a reschedule ignore the
    /// booking being moved).
    pub event: Option<EventId>,
    /// The artist the entry keeps busy (a booking with them, their own calendar, their
    /// closure). `None` is the studio's: with artists it keeps every artist busy.
    pub artist: Option<ArtistKey>,
}

impl BusyInterval {
    /// A timed, opaque entry.
    pub fn timed(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Self {
            span: BusySpan::Timed(Interval::new(start, end)),
            transparent: false,
            event: None,
            artist: None,
        }
    }

    /// An all-day, opaque entry closing `first..end` (end exclusive).
    pub fn all_day(first: NaiveDate, end: NaiveDate) -> Self {
        Self {
            span: BusySpan::AllDay { first, end },
            transparent: false,
            event: None,
            artist: None,
        }
    }

    /// The same entry marked transparent (or not).
    #[must_use]
    pub fn with_transparent(mut self, transparent: bool) -> Self {
        self.transparent = transparent;
        self
    }

    /// The same entry keeping `artist` busy (`None`: the whole studio).
    #[must_use]
    pub fn with_artist(mut self, artist: Option<ArtistKey>) -> Self {
        self.artist = artist;
        self
    }

    /// The same entry carrying the calendar's id.
    #[must_use]
    pub fn with_event(mut self, id: EventId) -> Self {
        self.event = Some(id);
        self
    }
}

/// A bookable appointment time, in the studio's time zone.
///
/// Serialises as `{"start": "...", "end": "..."}` in RFC 3339 with the studio's offset,
/// e.g. `2026-11-20T11:00:00+02:00`, plus `"artist": "key"` when the studio has artists.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Slot {
    /// Start of the appointment.
    #[serde(serialize_with = "rfc3339")]
    pub start: DateTime<Tz>,
    /// End of the appointment (start + duration, real minutes).
    #[serde(serialize_with = "rfc3339")]
    pub end: DateTime<Tz>,
    /// The artist free then (the first free one in the profile's order when the request
    /// allowed several); `None` when the studio has no artists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artist: Option<ArtistKey>,
}

impl Slot {
    /// The slot as a UTC interval.
    pub fn interval(&self) -> Interval {
        Interval::new(self.start.with_timezone(&Utc), self.end.with_timezone(&Utc))
    }

    /// The local date on which the slot starts.
    pub fn date(&self) -> NaiveDate {
        self.start.date_naive()
    }
}

fn rfc3339<S: Serializer>(at: &DateTime<Tz>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Secs, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn slot_serialises_with_the_studios_offset() {
        let tz = chrono_tz::Europe::Athens;
        let slot = Slot {
            start: tz.with_ymd_and_hms(2026, 11, 20, 11, 0, 0).unwrap(),
            end: tz.with_ymd_and_hms(2026, 11, 20, 12, 30, 0).unwrap(),
            artist: None,
        };
        assert_eq!(
            serde_json::to_string(&slot).unwrap(),
            r#"{"start":"2026-11-20T11:00:00+02:00","end":"2026-11-20T12:30:00+02:00"}"#
        );
    }

    #[test]
    fn a_slot_with_an_artist_names_it() {
        let tz = chrono_tz::Europe::Athens;
        let slot = Slot {
            start: tz.with_ymd_and_hms(2026, 11, 20, 11, 0, 0).unwrap(),
            end: tz.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap(),
            artist: Some(ArtistKey::parse("maria").unwrap()),
        };
        assert_eq!(
            serde_json::to_value(&slot).unwrap()["artist"],
            serde_json::json!("maria")
        );
    }

    #[test]
    fn intervals_are_half_open() {
        let at = |h| Utc.with_ymd_and_hms(2026, 1, 1, h, 0, 0).unwrap();
        let a = Interval::new(at(10), at(11));
        assert!(!a.overlaps(&Interval::new(at(11), at(12))));
        assert!(a.overlaps(&Interval::new(at(10), at(12))));
        assert!(Interval::new(at(12), at(10)).is_empty());
    }
}
