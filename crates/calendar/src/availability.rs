//! The availability engine: which appointment times are free. Pure; no IO, no clock.
//!
//! Rules (behaviour reference §3), every one decided in the studio's time zone:
//!
//! - **Candidates.** On each open day, candidate starts are opening time plus whole slot
//!   steps (wall clock). On the first day searched, when the request gives a preferred time
//!   inside that day's hours, the candidates start at the preferred time instead (earlier
//!   times that day are not offered). A wall-clock time that does not exist (spring forward)
//!   is skipped; an ambiguous one means its first occurrence (the domain's DST policy).
//! - **Hours.** A day has one or several opening spans (`11:00-14:00, 17:00-21:00`); the
//!   candidates of each span start at its opening time, and the appointment must end by
//!   that span's close (wall clock, real minutes): nothing is offered across a break.
//!   An artist's own hours replace the studio's on the weekdays they give.
//! - **Notice and horizon.** Never in the past, never inside the minimum notice, never on a
//!   date after today + horizon days.
//! - **Capacity.** Every appointment (existing timed events, holds of other conversations
//!   and the candidate) occupies `[start − buffer_before, end + buffer_after)`. A candidate
//!   is free when, at every instant of its occupied span, fewer than `capacity` occupied
//!   spans overlap. This is the "at most `capacity` appointments at once" reading: two
//!   existing events that do not overlap each other use one unit between them, so they
//!   never block a longer candidate that overlaps both when the capacity is 2.
//! - **Artists.** With `[[artists]]` in the profile, each artist takes one appointment at a
//!   time and `capacity` is not used: an entry with an artist keeps that artist busy, an
//!   entry without one (the studio's own, or an event a person added by hand) keeps every
//!   artist busy. A request names the artists it accepts (`None`: any); each slot carries
//!   the artist free then, the first in the profile's order when several are. The
//!   `holds_of_others` passed here carry no artist: each one takes one artist out of the
//!   pool while it runs (a slot is offered only while more artists are free than holds
//!   overlap it). A hold for one artist is passed as a busy entry of that artist instead.
//! - **Closures.** The profile's `[[closures]]` and the calendar's stored ones (all-day
//!   entries with their artist) close their dates for the studio, or for one artist.
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
use inkdesk_domain::{
    AppointmentDuration, ArtistKey, EventId, Price, StudioProfile, ValidationError,
};
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
    /// The artists accepted (a name asked for, or those doing a style); `None` means any.
    /// Ignored when the studio has no artists.
    pub artists: Option<Vec<ArtistKey>>,
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
            artists: None,
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

    /// The same request for these artists only.
    #[must_use]
    pub fn with_artists(mut self, artists: Vec<ArtistKey>) -> Self {
        self.artists = Some(artists);
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
/// `busy` are the calendar's entries (its closures included), `holds_of_others` the slots
/// currently held for *other* conversations (each uses one unit of capacity, or one artist
/// of the pool).
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
    let lanes = Lanes::build(profile, busy, holds_of_others, None);
    let wanted = lanes.wanted(request.artists.as_deref());
    let earliest = now + Duration::minutes(i64::from(profile.booking.min_notice_minutes));
    let duration = request.duration.as_chrono();
    let step = Duration::minutes(i64::from(profile.booking.slot_step_minutes.max(1)));

    // Free slots per day with room, each list sorted, at most `limit` per day.
    let mut days: Vec<Vec<Slot>> = Vec::new();
    let mut date = from;
    while date <= to && days.len() < limit {
        let weekday = date.weekday();
        let mut free: Vec<Slot> = Vec::new();
        for &index in &wanted {
            let lane = &lanes.all[index];
            if lane.occupancy.is_closed(date) {
                continue;
            }
            let spans = profile.spans_on(lane.artist, weekday);
            // The preferred time, on the first day, when it lies in a span or in a break
            // between two: candidates start there (or at the next span's opening).
            let preferred = match request.preferred_time {
                Some(p)
                    if date == from
                        && spans.first().is_some_and(|s| p >= s.open)
                        && spans.last().is_some_and(|s| p < s.close) =>
                {
                    Some(p)
                }
                _ => None,
            };
            let mut found = 0;
            'spans: for span in spans {
                let first = match preferred {
                    Some(p) if p >= span.close => continue,
                    Some(p) if p > span.open => p,
                    _ => span.open,
                };
                let close = date.and_time(span.close);
                let mut wall = date.and_time(first);
                while wall < close && found < limit {
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
                        // Later candidates of this span end later still.
                        continue 'spans;
                    }
                    let appointment = Interval::new(start_utc, end_utc);
                    if lane.occupancy.has_room(appointment)
                        && lanes.pool_allows(profile, appointment, date)
                    {
                        free.push(Slot {
                            start,
                            end,
                            artist: lane.artist.cloned(),
                        });
                        found += 1;
                    }
                }
                if found >= limit {
                    break;
                }
            }
        }
        if wanted.len() > 1 {
            // One slot per start time: the first artist in the profile's order (the sort
            // is stable and the lanes are in that order).
            free.sort_by_key(|s| s.start);
            free.dedup_by_key(|s| s.start);
            free.truncate(limit);
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
            .check_appointment_for(
                slot.artist.as_ref(),
                slot.start.with_timezone(&Utc),
                request.duration,
                now,
            )
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

/// True when an appointment at `start` lasting `duration` fits the capacity — with
/// artists, when at least one artist has room (buffers, closures, all-day entries and
/// transparency included), ignoring the entry `ignore` (the booking being moved). Opening
/// hours, notice and horizon are [`StudioProfile::check_appointment`]'s job.
pub fn has_room(
    profile: &StudioProfile,
    busy: &[BusyInterval],
    holds_of_others: &[Interval],
    start: DateTime<Utc>,
    duration: AppointmentDuration,
    ignore: Option<&EventId>,
) -> bool {
    let lanes = Lanes::build(profile, busy, holds_of_others, ignore);
    let date = start.with_timezone(&profile.time_zone).date_naive();
    let appointment = Interval::new(start, start + duration.as_chrono());
    lanes.pool_allows(profile, appointment, date)
        && lanes
            .all
            .iter()
            .any(|lane| !lane.occupancy.is_closed(date) && lane.occupancy.has_room(appointment))
}

/// Decides where a booking at `start` goes: the studio's rules (notice, horizon, the
/// artist's hours) and the room there, given a fresh read of the calendar.
///
/// Without artists: `Ok(Some(None))` when the pool has room. With artists: the artist
/// asked for, or — when `artist` is `None` — the first artist in the profile's order whose
/// hours take the time and who has room, as `Ok(Some(Some(key)))`. `Ok(None)` means full
/// (someone's hours take the time but nobody has room); an error that no artist's hours
/// take it (the first artist's refusal) or that the artist is unknown.
#[allow(clippy::too_many_arguments)] // each is one fact of the decision
pub fn place(
    profile: &StudioProfile,
    busy: &[BusyInterval],
    holds_of_others: &[Interval],
    start: DateTime<Utc>,
    duration: AppointmentDuration,
    artist: Option<&ArtistKey>,
    ignore: Option<&EventId>,
    now: DateTime<Utc>,
) -> Result<Option<Option<ArtistKey>>, ValidationError> {
    let lanes = Lanes::build(profile, busy, holds_of_others, ignore);
    let date = start.with_timezone(&profile.time_zone).date_naive();
    let appointment = Interval::new(start, start + duration.as_chrono());
    if profile.artists.is_empty() {
        profile.check_appointment(start, duration, now)?;
        let lane = &lanes.all[0];
        let room = !lane.occupancy.is_closed(date) && lane.occupancy.has_room(appointment);
        return Ok(room.then_some(None));
    }
    let candidates = match artist {
        Some(key) => {
            if profile.artist(key).is_none() {
                return Err(ValidationError::UnknownArtist {
                    key: key.to_string(),
                });
            }
            vec![lanes.index_of(key)]
        }
        None => (0..lanes.all.len()).map(Some).collect(),
    };
    let pool = lanes.pool_allows(profile, appointment, date);
    let mut refusal = None;
    let mut someone_works = false;
    for index in candidates.into_iter().flatten() {
        let lane = &lanes.all[index];
        if let Err(e) = profile.check_appointment_for(lane.artist, start, duration, now) {
            refusal.get_or_insert(e);
            continue;
        }
        someone_works = true;
        if pool && !lane.occupancy.is_closed(date) && lane.occupancy.has_room(appointment) {
            return Ok(Some(lane.artist.cloned()));
        }
    }
    match refusal {
        Some(e) if !someone_works => Err(e),
        _ => Ok(None),
    }
}

/// How many more appointments at `start` lasting `duration` the calendar has room for:
/// the capacity minus the most entries running at once during the appointment's occupied
/// span (buffers included, transparent entries and `ignore` skipped), 0 on a closed date.
/// With artists: how many artists are free for the whole appointment and work then.
/// `free_units(..) > 0` exactly when [`has_room`] (without holds) is true, hours aside. A
/// caller that reserves capacity elsewhere (the store's slot holds) passes this as the
/// slot's limit.
pub fn free_units(
    profile: &StudioProfile,
    busy: &[BusyInterval],
    start: DateTime<Utc>,
    duration: AppointmentDuration,
    ignore: Option<&EventId>,
) -> u32 {
    let tz = profile.time_zone;
    let date = start.with_timezone(&tz).date_naive();
    if !profile.artists.is_empty() {
        let lanes = Lanes::build(profile, busy, &[], ignore);
        let appointment = Interval::new(start, start + duration.as_chrono());
        return lanes.free_artists(profile, appointment, date);
    }
    let before = Duration::minutes(i64::from(profile.booking.buffer_before_minutes));
    let after = Duration::minutes(i64::from(profile.booking.buffer_after_minutes));
    let occupied = Interval::new(start - before, start + duration.as_chrono() + after);
    if profile.closure_on(date, None).is_some() {
        return 0;
    }
    let mut edges: Vec<(DateTime<Utc>, i64)> = Vec::new();
    for entry in busy
        .iter()
        .filter(|b| !b.transparent && (ignore.is_none() || b.event.as_ref() != ignore))
    {
        match entry.span {
            BusySpan::AllDay { first, end }
                if entry.artist.is_none() && first <= date && date < end =>
            {
                return 0;
            }
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
                picked.push(slot.clone());
                if picked.len() == limit {
                    break 'rounds;
                }
            }
        }
    }
    picked.sort();
    picked
}

