use chrono::{NaiveDateTime, Timelike};
use chrono_tz::Tz;
use inkdesk_domain::Closure;
use inkdesk_domain::profile::{DayHours, OpeningSpan, WeeklyHours};
use proptest::prelude::*;

use super::*;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn time(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

fn local(tz: Tz, d: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    inkdesk_domain::schedule::resolve_local(tz, d, time(h, m))
        .unwrap()
        .with_timezone(&Utc)
}

fn athens(d: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    local(chrono_tz::Europe::Athens, d, h, m)
}

fn minutes(m: i64) -> AppointmentDuration {
    AppointmentDuration::from_minutes(m, 1440).unwrap()
}

fn profile(capacity: u32) -> StudioProfile {
    let mut p = StudioProfile::default();
    p.booking.capacity = capacity;
    p
}

fn every_day(open: NaiveTime, close: NaiveTime) -> WeeklyHours {
    let day = DayHours::single(OpeningSpan::new(open, close).unwrap());
    WeeklyHours {
        monday: day.clone(),
        tuesday: day.clone(),
        wednesday: day.clone(),
        thursday: day.clone(),
        friday: day.clone(),
        saturday: day.clone(),
        sunday: day,
    }
}

/// Start times as local `HH:MM` with the date, for readable assertions.
fn starts(slots: &[Slot]) -> Vec<String> {
    slots
        .iter()
        .map(|s| s.start.format("%m-%d %H:%M").to_string())
        .collect()
}

// 2026-11-30 is a Monday.
const MON: (i32, u32, u32) = (2026, 11, 30);

fn mon() -> NaiveDate {
    date(MON.0, MON.1, MON.2)
}

fn early_monday() -> DateTime<Utc> {
    athens(mon(), 7, 0)
}

#[test]
fn a_week_gives_the_first_slot_of_each_of_the_first_days() {
    let req = SlotRequest::range(mon(), mon() + Duration::days(6), minutes(60));
    let slots = find_slots(&profile(2), &[], &[], &req, early_monday());
    assert_eq!(
        starts(&slots),
        ["11-30 11:00", "12-01 11:00", "12-02 11:00"]
    );
}

#[test]
fn a_single_day_gives_consecutive_steps_from_opening() {
    let req = SlotRequest::day(mon(), minutes(60));
    let slots = find_slots(&profile(2), &[], &[], &req, early_monday());
    assert_eq!(
        starts(&slots),
        ["11-30 11:00", "11-30 12:00", "11-30 13:00"]
    );
    assert_eq!(slots[0].end - slots[0].start, Duration::minutes(60));
}

#[test]
fn preferred_time_moves_the_first_days_candidates_only() {
    let req = SlotRequest::range(mon(), mon() + Duration::days(6), minutes(60))
        .with_preferred_time(time(14, 30));
    let slots = find_slots(&profile(2), &[], &[], &req, early_monday());
    assert_eq!(
        starts(&slots),
        ["11-30 14:30", "12-01 11:00", "12-02 11:00"]
    );
    let day = SlotRequest::day(mon(), minutes(60)).with_preferred_time(time(14, 30));
    let slots = find_slots(&profile(2), &[], &[], &day, early_monday());
    assert_eq!(
        starts(&slots),
        ["11-30 14:30", "11-30 15:30", "11-30 16:30"]
    );
    // A preferred time outside the hours falls back to opening time.
    let day = SlotRequest::day(mon(), minutes(60)).with_preferred_time(time(21, 0));
    let slots = find_slots(&profile(2), &[], &[], &day, early_monday());
    assert_eq!(starts(&slots)[0], "11-30 11:00");
}

#[test]
fn spreading_takes_second_slots_only_when_days_run_out() {
    // Capacity 1; Monday is full except 19:00, Tuesday is empty; search two days.
    let busy = [BusyInterval::timed(
        athens(mon(), 11, 0),
        athens(mon(), 19, 0),
    )];
    let req = SlotRequest::range(mon(), mon() + Duration::days(1), minutes(60));
    let slots = find_slots(&profile(1), &busy, &[], &req, early_monday());
    assert_eq!(
        starts(&slots),
        ["11-30 19:00", "12-01 11:00", "12-01 12:00"]
    );
}

#[test]
fn capacity_counts_parallel_appointments() {
    let one = BusyInterval::timed(athens(mon(), 11, 0), athens(mon(), 12, 0));
    let req = SlotRequest::day(mon(), minutes(60)).with_limit(1);
    let first = |cap: u32, busy: &[BusyInterval]| {
        starts(&find_slots(&profile(cap), busy, &[], &req, early_monday()))
    };
    assert_eq!(first(1, &[]), ["11-30 11:00"]);
    assert_eq!(first(1, std::slice::from_ref(&one)), ["11-30 12:00"]);
    assert_eq!(first(2, std::slice::from_ref(&one)), ["11-30 11:00"]);
    assert_eq!(first(2, &[one.clone(), one.clone()]), ["11-30 12:00"]);
    assert_eq!(first(3, &[one.clone(), one.clone()]), ["11-30 11:00"]);
    assert_eq!(first(3, &[one.clone(), one.clone(), one]), ["11-30 12:00"]);
}

#[test]
fn events_that_do_not_overlap_each_other_share_one_unit() {
    let busy = [
        BusyInterval::timed(athens(mon(), 11, 0), athens(mon(), 12, 0)),
        BusyInterval::timed(athens(mon(), 13, 0), athens(mon(), 14, 0)),
    ];
    let req = SlotRequest::day(mon(), minutes(180)).with_limit(1);
    let slots = find_slots(&profile(2), &busy, &[], &req, early_monday());
    assert_eq!(starts(&slots), ["11-30 11:00"]);
}

#[test]
fn holds_of_other_conversations_use_capacity() {
    let busy = [BusyInterval::timed(
        athens(mon(), 11, 0),
        athens(mon(), 12, 0),
    )];
    let holds = [Interval::new(athens(mon(), 11, 0), athens(mon(), 12, 0))];
    let req = SlotRequest::day(mon(), minutes(60)).with_limit(1);
    let slots = find_slots(&profile(2), &busy, &holds, &req, early_monday());
    assert_eq!(starts(&slots), ["11-30 12:00"]);
}

#[test]
fn buffers_extend_existing_and_new_appointments() {
    let mut p = profile(1);
    p.booking.slot_step_minutes = 15;
    p.booking.buffer_before_minutes = 15;
    p.booking.buffer_after_minutes = 30;
    let busy = [BusyInterval::timed(
        athens(mon(), 12, 0),
        athens(mon(), 13, 0),
    )];
    let req = SlotRequest::day(mon(), minutes(60)).with_limit(1);
    // Before it: the new one needs 30 min after itself and 15 min before the 12:00 one,
    // so it would have to end by 11:15 — impossible from 11:00. After it: 13:00 + 30 + 15.
    assert_eq!(
        starts(&find_slots(&p, &busy, &[], &req, early_monday())),
        ["11-30 13:45"]
    );
    p.booking.buffer_before_minutes = 0;
    p.booking.buffer_after_minutes = 0;
    assert_eq!(
        starts(&find_slots(&p, &busy, &[], &req, early_monday())),
        ["11-30 11:00"]
    );
}

#[test]
fn all_day_events_close_the_day_whatever_the_capacity() {
    let busy = [BusyInterval::all_day(mon(), mon() + Duration::days(2))];
    let req = SlotRequest::range(mon(), mon() + Duration::days(6), minutes(60)).with_limit(1);
    let slots = find_slots(&profile(3), &busy, &[], &req, early_monday());
    assert_eq!(starts(&slots), ["12-02 11:00"]);
}

#[test]
fn transparent_events_never_block() {
    let busy = [
        BusyInterval::all_day(mon(), mon() + Duration::days(1)).with_transparent(true),
        BusyInterval::timed(athens(mon(), 11, 0), athens(mon(), 20, 0)).with_transparent(true),
    ];
    let req = SlotRequest::day(mon(), minutes(60)).with_limit(1);
    let slots = find_slots(&profile(1), &busy, &[], &req, early_monday());
    assert_eq!(starts(&slots), ["11-30 11:00"]);
}

#[test]
fn an_event_crossing_midnight_blocks_the_next_morning() {
    let sunday = mon() - Duration::days(1);
    let busy = [BusyInterval::timed(
        athens(sunday, 22, 0),
        athens(mon(), 12, 0),
    )];
    let now = athens(sunday, 7, 0);
    let req = SlotRequest::day(mon(), minutes(60)).with_limit(1);
    let slots = find_slots(&profile(1), &busy, &[], &req, now);
    assert_eq!(starts(&slots), ["11-30 12:00"]);
}

#[test]
fn minimum_notice_and_the_past_are_skipped() {
    let now = athens(mon(), 10, 30); // earliest start 13:30
    let req = SlotRequest::range(mon() - Duration::days(3), mon(), minutes(60)).with_limit(2);
    let slots = find_slots(&profile(2), &[], &[], &req, now);
    assert_eq!(starts(&slots), ["11-30 14:00", "11-30 15:00"]);
}

#[test]
fn the_horizon_bounds_the_search() {
    let now = early_monday();
    let last = mon() + Duration::days(60); // Friday 29 January 2027
    let req = SlotRequest::range(last, last + Duration::days(10), minutes(60)).with_limit(5);
    let slots = find_slots(&profile(2), &[], &[], &req, now);
    assert!(
        slots.iter().all(|s| s.date() == last),
        "{:?}",
        starts(&slots)
    );
    assert_eq!(slots.len(), 5);
    let beyond = SlotRequest::day(last + Duration::days(1), minutes(60));
    assert!(find_slots(&profile(2), &[], &[], &beyond, now).is_empty());
}

#[test]
fn appointments_end_by_closing_time() {
    let req = SlotRequest::day(mon(), minutes(90)).with_limit(20);
    let slots = find_slots(&profile(2), &[], &[], &req, early_monday());
    assert_eq!(starts(&slots).last().unwrap(), "11-30 18:00");
    assert_eq!(slots.len(), 8);
    let too_long = SlotRequest::day(mon(), minutes(600));
    assert!(find_slots(&profile(2), &[], &[], &too_long, early_monday()).is_empty());
}

#[test]
fn closed_weekdays_are_skipped() {
    let saturday = mon() - Duration::days(2);
    let now = athens(saturday, 7, 0);
    let req = SlotRequest::range(saturday, mon(), minutes(60)).with_limit(3);
    let slots = find_slots(&profile(2), &[], &[], &req, now);
    // Round one: Saturday and Monday (Sunday is closed); round two: Saturday again.
    assert_eq!(
        starts(&slots),
        ["11-28 11:00", "11-28 12:00", "11-30 11:00"]
    );
}

fn night_studio(tz: Tz, capacity: u32) -> StudioProfile {
    let mut p = profile(capacity);
    p.time_zone = tz;
    p.hours = every_day(time(1, 0), time(6, 0));
    p.booking.min_notice_minutes = 0;
    p
}

#[test]
fn spring_forward_in_athens_skips_the_missing_hour_and_keeps_real_durations() {
    let day = date(2026, 3, 29); // 03:00 -> 04:00
    let p = night_studio(chrono_tz::Europe::Athens, 1);
    let now = athens(day - Duration::days(1), 12, 0);
    let req = SlotRequest::day(day, minutes(60)).with_limit(10);
    let slots = find_slots(&p, &[], &[], &req, now);
    assert_eq!(
        starts(&slots),
        ["03-29 01:00", "03-29 02:00", "03-29 04:00", "03-29 05:00"]
    );
    // 02:00 + 60 real minutes is 04:00 on the wall clock.
    assert_eq!(slots[1].end.hour(), 4);
    assert!(
        slots
            .iter()
            .all(|s| s.end - s.start == Duration::minutes(60))
    );
}

#[test]
fn fall_back_in_athens_offers_the_repeated_hour_once_in_summer_time() {
    let day = date(2026, 10, 25); // 04:00 -> 03:00
    let p = night_studio(chrono_tz::Europe::Athens, 1);
    let now = athens(day - Duration::days(1), 12, 0);
    let req = SlotRequest::day(day, minutes(60)).with_limit(10);
    let utc = |s: &Slot| s.start.with_timezone(&Utc).format("%dT%H:%MZ").to_string();
    let slots = find_slots(&p, &[], &[], &req, now);
    assert_eq!(
        slots.iter().map(utc).collect::<Vec<_>>(),
        [
            "24T22:00Z",
            "24T23:00Z",
            "25T00:00Z",
            "25T02:00Z",
            "25T03:00Z"
        ]
    );
    // A booking in the second 03:00 hour (01:00Z-02:00Z) blocks neither neighbour.
    let second_three = Utc.with_ymd_and_hms(2026, 10, 25, 1, 0, 0).unwrap();
    let busy = [BusyInterval::timed(
        second_three,
        second_three + Duration::hours(1),
    )];
    let slots = find_slots(&p, &busy, &[], &req, now);
    assert_eq!(slots.len(), 5);
    // But a 2-hour appointment from the first 03:00 does collide with it.
    let long = SlotRequest::day(day, minutes(120)).with_limit(10);
    let slots = find_slots(&p, &busy, &[], &long, now);
    assert!(slots.iter().all(|s| !s.interval().overlaps(&Interval::new(
        second_three,
        second_three + Duration::hours(1)
    ))));
}

#[test]
fn regular_hours_around_the_dst_weekends_use_the_right_offset() {
    let p = profile(2);
    let sat = date(2026, 3, 28);
    let req = SlotRequest::range(sat, sat + Duration::days(2), minutes(60)).with_limit(2);
    let slots = find_slots(&p, &[], &[], &req, athens(sat, 6, 0));
    let utc: Vec<_> = slots.iter().map(|s| s.start.with_timezone(&Utc)).collect();
    assert_eq!(utc[0], Utc.with_ymd_and_hms(2026, 3, 28, 9, 0, 0).unwrap());
    assert_eq!(utc[1], Utc.with_ymd_and_hms(2026, 3, 30, 8, 0, 0).unwrap());
    let sat = date(2026, 10, 24);
    let req = SlotRequest::range(sat, sat + Duration::days(2), minutes(60)).with_limit(2);
    let slots = find_slots(&p, &[], &[], &req, athens(sat, 6, 0));
    let utc: Vec<_> = slots.iter().map(|s| s.start.with_timezone(&Utc)).collect();
    assert_eq!(utc[0], Utc.with_ymd_and_hms(2026, 10, 24, 8, 0, 0).unwrap());
    assert_eq!(utc[1], Utc.with_ymd_and_hms(2026, 10, 26, 9, 0, 0).unwrap());
}

#[test]
fn a_half_hour_offset_zone_is_handled_in_local_time() {
    let tz = chrono_tz::Asia::Kolkata; // UTC+05:30
    let mut p = profile(1);
    p.time_zone = tz;
    p.hours = every_day(time(10, 0), time(19, 0));
    let day = date(2026, 6, 1);
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap(); // 05:30 local
    let busy = [BusyInterval::timed(
        Utc.with_ymd_and_hms(2026, 6, 1, 4, 30, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 6, 1, 5, 30, 0).unwrap(),
    )];
    let req = SlotRequest::day(day, minutes(60)).with_limit(2);
    let slots = find_slots(&p, &busy, &[], &req, now);
    assert_eq!(starts(&slots), ["06-01 11:00", "06-01 12:00"]);
    assert_eq!(
        slots[0].start.with_timezone(&Utc),
        Utc.with_ymd_and_hms(2026, 6, 1, 5, 30, 0).unwrap()
    );
    assert_eq!(
        serde_json::to_value(&slots[0]).unwrap()["start"],
        "2026-06-01T11:00:00+05:30"
    );
}

#[test]
fn has_room_ignores_the_booking_being_moved_and_respects_closures() {
    let id = EventId::parse("abcde12345").unwrap();
    let start = athens(mon(), 11, 0);
    let busy = [BusyInterval::timed(start, start + Duration::hours(1)).with_event(id.clone())];
    let p = profile(1);
    assert!(!has_room(&p, &busy, &[], start, minutes(60), None));
    assert!(has_room(&p, &busy, &[], start, minutes(60), Some(&id)));
    let closed = [BusyInterval::all_day(mon(), mon() + Duration::days(1))];
    assert!(!has_room(
        &profile(3),
        &closed,
        &[],
        start,
        minutes(60),
        None
    ));
}

#[test]
fn free_units_count_what_is_left_at_the_busiest_moment() {
    let id = EventId::parse("abcde12345").unwrap();
    let start = athens(mon(), 11, 0);
    let hour = |h: u32| athens(mon(), h, 0);
    let mut p = profile(3);
    p.booking.buffer_before_minutes = 0;
    p.booking.buffer_after_minutes = 0;
    // 11–12 and 12–13 never run at once: one unit between them; 11:30–12:30 is a second.
    let busy = [
        BusyInterval::timed(hour(11), hour(12)).with_event(id.clone()),
        BusyInterval::timed(hour(12), hour(13)),
        BusyInterval::timed(
            start + Duration::minutes(30),
            hour(12) + Duration::minutes(30),
        ),
        BusyInterval::timed(hour(11), hour(13)).with_transparent(true),
    ];
    assert_eq!(free_units(&p, &busy, start, minutes(120), None), 1);
    assert_eq!(free_units(&p, &busy, start, minutes(120), Some(&id)), 1);
    assert_eq!(free_units(&p, &busy, start, minutes(30), Some(&id)), 3);
    assert_eq!(free_units(&p, &busy, hour(13), minutes(60), None), 3);
    assert_eq!(free_units(&p, &[], start, minutes(60), None), 3);
    let closed = [BusyInterval::all_day(mon(), mon() + Duration::days(1))];
    assert_eq!(free_units(&p, &closed, start, minutes(60), None), 0);
    let full = [
        BusyInterval::timed(hour(11), hour(12)),
        BusyInterval::timed(hour(11), hour(12)),
        BusyInterval::timed(hour(11), hour(12)),
        BusyInterval::timed(hour(11), hour(12)),
    ];
    assert_eq!(free_units(&p, &full, start, minutes(60), None), 0);
}

// ---------- properties ----------

fn concurrent_load(
    p: &StudioProfile,
    busy: &[BusyInterval],
    holds: &[Interval],
    at: DateTime<Utc>,
) -> u32 {
    let before = Duration::minutes(i64::from(p.booking.buffer_before_minutes));
    let after = Duration::minutes(i64::from(p.booking.buffer_after_minutes));
    let timed = busy
        .iter()
        .filter(|b| !b.transparent)
        .filter_map(|b| match b.span {
            BusySpan::Timed(iv) => Some(iv),
            BusySpan::AllDay { .. } => None,
        });
    timed
        .chain(holds.iter().copied())
        .filter(|iv| !iv.is_empty() && iv.start - before <= at && at < iv.end + after)
        .count() as u32
}

/// Naive reference: is the appointment free at every instant of its occupied span?
fn naive_free(
    p: &StudioProfile,
    busy: &[BusyInterval],
    holds: &[Interval],
    slot: Interval,
) -> bool {
    let before = Duration::minutes(i64::from(p.booking.buffer_before_minutes));
    let after = Duration::minutes(i64::from(p.booking.buffer_after_minutes));
    let occupied = Interval::new(slot.start - before, slot.end + after);
    let date = slot.start.with_timezone(&p.time_zone).date_naive();
    let closed = busy.iter().any(|b| {
        !b.transparent
            && matches!(b.span, BusySpan::AllDay { first, end } if first <= date && date < end)
    });
    // The load only rises at a span's start: check the occupied start and every start inside.
    let mut points = vec![occupied.start];
    for b in busy.iter().filter_map(|b| match b.span {
        BusySpan::Timed(iv) => Some(iv.start - before),
        BusySpan::AllDay { .. } => None,
    }) {
        if occupied.start < b && b < occupied.end {
            points.push(b);
        }
    }
    for h in holds {
        let b = h.start - before;
        if occupied.start < b && b < occupied.end {
            points.push(b);
        }
    }
    !closed
        && points
            .iter()
            .all(|t| concurrent_load(p, busy, holds, *t) < p.booking.capacity)
}

fn base() -> DateTime<Utc> {
    athens(mon(), 6, 0)
}

prop_compose! {
    fn arb_busy()(offset in 0i64..(9 * 24 * 60), len in 10i64..400, transparent in proptest::bool::weighted(0.1), all_day in proptest::bool::weighted(0.03)) -> BusyInterval {
        let start = base() + Duration::minutes(offset);
        if all_day {
            let d = start.with_timezone(&chrono_tz::Europe::Athens).date_naive();
            BusyInterval::all_day(d, d + Duration::days(1)).with_transparent(transparent)
        } else {
            BusyInterval::timed(start, start + Duration::minutes(len)).with_transparent(transparent)
        }
    }
}

prop_compose! {
    fn arb_profile()(capacity in 1u32..=3, step in prop::sample::select(vec![15u32, 30, 60]), before in prop::sample::select(vec![0u32, 10, 15]), after in prop::sample::select(vec![0u32, 15, 30]), tz in prop::sample::select(vec![chrono_tz::Europe::Athens, chrono_tz::Asia::Kolkata]), split in any::<bool>()) -> StudioProfile {
        let mut p = profile(capacity);
        if split {
            // A studio that closes for the afternoon, and a late Saturday.
            let day = DayHours::try_from("11:00-14:00, 16:30-20:00".to_owned()).unwrap();
            p.hours = WeeklyHours { saturday: DayHours::try_from("12:00-15:00, 18:00-23:30".to_owned()).unwrap(), ..WeeklyHours::monday_to_saturday(OpeningSpan::new(time(11, 0), time(14, 0)).unwrap()) };
            p.hours.monday = day.clone();
            p.hours.wednesday = day;
        }
        p.booking.slot_step_minutes = step;
        p.booking.buffer_before_minutes = before;
        p.booking.buffer_after_minutes = after;
        p.time_zone = tz;
        p
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn returned_slots_are_sorted_unique_in_hours_and_below_capacity(
        p in arb_profile(),
        busy in prop::collection::vec(arb_busy(), 0..40),
        hold_offsets in prop::collection::vec(0i64..(9 * 24 * 60), 0..4),
        dur in 15i64..300,
        days in 0i64..8,
        preferred in prop::option::of((9u32..21, prop::sample::select(vec![0u32, 30]))),
        limit in 1usize..8,
        now_offset in 0i64..(2 * 24 * 60),
    ) {
        let holds: Vec<Interval> = hold_offsets.iter().map(|o| {
            let s = base() + Duration::minutes(*o);
            Interval::new(s, s + Duration::minutes(60))
        }).collect();
        let now = base() + Duration::minutes(now_offset);
        let mut req = SlotRequest::range(mon(), mon() + Duration::days(days), minutes(dur)).with_limit(limit);
        if let Some((h, m)) = preferred {
            req = req.with_preferred_time(time(h, m));
        }
        let slots = find_slots(&p, &busy, &holds, &req, now);
        prop_assert!(slots.len() <= limit);
        prop_assert!(slots.windows(2).all(|w| w[0].start < w[1].start), "sorted and unique");
        for slot in &slots {
            prop_assert_eq!(slot.end - slot.start, Duration::minutes(dur));
            prop_assert!(p.check_appointment(slot.start.with_timezone(&Utc), minutes(dur), now).is_ok());
            prop_assert!(naive_free(&p, &busy, &holds, slot.interval()), "slot {:?} over capacity", slot);
        }
    }

    #[test]
    fn free_units_is_how_many_more_fit(
        p in arb_profile(),
        busy in prop::collection::vec(arb_busy(), 0..30),
        offset in 0i64..(7 * 24 * 60),
        dur in 15i64..300,
    ) {
        let start = base() + Duration::minutes(offset);
        let free = free_units(&p, &busy, start, minutes(dur), None);
        prop_assert!(free <= p.booking.capacity);
        prop_assert_eq!(free > 0, has_room(&p, &busy, &[], start, minutes(dur), None));
        let me = Interval::new(start, start + Duration::minutes(dur));
        // `free` more copies of the appointment fit, one more does not.
        let copies = vec![me; free as usize];
        if free > 0 {
            prop_assert!(has_room(&p, &busy, &copies[1..], start, minutes(dur), None));
        }
        prop_assert!(!has_room(&p, &busy, &copies, start, minutes(dur), None));
        prop_assert_eq!(free > 0, naive_free(&p, &busy, &[], me));
    }

    #[test]
    fn a_single_day_lists_exactly_the_free_grid_times(
        p in arb_profile(),
        busy in prop::collection::vec(arb_busy(), 0..30),
        dur in 15i64..300,
        day in 0i64..6,
    ) {
        let d = mon() + Duration::days(day);
        let now = base();
        let req = SlotRequest::day(d, minutes(dur)).with_limit(1000);
        let got: Vec<DateTime<Utc>> = find_slots(&p, &busy, &[], &req, now).iter().map(|s| s.start.with_timezone(&Utc)).collect();
        let mut want = Vec::new();
        for span in p.hours.on(d.weekday()) {
            let mut wall: NaiveDateTime = d.and_time(span.open);
            while wall < d.and_time(span.close) {
                if let LocalResult::Single(s) | LocalResult::Ambiguous(s, _) = p.time_zone.from_local_datetime(&wall) {
                    let s = s.with_timezone(&Utc);
                    let iv = Interval::new(s, s + Duration::minutes(dur));
                    if p.check_appointment(s, minutes(dur), now).is_ok() && naive_free(&p, &busy, &[], iv) {
                        want.push(s);
                    }
                }
                wall += Duration::minutes(i64::from(p.booking.slot_step_minutes));
            }
        }
        prop_assert_eq!(got, want);
    }
}

#[test]
fn a_price_gives_the_appointment_length_capped_at_the_maximum() {
    let p = profile(2);
    let price = |n: i64| {
        Price::new(
            rust_decimal::Decimal::from(n),
            rust_decimal::Decimal::from(5000),
        )
        .unwrap()
    };
    for (euros, minutes) in [(45, 30), (130, 80), (150, 90), (320, 195), (5000, 600)] {
        assert_eq!(
            duration_for_price(price(euros), &p).unwrap().minutes(),
            minutes,
            "{euros}"
        );
    }
}

fn key(k: &str) -> ArtistKey {
    ArtistKey::parse(k).unwrap()
}

/// Two artists: maria keeps the studio's hours, nikos works 16:00–20:00 only on Tuesdays.
fn two_artists() -> StudioProfile {
    let mut p = profile(9);
    let artist = |k: &str, hours| inkdesk_domain::profile::Artist {
        key: key(k),
        name: k.to_owned(),
        styles: vec![],
        hours,
        google_calendar_id: None,
    };
    p.artists = vec![
        artist("maria", inkdesk_domain::profile::HoursOverride::default()),
        artist(
            "nikos",
            inkdesk_domain::profile::HoursOverride {
                tuesday: Some(DayHours::try_from("16:00-20:00".to_owned()).unwrap()),
                ..Default::default()
            },
        ),
    ];
    p
}

#[test]
fn with_artists_each_slot_names_the_first_free_artist_and_capacity_is_one_each() {
    let p = two_artists();
    let tue = mon() + Duration::days(1);
    let now = athens(mon(), 9, 0);
    // Maria is busy 16:00–18:00; an entry without an artist (the studio's) blocks both.
    let busy = vec![
        BusyInterval::timed(athens(tue, 16, 0), athens(tue, 18, 0)).with_artist(Some(key("maria"))),
        BusyInterval::timed(athens(tue, 19, 0), athens(tue, 20, 0)),
    ];
    let req = SlotRequest::day(tue, minutes(60))
        .with_preferred_time(time(15, 0))
        .with_limit(10);
    let slots = find_slots(&p, &busy, &[], &req, now);
    let got: Vec<(String, Option<String>)> = slots
        .iter()
        .map(|s| {
            (
                s.start.format("%H:%M").to_string(),
                s.artist.as_ref().map(|a| a.to_string()),
            )
        })
        .collect();
    let want = |t: &str, a: &str| (t.to_owned(), Some(a.to_owned()));
    assert_eq!(
        got,
        vec![
            want("15:00", "maria"),
            want("16:00", "nikos"),
            want("17:00", "nikos"),
            want("18:00", "maria")
        ]
    );
    // Only Nikos: his hours, his calendar.
    let only = req.clone().with_artists(vec![key("nikos")]);
    let starts: Vec<String> = find_slots(&p, &busy, &[], &only, now)
        .iter()
        .map(|s| s.start.format("%H:%M").to_string())
        .collect();
    assert_eq!(starts, ["16:00", "17:00", "18:00"]);
    // Placing: Maria is taken at 16:00, so an unnamed booking goes to Nikos.
    assert_eq!(
        place(
            &p,
            &busy,
            &[],
            athens(tue, 16, 0),
            minutes(60),
            None,
            None,
            now
        ),
        Ok(Some(Some(key("nikos"))))
    );
    assert_eq!(
        place(
            &p,
            &busy,
            &[],
            athens(tue, 16, 0),
            minutes(60),
            Some(&key("maria")),
            None,
            now
        ),
        Ok(None)
    );
    assert!(matches!(
        place(
            &p,
            &busy,
            &[],
            athens(tue, 12, 0),
            minutes(60),
            Some(&key("nikos")),
            None,
            now
        ),
        Err(ValidationError::OutsideHours { .. })
    ));
    assert_eq!(
        free_units(&p, &busy, athens(tue, 18, 0), minutes(60), None),
        2
    );
    assert_eq!(
        free_units(&p, &busy, athens(tue, 16, 0), minutes(60), None),
        1
    );
}

#[test]
fn other_conversations_holds_take_artists_out_of_the_pool() {
    let p = two_artists();
    let wed = mon() + Duration::days(2);
    let now = athens(mon(), 9, 0);
    let hold = Interval::new(athens(wed, 12, 0), athens(wed, 13, 0));
    let req = SlotRequest::day(wed, minutes(60))
        .with_preferred_time(time(12, 0))
        .with_limit(1);
    let one = find_slots(&p, &[], &[hold], &req, now);
    assert_eq!(one[0].start.format("%H:%M").to_string(), "12:00");
    let two = find_slots(&p, &[], &[hold, hold], &req, now);
    assert_eq!(two[0].start.format("%H:%M").to_string(), "13:00");
}

#[test]
fn closures_close_the_studio_or_one_artist() {
    let mut p = two_artists();
    let tue = mon() + Duration::days(1);
    let wed = tue + Duration::days(1);
    let now = athens(mon(), 9, 0);
    p.closures = vec![
        Closure::new(tue, tue, Some(key("maria")), Some("seminar".into())).unwrap(),
        Closure::new(wed, wed, None, None).unwrap(),
    ];
    let req = SlotRequest::range(tue, wed, minutes(60)).with_limit(20);
    let slots = find_slots(&p, &[], &[], &req, now);
    assert!(!slots.is_empty());
    assert!(
        slots
            .iter()
            .all(|s| s.date() == tue && s.artist == Some(key("nikos")))
    );
    // A stored closure arrives as an all-day entry with its artist.
    let stored = BusyInterval::all_day(tue, wed).with_artist(Some(key("nikos")));
    assert!(find_slots(&p, &[stored], &[], &req, now).is_empty());
}

#[test]
fn split_spans_on_the_spring_forward_night_skip_the_missing_hour() {
    let mut p = profile(1);
    p.booking.slot_step_minutes = 30;
    p.booking.min_notice_minutes = 0;
    // Sunday 29 March 2026: 03:00–04:00 does not exist in Athens.
    p.hours.sunday = DayHours::try_from("02:00-05:00, 18:00-20:00".to_owned()).unwrap();
    let day = date(2026, 3, 29);
    let now = athens(date(2026, 3, 28), 12, 0);
    let slots = find_slots(
        &p,
        &[],
        &[],
        &SlotRequest::day(day, minutes(60)).with_limit(20),
        now,
    );
    let starts: Vec<String> = slots
        .iter()
        .map(|s| s.start.format("%H:%M").to_string())
        .collect();
    // 02:30 + 60 real minutes ends 04:30 on the wall clock; 04:30 would end after 05:00.
    assert_eq!(
        starts,
        ["02:00", "02:30", "04:00", "18:00", "18:30", "19:00"]
    );
}

#[test]
fn split_spans_on_the_fall_back_night_end_by_the_wall_clock() {
    let mut p = profile(1);
    p.booking.slot_step_minutes = 60;
    p.booking.min_notice_minutes = 0;
    // Sunday 25 October 2026: 03:00–04:00 happens twice in Athens.
    p.hours.sunday = DayHours::try_from("01:00-04:00, 18:00-19:00".to_owned()).unwrap();
    let day = date(2026, 10, 25);
    let now = athens(date(2026, 10, 24), 12, 0);
    let slots = find_slots(
        &p,
        &[],
        &[],
        &SlotRequest::day(day, minutes(120)).with_limit(20),
        now,
    );
    let starts: Vec<String> = slots.iter().map(|s| s.start.to_rfc3339()).collect();
    // Two real hours from 01:00 end at 03:00 (first occurrence), from 02:00 at 03:00
    // (second occurrence), from 03:00 (first occurrence) at 04:00: all by closing time.
    assert_eq!(
        starts,
        [
            "2026-10-25T01:00:00+03:00",
            "2026-10-25T02:00:00+03:00",
            "2026-10-25T03:00:00+03:00"
        ]
    );
}
