//! The availability engine: which appointment times are free. Pure; no IO, no clock.
//!
//! Rules (behaviour reference §3), every one decided in the studio's time zone:
//!
//! - **Candidates.** On each open day, candidate starts are opening time plus whole slot
//!   steps (wall clock). On the first day searched, when the request gives a preferred time
//!   inside that day's hours, the candidates start at the preferred time instead (earlier
//!   times that day are not offered). A wall-clock time that does not exist (spring forward)
//!   is skipped; an ambiguous one means its first occurrence (the domain's DST policy).
//! - **Hours.** The appointment must end by closing time (wall clock, real minutes).
//! - **Notice and horizon.** Never in the past, never inside the minimum notice, never on a
//!   date after today + horizon days.
//! - **Capacity.** Every appointment (existing timed events, holds of other conversations
//!   and the candidate) occupies `[start − buffer_before, end + buffer_after)`. A candidate
//!   is free when, at every instant of its occupied span, fewer than `capacity` occupied
//!   spans overlap. This is the "at most `capacity` appointments at once" reading: two
//!   existing events that do not overlap each other use one unit between them, so they
//!   never block a longer candidate that overlaps both when the capacity is 2.
//! - **Calendar entries.** Transparent entries never block. All-day entries close every
//!   date they cover, whatever the capacity. Timed entries crossing midnight block both
//!   days, because everything is compared as instants.
//! - **Spreading.** With a limit of `n` results, the answer takes the earliest free slot
//!   of each day in date order, for as many days as needed; only when fewer than `n` days
//!   have room does it take the second-earliest of each day (again in date order), and so
//!   on. The result is sorted by start. So "a week" with the default limit of 3 gives the
//!   first free time of the first three days that have room, not three times on day one.
//!
//! Cost: sorting the occupied spans once (`O(e log e)` for `e` entries), then one binary
//! search per candidate over the merged "full" spans; the scan stops as soon as enough
//! days have a free slot.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use inkdesk_domain::{AppointmentDuration, EventId, Price, StudioProfile, ValidationError};
use inkdesk_pricing::Euros;

use crate::interval::{BusyInterval, BusySpan, Interval, Slot};

/// What the customer asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRequest {
    /// First date to search (studio's zone).
    pub from: NaiveDate,
    /// Last date to search, inclusive.
    pub to: NaiveDate,
    /// Length of the appointment.
    pub duration: AppointmentDuration,
    /// Preferred start on the first day searched.
    pub preferred_time: Option<NaiveTime>,
    /// Most results wanted; `None` means the profile's `max_slots_offered`.
    pub limit: Option<usize>,
}

impl SlotRequest {
    /// A request for the dates `from..=to`.
    pub fn range(from: NaiveDate, to: NaiveDate, duration: AppointmentDuration) -> Self {
        Self {
            from,
            to,
            duration,
            preferred_time: None,
            limit: None,
        }
    }

    /// A request for one day.
    pub fn day(date: NaiveDate, duration: AppointmentDuration) -> Self {
        Self::range(date, date, duration)
    }

    /// The same request with a preferred time on the first day.
    #[must_use]
    pub fn with_preferred_time(mut self, time: NaiveTime) -> Self {
        self.preferred_time = Some(time);
        self
    }

    /// The instants the calendar must be read for to answer this request: from local
    /// midnight of `from` to local midnight after `to`, widened by the buffers.
    pub fn window(&self, profile: &StudioProfile) -> Interval {
        let tz = profile.time_zone;
        let midnight = |d: NaiveDate| match tz.from_local_datetime(&d.and_time(NaiveTime::MIN)) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
            // A zone that skips midnight: the hour after it surely exists.
            LocalResult::None => tz
                .from_local_datetime(&(d.and_time(NaiveTime::MIN) + Duration::hours(1)))
                .earliest()
                .map_or(DateTime::<Utc>::MIN_UTC, |t| t.with_timezone(&Utc)),
        };
        let before = Duration::minutes(i64::from(profile.booking.buffer_before_minutes));
        let after = Duration::minutes(i64::from(profile.booking.buffer_after_minutes));
        Interval::new(
            midnight(self.from) - before,
            midnight(next_day(self.to)) + after,
        )
    }

    /// The same request with a result limit.
    #[must_use]
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }
}

