//! Slot lists and durations as customers read them, in Greek and English.
//!
//! Greek uses the genitive month (`20 Νοεμβρίου`) and the weekday names of the behaviour
//! reference §3. Durations are rounded to the nearest minute (never truncated).

use chrono::{Datelike, NaiveDate, Weekday};
use inkdesk_domain::{AppointmentDuration, Language};

use crate::interval::Slot;

const WEEKDAYS_EL: [&str; 7] = [
    "Δευτέρα",
    "Τρίτη",
    "Τετάρτη",
    "Πέμπτη",
    "Παρασκευή",
    "Σάββατο",
    "Κυριακή",
];
const WEEKDAYS_EN: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS_EL_GENITIVE: [&str; 12] = [
    "Ιανουαρίου",
    "Φεβρουαρίου",
    "Μαρτίου",
    "Απριλίου",
    "Μαΐου",
    "Ιουνίου",
    "Ιουλίου",
    "Αυγούστου",
    "Σεπτεμβρίου",
    "Οκτωβρίου",
    "Νοεμβρίου",
    "Δεκεμβρίου",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The weekday's name (nominative in Greek): `Τετάρτη` / `Wednesday`.
pub fn weekday_name(language: Language, day: Weekday) -> &'static str {
    let i = day.num_days_from_monday() as usize;
    match language {
        Language::El => WEEKDAYS_EL[i],
        Language::En => WEEKDAYS_EN[i],
    }
}

/// The month's name as it follows a day number (genitive in Greek), for month 1–12:
/// `Νοεμβρίου` / `November`.
pub fn month_name(language: Language, month: u32) -> &'static str {
    let i = (month.clamp(1, 12) - 1) as usize;
    match language {
        Language::El => MONTHS_EL_GENITIVE[i],
        Language::En => MONTHS_EN[i],
    }
}

/// A date as `Τετάρτη, 20 Νοεμβρίου` / `Wednesday, 20 November`.
pub fn format_date(date: NaiveDate, language: Language) -> String {
    format!(
        "{}, {} {}",
        weekday_name(language, date.weekday()),
        date.day(),
        month_name(language, date.month())
    )
}

