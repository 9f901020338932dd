//! The studio's calendar in Redis: every replica on one Redis sees the same bookings, when
//! the store is Redis and no Google calendar is configured.
//!
//! It implements `inkdesk_calendar::Calendar` with the calendar crate's own rules: the
//! availability engine decides, on a fresh read, whether a booking fits (hours, notice,
//! capacity, buffers, closures) — the same call the embedded adapter makes inside its
//! SQLite transaction. What Redis adds is the atomic step: the read (`calendar_read.lua`)
//! returns the entries of the days the check needs together with a write version per local
//! date, and the write (`calendar_commit.lua`) happens only when every one of those dates
//! still has the version the check saw and the entry is still what it was. A write bumps
//! the version of every date its entry occupies (buffers included), so a booking made
//! meanwhile on any replica makes the other one read again and judge again — compare and
//! set instead of a transaction, with the rules in one place (the engine) rather than
//! copied into Lua. A refused compare is retried, at most [`ATTEMPTS`] times; each refusal
//! means another write succeeded, so the calendar always makes progress.
//!
//! Keys (`P` is the store's key prefix; one hash tag, so one slot):
//!
//! | key | type | what |
//! |---|---|---|
//! | `{P:cal}:entries` | hash | id → JSON: a booking (live or cancelled) or an anonymous block |
//! | `{P:cal}:at` | zset | id → start ms of every entry that takes time |
//! | `{P:cal}:booked` | zset | id → start ms of live bookings (`list_upcoming`) |
//! | `{P:cal}:conv:ID` | zset | id → start ms of a conversation's bookings, cancelled too |
//! | `{P:cal}:closures` | hash | id → JSON of a closure added at run time (`add_closure`) |
//! | `{P:cal}:versions` | hash | local date → write counter |
//! | `{P:cal}:longest` | string | the longest entry's length in ms (bounds the read) |
//!
//! Closures are read with every check (they are few) and their dates' versions are bumped
//! when one is added or removed, so a booking checked meanwhile on those dates is checked
//! again. With artists in the profile the engine also picks the artist of a booking that
//! names none (`check_bookable`); entries carry their artist into `busy`.
//!
//! Cancelled bookings stay (without a place in `at` or `booked`), so their ids answer
//! `Gone` and a repeated idempotency key is not booked again; `forget_customer` turns a
//! live booking into an anonymous block and deletes cancelled ones.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use deadpool_redis::redis::{self, Script};
use inkdesk_calendar::port::{
    StoredClosure, check_bookable, recheck_window, same_request, slot_taken,
};
use inkdesk_calendar::{
    Booking, BusyInterval, Calendar, CalendarError, CancelledBy, ForgottenBooking, Interval,
    NewBooking, StatusChange,
};
use inkdesk_domain::{
    AppointmentDuration, ArtistKey, Clock, Closure, ConversationId, EventId, PhoneNumber,
    StudioProfile,
};
use serde::{Deserialize, Serialize};

use super::RedisStore;
use crate::StoreError;

/// How often a write whose check was overtaken by another write reads and checks again.
pub const ATTEMPTS: usize = 32;

/// One stored entry: a booking (live or cancelled) or a block that only takes time.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    /// Start, ms since the epoch.
    start_ms: i64,
    /// End, ms since the epoch.
    end_ms: i64,
    /// The booking; `None` for a block (e.g. a booking whose customer was forgotten).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    booking: Option<Booking>,
    /// When the booking was cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cancelled_ms: Option<i64>,
    /// What a block is (no personal data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    /// The artist a block keeps busy (a forgotten booking keeps its artist's time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    artist: Option<ArtistKey>,
}

impl Entry {
    fn of_booking(booking: Booking) -> Self {
        Self {
            start_ms: booking.start.timestamp_millis(),
            end_ms: booking.end.timestamp_millis(),
            booking: Some(booking),
            cancelled_ms: None,
            note: None,
            artist: None,
        }
    }

    /// The artist the entry keeps busy.
    fn busy_artist(&self) -> Option<ArtistKey> {
        match &self.booking {
            Some(booking) => booking.artist.clone(),
            None => self.artist.clone(),
        }
    }

