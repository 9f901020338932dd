//! Availability over 60 days with capacity 2 and 1,000 busy events; and with 3 artists,
//! split hours and closures over the same 60 days and 1,000 events.
//!
//! Run: `cargo bench -p inkdesk-calendar --bench availability -- --warm-up-time 1 --measurement-time 3`

#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use inkdesk_calendar::{BusyInterval, SlotRequest, find_slots};
use inkdesk_domain::profile::{Artist, DayHours, HoursOverride};
use inkdesk_domain::{AppointmentDuration, ArtistKey, Closure, StudioProfile};

/// 1,000 events inside opening hours over 60 days, from a fixed linear congruential
/// sequence so every run sees the same calendar; a few all-day and transparent ones.
fn calendar(first: NaiveDate) -> Vec<BusyInterval> {
    let tz = chrono_tz::Europe::Athens;
    let mut seed: u64 = 0x5eed;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    (0..1000)
        .map(|i| {
            let day = first + Duration::days(next(60) as i64);
            let start_min = 11 * 60 + 15 * next(36) as i64;
            let local = day.and_time(NaiveTime::MIN) + Duration::minutes(start_min);
            let start = tz
                .from_local_datetime(&local)
                .earliest()
                .unwrap()
                .with_timezone(&Utc);
            let event =
                BusyInterval::timed(start, start + Duration::minutes(30 + 15 * next(12) as i64));
            match i % 100 {
                0 => BusyInterval::all_day(day, day + Duration::days(1)),
                1 => event.with_transparent(true),
                _ => event,
            }
        })
        .collect()
}

/// Three artists; the studio closes 14:00–16:00 every day, one artist works evenings only
/// on Tuesday and Thursday; a studio week off, an artist's two days off.
fn artist_profile(first: NaiveDate) -> StudioProfile {
    let mut profile = StudioProfile::default();
    let split = DayHours::try_from("11:00-14:00, 16:00-21:00".to_owned()).unwrap();
    profile.hours.monday = split.clone();
    profile.hours.tuesday = split.clone();
    profile.hours.wednesday = split.clone();
    profile.hours.thursday = split.clone();
    profile.hours.friday = split.clone();
    profile.hours.saturday = split;
    let artist = |key: &str, hours: HoursOverride| Artist {
        key: ArtistKey::parse(key).unwrap(),
        name: key.to_owned(),
        styles: vec!["line_work".to_owned()],
        hours,
        google_calendar_id: None,
    };
    let evenings = DayHours::try_from("17:00-21:00".to_owned()).unwrap();
    profile.artists = vec![
        artist("maria", HoursOverride::default()),
        artist(
            "nikos",
            HoursOverride {
                tuesday: Some(evenings.clone()),
                thursday: Some(evenings),
                ..HoursOverride::default()
            },
        ),
        artist("eleni", HoursOverride::default()),
    ];
    profile.closures = vec![
        Closure::new(
            first + Duration::days(20),
            first + Duration::days(26),
            None,
            None,
        )
        .unwrap(),
        Closure::new(
            first + Duration::days(3),
            first + Duration::days(4),
            Some(ArtistKey::parse("maria").unwrap()),
            None,
        )
        .unwrap(),
    ];
    profile
}

/// [`calendar`], each event given to one of the three artists (every tenth stays the
/// studio's and keeps everyone busy).
fn artist_calendar(first: NaiveDate) -> Vec<BusyInterval> {
    let keys = ["maria", "nikos", "eleni"].map(|k| ArtistKey::parse(k).unwrap());
    calendar(first)
        .into_iter()
        .enumerate()
        .map(|(i, entry)| match i % 10 {
            9 => entry,
            n => entry.with_artist(Some(keys[n % 3].clone())),
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let profile = StudioProfile::default(); // capacity 2, Athens, 11:00-20:00, step 60
    let first = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 3, 2, 5, 0, 0).unwrap();
    let busy = calendar(first);
    let duration = AppointmentDuration::from_minutes(120, 600).unwrap();
    let range = SlotRequest::range(first, first + Duration::days(59), duration);

    c.bench_function("first 3 slots in 60 days, capacity 2, 1000 events", |b| {
        b.iter(|| find_slots(&profile, black_box(&busy), &[], black_box(&range), now))
    });
    let every = range.clone().with_limit(10_000);
    c.bench_function("every free slot in 60 days, capacity 2, 1000 events", |b| {
        b.iter(|| find_slots(&profile, black_box(&busy), &[], black_box(&every), now))
    });

    let artists = artist_profile(first);
    let busy = artist_calendar(first);
    c.bench_function(
        "first 3 slots in 60 days, 3 artists, split hours, closures, 1000 events",
        |b| b.iter(|| find_slots(&artists, black_box(&busy), &[], black_box(&range), now)),
    );
    c.bench_function(
        "every free slot in 60 days, 3 artists, split hours, closures, 1000 events",
        |b| b.iter(|| find_slots(&artists, black_box(&busy), &[], black_box(&every), now)),
    );
    let one = every
        .clone()
        .with_artists(vec![ArtistKey::parse("nikos").unwrap()]);
    c.bench_function(
        "every free slot of one artist in 60 days, split hours, closures, 1000 events",
        |b| b.iter(|| find_slots(&artists, black_box(&busy), &[], black_box(&one), now)),
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
