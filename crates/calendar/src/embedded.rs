//! The embedded calendar: bookings in a SQLite file under the data dir (WAL mode), or in
//! memory for tests and `--ephemeral` runs.
//!
//! Every call runs on the blocking pool. `create` and `reschedule` re-read the calendar
//! and write inside one `BEGIN IMMEDIATE` transaction, so two writers — tasks or processes
//! sharing the file — cannot both take the last unit of capacity. The same transaction
//! first looks the booking's id up, so a `create` repeated with the same idempotency key
//! returns the booking it made. Cancelled bookings stay as tombstones so their ids answer
//! `Gone`, not `NotFound` (and a key whose booking was cancelled is not booked again).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use inkdesk_domain::{
    AppointmentDuration, ArtistKey, Clock, Closure, ConversationId, CustomerName, EventId,
    FreeText, PhoneNumber, Price, StudioProfile,
};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::interval::{BusyInterval, Interval};
use crate::lifecycle::{BookingStatus, CancelledBy, StatusChange};
use crate::port::{
    Booking, Calendar, CalendarError, ForgottenBooking, NewBooking, StoredClosure, check_bookable,
    recheck_window, same_request, slot_taken,
};

/// File name of the calendar inside the data dir.
pub const FILE_NAME: &str = "calendar.sqlite3";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS bookings (
    id            TEXT PRIMARY KEY,
    conversation  TEXT NOT NULL,
    customer      TEXT NOT NULL,
    phone         TEXT NOT NULL,
    design        TEXT,
    price         TEXT,
    start_utc     INTEGER NOT NULL,
    end_utc       INTEGER NOT NULL,
    duration_min  INTEGER NOT NULL,
    created_utc   INTEGER NOT NULL,
    cancelled_utc INTEGER
);
CREATE INDEX IF NOT EXISTS bookings_by_start ON bookings (start_utc);
CREATE INDEX IF NOT EXISTS bookings_by_conversation ON bookings (conversation, start_utc);
CREATE TABLE IF NOT EXISTS blocks (
    id          TEXT PRIMARY KEY,
    start_utc   INTEGER,
    end_utc     INTEGER,
    first_date  TEXT,
    end_date    TEXT,
    transparent INTEGER NOT NULL,
    note        TEXT
);
CREATE TABLE IF NOT EXISTS closures (
    id          TEXT PRIMARY KEY,
    first_date  TEXT NOT NULL,
    last_date   TEXT NOT NULL,
    artist      TEXT,
    reason      TEXT,
    created_utc INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS closures_by_date ON closures (last_date, first_date);
";

/// Columns added after the first schema (table, column, type), added to older files when
/// they are opened. A booking without a `status` is confirmed (the only state there was).
const ADDED_COLUMNS: [(&str, &str, &str); 6] = [
    ("bookings", "artist", "TEXT"),
    ("blocks", "artist", "TEXT"),
    ("bookings", "status", "TEXT"),
    ("bookings", "hold_until_utc", "INTEGER"),
    ("bookings", "deposit", "TEXT"),
    ("bookings", "sms_consent", "INTEGER NOT NULL DEFAULT 0"),
];

/// Creates the tables and adds the columns an older file lacks.
fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)?;
    for (table, column, kind) in ADDED_COLUMNS {
        let present: bool = conn.query_row(
            &format!("SELECT count(*) > 0 FROM pragma_table_info('{table}') WHERE name = ?1"),
            [column],
            |row| row.get(0),
        )?;
        if !present {
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))?;
        }
    }
    conn.pragma_update(None, "user_version", 3)
}

const BOOKING_COLUMNS: &str = "id, conversation, customer, phone, design, price, start_utc, duration_min, cancelled_utc, artist, status, hold_until_utc, deposit, sms_consent";