    fn live_booking(&self) -> bool {
        self.booking.is_some() && self.cancelled_ms.is_none()
    }

    fn takes_time(&self) -> bool {
        self.cancelled_ms.is_none()
    }

    fn interval(&self) -> Option<Interval> {
        Some(Interval::new(
            DateTime::from_timestamp_millis(self.start_ms)?,
            DateTime::from_timestamp_millis(self.end_ms)?,
        ))
    }
}

/// What the read step saw: the entries and the version of every date the check covers.
struct Snapshot {
    busy: Vec<BusyInterval>,
    versions: Vec<(NaiveDate, i64)>,
}

/// How a commit ended.
enum Commit {
    Done,
    /// The entry is no longer what the caller read (its current JSON, `""` when absent).
    Changed(String),
    /// A date the check read was written meanwhile: read and check again.
    Conflict,
}

/// The calendar on the store's Redis connection. Cheap to clone.
#[derive(Clone)]
pub struct RedisCalendar {
    store: Arc<RedisStore>,
    profile: Arc<StudioProfile>,
    clock: Arc<dyn Clock>,
    scripts: Arc<CalendarScripts>,
}

struct CalendarScripts {
    read: Script,
    commit: Script,
    closure: Script,
}

impl std::fmt::Debug for RedisCalendar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCalendar")
            .field("key_prefix", &self.store.options.key_prefix)
            .finish_non_exhaustive()
    }
}

fn store_error(error: StoreError) -> CalendarError {
    CalendarError::unavailable(error)
}

fn corrupt(what: impl std::fmt::Display) -> CalendarError {
    CalendarError::unavailable(StoreError::Corrupt(format!("calendar entry: {what}")))
}

fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

