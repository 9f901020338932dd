//! The `Calendar` port: the source of truth for appointments, and what every adapter
//! shares (booking types, errors, the re-check before inserting).

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use inkdesk_domain::{
    AppointmentDuration, ArtistKey, Closure, ConversationId, CustomerName, EventId, FreeText,
    PhoneNumber, Price, StudioProfile, ValidationError,
};
use serde::{Deserialize, Serialize};

use crate::availability::{SlotRequest, find_slots, place};
use crate::interval::{BusyInterval, Interval, Slot};
use crate::lifecycle::{BookingStatus, DepositHold, StatusChange, TransitionError};

/// A booking to be made, on behalf of the conversation that owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBooking {
    /// The conversation that asked (bound by the server, never by the model).
    pub conversation: ConversationId,
    /// The customer's name.
    pub customer: CustomerName,
    /// The customer's phone number.
    pub phone: PhoneNumber,
    /// What the customer wants tattooed.
    pub design: Option<FreeText>,
    /// The quoted price.
    pub price: Option<Price>,
    /// Start of the appointment.
    pub start: DateTime<Utc>,
    /// Length of the appointment.
    pub duration: AppointmentDuration,
    /// The artist asked for. `None` with artists in the profile: the calendar gives the
    /// booking the first artist free then (profile order). Ignored without artists.
    pub artist: Option<ArtistKey>,
    /// Makes the booking idempotent: the same key always gives the same booking. The
    /// event id is derived from it ([`event_id_for_key`]), so a repeated `create` — a
    /// retried call, a turn resumed on another replica — finds the booking it made instead
    /// of a duplicate or a "slot taken". `None` gives a fresh random id (the command line).
    /// Callers put in it what makes the request one decision, e.g. the conversation, the
    /// turn, the start and the length.
    pub idempotency_key: Option<String>,
    /// The deposit the booking waits for: `Some` makes it `pending_deposit` (its slot held
    /// until the hold runs out), `None` makes it `confirmed` at once.
    pub deposit: Option<DepositHold>,
    /// The customer agreed to an SMS reminder to `phone`.
    pub sms_consent: bool,
}

impl NewBooking {
    /// The id the booking gets: derived from the idempotency key, or fresh and random.
    pub fn event_id(&self) -> Result<EventId, CalendarError> {
        match &self.idempotency_key {
            Some(key) => event_id_for_key(key),
            None => EventId::parse(&uuid::Uuid::new_v4().simple().to_string())
                .map_err(CalendarError::from),
        }
    }
}

/// Domain separation for [`event_id_for_key`]: a later scheme gets a new tag.
const KEY_TAG: &[u8] = b"inkdesk booking id v1\0";

/// Google's base32hex alphabet in lowercase: what event ids may contain.
const BASE32HEX: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";

/// The event id of the booking made with idempotency key `key`: SHA-256 of the key in
/// base32hex (52 characters of `0-9a-v`), valid for Google Calendar and [`EventId`]
/// (so the `Err` cannot happen; it keeps the function panic-free).
pub fn event_id_for_key(key: &str) -> Result<EventId, CalendarError> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(KEY_TAG);
    hasher.update(key.as_bytes());
    let digest = hasher.finalize();
    let mut text = String::with_capacity(52);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in digest.iter() {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            text.push(char::from(BASE32HEX[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        text.push(char::from(
            BASE32HEX[((buffer << (5 - bits)) & 31) as usize],
        ));
    }
    EventId::parse(&text).map_err(CalendarError::from)
}

/// An appointment in the calendar, as made by inkdesk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    /// The calendar's id of the booking (base32hex, both adapters).
    pub id: EventId,
    /// The conversation that owns it.
    pub conversation: ConversationId,
    /// The customer's name.
    pub customer: CustomerName,
    /// The customer's phone number (E.164 when serialised).
    pub phone: PhoneNumber,
    /// What the customer wants tattooed.
    pub design: Option<FreeText>,
    /// The quoted price.
    pub price: Option<Price>,
    /// Start of the appointment.
    pub start: DateTime<Utc>,
    /// End of the appointment (`start + duration`).
    pub end: DateTime<Utc>,
    /// Length of the appointment.
    pub duration: AppointmentDuration,
    /// The artist who takes it; `None` when the studio has no artists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artist: Option<ArtistKey>,
    /// Where the booking is in its life; records older than the lifecycle read as
    /// confirmed.
    #[serde(default)]
    pub status: BookingStatus,
    /// The deposit asked (kept after it is paid); `None` when none was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposit: Option<Price>,
    /// The customer agreed to an SMS reminder.
    #[serde(default)]
    pub sms_consent: bool,
}

impl Booking {
    /// A booking made from `new` under the calendar's id `id`.
    pub fn from_new(id: EventId, new: NewBooking) -> Self {
        Self {
            id,
            conversation: new.conversation,
            customer: new.customer,
            phone: new.phone,
            design: new.design,
            price: new.price,
            end: new.start + new.duration.as_chrono(),
            start: new.start,
            duration: new.duration,
            artist: new.artist,
            status: match new.deposit {
                Some(hold) => BookingStatus::PendingDeposit {
                    hold_until: hold.hold_until,
                },
                None => BookingStatus::Confirmed,
            },
            deposit: new.deposit.map(|hold| hold.amount),
            sms_consent: new.sms_consent,
        }
    }

    /// The booking's time as an interval.
    pub fn interval(&self) -> Interval {
        Interval::new(self.start, self.end)
    }
}

/// An entry whose customer's details [`Calendar::forget_customer`] removed: the time it
/// still blocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForgottenBooking {
    /// The entry's id (no longer a booking's).
    pub id: EventId,
    /// Its start.
    pub start: DateTime<Utc>,
    /// Its end.
    pub end: DateTime<Utc>,
}

