//! Words the engine writes itself, in Greek and English: weekday and month names, dates,
//! opening hours, durations and amounts.
//!
//! The prompts and the fixed texts use these; slot lists shown to customers come from the
//! calendar crate's formatter.

use chrono::{Datelike, NaiveDate, Weekday};
use inkdesk_domain::Language;
use inkdesk_domain::profile::WeeklyHours;
use rust_decimal::Decimal;

const WEEK: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

pub use inkdesk_calendar::format::{month_name, weekday_name};

/// `20 Νοεμβρίου 2026` / `20 November 2026`.
pub fn long_date(language: Language, date: NaiveDate) -> String {
    format!(
        "{} {} {}",
        date.day(),
        month_name(language, date.month()),
        date.year()
    )
}

/// The name of a language, as written inside a sentence of `in_language`.
pub fn language_name(in_language: Language, language: Language) -> &'static str {
    match (in_language, language) {
        (Language::El, Language::El) => "ελληνικά",
        (Language::El, Language::En) => "αγγλικά",
        (Language::En, Language::El) => "Greek",
        (Language::En, Language::En) => "English",
    }
}

/// A day's spans as `11:00–14:00, 17:00–21:00`, or `closed` when there is none.
pub fn spans_text(spans: &[inkdesk_domain::profile::OpeningSpan], closed: &str) -> String {
    if spans.is_empty() {
        return closed.to_owned();
    }
    spans
        .iter()
        .map(|s| format!("{}–{}", s.open.format("%H:%M"), s.close.format("%H:%M")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Opening hours as lines, consecutive days with the same hours grouped:
/// `Δευτέρα–Σάββατο: 11:00–20:00`, `Κυριακή: κλειστά`.
pub fn hours_lines(language: Language, hours: &WeeklyHours) -> Vec<String> {
    let closed = match language {
        Language::El => "κλειστά",
        Language::En => "closed",
    };
    let span_text = |day: Weekday| spans_text(hours.on(day), closed);
    let mut lines = Vec::new();
    let mut start = 0;
    while start < WEEK.len() {
        let text = span_text(WEEK[start]);
        let mut end = start;
        while end + 1 < WEEK.len() && span_text(WEEK[end + 1]) == text {
            end += 1;
        }
        let days = if end == start {
            weekday_name(language, WEEK[start]).to_owned()
        } else {
            format!(
                "{}–{}",
                weekday_name(language, WEEK[start]),
                weekday_name(language, WEEK[end])
            )
        };
        lines.push(format!("{days}: {text}"));
        start = end + 1;
    }
    lines
}

/// A duration in words, rounded to the minute: `1 ώρα`, `2 ώρες και 45 λεπτά`, `30 minutes`.
pub fn duration_text(language: Language, minutes: u32) -> String {
    let (h, m) = (minutes / 60, minutes % 60);
    let (hour, hours, minute, minutes_word, and) = match language {
        Language::El => ("ώρα", "ώρες", "λεπτό", "λεπτά", "και"),
        Language::En => ("hour", "hours", "minute", "minutes", "and"),
    };
    let hours_part = (h > 0).then(|| format!("{h} {}", if h == 1 { hour } else { hours }));
    let minutes_part =
        (m > 0).then(|| format!("{m} {}", if m == 1 { minute } else { minutes_word }));
    match (hours_part, minutes_part) {
        (Some(a), Some(b)) => format!("{a} {and} {b}"),
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (None, None) => format!("0 {minutes_word}"),
    }
}

/// An amount with the currency symbol: `45 €`, `45,5 €` in Greek, `45.5 €` in English.
pub fn amount_text(language: Language, amount: Decimal, symbol: &str) -> String {
    let number = amount.normalize().to_string();
    let number = match language {
        Language::El => number.replace('.', ","),
        Language::En => number,
    };
    format!("{number} {symbol}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn default_hours_group_monday_to_saturday_and_close_sunday() {
        let hours = WeeklyHours::default();
        assert_eq!(
            hours_lines(Language::El, &hours),
            ["Δευτέρα–Σάββατο: 11:00–20:00", "Κυριακή: κλειστά"]
        );
        assert_eq!(
            hours_lines(Language::En, &hours),
            ["Monday–Saturday: 11:00–20:00", "Sunday: closed"]
        );
    }

    #[test]
    fn durations_read_like_the_greek_reference() {
        let el = |m| duration_text(Language::El, m);
        assert_eq!(el(60), "1 ώρα");
        assert_eq!(el(120), "2 ώρες");
        assert_eq!(el(30), "30 λεπτά");
        assert_eq!(el(90), "1 ώρα και 30 λεπτά");
        assert_eq!(el(165), "2 ώρες και 45 λεπτά");
        assert_eq!(duration_text(Language::En, 180), "3 hours");
    }

    #[test]
    fn dates_and_amounts_are_localised() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        assert_eq!(long_date(Language::El, date), "20 Νοεμβρίου 2026");
        assert_eq!(long_date(Language::En, date), "20 November 2026");
        assert_eq!(amount_text(Language::El, dec!(45.50), "€"), "45,5 €");
        assert_eq!(amount_text(Language::En, dec!(45), "€"), "45 €");
    }
}