/// Finds free appointment times (see the module documentation for the rules).
///
/// `busy` are the calendar's entries, `holds_of_others` the slots currently held for
/// *other* conversations (each uses one unit of capacity).
pub fn find_slots(
    profile: &StudioProfile,
    busy: &[BusyInterval],
    holds_of_others: &[Interval],
    request: &SlotRequest,
    now: DateTime<Utc>,
) -> Vec<Slot> {
    let limit = request
        .limit
        .unwrap_or(profile.booking.max_slots_offered as usize);
    if limit == 0 {
        return Vec::new();
    }
    let tz = profile.time_zone;
    let today = profile.today(now);
    let from = request.from.max(today);
    let to = request
        .to
        .min(today + Duration::days(i64::from(profile.booking.horizon_days)));
    let occupancy = Occupancy::build(profile, busy, holds_of_others, None);
    let earliest = now + Duration::minutes(i64::from(profile.booking.min_notice_minutes));
    let duration = request.duration.as_chrono();
    let step = Duration::minutes(i64::from(profile.booking.slot_step_minutes.max(1)));

    // Free slots per day with room, each list sorted, at most `limit` per day.
    let mut days: Vec<Vec<Slot>> = Vec::new();
    let mut date = from;
    while date <= to && days.len() < limit {
        let Some(span) = profile.hours.on(date.weekday()) else {
            date = next_day(date);
            continue;
        };
        if occupancy.is_closed(date) {
            date = next_day(date);
            continue;
        }
        let first = match request.preferred_time {
            Some(p) if date == from && p >= span.open && p < span.close => p,
            _ => span.open,
        };
        let close = date.and_time(span.close);
        let mut wall = date.and_time(first);
        let mut free = Vec::new();
        while wall < close && free.len() < limit {
            let at = wall;
            wall += step;
            let start = match tz.from_local_datetime(&at) {
                LocalResult::Single(s) | LocalResult::Ambiguous(s, _) => s,
                LocalResult::None => continue,
            };
            let start_utc = start.with_timezone(&Utc);
            if start_utc < earliest {
                continue;
            }
            let end_utc = start_utc + duration;
            let end = end_utc.with_timezone(&tz);
            if end.naive_local() > close {
                // Later candidates end later still.
                break;
            }
            if occupancy.has_room(Interval::new(start_utc, end_utc)) {
                free.push(Slot { start, end });
            }
        }
        if !free.is_empty() {
            days.push(free);
        }
        date = next_day(date);
    }

    let mut picked = spread(days, limit);
    // Safety net: the domain's own check has the last word on every offered slot.
    picked.retain(|slot| {
        profile
            .check_appointment(slot.start.with_timezone(&Utc), request.duration, now)
            .is_ok()
    });
    picked
}

/// The appointment length for a quoted price (behaviour reference §2, computed by
/// `inkdesk-pricing`: `ceil(price · 0.6 / 5) · 5` minutes), capped at the profile's longest
/// appointment. Use it to build a [`SlotRequest`] or a booking from a price.
pub fn duration_for_price(
    price: Price,
    profile: &StudioProfile,
) -> Result<AppointmentDuration, ValidationError> {
    let max = profile.booking.max_appointment_minutes;
    let minutes = inkdesk_pricing::duration_for_price(Euros::new(price.amount()), max);
    AppointmentDuration::from_minutes(i64::from(minutes), max)
}

/// True when an appointment at `start` lasting `duration` fits the capacity (buffers,
/// all-day closures and transparency included), ignoring the entry `ignore` (the booking
/// being moved). Opening hours, notice and horizon are
/// [`StudioProfile::check_appointment`]'s job.
pub fn has_room(
    profile: &StudioProfile,
    busy: &[BusyInterval],
    holds_of_others: &[Interval],
    start: DateTime<Utc>,
    duration: AppointmentDuration,
    ignore: Option<&EventId>,
) -> bool {
    let occupancy = Occupancy::build(profile, busy, holds_of_others, ignore);
    let date = start.with_timezone(&profile.time_zone).date_naive();
    !occupancy.is_closed(date)
        && occupancy.has_room(Interval::new(start, start + duration.as_chrono()))
}

/// How many more appointments at `start` lasting `duration` the calendar has room for:
/// the capacity minus the most entries running at once during the appointment's occupied
/// span (buffers included, transparent entries and `ignore` skipped), 0 on a closed date.
/// `free_units(..) > 0` exactly when [`has_room`] (without holds) is true. A caller that
/// reserves capacity elsewhere (the store's slot holds) passes this as the slot's limit.
pub fn free_units(
    profile: &StudioProfile,
    busy: &[BusyInterval],
    start: DateTime<Utc>,
    duration: AppointmentDuration,
    ignore: Option<&EventId>,
) -> u32 {
    let before = Duration::minutes(i64::from(profile.booking.buffer_before_minutes));
    let after = Duration::minutes(i64::from(profile.booking.buffer_after_minutes));
    let occupied = Interval::new(start - before, start + duration.as_chrono() + after);
    let tz = profile.time_zone;
    let date = start.with_timezone(&tz).date_naive();
    let mut edges: Vec<(DateTime<Utc>, i64)> = Vec::new();
    for entry in busy
        .iter()
        .filter(|b| !b.transparent && (ignore.is_none() || b.event.as_ref() != ignore))
    {
        match entry.span {
            BusySpan::AllDay { first, end } if first <= date && date < end => return 0,
            BusySpan::Timed(iv) if !iv.is_empty() => {
                let from = (iv.start - before).max(occupied.start);
                let to = (iv.end + after).min(occupied.end);
                if from < to {
                    edges.push((from, 1));
                    edges.push((to, -1));
                }
            }
            _ => {}
        }
    }
    // Ends sort before starts at the same instant: spans are half-open.
    edges.sort_unstable();
    let (mut load, mut most) = (0_i64, 0_i64);
    for (_, delta) in edges {
        load += delta;
        most = most.max(load);
    }
    let capacity = i64::from(profile.booking.capacity.max(1));
    u32::try_from((capacity - most).max(0)).unwrap_or(0)
}