/// A closure kept in the calendar (added at run time), with the id that removes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredClosure {
    /// The calendar's id of the closure (base32hex).
    pub id: EventId,
    /// The dates, the artist and the reason.
    #[serde(flatten)]
    pub closure: Closure,
}

impl StoredClosure {
    /// The closure as the busy entry the availability engine reads: all day from `from`
    /// to the day after `to`, keeping its artist (or the whole studio) busy.
    pub fn as_busy(&self) -> BusyInterval {
        BusyInterval::all_day(
            self.closure.from,
            self.closure.to.succ_opt().unwrap_or(NaiveDate::MAX),
        )
        .with_artist(self.closure.artist.clone())
        .with_event(self.id.clone())
    }
}

/// Why a calendar operation failed. Callers branch on the variants they can act on.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// The slot filled up after it was offered; here are the next free ones.
    #[error("the slot is no longer free")]
    SlotTaken {
        /// Free slots from the requested time on (the requested day and the next days).
        alternatives: Vec<Slot>,
    },
    /// The studio's rules refuse the time (closed, outside hours, too soon, ...). The
    /// message is safe for customers.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No booking has this id (or the event there was not made by inkdesk).
    #[error("no booking with id {0}")]
    NotFound(EventId),
    /// The booking was cancelled or deleted.
    #[error("booking {0} was cancelled")]
    Gone(EventId),
    /// The status change is not allowed from the booking's state (see
    /// [`BookingStatus::apply`]); the message is safe for staff.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The calendar service is rate-limiting us.
    #[error("calendar rate-limited us; retry after {retry_after:?}")]
    RateLimited {
        /// How long the service asked us to wait, when it said.
        retry_after: Option<std::time::Duration>,
    },
    /// The calendar refused our credentials (expired or revoked token, wrong key).
    #[error("calendar credentials were refused: {0}")]
    Unauthorized(String),
    /// Anything else: the service or the database failed.
    #[error("calendar unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl CalendarError {
    /// Wraps an unexpected failure.
    pub fn unavailable(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Unavailable(Box::new(error))
    }
}