impl RedisCalendar {
    /// The calendar of `profile` on `store`'s Redis (its connection, timeouts and key
    /// prefix), deciding "now" by `clock`.
    pub fn new(store: Arc<RedisStore>, profile: Arc<StudioProfile>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            profile,
            clock,
            scripts: Arc::new(CalendarScripts {
                read: Script::new(include_str!("scripts/calendar_read.lua")),
                commit: Script::new(include_str!("scripts/calendar_commit.lua")),
                closure: Script::new(include_str!("scripts/calendar_closure.lua")),
            }),
        }
    }

    fn key(&self, name: &str) -> String {
        format!("{{{}:cal}}:{name}", self.store.prefix())
    }

    fn owner_key(&self, conversation: &str) -> String {
        self.key(&format!("conv:{conversation}"))
    }

    /// The local dates an instant span touches (its last instant included, its end not).
    fn dates(&self, span: Interval) -> Vec<NaiveDate> {
        let tz = self.profile.time_zone;
        let first = span.start.with_timezone(&tz).date_naive();
        let last_instant = if span.end > span.start {
            span.end - Duration::milliseconds(1)
        } else {
            span.start
        };
        let last = last_instant.with_timezone(&tz).date_naive();
        first.iter_days().take_while(|d| *d <= last).collect()
    }

    /// The dates an entry's time affects: its span widened by the studio's buffers.
    fn occupied_dates(&self, span: Interval) -> Vec<NaiveDate> {
        let before = Duration::minutes(i64::from(self.profile.booking.buffer_before_minutes));
        let after = Duration::minutes(i64::from(self.profile.booking.buffer_after_minutes));
        self.dates(Interval::new(span.start - before, span.end + after))
    }

    /// Entries overlapping `range` and the versions of `dates`, in one atomic read.
    async fn read(&self, range: Interval, dates: &[NaiveDate]) -> Result<Snapshot, CalendarError> {
        let mut invocation = self.scripts.read.prepare_invoke();
        invocation
            .key(self.key("entries"))
            .key(self.key("at"))
            .key(self.key("versions"))
            .key(self.key("longest"))
            .key(self.key("closures"))
            .arg(ms(range.start))
            .arg(ms(range.end));
        for date in dates {
            invocation.arg(date.to_string());
        }
        type Read = (Vec<i64>, Vec<String>, Vec<String>, Vec<String>);
        let (versions, ids, entries, closures): Read = self
            .store
            .with_conn(|mut c| async move { invocation.invoke_async(&mut c).await })
            .await
            .map_err(store_error)?;
        let mut busy = Vec::with_capacity(entries.len());
        for (id, raw) in ids.iter().zip(&entries) {
            if raw.is_empty() {
                continue;
            }
            let entry: Entry = serde_json::from_str(raw).map_err(corrupt)?;
            if !entry.takes_time() {
                continue;
            }
            let Some(span) = entry.interval() else {
                continue;
            };
            if span.start < range.end && span.end > range.start {
                let busy_entry =
                    BusyInterval::timed(span.start, span.end).with_artist(entry.busy_artist());
                busy.push(match EventId::parse(id) {
                    Ok(id) => busy_entry.with_event(id),
                    Err(_) => busy_entry,
                });
            }
        }
        // Closures are compared by date in the studio's zone, like all-day entries.
        let tz = self.profile.time_zone;
        let first_day = range.start.with_timezone(&tz).date_naive();
        let last_day = range.end.with_timezone(&tz).date_naive();
        for raw in &closures {
            let closure: StoredClosure = serde_json::from_str(raw).map_err(corrupt)?;
            if closure.closure.from <= last_day && closure.closure.to >= first_day {
                busy.push(closure.as_busy());
            }
        }
        Ok(Snapshot {
            busy,
            versions: dates.iter().copied().zip(versions).collect(),
        })
    }

    /// Writes `new` (or deletes the entry when `None`) under `id` if the entry is still
    /// `expected` and every date of `checked` still has its version; bumps `bump`.
    async fn commit(
        &self,
        id: &EventId,
        expected: &str,
        new: Option<&Entry>,
        checked: &[(NaiveDate, i64)],
        bump: &[NaiveDate],
    ) -> Result<Commit, CalendarError> {
        let owner = new
            .and_then(|e| e.booking.as_ref())
            .map(|b| b.conversation.as_str().to_owned())
            .or_else(|| {
                serde_json::from_str::<Entry>(expected)
                    .ok()
                    .and_then(|e| e.booking.map(|b| b.conversation.as_str().to_owned()))
            })
            .unwrap_or_default();
        let json = match new {
            Some(entry) => serde_json::to_string(entry).map_err(corrupt)?,
            None => String::new(),
        };
        let (start, length, live, listed) = match new {
            Some(entry) if entry.takes_time() => (
                entry.start_ms.to_string(),
                (entry.end_ms - entry.start_ms).max(0),
                entry.live_booking(),
                entry.booking.is_some(),
            ),
            Some(entry) => (String::new(), 0, false, entry.booking.is_some()),
            None => (String::new(), 0, false, false),
        };
        let mut invocation = self.scripts.commit.prepare_invoke();
        invocation
            .key(self.key("entries"))
            .key(self.key("at"))
            .key(self.key("booked"))
            .key(self.owner_key(&owner))
            .key(self.key("versions"))
            .key(self.key("longest"))
            .arg(id.as_str())
            .arg(expected)
            .arg(json)
            .arg(start)
            .arg(length)
            .arg(if live { "1" } else { "0" })
            .arg(if listed { "1" } else { "0" })
            .arg(checked.len());
        for (date, version) in checked {
            invocation.arg(date.to_string()).arg(*version);
        }
        let bumped: BTreeSet<NaiveDate> = bump.iter().copied().collect();
        for date in bumped {
            invocation.arg(date.to_string());
        }
        let answer: Vec<String> = self
            .store
            .with_conn(|mut c| async move { invocation.invoke_async(&mut c).await })
            .await
            .map_err(store_error)?;
        match answer.first().map(String::as_str) {
            Some("ok") => Ok(Commit::Done),
            Some("conflict") => Ok(Commit::Conflict),
            Some("changed") => Ok(Commit::Changed(answer.get(1).cloned().unwrap_or_default())),
            other => Err(corrupt(format!("unexpected commit answer {other:?}"))),
        }
    }

    /// The stored JSON of `id` (`""` when absent).
    async fn raw(&self, id: &EventId) -> Result<String, CalendarError> {
        let hash = self.key("entries");
        let field = id.as_str().to_owned();
        let raw: Option<String> = self
            .store
            .with_conn(|mut c| async move {
                redis::cmd("HGET")
                    .arg(&hash)
                    .arg(field)
                    .query_async(&mut c)
                    .await
            })
            .await
            .map_err(store_error)?;
        Ok(raw.unwrap_or_default())
    }

    /// The booking in `raw` with its phone read in the studio's region.
    fn booking_of(&self, entry: &Entry) -> Result<Option<Booking>, CalendarError> {
        let Some(mut booking) = entry.booking.clone() else {
            return Ok(None);
        };
        // Stored as E.164; the national form depends on the studio's region.
        booking.phone =
            PhoneNumber::parse(booking.phone.e164(), self.profile.phone_region).map_err(corrupt)?;
        Ok(Some(booking))
    }

    /// `get`'s answer for a stored entry: the booking, or why there is none.
    fn found(&self, id: &EventId, raw: &str) -> Result<(Entry, Booking), CalendarError> {
        if raw.is_empty() {
            return Err(CalendarError::NotFound(id.clone()));
        }
        let entry: Entry = serde_json::from_str(raw).map_err(corrupt)?;
        let Some(booking) = self.booking_of(&entry)? else {
            return Err(CalendarError::NotFound(id.clone()));
        };
        if entry.cancelled_ms.is_some() {
            return Err(CalendarError::Gone(id.clone()));
        }
        Ok((entry, booking))
    }

    /// Bookings of a zset scored from `min` on (to before `max` when given), earliest first.
    async fn bookings_in(
        &self,
        index: String,
        min: i64,
        max: Option<i64>,
        limit: usize,
        include_cancelled: bool,
    ) -> Result<Vec<Booking>, CalendarError> {
        let max = max.map_or_else(|| "+inf".to_owned(), |m| format!("({m}"));
        let hash = self.key("entries");
        let count = i64::try_from(limit).unwrap_or(i64::MAX);
        let ids: Vec<String> = self
            .store
            .with_conn(|mut c| async move {
                redis::cmd("ZRANGEBYSCORE")
                    .arg(&index)
                    .arg(min)
                    .arg(&max)
                    .arg("LIMIT")
                    .arg(0)
                    .arg(count)
                    .query_async(&mut c)
                    .await
            })
            .await
            .map_err(store_error)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let raws: Vec<Option<String>> = self
            .store
            .with_conn(|mut c| async move {
                redis::cmd("HMGET")
                    .arg(&hash)
                    .arg(&ids)
                    .query_async(&mut c)
                    .await
            })
            .await
            .map_err(store_error)?;
        let mut out = Vec::new();
        for raw in raws.into_iter().flatten() {
            let entry: Entry = serde_json::from_str(&raw).map_err(corrupt)?;
            if entry.cancelled_ms.is_some() && !include_cancelled {
                continue;
            }
            if let Some(booking) = self.booking_of(&entry)? {
                out.push(booking);
            }
        }
        // Same start: by id, as the embedded adapter orders them.
        out.sort_by(|a, b| (a.start, a.id.as_str()).cmp(&(b.start, b.id.as_str())));
        Ok(out)
    }

    /// Puts `booking` at `start`/`duration` after the engine's check on a fresh read, as one
    /// compare-and-set; `expected` is the entry's JSON before (`""` for a new booking).
    async fn place(&self, booking: Booking, expected: String) -> Result<Placed, CalendarError> {
        let now = self.clock.now();
        let old_span = if expected.is_empty() {
            None
        } else {
            serde_json::from_str::<Entry>(&expected)
                .ok()
                .and_then(|e| e.interval())
        };
        for _ in 0..ATTEMPTS {
            let window = recheck_window(&self.profile, booking.start, booking.duration);
            let dates = self.dates(window);
            let snapshot = self.read(window, &dates).await?;
            let Some(artist) = check_bookable(
                &self.profile,
                &snapshot.busy,
                booking.start,
                booking.duration,
                booking.artist.as_ref(),
                Some(&booking.id),
                now,
            )?
            else {
                return Ok(Placed::Full);
            };
            // The artist the engine placed it with (the asked one, or the first free).
            let booking = Booking {
                artist,
                ..booking.clone()
            };
            let entry = Entry::of_booking(booking.clone());
            let mut bump = self.occupied_dates(booking.interval());
            if let Some(old) = old_span {
                bump.extend(self.occupied_dates(old));
            }
            match self
                .commit(
                    &booking.id,
                    &expected,
                    Some(&entry),
                    &snapshot.versions,
                    &bump,
                )
                .await?
            {
                Commit::Done => return Ok(Placed::Done(Box::new(booking))),
                Commit::Conflict => continue,
                Commit::Changed(current) if expected.is_empty() => {
                    return Ok(Placed::Existing(current));
                }
                // Moved or cancelled meanwhile: the caller decides again on what is there.
                Commit::Changed(current) => return Ok(Placed::Changed(current)),
            }
        }
        Err(CalendarError::unavailable(StoreError::unavailable(
            "the calendar kept changing while this booking was checked",
        )))
    }
}