/// Round-robin over days: the `r`-th pass takes the `r`-th free slot of each day.
fn spread(days: Vec<Vec<Slot>>, limit: usize) -> Vec<Slot> {
    let mut picked = Vec::with_capacity(limit);
    let deepest = days.iter().map(Vec::len).max().unwrap_or(0);
    'rounds: for round in 0..deepest {
        for day in &days {
            if let Some(slot) = day.get(round) {
                picked.push(*slot);
                if picked.len() == limit {
                    break 'rounds;
                }
            }
        }
    }
    picked.sort();
    picked
}

fn next_day(date: NaiveDate) -> NaiveDate {
    date.succ_opt().unwrap_or(NaiveDate::MAX)
}

/// The calendar reduced to what the engine asks: where capacity is used up, which dates
/// are closed.
struct Occupancy {
    before: Duration,
    after: Duration,
    /// Sorted, disjoint spans during which `capacity` or more appointments are running.
    full: Vec<Interval>,
    /// Sorted, disjoint all-day closures `[first, end)`.
    closed: Vec<(NaiveDate, NaiveDate)>,
}

impl Occupancy {
    fn build(
        profile: &StudioProfile,
        busy: &[BusyInterval],
        holds: &[Interval],
        ignore: Option<&EventId>,
    ) -> Self {
        let before = Duration::minutes(i64::from(profile.booking.buffer_before_minutes));
        let after = Duration::minutes(i64::from(profile.booking.buffer_after_minutes));
        let capacity = i64::from(profile.booking.capacity.max(1));
        let mut edges: Vec<(DateTime<Utc>, i64)> =
            Vec::with_capacity(2 * (busy.len() + holds.len()));
        let mut closed = Vec::new();
        let blocking = busy
            .iter()
            .filter(|b| !b.transparent && (ignore.is_none() || b.event.as_ref() != ignore));
        for entry in blocking {
            match entry.span {
                BusySpan::Timed(iv) if !iv.is_empty() => {
                    edges.push((iv.start - before, 1));
                    edges.push((iv.end + after, -1));
                }
                BusySpan::Timed(_) => {}
                BusySpan::AllDay { first, end } if first < end => closed.push((first, end)),
                BusySpan::AllDay { .. } => {}
            }
        }
        for hold in holds.iter().filter(|h| !h.is_empty()) {
            edges.push((hold.start - before, 1));
            edges.push((hold.end + after, -1));
        }
        // Ends sort before starts at the same instant: spans are half-open.
        edges.sort_unstable();
        let mut full: Vec<Interval> = Vec::new();
        let mut load = 0;
        let mut full_since = None;
        for (at, delta) in edges {
            load += delta;
            match full_since {
                None if load >= capacity => full_since = Some(at),
                Some(since) if load < capacity => {
                    full_since = None;
                    if since < at {
                        match full.last_mut() {
                            Some(last) if last.end >= since => last.end = at,
                            _ => full.push(Interval::new(since, at)),
                        }
                    }
                }
                _ => {}
            }
        }
        closed.sort_unstable();
        let mut merged: Vec<(NaiveDate, NaiveDate)> = Vec::with_capacity(closed.len());
        for (first, end) in closed {
            match merged.last_mut() {
                Some(last) if last.1 >= first => last.1 = last.1.max(end),
                _ => merged.push((first, end)),
            }
        }
        Self {
            before,
            after,
            full,
            closed: merged,
        }
    }

    fn is_closed(&self, date: NaiveDate) -> bool {
        let idx = self.closed.partition_point(|(_, end)| *end <= date);
        self.closed
            .get(idx)
            .is_some_and(|(first, _)| *first <= date)
    }

    /// True when an appointment over `appointment` (buffers are added here) keeps the
    /// load below capacity throughout.
    fn has_room(&self, appointment: Interval) -> bool {
        let occupied = Interval::new(
            appointment.start - self.before,
            appointment.end + self.after,
        );
        let idx = self.full.partition_point(|f| f.end <= occupied.start);
        self.full.get(idx).is_none_or(|f| f.start >= occupied.end)
    }
}

#[cfg(test)]
mod tests;