/// Slots grouped per day, one line a day in date order:
/// `📅 Τετάρτη, 20 Νοεμβρίου: ⏰ 11:00, 14:00`. Times are the studio's wall clock.
pub fn format_slots(slots: &[Slot], language: Language) -> String {
    let mut sorted = slots.to_vec();
    sorted.sort();
    let mut lines: Vec<(NaiveDate, Vec<String>)> = Vec::new();
    for slot in sorted {
        let time = slot.start.format("%H:%M").to_string();
        match lines.last_mut() {
            Some((date, times)) if *date == slot.date() => times.push(time),
            _ => lines.push((slot.date(), vec![time])),
        }
    }
    lines
        .into_iter()
        .map(|(date, times)| {
            format!(
                "📅 {}: ⏰ {}",
                format_date(date, language),
                times.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A duration as `1 ώρα και 30 λεπτά` / `1 hour 30 minutes`, rounded to the nearest
/// minute (half a minute rounds up).
pub fn format_duration(duration: chrono::Duration, language: Language) -> String {
    let seconds = duration.num_seconds().max(0);
    let total = (seconds + 30) / 60;
    let (hours, minutes) = (total / 60, total % 60);
    let (hour_word, minute_word, join) = match language {
        Language::El => (
            if hours == 1 { "ώρα" } else { "ώρες" },
            if minutes == 1 {
                "λεπτό"
            } else {
                "λεπτά"
            },
            " και ",
        ),
        Language::En => (
            if hours == 1 { "hour" } else { "hours" },
            if minutes == 1 { "minute" } else { "minutes" },
            " ",
        ),
    };
    match (hours, minutes) {
        (0, m) => format!("{m} {minute_word}"),
        (h, 0) => format!("{h} {hour_word}"),
        (h, m) => format!("{h} {hour_word}{join}{m} {minute_word}"),
    }
}

/// A duration given in (possibly fractional) hours, e.g. `1.08` → `1 ώρα και 5 λεπτά`.
pub fn format_hours(hours: f64, language: Language) -> String {
    let seconds = if hours.is_finite() && hours > 0.0 {
        // Bounded by the check above; a week is far beyond any appointment.
        (hours.min(24.0 * 7.0) * 3600.0).round() as i64
    } else {
        0
    };
    format_duration(chrono::Duration::seconds(seconds), language)
}

/// An appointment's length (whole minutes).
pub fn format_appointment(duration: AppointmentDuration, language: Language) -> String {
    format_duration(duration.as_chrono(), language)
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn slot(d: u32, h: u32, m: u32) -> Slot {
        let tz = chrono_tz::Europe::Athens;
        let start = tz.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap();
        Slot {
            start,
            end: start + Duration::hours(1),
            artist: None,
        }
    }

    #[test]
    fn slot_lists_group_times_per_day_in_greek_and_english() {
        // 18 November 2026 is a Wednesday.
        let slots = [slot(19, 11, 0), slot(18, 14, 0), slot(18, 11, 0)];
        assert_eq!(
            format_slots(&slots, Language::El),
            "📅 Τετάρτη, 18 Νοεμβρίου: ⏰ 11:00, 14:00\n📅 Πέμπτη, 19 Νοεμβρίου: ⏰ 11:00"
        );
        assert_eq!(
            format_slots(&slots, Language::En),
            "📅 Wednesday, 18 November: ⏰ 11:00, 14:00\n📅 Thursday, 19 November: ⏰ 11:00"
        );
        assert_eq!(format_slots(&[], Language::El), "");
    }

    #[test]
    fn every_greek_month_is_genitive_and_weekdays_start_on_monday() {
        let may = NaiveDate::from_ymd_opt(2026, 5, 4).unwrap(); // Monday
        assert_eq!(format_date(may, Language::El), "Δευτέρα, 4 Μαΐου");
        let aug = NaiveDate::from_ymd_opt(2026, 8, 16).unwrap(); // Sunday
        assert_eq!(format_date(aug, Language::El), "Κυριακή, 16 Αυγούστου");
        assert_eq!(format_date(aug, Language::En), "Sunday, 16 August");
    }

    #[test]
    fn greek_durations_match_the_reference() {
        let el = |m| format_duration(Duration::minutes(m), Language::El);
        assert_eq!(el(60), "1 ώρα");
        assert_eq!(el(120), "2 ώρες");
        assert_eq!(el(30), "30 λεπτά");
        assert_eq!(el(90), "1 ώρα και 30 λεπτά");
        assert_eq!(el(165), "2 ώρες και 45 λεπτά");
        assert_eq!(el(61), "1 ώρα και 1 λεπτό");
    }

    #[test]
    fn durations_are_rounded_not_truncated() {
        // 1.08 h is 64.8 minutes: the predecessor said "1 ώρα και 4 λεπτά".
        assert_eq!(format_hours(1.08, Language::El), "1 ώρα και 5 λεπτά");
        assert_eq!(
            format_duration(Duration::seconds(89 * 60 + 30), Language::En),
            "1 hour 30 minutes"
        );
        assert_eq!(
            format_duration(Duration::seconds(89 * 60 + 29), Language::En),
            "1 hour 29 minutes"
        );
        assert_eq!(format_hours(f64::NAN, Language::En), "0 minutes");
    }

    #[test]
    fn english_durations() {
        let en = |m| format_duration(Duration::minutes(m), Language::En);
        assert_eq!(en(60), "1 hour");
        assert_eq!(en(150), "2 hours 30 minutes");
        assert_eq!(en(1), "1 minute");
        let d = AppointmentDuration::from_minutes(45, 600).unwrap();
        assert_eq!(format_appointment(d, Language::En), "45 minutes");
    }
}