/// Bookings kept in SQLite. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct EmbeddedCalendar {
    conn: Arc<Mutex<Connection>>,
    profile: Arc<StudioProfile>,
    clock: Arc<dyn Clock>,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for EmbeddedCalendar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedCalendar")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl EmbeddedCalendar {
    /// Opens (or creates) `calendar.sqlite3` in `data_dir`, creating the directory.
    pub async fn open(
        data_dir: &Path,
        profile: Arc<StudioProfile>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, CalendarError> {
        std::fs::create_dir_all(data_dir).map_err(CalendarError::unavailable)?;
        Self::open_file(&data_dir.join(FILE_NAME), profile, clock).await
    }

    /// Opens (or creates) the calendar at `path`.
    pub async fn open_file(
        path: &Path,
        profile: Arc<StudioProfile>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, CalendarError> {
        let owned = path.to_path_buf();
        let conn = tokio::task::spawn_blocking(move || -> rusqlite::Result<Connection> {
            let conn = inkdesk_sqlite::open(&owned)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            migrate(&conn)?;
            Ok(conn)
        })
        .await
        .map_err(CalendarError::unavailable)?
        .map_err(CalendarError::unavailable)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            profile,
            clock,
            path: Some(path.to_path_buf()),
        })
    }

    /// A calendar that lives in memory and vanishes with the last clone.
    pub fn open_in_memory(
        profile: Arc<StudioProfile>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, CalendarError> {
        let conn = inkdesk_sqlite::open_in_memory().map_err(CalendarError::unavailable)?;
        migrate(&conn).map_err(CalendarError::unavailable)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            profile,
            clock,
            path: None,
        })
    }

    /// The file backing this calendar, `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Blocks time that is not a booking (a holiday, an artist away): timed or all-day,
    /// opaque or transparent. Returns the entry's id.
    pub async fn block(
        &self,
        entry: BusyInterval,
        note: Option<String>,
    ) -> Result<EventId, CalendarError> {
        let id = new_event_id()?;
        let row_id = id.as_str().to_owned();
        self.run(move |conn| {
            let (start, end, first, last) = match entry.span {
                crate::BusySpan::Timed(iv) => (
                    Some(iv.start.timestamp()),
                    Some(iv.end.timestamp()),
                    None,
                    None,
                ),
                crate::BusySpan::AllDay { first, end } => {
                    (None, None, Some(first.to_string()), Some(end.to_string()))
                }
            };
            conn.execute(
                "INSERT INTO blocks (id, start_utc, end_utc, first_date, end_date, transparent, note, artist)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    row_id,
                    start,
                    end,
                    first,
                    last,
                    entry.transparent,
                    note,
                    entry.artist.as_ref().map(ArtistKey::as_str)
                ],
            )?;
            Ok(())
        })
        .await?;
        Ok(id)
    }

    /// Bookings (not cancelled) ending after `since`, earliest first: the rows of the
    /// iCalendar feed.
    pub async fn bookings_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<Booking>, CalendarError> {
        let region = self.profile.phone_region;
        self.run(move |conn| {
            let sql = format!(
                "SELECT {BOOKING_COLUMNS} FROM bookings
                 WHERE cancelled_utc IS NULL AND end_utc > ?1 ORDER BY start_utc, id"
            );
            let mut stmt = conn.prepare(&sql)?;
            let rows =
                stmt.query_map(params![since.timestamp()], |row| read_booking(row, region))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })
        .await
    }

    /// The bookings from 30 days ago on as an RFC 5545 feed.
    pub async fn ical_feed(&self, calendar_name: &str) -> Result<String, CalendarError> {
        let now = self.clock.now();
        let bookings = self
            .bookings_since(now - chrono::Duration::days(30))
            .await?;
        Ok(crate::ical::render_feed(
            calendar_name,
            &bookings,
            self.profile.language,
            &self.profile.currency_symbol,
            now,
        ))
    }

    /// Runs `f` with the connection on the blocking pool.
    async fn run<T, F>(&self, f: F) -> Result<T, CalendarError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        self.run_checked(move |conn| f(conn).map_err(CalendarError::unavailable))
            .await
    }

    async fn run_checked<T, F>(&self, f: F) -> Result<T, CalendarError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, CalendarError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut guard)
        })
        .await
        .map_err(CalendarError::unavailable)?
    }
}

