//! Dates and times of appointments, decided in the studio's time zone.
//!
//! DST policy (Europe/Athens: 2026-03-29 03:00–04:00 does not exist, 2026-10-25
//! 03:00–04:00 happens twice):
//! - a local time that does not exist is refused ([`ValidationError::NonexistentLocalTime`]);
//! - an ambiguous local time means its first occurrence (summer time), the reading a
//!   customer who writes "03:30" before the clocks go back most likely intends.
//!
//! Durations are absolute (a 2-hour appointment lasts 120 real minutes even across a
//! clock change); "ends by closing" compares the local wall-clock end with closing time.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::profile::ArtistKey;
use crate::{AppointmentDuration, StudioProfile, ValidationError};

/// Parses an ISO date `YYYY-MM-DD`.
pub fn parse_date(raw: &str) -> Result<NaiveDate, ValidationError> {
    let raw = raw.trim();
    if raw.len() != 10 {
        return Err(ValidationError::DateFormat);
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| ValidationError::DateFormat)
}

/// Parses a 24-hour time `H:MM` or `HH:MM` (`9:30`, `14:30`); refuses `24:00`, `1430`,
/// `2:30 PM` and seconds.
pub fn parse_time(raw: &str) -> Result<NaiveTime, ValidationError> {
    let raw = raw.trim();
    let (h, m) = raw.split_once(':').ok_or(ValidationError::TimeFormat)?;
    let digits = |s: &str, max_len| {
        !s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit())
    };
    if !digits(h, 2) || !digits(m, 2) || m.len() != 2 {
        return Err(ValidationError::TimeFormat);
    }
    let hour: u32 = h.parse().map_err(|_| ValidationError::TimeFormat)?;
    let minute: u32 = m.parse().map_err(|_| ValidationError::TimeFormat)?;
    NaiveTime::from_hms_opt(hour, minute, 0).ok_or(ValidationError::TimeFormat)
}

/// Resolves a wall-clock date and time in `tz` to an instant, following the DST policy in
/// the module documentation.
pub fn resolve_local(
    tz: Tz,
    date: NaiveDate,
    time: NaiveTime,
) -> Result<DateTime<Tz>, ValidationError> {
    match tz.from_local_datetime(&date.and_time(time)) {
        LocalResult::Single(at) => Ok(at),
        LocalResult::Ambiguous(first, _) => Ok(first),
        LocalResult::None => Err(ValidationError::NonexistentLocalTime),
    }
}

