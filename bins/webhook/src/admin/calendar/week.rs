//! One week of bookings, Monday to Sunday in the studio's time zone: a column per artist
//! when the profile has `[[artists]]` (plus one for bookings without a known artist, when
//! there are any), one column otherwise. Days the studio or the artist is closed or away
//! say so.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use inkdesk_calendar::format::weekday_name;
use inkdesk_domain::schedule::resolve_local;
use inkdesk_domain::{ArtistKey, Closure, ConversationId, Language, StudioProfile};
use serde::Serialize;

use crate::app::App;

use super::super::i18n::Lang;
use super::super::view::{self, BookingView};
use super::texts::text;
use super::{StaffError, input};

/// Most bookings read for one week.
pub const WEEK_LIMIT: usize = 500;

/// One week as the console shows it.
#[derive(Debug, Clone, Serialize)]
pub struct WeekView {
    /// The Monday, `YYYY-MM-DD`.
    pub week: String,
    /// The Monday before.
    pub previous: String,
    /// The Monday after.
    pub next: String,
    /// Whether this week holds today.
    pub is_this_week: bool,
    /// `7/12 – 13/12/2026`.
    pub title: String,
    /// The studio's IANA zone; every time shown is in it.
    pub time_zone: String,
    /// One per artist (or one for the studio).
    pub columns: Vec<ColumnView>,
}

/// One artist's (or the studio's) week.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnView {
    /// The artist's key; `None` for the studio's or the unassigned column.
    pub artist: Option<String>,
    /// The heading.
    pub name: String,
    /// Monday to Sunday.
    pub days: Vec<DayView>,
}

/// One day of one column.
#[derive(Debug, Clone, Serialize)]
pub struct DayView {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `Τρίτη 8/12`.
    pub label: String,
    /// Today in the studio's zone.
    pub today: bool,
    /// No opening hours that weekday (for this artist).
    pub closed: bool,
    /// Closures that keep this column away that day: their reasons (or "closed").
    pub away: Vec<String>,
    /// The day's bookings, earliest first.
    pub bookings: Vec<BookingView>,
}

/// The Monday of the week holding `date`.
pub fn monday_of(date: NaiveDate) -> NaiveDate {
    date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
}

fn language(lang: Lang) -> Language {
    match lang {
        Lang::El => Language::El,
        Lang::En => Language::En,
    }
}

fn midnight(profile: &StudioProfile, date: NaiveDate) -> chrono::DateTime<Utc> {
    resolve_local(profile.time_zone, date, NaiveTime::MIN)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|_| date.and_time(NaiveTime::MIN).and_utc())
}

/// The week holding `week` (`YYYY-MM-DD`, any day of it; empty: this week).
pub async fn week(app: &App, week: &str, lang: Lang) -> Result<WeekView, StaffError> {
    let profile = &app.profile;
    let today = profile.today(app.clock.now());
    let day = match week.trim() {
        "" => today,
        raw => inkdesk_domain::schedule::parse_date(raw).map_err(|e| {
            StaffError::Input(input::InputError {
                field: "week",
                problem: input::Problem::Invalid(e),
            })
        })?,
    };
    let monday = monday_of(day);
    let next = monday + Duration::days(7);
    let (from, until) = (midnight(profile, monday), midnight(profile, next));
    let mut bookings: Vec<BookingView> = app
        .calendar
        .list_upcoming(from, WEEK_LIMIT)
        .await
        .map_err(StaffError::Calendar)?
        .into_iter()
        .filter(|b| b.start < until)
        .map(view::booking_view)
        .collect();
    for booking in &mut bookings {
        if let Ok(conversation) = ConversationId::parse(booking.conversation.as_str()) {
            booking.instagram = view::customer_label(app, &conversation, false).await;
        }
    }
    view::name_artists(profile, &mut bookings);
    let sunday = next - Duration::days(1);
    let stored = app
        .calendar
        .closures(monday, sunday)
        .await
        .map_err(StaffError::Calendar)?;
    let closures: Vec<&Closure> = profile
        .closures
        .iter()
        .chain(stored.iter().map(|s| &s.closure))
        .filter(|c| c.from <= sunday && c.to >= monday)
        .collect();
    let columns = columns(profile, &bookings, &closures, monday, today, lang);
    Ok(WeekView {
        week: monday.to_string(),
        previous: (monday - Duration::days(7)).to_string(),
        next: next.to_string(),
        is_this_week: monday == monday_of(today),
        title: format!(
            "{} – {}",
            monday.format("%-d/%-m"),
            sunday.format("%-d/%-m/%Y")
        ),
        time_zone: profile.time_zone.name().to_owned(),
        columns,
    })
}