/// A fresh id in Google's alphabet: 32 lowercase hex digits are base32hex too.
fn new_event_id() -> Result<EventId, CalendarError> {
    EventId::parse(&uuid::Uuid::new_v4().simple().to_string()).map_err(CalendarError::from)
}

/// What `create` found inside its transaction.
enum Created {
    /// Inserted, with the artist the calendar placed it with.
    Inserted(Booking),
    /// The booking's id (its idempotency key) was booked before.
    Existing(Booking),
    Full,
}

fn to_utc(seconds: i64) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::from_timestamp(seconds, 0).ok_or(rusqlite::Error::IntegralValueOutOfRange(0, seconds))
}

fn invalid(
    column: usize,
    error: impl std::error::Error + Send + Sync + 'static,
) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(error))
}

/// Reads one row of `BOOKING_COLUMNS`; the second value is the cancellation flag.
fn read_row(row: &Row<'_>, region: inkdesk_domain::Region) -> rusqlite::Result<(Booking, bool)> {
    let id: String = row.get(0)?;
    let conversation: String = row.get(1)?;
    let customer: String = row.get(2)?;
    let phone: String = row.get(3)?;
    let design: Option<String> = row.get(4)?;
    let price: Option<String> = row.get(5)?;
    let start = to_utc(row.get(6)?)?;
    let minutes: i64 = row.get(7)?;
    let cancelled: Option<i64> = row.get(8)?;
    let artist: Option<String> = row.get(9)?;
    let status: Option<String> = row.get(10)?;
    let hold_until = row.get::<_, Option<i64>>(11)?.map(to_utc).transpose()?;
    let deposit: Option<String> = row.get(12)?;
    let sms_consent: bool = row.get(13)?;
    // Stored values were valid when written; a generous maximum keeps old rows readable
    // after the profile's limits shrink.
    let money = |column: usize, text: Option<String>| {
        text.map(|p| {
            p.parse::<rust_decimal::Decimal>()
                .map_err(|e| invalid(column, e))
                .and_then(|d| {
                    Price::new(d, rust_decimal::Decimal::MAX).map_err(|e| invalid(column, e))
                })
        })
        .transpose()
    };
    let price = money(5, price)?;
    let mut status = BookingStatus::from_code(status.as_deref(), hold_until).ok_or_else(|| {
        invalid(
            10,
            std::io::Error::other(format!("unknown booking status {status:?}")),
        )
    })?;
    // A tombstone from before the lifecycle: cancelled through the assistant.
    if cancelled.is_some() && !status.is_cancelled() {
        status = BookingStatus::Cancelled {
            by: CancelledBy::Customer,
        };
    }
    let duration =
        AppointmentDuration::from_minutes(minutes, u32::MAX).map_err(|e| invalid(7, e))?;
    let booking = Booking {
        id: EventId::parse(&id).map_err(|e| invalid(0, e))?,
        conversation: ConversationId::parse(conversation).map_err(|e| invalid(1, e))?,
        customer: CustomerName::parse(&customer).map_err(|e| invalid(2, e))?,
        phone: PhoneNumber::parse(&phone, region).map_err(|e| invalid(3, e))?,
        design: design
            .map(|d| FreeText::parse(&d).map_err(|e| invalid(4, e)))
            .transpose()?,
        price,
        start,
        end: start + duration.as_chrono(),
        duration,
        artist: read_artist(9, artist)?,
        status,
        deposit: money(12, deposit)?,
        sms_consent,
    };
    Ok((booking, cancelled.is_some()))
}

fn read_booking(row: &Row<'_>, region: inkdesk_domain::Region) -> rusqlite::Result<Booking> {
    read_row(row, region).map(|(b, _)| b)
}