/// One calendar the engine checks candidates against: an artist's (capacity 1), or the
/// studio's pool when it has no artists (capacity `booking.capacity`).
struct Lane<'a> {
    artist: Option<&'a ArtistKey>,
    occupancy: Occupancy,
}

/// Every lane, in the profile's order, and the pool rule for other conversations' holds.
struct Lanes<'a> {
    all: Vec<Lane<'a>>,
    /// With artists: others' holds as occupied spans (buffers added), sorted by start.
    pool_holds: Vec<Interval>,
    before: Duration,
    after: Duration,
}

impl<'a> Lanes<'a> {
    fn build(
        profile: &'a StudioProfile,
        busy: &[BusyInterval],
        holds: &[Interval],
        ignore: Option<&EventId>,
    ) -> Self {
        let before = Duration::minutes(i64::from(profile.booking.buffer_before_minutes));
        let after = Duration::minutes(i64::from(profile.booking.buffer_after_minutes));
        let blocking: Vec<&BusyInterval> = busy
            .iter()
            .filter(|b| !b.transparent && (ignore.is_none() || b.event.as_ref() != ignore))
            .collect();
        if profile.artists.is_empty() {
            // An all-day entry of an artist the profile no longer has closes nothing.
            let entries = blocking
                .iter()
                .copied()
                .filter(|b| b.artist.is_none() || matches!(b.span, BusySpan::Timed(_)));
            let closures = profile
                .closures
                .iter()
                .filter(|c| c.artist.is_none())
                .map(|c| (c.from, next_day(c.to)));
            let capacity = i64::from(profile.booking.capacity.max(1));
            let occupancy = Occupancy::build(before, after, capacity, entries, holds, closures);
            return Self {
                all: vec![Lane {
                    artist: None,
                    occupancy,
                }],
                pool_holds: Vec::new(),
                before,
                after,
            };
        }
        let all = profile
            .artists
            .iter()
            .map(|artist| {
                let key = &artist.key;
                let entries = blocking
                    .iter()
                    .copied()
                    .filter(|b| b.artist.as_ref().is_none_or(|a| a == key));
                let closures = profile
                    .closures
                    .iter()
                    .filter(|c| c.applies_to(Some(key)))
                    .map(|c| (c.from, next_day(c.to)));
                Lane {
                    artist: Some(key),
                    occupancy: Occupancy::build(before, after, 1, entries, &[], closures),
                }
            })
            .collect();
        let mut pool_holds: Vec<Interval> = holds
            .iter()
            .filter(|h| !h.is_empty())
            .map(|h| Interval::new(h.start - before, h.end + after))
            .collect();
        pool_holds.sort_unstable();
        Self {
            all,
            pool_holds,
            before,
            after,
        }
    }