/// Source of truth for appointments. Implementations: [`crate::google::GoogleCalendar`],
/// [`crate::embedded::EmbeddedCalendar`].
///
/// `create` and `reschedule` apply the studio's rules (`check_appointment` at the
/// adapter's clock) and re-read the calendar immediately before writing; a slot at
/// capacity gives [`CalendarError::SlotTaken`]. With artists in the profile, capacity is
/// one appointment per artist: both go through [`place`] (see [`check_bookable`]), which
/// also picks the artist of a booking that names none.
///
/// Closures (dates the studio or an artist is away) added at run time live in the
/// calendar, so every process sharing it sees them: `busy` returns each one overlapping
/// its range as an all-day entry carrying the closure's artist ([`StoredClosure::as_busy`]),
/// and the profile's own `[[closures]]` are added by the engine itself.
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait Calendar: Send + Sync {
    /// Entries overlapping `range` (bookings, closures and any other events; all-day and
    /// transparent entries are marked as such; each carries its artist when it has one).
    async fn busy(&self, range: Interval) -> Result<Vec<BusyInterval>, CalendarError>;

    /// Books an appointment after re-checking capacity.
    async fn create(&self, booking: NewBooking) -> Result<Booking, CalendarError>;

    /// The booking with this id.
    async fn get(&self, id: &EventId) -> Result<Booking, CalendarError>;

    /// Moves a booking; the duration stays unless a new one is given.
    async fn reschedule(
        &self,
        id: &EventId,
        start: DateTime<Utc>,
        duration: Option<AppointmentDuration>,
    ) -> Result<Booking, CalendarError>;

    /// Cancels a booking for its customer (`set_status(id, Cancel(Customer))`). A second
    /// cancel gives [`CalendarError::Gone`].
    async fn cancel(&self, id: &EventId) -> Result<(), CalendarError>;

    /// Changes the booking's status when [`BookingStatus::apply`] allows it (otherwise
    /// [`CalendarError::Transition`]); a cancelled booking gives [`CalendarError::Gone`].
    /// A cancel frees the slot. Returns the booking as it is now.
    async fn set_status(
        &self,
        id: &EventId,
        change: StatusChange,
    ) -> Result<Booking, CalendarError>;

    /// Every booking (not cancelled, any other status, past ones included) starting inside
    /// `range`, earliest first: the console's day lists, marking no-shows, the workers.
    async fn bookings_between(&self, range: Interval) -> Result<Vec<Booking>, CalendarError>;

    /// Every booking of `conversation` (not cancelled; past, present and future), earliest
    /// first: a customer's history (e.g. whether they ever did not show up).
    async fn bookings_of(
        &self,
        conversation: &ConversationId,
    ) -> Result<Vec<Booking>, CalendarError>;

    /// The conversation's bookings starting at or after `now`, earliest first.
    async fn upcoming_for(
        &self,
        conversation: &ConversationId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Booking>, CalendarError>;

    /// All bookings starting at or after `now`, earliest first, at most `limit`.
    async fn list_upcoming(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Booking>, CalendarError>;

    /// Removes the customer's personal data from every live booking of `conversation`, past
    /// and future (a privacy request): name, phone, design note and the conversation id go.
    /// The time stays blocked, with its length and price, as an entry that is nobody's
    /// booking any more — the studio's day stays right and the customer can no longer be
    /// identified from it. Returns the entries changed, earliest first; a second call finds
    /// nothing.
    async fn forget_customer(
        &self,
        conversation: &ConversationId,
    ) -> Result<Vec<ForgottenBooking>, CalendarError>;

    /// Adds a closure (the studio, or one artist, away on the dates `from..=to`). Bookings
    /// already made on those dates stay; new ones are refused there.
    async fn add_closure(&self, closure: Closure) -> Result<StoredClosure, CalendarError>;

    /// Removes a closure added with [`Calendar::add_closure`]; an unknown id gives
    /// [`CalendarError::NotFound`].
    async fn remove_closure(&self, id: &EventId) -> Result<(), CalendarError>;

    /// The stored closures overlapping the dates `from..=to`, earliest first (not the
    /// profile's).
    async fn closures(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<StoredClosure>, CalendarError>;
}

/// The answer to a `create` whose id already holds `existing`: that booking when it is
/// the same conversation's (the key was used before), otherwise an error — ids derived
/// from keys that name the conversation cannot clash, so this is a fault, not a booking.
pub fn same_request(existing: Booking, asked: &Booking) -> Result<Booking, CalendarError> {
    if existing.conversation == asked.conversation {
        Ok(existing)
    } else {
        Err(CalendarError::Unavailable(
            format!(
                "event id {} already holds another conversation's booking",
                asked.id
            )
            .into(),
        ))
    }
}

/// How many days after the requested one `SlotTaken` alternatives are looked for.
pub const ALTERNATIVE_DAYS: i64 = 7;

/// The span a re-check must read: the whole local day of `start` (so all-day entries are
/// seen) and the appointment with its buffers.
pub fn recheck_window(
    profile: &StudioProfile,
    start: DateTime<Utc>,
    duration: AppointmentDuration,
) -> Interval {
    let tz = profile.time_zone;
    let date = start.with_timezone(&tz).date_naive();
    // Midnight always exists in practice; fall back to the appointment itself if not.
    let midnight = |d: chrono::NaiveDate| {
        inkdesk_domain::schedule::resolve_local(tz, d, NaiveTime::MIN)
            .map(|t| t.with_timezone(&Utc))
            .ok()
    };
    let before = Duration::minutes(i64::from(profile.booking.buffer_before_minutes));
    let after = Duration::minutes(i64::from(profile.booking.buffer_after_minutes));
    let first = start - before;
    let last = start + duration.as_chrono() + after;
    let day_start = midnight(date).unwrap_or(first).min(first);
    let day_end = midnight(date + Duration::days(1)).unwrap_or(last).max(last);
    Interval::new(day_start, day_end)
}

/// Where a booking goes when there is room: the artist who takes it (`None` without
/// artists).
pub type Placement = Option<ArtistKey>;

/// Applies the studio's rules and the capacity check to a booking at `start`, given a
/// fresh read of the calendar (closures included). `Ok(None)` means the slot is full;
/// `Ok(Some(placement))` names the artist who takes it ([`place`]). An unknown artist, or
/// an artist's hours that refuse the time, are [`CalendarError::Invalid`].
pub fn check_bookable(
    profile: &StudioProfile,
    busy: &[BusyInterval],
    start: DateTime<Utc>,
    duration: AppointmentDuration,
    artist: Option<&ArtistKey>,
    ignore: Option<&EventId>,
    now: DateTime<Utc>,
) -> Result<Option<Placement>, CalendarError> {
    Ok(place(
        profile,
        busy,
        &[],
        start,
        duration,
        artist,
        ignore,
        now,
    )?)
}

/// The `SlotTaken` error for a full slot at `start`: free times from the requested time
/// on that day and the next [`ALTERNATIVE_DAYS`] days, read fresh from `calendar` — of
/// `artist` when the booking asked for one (a customer who asked for an artist is offered
/// that artist's times, not another's), of any artist otherwise.
/// A failed read gives no alternatives rather than hiding the clash.
pub async fn slot_taken(
    calendar: &(impl Calendar + ?Sized),
    profile: &StudioProfile,
    start: DateTime<Utc>,
    duration: AppointmentDuration,
    artist: Option<&ArtistKey>,
    now: DateTime<Utc>,
) -> CalendarError {
    let local = start.with_timezone(&profile.time_zone);
    let from = local.date_naive();
    let to = from + Duration::days(ALTERNATIVE_DAYS);
    let mut request = SlotRequest::range(from, to, duration).with_preferred_time(local.time());
    if let Some(artist) = artist.filter(|a| profile.artist(a).is_some()) {
        request = request.with_artists(vec![artist.clone()]);
    }
    let window = Interval::new(
        recheck_window(profile, start, duration).start,
        recheck_window(
            profile,
            start + Duration::days(ALTERNATIVE_DAYS + 1),
            duration,
        )
        .end,
    );
    let alternatives = match calendar.busy(window).await {
        Ok(busy) => find_slots(profile, &busy, &[], &request, now),
        Err(error) => {
            tracing::warn!(%error, "could not read the calendar for alternatives");
            Vec::new()
        }
    };
    CalendarError::SlotTaken { alternatives }
}

/// Reads the calendar over the request's window and finds free slots: what `inkdesk slots`
/// and the assistant's availability tool call. `holds_of_others` are the slots held for
/// other conversations.
pub async fn available_slots(
    calendar: &(impl Calendar + ?Sized),
    profile: &StudioProfile,
    holds_of_others: &[Interval],
    request: &SlotRequest,
    now: DateTime<Utc>,
) -> Result<Vec<Slot>, CalendarError> {
    let busy = calendar.busy(request.window(profile)).await?;
    Ok(find_slots(profile, &busy, holds_of_others, request, now))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_key_gives_one_stable_google_valid_id() {
        let id = event_id_for_key("1784/turn-7/2026-12-01T10:00:00Z/90").unwrap();
        assert_eq!(id.as_str().len(), 52);
        assert!(
            id.as_str()
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'v').contains(&b))
        );
        assert_eq!(
            event_id_for_key("1784/turn-7/2026-12-01T10:00:00Z/90").unwrap(),
            id
        );
        assert_ne!(
            event_id_for_key("1784/turn-8/2026-12-01T10:00:00Z/90").unwrap(),
            id
        );
        // Pinned (computed independently): a changed derivation would make a resumed turn
        // miss the booking it made before the upgrade.
        assert_eq!(
            id.as_str(),
            "5c7immpsklrg175ngspelr6l6cfl7lch161n9i6n42lcd1lh3s40"
        );
    }
}
