//! The studio's artists and its closures (holidays, time off).

use std::fmt;

use chrono::{NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use super::hours::{HoursOverride, OpeningSpan, WeeklyHours};

/// An artist's key: 1–32 characters of `a-z`, `0-9`, `-` and `_`. It names the artist in
/// the calendar, the command line and the console; the name is for people.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ArtistKey(String);

impl ArtistKey {
    /// Validates a key.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let ok = (1..=32).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!(
                "`{raw}` is not an artist key (1–32 characters of a-z, 0-9, - and _)"
            ))
        }
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ArtistKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ArtistKey {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ArtistKey> for String {
    fn from(value: ArtistKey) -> Self {
        value.0
    }
}

/// One artist of the studio (`[[artists]]`). Each takes one appointment at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artist {
    /// Stable key.
    pub key: ArtistKey,
    /// The name customers know.
    pub name: String,
    /// What the artist does: keys of the price classes (`line_work`, `realistic`, …) or
    /// free words (`fine line`, `japanese`).
    #[serde(default)]
    pub styles: Vec<String>,
    /// Weekdays on which the artist's hours differ from the studio's.
    #[serde(default, skip_serializing_if = "HoursOverride::is_empty")]
    pub hours: HoursOverride,
    /// The artist's own Google calendar, read for busy time (their own appointments and
    /// time off). Bookings made by inkdesk go in the studio's calendar with the artist
    /// recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub google_calendar_id: Option<String>,
}

impl Artist {
    /// The artist's spans on `day`: their own when given, else the studio's.
    pub fn spans_on<'a>(&'a self, studio: &'a WeeklyHours, day: Weekday) -> &'a [OpeningSpan] {
        match self.hours.day(day) {
            Some(own) => own.spans(),
            None => studio.on(day),
        }
    }

    /// True when the artist does `style` (a price class key or a free word; case and
    /// `_`/`-`/space do not matter, and a word inside a style counts).
    pub fn does(&self, style: &str) -> bool {
        let wanted = fold(style);
        !wanted.is_empty()
            && self
                .styles
                .iter()
                .map(|s| fold(s))
                .any(|s| s == wanted || s.contains(&wanted) || wanted.contains(&s))
    }
}

/// Lowercase, with `_` and `-` read as spaces and runs of spaces collapsed.
pub fn fold(text: &str) -> String {
    text.to_lowercase()
        .replace(['_', '-'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Dates on which the studio, or one artist, takes no appointments (`[[closures]]` in the
/// profile, or added at run time with `inkdesk block`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Closure {
    /// First closed date (the studio's zone).
    pub from: NaiveDate,
    /// Last closed date, inclusive.
    pub to: NaiveDate,
    /// The artist who is away; `None` closes the whole studio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artist: Option<ArtistKey>,
    /// Why, in words the bot may repeat (`summer holidays`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Closure {
    /// A closure, refused unless `from <= to`.
    pub fn new(
        from: NaiveDate,
        to: NaiveDate,
        artist: Option<ArtistKey>,
        reason: Option<String>,
    ) -> Result<Self, String> {
        if to < from {
            return Err(format!("ends ({to}) before it starts ({from})"));
        }
        let reason = reason
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        if reason.as_ref().is_some_and(|r| r.chars().count() > 200) {
            return Err("the reason is longer than 200 characters".to_owned());
        }
        Ok(Self {
            from,
            to,
            artist,
            reason,
        })
    }

    /// True when the closure covers `date`.
    pub fn covers(&self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.to
    }

    /// True when the closure keeps `artist` (or, for `None`, the studio) from working: a
    /// studio closure applies to every artist, an artist's only to that artist.
    pub fn applies_to(&self, artist: Option<&ArtistKey>) -> bool {
        match (&self.artist, artist) {
            (None, _) => true,
            (Some(away), Some(wanted)) => away == wanted,
            (Some(_), None) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_short_lowercase_words() {
        assert!(ArtistKey::parse("maria").is_ok());
        assert!(ArtistKey::parse("nikos_2").is_ok());
        for bad in ["", "Maria", "μαρία", "a b", &"x".repeat(33)] {
            assert!(ArtistKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn styles_match_class_keys_and_free_words() {
        let artist = Artist {
            key: ArtistKey::parse("maria").unwrap(),
            name: "Maria".into(),
            styles: vec!["realistic".into(), "fine line".into()],
            hours: HoursOverride::default(),
            google_calendar_id: None,
        };
        assert!(artist.does("Fine-Line"));
        assert!(artist.does("realistic"));
        assert!(artist.does("line"));
        assert!(!artist.does("japanese"));
        assert!(!artist.does("  "));
    }

    #[test]
    fn closures_cover_inclusive_dates_and_apply_to_their_artist() {
        let d = |day| NaiveDate::from_ymd_opt(2026, 12, day).unwrap();
        let maria = ArtistKey::parse("maria").unwrap();
        let away =
            Closure::new(d(10), d(12), Some(maria.clone()), Some(" holidays ".into())).unwrap();
        assert!(away.covers(d(10)) && away.covers(d(12)) && !away.covers(d(13)));
        assert_eq!(away.reason.as_deref(), Some("holidays"));
        assert!(away.applies_to(Some(&maria)));
        assert!(!away.applies_to(Some(&ArtistKey::parse("nikos").unwrap())));
        let studio = Closure::new(d(24), d(26), None, None).unwrap();
        assert!(studio.applies_to(Some(&maria)) && studio.applies_to(None));
        assert!(Closure::new(d(12), d(10), None, None).is_err());
    }
}