    /// The lanes a request accepts, in the profile's order.
    fn wanted(&self, artists: Option<&[ArtistKey]>) -> Vec<usize> {
        (0..self.all.len())
            .filter(|&i| match (self.all[i].artist, artists) {
                (Some(key), Some(list)) => list.contains(key),
                _ => true,
            })
            .collect()
    }

    fn index_of(&self, key: &ArtistKey) -> Option<usize> {
        self.all.iter().position(|l| l.artist == Some(key))
    }

    /// With artists: true unless other conversations' holds overlapping the appointment
    /// take every artist free then. Always true without artists (holds are in the pool's
    /// occupancy there).
    fn pool_allows(&self, profile: &StudioProfile, appointment: Interval, date: NaiveDate) -> bool {
        if self.pool_holds.is_empty() {
            return true;
        }
        let occupied = Interval::new(
            appointment.start - self.before,
            appointment.end + self.after,
        );
        // Holds are sorted by start and short: scan those starting before our end.
        let upto = self.pool_holds.partition_point(|h| h.start < occupied.end);
        let held = self.pool_holds[..upto]
            .iter()
            .filter(|h| h.end > occupied.start)
            .count();
        held == 0 || self.free_artists(profile, appointment, date) as usize > held
    }

    /// Artists who work at the appointment's time and have room for it.
    fn free_artists(&self, profile: &StudioProfile, appointment: Interval, date: NaiveDate) -> u32 {
        let minutes = (appointment.end - appointment.start).num_minutes();
        let Ok(duration) = AppointmentDuration::from_minutes(minutes.max(1), u32::MAX) else {
            return 0;
        };
        let free = self
            .all
            .iter()
            .filter(|lane| {
                !lane.occupancy.is_closed(date)
                    && lane.occupancy.has_room(appointment)
                    && profile
                        .check_within_hours(lane.artist, appointment.start, duration)
                        .is_ok()
            })
            .count();
        u32::try_from(free).unwrap_or(u32::MAX)
    }
}

fn next_day(date: NaiveDate) -> NaiveDate {
    date.succ_opt().unwrap_or(NaiveDate::MAX)
}

/// One calendar reduced to what the engine asks: where capacity is used up, which dates
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
    fn build<'b>(
        before: Duration,
        after: Duration,
        capacity: i64,
        entries: impl Iterator<Item = &'b BusyInterval>,
        holds: &[Interval],
        closures: impl Iterator<Item = (NaiveDate, NaiveDate)>,
    ) -> Self {
        let mut edges: Vec<(DateTime<Utc>, i64)> = Vec::with_capacity(2 * holds.len() + 64);
        let mut closed: Vec<(NaiveDate, NaiveDate)> = closures.filter(|(f, e)| f < e).collect();
        for entry in entries {
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