fn read_artist(column: usize, text: Option<String>) -> rusqlite::Result<Option<ArtistKey>> {
    text.map(|t| ArtistKey::parse(&t).map_err(|e| invalid(column, std::io::Error::other(e))))
        .transpose()
}

fn read_closure(row: &Row<'_>) -> rusqlite::Result<StoredClosure> {
    let id: String = row.get(0)?;
    let first: String = row.get(1)?;
    let last: String = row.get(2)?;
    Ok(StoredClosure {
        id: EventId::parse(&id).map_err(|e| invalid(0, e))?,
        closure: Closure {
            from: parse_date(1, &first)?,
            to: parse_date(2, &last)?,
            artist: read_artist(3, row.get(3)?)?,
            reason: row.get(4)?,
        },
    })
}

const CLOSURE_COLUMNS: &str = "id, first_date, last_date, artist, reason";

fn parse_date(column: usize, text: &str) -> rusqlite::Result<NaiveDate> {
    text.parse::<NaiveDate>().map_err(|e| invalid(column, e))
}

/// Everything overlapping `range`: live bookings and blocks.
fn read_busy(
    conn: &Connection,
    profile: &StudioProfile,
    range: Interval,
) -> rusqlite::Result<Vec<BusyInterval>> {
    let (from, to) = (range.start.timestamp(), range.end.timestamp());
    let mut busy = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT id, start_utc, end_utc, artist FROM bookings
         WHERE cancelled_utc IS NULL AND start_utc < ?2 AND end_utc > ?1",
    )?;
    let mut rows = stmt.query(params![from, to])?;
    while let Some(row) = rows.next()? {
        let id: String = row.get(0)?;
        let entry = BusyInterval::timed(to_utc(row.get(1)?)?, to_utc(row.get(2)?)?)
            .with_artist(read_artist(3, row.get(3)?)?);
        busy.push(match EventId::parse(&id) {
            Ok(id) => entry.with_event(id),
            Err(_) => entry,
        });
    }
    // All-day blocks are compared by date in the studio's zone (a day either side is
    // enough to catch every zone's midnight).
    let tz = profile.time_zone;
    let first_day = range.start.with_timezone(&tz).date_naive();
    let last_day = range.end.with_timezone(&tz).date_naive();
    let mut stmt = conn.prepare_cached(
        "SELECT id, start_utc, end_utc, first_date, end_date, transparent, artist FROM blocks
         WHERE (start_utc IS NOT NULL AND start_utc < ?2 AND end_utc > ?1)
            OR (first_date IS NOT NULL AND first_date <= ?4 AND end_date > ?3)",
    )?;
    let mut rows = stmt.query(params![
        from,
        to,
        first_day.to_string(),
        last_day.to_string()
    ])?;
    while let Some(row) = rows.next()? {
        let id: String = row.get(0)?;
        let start: Option<i64> = row.get(1)?;
        let end: Option<i64> = row.get(2)?;
        let first: Option<String> = row.get(3)?;
        let last: Option<String> = row.get(4)?;
        let transparent: bool = row.get(5)?;
        let entry = match (start, end, first, last) {
            (Some(s), Some(e), _, _) => BusyInterval::timed(to_utc(s)?, to_utc(e)?),
            (_, _, Some(f), Some(l)) => {
                BusyInterval::all_day(parse_date(3, &f)?, parse_date(4, &l)?)
            }
            _ => continue,
        };
        let entry = entry
            .with_transparent(transparent)
            .with_artist(read_artist(6, row.get(6)?)?);
        busy.push(match EventId::parse(&id) {
            Ok(id) => entry.with_event(id),
            Err(_) => entry,
        });
    }
    let sql = format!(
        "SELECT {CLOSURE_COLUMNS} FROM closures WHERE first_date <= ?2 AND last_date >= ?1"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![first_day.to_string(), last_day.to_string()],
        read_closure,
    )?;
    for closure in rows {
        busy.push(closure?.as_busy());
    }
    Ok(busy)
}