impl RedisCalendar {
    /// Writes a closure (`new` JSON, or removes it when `""`) if its entry is still
    /// `expected`; bumps the versions of its dates. `false`: it changed meanwhile.
    async fn write_closure(
        &self,
        stored: &StoredClosure,
        expected: &str,
        new: &str,
    ) -> Result<bool, CalendarError> {
        let mut invocation = self.scripts.closure.prepare_invoke();
        invocation
            .key(self.key("closures"))
            .key(self.key("versions"))
            .arg(stored.id.as_str())
            .arg(expected)
            .arg(new);
        for date in stored
            .closure
            .from
            .iter_days()
            .take_while(|d| *d <= stored.closure.to)
        {
            invocation.arg(date.to_string());
        }
        let answer: String = self
            .store
            .with_conn(|mut c| async move { invocation.invoke_async(&mut c).await })
            .await
            .map_err(store_error)?;
        Ok(answer == "ok")
    }
}

/// What [`RedisCalendar::place`] did.
enum Placed {
    Done(Box<Booking>),
    Full,
    /// The id was taken before (`create` with a repeated key): its stored JSON.
    Existing(String),
    /// The entry changed between the caller's read and the write: its JSON now.
    Changed(String),
}

#[async_trait]
impl Calendar for RedisCalendar {
    async fn busy(&self, range: Interval) -> Result<Vec<BusyInterval>, CalendarError> {
        Ok(self.read(range, &[]).await?.busy)
    }