impl StudioProfile {
    /// Today's date in the studio's time zone.
    pub fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.time_zone).date_naive()
    }

    /// Refuses dates before today in the studio's zone (not the server's).
    pub fn check_date_not_past(
        &self,
        date: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<(), ValidationError> {
        if date < self.today(now) {
            Err(ValidationError::DateInPast)
        } else {
            Ok(())
        }
    }

    /// Checks that an appointment starting at `start` and lasting `duration` can be booked
    /// at `now`: not in the past, respecting the minimum notice and the horizon, on an open
    /// day, starting inside one of the day's opening spans and ending by that span's close.
    pub fn check_appointment(
        &self,
        start: DateTime<Utc>,
        duration: AppointmentDuration,
        now: DateTime<Utc>,
    ) -> Result<(), ValidationError> {
        self.check_appointment_for(None, start, duration, now)
    }

    /// [`StudioProfile::check_appointment`] with `artist`'s hours (their own where they
    /// have them, the studio's elsewhere); `None` checks the studio's.
    pub fn check_appointment_for(
        &self,
        artist: Option<&ArtistKey>,
        start: DateTime<Utc>,
        duration: AppointmentDuration,
        now: DateTime<Utc>,
    ) -> Result<(), ValidationError> {
        let local = start.with_timezone(&self.time_zone);
        let date = local.date_naive();
        self.check_date_not_past(date, now)?;
        let notice = self.booking.min_notice_minutes;
        if start < now + Duration::minutes(i64::from(notice)) {
            return Err(ValidationError::TooSoon { minutes: notice });
        }
        let horizon = self.booking.horizon_days;
        if date > self.today(now) + Duration::days(i64::from(horizon)) {
            return Err(ValidationError::BeyondHorizon { days: horizon });
        }
        self.check_within_hours(artist, start, duration)
    }

    /// Checks only the hours: `start` lies inside one of the day's spans (the artist's
    /// own where they have them) and the appointment ends by that span's close (wall
    /// clock, so a 2-hour appointment on the night the clocks change still ends by
    /// closing time as the studio's clock shows it).
    pub fn check_within_hours(
        &self,
        artist: Option<&ArtistKey>,
        start: DateTime<Utc>,
        duration: AppointmentDuration,
    ) -> Result<(), ValidationError> {
        let local = start.with_timezone(&self.time_zone);
        let date = local.date_naive();
        let spans = self.spans_on(artist, date.weekday());
        if spans.is_empty() {
            return Err(ValidationError::ClosedDay);
        }
        let hhmm = |t: NaiveTime| t.format("%H:%M").to_string();
        let start_time = local.time();
        let Some(span) = spans.iter().find(|s| s.contains(start_time)) else {
            return Err(ValidationError::OutsideHours {
                hours: spans
                    .iter()
                    .map(|s| format!("{}–{}", hhmm(s.open), hhmm(s.close)))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        let end_local = (start + duration.as_chrono())
            .with_timezone(&self.time_zone)
            .naive_local();
        if end_local > date.and_time(span.close) {
            return Err(ValidationError::EndsAfterClosing {
                close: hhmm(span.close),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn athens_utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        let date = NaiveDate::from_ymd_opt(y, mo, d).unwrap();
        resolve_local(
            chrono_tz::Europe::Athens,
            date,
            NaiveTime::from_hms_opt(h, mi, 0).unwrap(),
        )
        .unwrap()
        .with_timezone(&Utc)
    }

    fn minutes(m: i64) -> AppointmentDuration {
        AppointmentDuration::from_minutes(m, 600).unwrap()
    }

    #[test]
    fn times_are_24_hour_h_mm_or_hh_mm() {
        assert_eq!(
            parse_time("14:30").unwrap(),
            NaiveTime::from_hms_opt(14, 30, 0).unwrap()
        );
        assert_eq!(
            parse_time("9:30").unwrap(),
            NaiveTime::from_hms_opt(9, 30, 0).unwrap()
        );
        for bad in [
            "2:30 PM", "24:00", "1430", "", "14:3", "14:60", "-1:00", "14:30:00",
        ] {
            assert_eq!(parse_time(bad), Err(ValidationError::TimeFormat), "{bad:?}");
        }
    }

    #[test]
    fn dates_are_iso() {
        assert!(parse_date("2026-12-01").is_ok());
        for bad in ["01/12/2026", "2026-13-01", "2026-2-1", "", "tomorrow"] {
            assert_eq!(parse_date(bad), Err(ValidationError::DateFormat), "{bad:?}");
        }
    }

    #[test]
    fn today_is_the_studios_date_not_the_servers() {
        let profile = StudioProfile::default();
        // 22:30 UTC on 30 Nov is already 1 Dec in Athens (UTC+2).
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 22, 30, 0).unwrap();
        assert_eq!(
            profile.today(now),
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
        );
        assert_eq!(
            profile.check_date_not_past(NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(), now),
            Err(ValidationError::DateInPast)
        );
    }

    #[test]
    fn appointment_must_lie_in_hours_and_end_by_closing() {
        let profile = StudioProfile::default();
        let now = athens_utc(2026, 11, 30, 9, 0); // Monday morning
        let tue = |h, m| athens_utc(2026, 12, 1, h, m);
        assert_eq!(
            profile.check_appointment(tue(11, 0), minutes(60), now),
            Ok(())
        );
        assert_eq!(
            profile.check_appointment(tue(19, 0), minutes(60), now),
            Ok(())
        );
        assert_eq!(
            profile.check_appointment(tue(19, 0), minutes(90), now),
            Err(ValidationError::EndsAfterClosing {
                close: "20:00".into()
            })
        );
        assert!(matches!(
            profile.check_appointment(tue(10, 30), minutes(30), now),
            Err(ValidationError::OutsideHours { .. })
        ));
        assert!(matches!(
            profile.check_appointment(tue(20, 0), minutes(30), now),
            Err(ValidationError::OutsideHours { .. })
        ));
        // Sunday 6 December is closed.
        assert_eq!(
            profile.check_appointment(athens_utc(2026, 12, 6, 12, 0), minutes(60), now),
            Err(ValidationError::ClosedDay)
        );
    }

    #[test]
    fn split_hours_take_appointments_in_each_span_and_none_across_the_break() {
        let mut profile = StudioProfile::default();
        profile.hours.tuesday =
            crate::profile::DayHours::try_from("11:00-14:00, 17:00-21:00".to_owned()).unwrap();
        let now = athens_utc(2026, 11, 30, 9, 0);
        let tue = |h, m| athens_utc(2026, 12, 1, h, m);
        assert_eq!(
            profile.check_appointment(tue(11, 0), minutes(180), now),
            Ok(())
        );
        assert_eq!(
            profile.check_appointment(tue(18, 0), minutes(180), now),
            Ok(())
        );
        assert_eq!(
            profile.check_appointment(tue(13, 0), minutes(120), now),
            Err(ValidationError::EndsAfterClosing {
                close: "14:00".into()
            })
        );
        assert_eq!(
            profile.check_appointment(tue(15, 0), minutes(60), now),
            Err(ValidationError::OutsideHours {
                hours: "11:00–14:00, 17:00–21:00".into()
            })
        );
    }

    #[test]
    fn notice_past_and_horizon_are_enforced() {
        let profile = StudioProfile::default();
        let now = athens_utc(2026, 12, 1, 11, 0);
        assert_eq!(
            profile.check_appointment(athens_utc(2026, 12, 1, 13, 0), minutes(60), now),
            Err(ValidationError::TooSoon { minutes: 180 })
        );
        assert_eq!(
            profile.check_appointment(athens_utc(2026, 12, 1, 14, 0), minutes(60), now),
            Ok(())
        );
        assert_eq!(
            profile.check_appointment(athens_utc(2026, 11, 30, 14, 0), minutes(60), now),
            Err(ValidationError::DateInPast)
        );
        // 60 days after 1 Dec is 30 Jan (a Saturday); 1 Feb is beyond.
        assert_eq!(
            profile.check_appointment(athens_utc(2027, 1, 30, 12, 0), minutes(60), now),
            Ok(())
        );
        assert_eq!(
            profile.check_appointment(athens_utc(2027, 2, 1, 12, 0), minutes(60), now),
            Err(ValidationError::BeyondHorizon { days: 60 })
        );
    }

    #[test]
    fn nonexistent_local_time_is_refused_and_ambiguous_takes_the_first() {
        let tz = chrono_tz::Europe::Athens;
        let spring = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
        let autumn = NaiveDate::from_ymd_opt(2026, 10, 25).unwrap();
        let half_past_three = NaiveTime::from_hms_opt(3, 30, 0).unwrap();
        assert_eq!(
            resolve_local(tz, spring, half_past_three),
            Err(ValidationError::NonexistentLocalTime)
        );
        let first = resolve_local(tz, autumn, half_past_three).unwrap();
        // First occurrence is still summer time (UTC+3): 00:30 UTC.
        assert_eq!(
            first.with_timezone(&Utc),
            Utc.with_ymd_and_hms(2026, 10, 25, 0, 30, 0).unwrap()
        );
    }
}