fn find_row(
    conn: &Connection,
    id: &EventId,
    region: inkdesk_domain::Region,
) -> Result<Booking, CalendarError> {
    let sql = format!("SELECT {BOOKING_COLUMNS} FROM bookings WHERE id = ?1");
    let found = conn
        .query_row(&sql, params![id.as_str()], |row| read_row(row, region))
        .optional()
        .map_err(CalendarError::unavailable)?;
    match found {
        None => Err(CalendarError::NotFound(id.clone())),
        Some((_, true)) => Err(CalendarError::Gone(id.clone())),
        Some((booking, false)) => Ok(booking),
    }
}

#[async_trait]
impl Calendar for EmbeddedCalendar {
    async fn busy(&self, range: Interval) -> Result<Vec<BusyInterval>, CalendarError> {
        let profile = Arc::clone(&self.profile);
        self.run(move |conn| read_busy(conn, &profile, range)).await
    }

    async fn create(&self, new: NewBooking) -> Result<Booking, CalendarError> {
        let now = self.clock.now();
        let profile = Arc::clone(&self.profile);
        let (start, duration) = (new.start, new.duration);
        let asked = new.artist.clone();
        let row = Booking::from_new(new.event_id()?, new);
        let outcome = self
            .run_checked(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(CalendarError::unavailable)?;
                // The same idempotency key made this booking before: it is the answer.
                match find_row(&tx, &row.id, profile.phone_region) {
                    Ok(existing) => return same_request(existing, &row).map(Created::Existing),
                    Err(CalendarError::NotFound(_)) => {}
                    Err(other) => return Err(other),
                }
                let window = recheck_window(&profile, row.start, row.duration);
                let busy = read_busy(&tx, &profile, window).map_err(CalendarError::unavailable)?;
                let Some(artist) = check_bookable(
                    &profile,
                    &busy,
                    row.start,
                    row.duration,
                    row.artist.as_ref(),
                    Some(&row.id),
                    now,
                )?
                else {
                    return Ok(Created::Full);
                };
                let row = Booking { artist, ..row };
                tx.execute(
                    "INSERT INTO bookings (id, conversation, customer, phone, design, price,
                        start_utc, end_utc, duration_min, created_utc, artist, status,
                        hold_until_utc, deposit, sms_consent)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                    params![
                        row.id.as_str(),
                        row.conversation.as_str(),
                        row.customer.as_str(),
                        row.phone.e164(),
                        row.design.as_ref().map(FreeText::as_str),
                        row.price.map(|p| p.amount().to_string()),
                        row.start.timestamp(),
                        row.end.timestamp(),
                        row.duration.minutes(),
                        now.timestamp(),
                        row.artist.as_ref().map(ArtistKey::as_str),
                        row.status.code(),
                        row.status.hold_until().map(|t| t.timestamp()),
                        row.deposit.map(|p| p.amount().to_string()),
                        row.sms_consent,
                    ],
                )
                .map_err(CalendarError::unavailable)?;
                tx.commit().map_err(CalendarError::unavailable)?;
                Ok(Created::Inserted(row))
            })
            .await?;
        match outcome {
            Created::Inserted(booking) => {
                tracing::info!(booking = %booking.id, "booking created");
                Ok(booking)
            }
            Created::Existing(existing) => {
                tracing::info!(booking = %existing.id, "booking already made with this key");
                Ok(existing)
            }
            Created::Full => {
                Err(slot_taken(self, &self.profile, start, duration, asked.as_ref(), now).await)
            }
        }
    }

    async fn get(&self, id: &EventId) -> Result<Booking, CalendarError> {
        let (id, region) = (id.clone(), self.profile.phone_region);
        self.run_checked(move |conn| find_row(conn, &id, region))
            .await
    }

    async fn reschedule(
        &self,
        id: &EventId,
        start: DateTime<Utc>,
        duration: Option<AppointmentDuration>,
    ) -> Result<Booking, CalendarError> {
        let now = self.clock.now();
        let profile = Arc::clone(&self.profile);
        let owned_id = id.clone();
        // Ok(Err((duration, artist))) means full: alternatives are read after the transaction.
        let outcome = self
            .run_checked(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(CalendarError::unavailable)?;
                let current = find_row(&tx, &owned_id, profile.phone_region)?;
                let duration = duration.unwrap_or(current.duration);
                let window = recheck_window(&profile, start, duration);
                let busy = read_busy(&tx, &profile, window).map_err(CalendarError::unavailable)?;
                // The booking keeps its artist; one made before the studio had artists
                // gets the first free one.
                let Some(artist) = check_bookable(
                    &profile,
                    &busy,
                    start,
                    duration,
                    current.artist.as_ref(),
                    Some(&owned_id),
                    now,
                )?
                else {
                    return Ok(Err((duration, current.artist)));
                };
                let end = start + duration.as_chrono();
                tx.execute(
                    "UPDATE bookings SET start_utc = ?2, end_utc = ?3, duration_min = ?4, artist = ?5
                     WHERE id = ?1",
                    params![
                        owned_id.as_str(),
                        start.timestamp(),
                        end.timestamp(),
                        duration.minutes(),
                        artist.as_ref().map(ArtistKey::as_str)
                    ],
                )
                .map_err(CalendarError::unavailable)?;
                tx.commit().map_err(CalendarError::unavailable)?;
                Ok(Ok(Booking {
                    start,
                    end,
                    duration,
                    artist,
                    ..current
                }))
            })
            .await?;
        match outcome {
            Ok(booking) => Ok(booking),
            Err((duration, artist)) => {
                Err(slot_taken(self, &self.profile, start, duration, artist.as_ref(), now).await)
            }
        }
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
        let (owned, region) = (id.clone(), self.profile.phone_region);
        let booking = self
            .run_checked(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(CalendarError::unavailable)?;
                let current = find_row(&tx, &owned, region)?;
                let status = current.status.apply(change, current.start, now)?;
                tx.execute(
                    "UPDATE bookings SET status = ?2, hold_until_utc = ?3,
                        cancelled_utc = CASE WHEN ?4 THEN ?5 ELSE cancelled_utc END
                     WHERE id = ?1",
                    params![
                        owned.as_str(),
                        status.code(),
                        status.hold_until().map(|t| t.timestamp()),
                        status.is_cancelled(),
                        now.timestamp()
                    ],
                )
                .map_err(CalendarError::unavailable)?;
                tx.commit().map_err(CalendarError::unavailable)?;
                Ok(Booking { status, ..current })
            })
            .await?;
        tracing::info!(booking = %booking.id, status = %booking.status, "booking status changed");
        Ok(booking)
    }

    async fn bookings_between(&self, range: Interval) -> Result<Vec<Booking>, CalendarError> {
        let region = self.profile.phone_region;
        self.run(move |conn| {
            let sql = format!(
                "SELECT {BOOKING_COLUMNS} FROM bookings
                 WHERE cancelled_utc IS NULL AND start_utc >= ?1 AND start_utc < ?2
                 ORDER BY start_utc, id"
            );
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map(
                params![range.start.timestamp(), range.end.timestamp()],
                |row| read_booking(row, region),
            )?;
            rows.collect()
        })
        .await
    }

    async fn bookings_of(
        &self,
        conversation: &ConversationId,
    ) -> Result<Vec<Booking>, CalendarError> {
        let (conversation, region) = (conversation.clone(), self.profile.phone_region);
        self.run(move |conn| {
            let sql = format!(
                "SELECT {BOOKING_COLUMNS} FROM bookings
                 WHERE conversation = ?1 AND cancelled_utc IS NULL ORDER BY start_utc, id"
            );
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map(params![conversation.as_str()], |row| {
                read_booking(row, region)
            })?;
            rows.collect()
        })
        .await
    }

    async fn upcoming_for(
        &self,
        conversation: &ConversationId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Booking>, CalendarError> {
        let (conversation, region) = (conversation.clone(), self.profile.phone_region);
        self.run(move |conn| {
            let sql = format!(
                "SELECT {BOOKING_COLUMNS} FROM bookings
                 WHERE conversation = ?1 AND cancelled_utc IS NULL AND start_utc >= ?2
                 ORDER BY start_utc, id"
            );
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map(params![conversation.as_str(), now.timestamp()], |row| {
                read_booking(row, region)
            })?;
            rows.collect()
        })
        .await
    }

    async fn list_upcoming(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Booking>, CalendarError> {
        let region = self.profile.phone_region;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(move |conn| {
            let sql = format!(
                "SELECT {BOOKING_COLUMNS} FROM bookings
                 WHERE cancelled_utc IS NULL AND start_utc >= ?1
                 ORDER BY start_utc, id LIMIT ?2"
            );
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map(params![now.timestamp(), limit], |row| {
                read_booking(row, region)
            })?;
            rows.collect()
        })
        .await
    }
    async fn add_closure(&self, closure: Closure) -> Result<StoredClosure, CalendarError> {
        let stored = StoredClosure {
            id: new_event_id()?,
            closure,
        };
        let row = stored.clone();
        let now = self.clock.now();
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO closures (id, first_date, last_date, artist, reason, created_utc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    row.id.as_str(),
                    row.closure.from.to_string(),
                    row.closure.to.to_string(),
                    row.closure.artist.as_ref().map(ArtistKey::as_str),
                    row.closure.reason,
                    now.timestamp(),
                ],
            )?;
            Ok(())
        })
        .await?;
        tracing::info!(closure = %stored.id, "closure added");
        Ok(stored)
    }

    async fn remove_closure(&self, id: &EventId) -> Result<(), CalendarError> {
        let owned = id.clone();
        let removed = self
            .run(move |conn| conn.execute("DELETE FROM closures WHERE id = ?1", [owned.as_str()]))
            .await?;
        if removed == 0 {
            return Err(CalendarError::NotFound(id.clone()));
        }
        tracing::info!(closure = %id, "closure removed");
        Ok(())
    }

    async fn closures(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<StoredClosure>, CalendarError> {
        self.run(move |conn| {
            let sql = format!(
                "SELECT {CLOSURE_COLUMNS} FROM closures
                 WHERE first_date <= ?2 AND last_date >= ?1 ORDER BY first_date, id"
            );
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map(params![from.to_string(), to.to_string()], read_closure)?;
            rows.collect()
        })
        .await
    }

    async fn forget_customer(
        &self,
        conversation: &ConversationId,
    ) -> Result<Vec<ForgottenBooking>, CalendarError> {
        let conversation = conversation.as_str().to_owned();
        let note = crate::event_text::forgotten_title(self.profile.language).to_owned();
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            type Row = (String, i64, i64, bool, Option<String>);
            let rows: Vec<Row> = tx
                .prepare(
                    "SELECT id, start_utc, end_utc, cancelled_utc IS NOT NULL, artist FROM bookings
                     WHERE conversation = ?1 ORDER BY start_utc, id",
                )?
                .query_map([&conversation], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut forgotten = Vec::new();
            for (id, start, end, cancelled, artist) in rows {
                // A live booking's time becomes an opaque block without any personal data;
                // a cancelled one blocks nothing and simply goes.
                if !cancelled {
                    tx.execute(
                        "INSERT OR REPLACE INTO blocks (id, start_utc, end_utc, first_date, end_date, transparent, note, artist)
                         VALUES (?1, ?2, ?3, NULL, NULL, 0, ?4, ?5)",
                        params![id, start, end, note, artist],
                    )?;
                    if let Ok(parsed) = EventId::parse(&id) {
                        forgotten.push(ForgottenBooking {
                            id: parsed,
                            start: to_utc(start)?,
                            end: to_utc(end)?,
                        });
                    }
                }
                tx.execute("DELETE FROM bookings WHERE id = ?1", [&id])?;
            }
            tx.commit()?;
            Ok(forgotten)
        })
        .await
    }
}