    async fn create(&self, new: NewBooking) -> Result<Booking, CalendarError> {
        let now = self.clock.now();
        let (start, duration) = (new.start, new.duration);
        let booking = Booking::from_new(new.event_id()?, new);
        // The same idempotency key made this booking before: it is the answer, even when
        // its slot is full now.
        let before = self.raw(&booking.id).await?;
        if !before.is_empty() {
            let (_, existing) = self.found(&booking.id, &before)?;
            return same_request(existing, &booking);
        }
        match self.place(booking.clone(), String::new()).await? {
            Placed::Done(made) => {
                tracing::info!(booking = %made.id, "booking created");
                Ok(*made)
            }
            Placed::Existing(current) | Placed::Changed(current) => {
                let (_, existing) = self.found(&booking.id, &current)?;
                tracing::info!(booking = %existing.id, "booking already made with this key");
                same_request(existing, &booking)
            }
            Placed::Full => Err(slot_taken(
                self,
                &self.profile,
                start,
                duration,
                booking.artist.as_ref(),
                now,
            )
            .await),
        }
    }

    async fn get(&self, id: &EventId) -> Result<Booking, CalendarError> {
        let raw = self.raw(id).await?;
        self.found(id, &raw).map(|(_, booking)| booking)
    }

    async fn reschedule(
        &self,
        id: &EventId,
        start: DateTime<Utc>,
        duration: Option<AppointmentDuration>,
    ) -> Result<Booking, CalendarError> {
        let now = self.clock.now();
        let mut raw = self.raw(id).await?;
        for _ in 0..ATTEMPTS {
            let (_, current) = self.found(id, &raw)?;
            let duration = duration.unwrap_or(current.duration);
            let artist = current.artist.clone();
            let moved = Booking {
                start,
                end: start + duration.as_chrono(),
                duration,
                ..current
            };
            match self.place(moved, raw.clone()).await? {
                Placed::Done(booking) => return Ok(*booking),
                Placed::Full => {
                    return Err(slot_taken(
                        self,
                        &self.profile,
                        start,
                        duration,
                        artist.as_ref(),
                        now,
                    )
                    .await);
                }
                Placed::Existing(current) | Placed::Changed(current) => raw = current,
            }
        }
        Err(CalendarError::unavailable(StoreError::unavailable(
            "the booking kept changing while it was moved",
        )))
    }