/// Who a column is for.
enum Lane<'a> {
    /// The whole studio (no artists in the profile).
    Studio,
    /// One artist.
    Artist(&'a inkdesk_domain::profile::Artist),
    /// Bookings whose artist the profile does not have (made before artists were added).
    Unassigned,
}

fn columns(
    profile: &StudioProfile,
    bookings: &[BookingView],
    closures: &[&Closure],
    monday: NaiveDate,
    today: NaiveDate,
    lang: Lang,
) -> Vec<ColumnView> {
    let known = |b: &BookingView| {
        b.artist
            .as_deref()
            .and_then(|k| ArtistKey::parse(k).ok())
            .is_some_and(|k| profile.artist(&k).is_some())
    };
    let mut lanes: Vec<Lane> = Vec::new();
    if profile.artists.is_empty() {
        lanes.push(Lane::Studio);
    } else {
        lanes.extend(profile.artists.iter().map(Lane::Artist));
        if bookings.iter().any(|b| !known(b)) {
            lanes.push(Lane::Unassigned);
        }
    }
    let tz = profile.time_zone;
    lanes
        .into_iter()
        .map(|lane| {
            let (artist, name) = match &lane {
                Lane::Studio => (None, text(lang, "all_bookings").to_owned()),
                Lane::Artist(a) => (Some(a.key.to_string()), a.name.clone()),
                Lane::Unassigned => (None, text(lang, "no_artist").to_owned()),
            };
            let days = (0..7)
                .map(|offset| {
                    let date = monday + Duration::days(offset);
                    let weekday: Weekday = date.weekday();
                    let closed = match &lane {
                        Lane::Artist(a) => a.spans_on(&profile.hours, weekday).is_empty(),
                        Lane::Studio => profile.hours.on(weekday).is_empty(),
                        Lane::Unassigned => false,
                    };
                    let away = closures
                        .iter()
                        .filter(|c| c.covers(date))
                        .filter(|c| match (&c.artist, &lane) {
                            (None, _) => true,
                            (Some(k), Lane::Artist(a)) => *k == a.key,
                            (Some(_), _) => false,
                        })
                        .map(|c| {
                            c.reason
                                .clone()
                                .unwrap_or_else(|| text(lang, "closed").to_owned())
                        })
                        .collect();
                    let of_lane = |b: &&BookingView| match &lane {
                        Lane::Studio => true,
                        Lane::Artist(a) => b.artist.as_deref() == Some(a.key.as_str()),
                        Lane::Unassigned => !known(b),
                    };
                    let bookings = bookings
                        .iter()
                        .filter(|b| b.start.with_timezone(&tz).date_naive() == date)
                        .filter(of_lane)
                        .cloned()
                        .collect();
                    DayView {
                        date: date.to_string(),
                        label: format!(
                            "{} {}",
                            weekday_name(language(lang), weekday),
                            date.format("%-d/%-m")
                        ),
                        today: date == today,
                        closed,
                        away,
                        bookings,
                    }
                })
                .collect();
            ColumnView { artist, name, days }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_week_starts_on_monday() {
        let wednesday = NaiveDate::from_ymd_opt(2026, 12, 9).unwrap();
        assert_eq!(monday_of(wednesday).to_string(), "2026-12-07");
        let monday = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        assert_eq!(monday_of(monday), monday);
        let sunday = NaiveDate::from_ymd_opt(2026, 12, 13).unwrap();
        assert_eq!(monday_of(sunday), monday);
    }
}