    async fn cancel(&self, id: &EventId) -> Result<(), CalendarError> {
        self.set_status(id, StatusChange::Cancel(CancelledBy::Customer))
            .await
            .map(|_| ())
    }

    async fn set_status(
        &self,
        id: &EventId,
        change: StatusChange,
    ) -> Result<Booking, CalendarError> {
        let now = self.clock.now();
        let mut raw = self.raw(id).await?;
        for _ in 0..ATTEMPTS {
            let (entry, current) = self.found(id, &raw)?;
            let status = current.status.apply(change, current.start, now)?;
            let changed = Booking { status, ..current };
            // A cancel frees the time: its dates' versions move so a check in flight
            // reads again.
            let bump = match (status.is_cancelled(), entry.interval()) {
                (true, Some(span)) => self.occupied_dates(span),
                _ => Vec::new(),
            };
            let updated = Entry {
                booking: entry.booking.as_ref().map(|stored| Booking {
                    status,
                    ..stored.clone()
                }),
                cancelled_ms: if status.is_cancelled() {
                    Some(ms(now))
                } else {
                    entry.cancelled_ms
                },
                ..entry
            };
            match self.commit(id, &raw, Some(&updated), &[], &bump).await? {
                Commit::Done => {
                    tracing::info!(booking = %id, status = %status, "booking status changed");
                    return Ok(changed);
                }
                Commit::Changed(current) => raw = current,
                Commit::Conflict => {}
            }
        }
        Err(CalendarError::unavailable(StoreError::unavailable(
            "the booking kept changing while its status was changed",
        )))
    }

    async fn bookings_between(&self, range: Interval) -> Result<Vec<Booking>, CalendarError> {
        self.bookings_in(
            self.key("booked"),
            ms(range.start),
            Some(ms(range.end)),
            usize::MAX,
            false,
        )
        .await
    }

    async fn bookings_of(
        &self,
        conversation: &ConversationId,
    ) -> Result<Vec<Booking>, CalendarError> {
        self.bookings_in(
            self.owner_key(conversation.as_str()),
            i64::MIN,
            None,
            usize::MAX,
            false,
        )
        .await
    }

    async fn upcoming_for(
        &self,
        conversation: &ConversationId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Booking>, CalendarError> {
        self.bookings_in(
            self.owner_key(conversation.as_str()),
            ms(now),
            None,
            usize::MAX,
            false,
        )
        .await
    }

    async fn list_upcoming(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Booking>, CalendarError> {
        let mut list = self
            .bookings_in(self.key("booked"), ms(now), None, limit, false)
            .await?;
        list.truncate(limit);
        Ok(list)
    }

    async fn forget_customer(
        &self,
        conversation: &ConversationId,
    ) -> Result<Vec<ForgottenBooking>, CalendarError> {
        let index = self.owner_key(conversation.as_str());
        let ids: Vec<String> = self
            .store
            .with_conn(|mut c| async move {
                redis::cmd("ZRANGE")
                    .arg(&index)
                    .arg(0)
                    .arg(-1)
                    .query_async(&mut c)
                    .await
            })
            .await
            .map_err(store_error)?;
        let note = inkdesk_calendar::event_text::forgotten_title(self.profile.language).to_owned();
        let mut forgotten = Vec::new();
        for id in ids {
            let id = EventId::parse(&id).map_err(corrupt)?;
            let mut raw = self.raw(&id).await?;
            for attempt in 0..=ATTEMPTS {
                if attempt == ATTEMPTS {
                    return Err(CalendarError::unavailable(StoreError::unavailable(
                        "a booking kept changing while its customer was forgotten",
                    )));
                }
                if raw.is_empty() {
                    break;
                }
                let entry: Entry = serde_json::from_str(&raw).map_err(corrupt)?;
                if entry.booking.is_none() {
                    break;
                }
                // A live booking's time becomes a block without any personal data; a
                // cancelled one blocks nothing and simply goes.
                let replacement = entry.takes_time().then(|| Entry {
                    start_ms: entry.start_ms,
                    end_ms: entry.end_ms,
                    booking: None,
                    cancelled_ms: None,
                    note: Some(note.clone()),
                    artist: entry.busy_artist(),
                });
                match self
                    .commit(&id, &raw, replacement.as_ref(), &[], &[])
                    .await?
                {
                    Commit::Done => {
                        if let (Some(_), Some(span)) = (&replacement, entry.interval()) {
                            forgotten.push(ForgottenBooking {
                                id: id.clone(),
                                start: span.start,
                                end: span.end,
                            });
                        }
                        break;
                    }
                    Commit::Changed(current) => raw = current,
                    Commit::Conflict => {}
                }
            }
        }
        forgotten.sort_by(|a, b| (a.start, a.id.as_str()).cmp(&(b.start, b.id.as_str())));
        Ok(forgotten)
    }

    async fn add_closure(&self, closure: Closure) -> Result<StoredClosure, CalendarError> {
        let stored = StoredClosure {
            // 32 lowercase hex digits are base32hex too: a valid id for every adapter.
            id: EventId::parse(&uuid::Uuid::new_v4().simple().to_string())
                .map_err(CalendarError::from)?,
            closure,
        };
        let json = serde_json::to_string(&stored).map_err(corrupt)?;
        match self.write_closure(&stored, "", &json).await? {
            true => {
                tracing::info!(closure = %stored.id, "closure added");
                Ok(stored)
            }
            false => Err(corrupt("a fresh closure id was taken")),
        }
    }

    async fn remove_closure(&self, id: &EventId) -> Result<(), CalendarError> {
        for _ in 0..ATTEMPTS {
            let hash = self.key("closures");
            let field = id.as_str().to_owned();
            let raw: Option<String> = self
                .store
                .with_conn(|mut c| async move {
                    redis::cmd("HGET")
                        .arg(&hash)
                        .arg(field)
                        .query_async(&mut c)
                        .await
                })
                .await
                .map_err(store_error)?;
            let Some(raw) = raw else {
                return Err(CalendarError::NotFound(id.clone()));
            };
            let stored: StoredClosure = serde_json::from_str(&raw).map_err(corrupt)?;
            if self.write_closure(&stored, &raw, "").await? {
                tracing::info!(closure = %id, "closure removed");
                return Ok(());
            }
        }
        Err(CalendarError::unavailable(StoreError::unavailable(
            "the closure kept changing while it was removed",
        )))
    }

    async fn closures(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<StoredClosure>, CalendarError> {
        let hash = self.key("closures");
        let raws: Vec<String> = self
            .store
            .with_conn(
                |mut c| async move { redis::cmd("HVALS").arg(&hash).query_async(&mut c).await },
            )
            .await
            .map_err(store_error)?;
        let mut out = Vec::new();
        for raw in raws {
            let stored: StoredClosure = serde_json::from_str(&raw).map_err(corrupt)?;
            if stored.closure.from <= to && stored.closure.to >= from {
                out.push(stored);
            }
        }
        out.sort_by(|a, b| (a.closure.from, a.id.as_str()).cmp(&(b.closure.from, b.id.as_str())));
        Ok(out)
    }
}
