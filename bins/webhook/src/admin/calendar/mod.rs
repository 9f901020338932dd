//! The studio's calendar in the console: a week of bookings per artist, booking, moving
//! and cancelling from the console, and the closures added at run time.
//!
//! Every change goes through the same `Calendar` port the assistant uses (`app.calendar`),
//! so the studio's rules (hours, notice, horizon, closures, one appointment per artist or
//! the studio's capacity) are the calendar's, and the assistant's next availability check
//! or booking lookup reads the change at once.
//!
//! Map:
//! - [`input`]: the forms' and the API's fields, checked and turned into calendar types.
//! - [`week`]: the week view (columns per artist, the studio's time zone).
//! - [`pages`] / [`api`]: the HTML and JSON handlers.
//! - [`texts`]: the pages' Greek and English text and the rules' refusals in Greek.
//!
//! One booking is always drawn by the `booking_row.html` partial (the upcoming list, the
//! week and the confirmation pages share it).

pub mod api;
pub mod input;
pub mod pages;
pub mod texts;
pub mod week;

use chrono::Duration;
use inkdesk_calendar::{Booking, CalendarError, Slot, port::StoredClosure};
use inkdesk_domain::{Closure, EventId, ValidationError};
use serde::Serialize;

use crate::app::App;

use super::i18n::Lang;
use input::{BookingInput, ClosureInput, InputError, MoveInput};
use texts::{text, validation};

/// Why a calendar change from the console did not happen. Nothing was changed in any case.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    /// A field to correct.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The studio's rules refuse the time (closed, outside hours, too soon, …).
    #[error("{0}")]
    Refused(ValidationError),
    /// The time is full; here are free ones from then on, and the closures that keep the
    /// studio or the artist away that day (when that is why).
    #[error("the slot is no longer free")]
    SlotTaken(Vec<Slot>, Vec<Away>),
    /// No live booking with this id.
    #[error("no booking {0}")]
    NoBooking(String),
    /// The booking was cancelled already.
    #[error("booking {0} was already cancelled")]
    Gone(String),
    /// No closure with this id in the calendar (the profile's are edited there).
    #[error("no closure {0} (closures from the studio profile are edited there)")]
    NoClosure(String),
    /// The calendar failed; try again.
    #[error("the calendar failed, so nothing was changed: {0}")]
    Calendar(CalendarError),
}

impl StaffError {
    /// The error for staff, in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            StaffError::Input(e) => e.message(lang),
            StaffError::Refused(e) => capitalised(&validation(e, lang)),
            StaffError::SlotTaken(_, away) => {
                let mut message = text(lang, "slot_taken").to_owned();
                for note in away {
                    message.push(' ');
                    message.push_str(&note.message(lang));
                }
                message
            }
            StaffError::NoBooking(id) => {
                format!("{}: {id}", capitalised(text(lang, "no_such_booking")))
            }
            StaffError::Gone(id) => format!("{}: {id}", capitalised(text(lang, "booking_gone"))),
            StaffError::NoClosure(id) => {
                format!("{}: {id}", capitalised(text(lang, "no_such_closure")))
            }
            StaffError::Calendar(_) => text(lang, "calendar_failed").to_owned(),
        }
    }

    /// The form field to correct, when one is to blame.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            StaffError::Input(e) => Some(e.field),
            StaffError::Refused(_) | StaffError::SlotTaken(..) => Some("time"),
            _ => None,
        }
    }

    fn from_calendar(error: CalendarError, id: Option<&str>) -> Self {
        let id = || id.unwrap_or_default().to_owned();
        match error {
            CalendarError::SlotTaken { alternatives } => {
                StaffError::SlotTaken(alternatives, Vec::new())
            }
            CalendarError::Invalid(e) => StaffError::Refused(e),
            CalendarError::NotFound(_) => StaffError::NoBooking(id()),
            CalendarError::Gone(_) => StaffError::Gone(id()),
            other => StaffError::Calendar(other),
        }
    }
}

/// A closure that keeps the studio, or the artist asked for, away on a refused day.
#[derive(Debug, Clone, Serialize)]
pub struct Away {
    /// The artist's name; `None`: the whole studio.
    pub artist: Option<String>,
    /// The closure's reason, when it has one.
    pub reason: Option<String>,
}

impl Away {
    fn message(&self, lang: Lang) -> String {
        let head = match &self.artist {
            Some(name) => text(lang, "away_artist").replace("{name}", name),
            None => text(lang, "away_studio").to_owned(),
        };
        match &self.reason {
            Some(reason) => format!("{head} ({reason})."),
            None => format!("{head}."),
        }
    }
}

/// The closures (the profile's and the calendar's) that keep the studio, or `artist`,
/// away at `start`'s date: what a refusal there tells staff. A failed read says nothing.
async fn away_at(
    app: &App,
    start: chrono::DateTime<chrono::Utc>,
    artist: Option<&inkdesk_domain::ArtistKey>,
) -> Vec<Away> {
    let date = start.with_timezone(&app.profile.time_zone).date_naive();
    let stored = app.calendar.closures(date, date).await.unwrap_or_default();
    app.profile
        .closures
        .iter()
        .chain(stored.iter().map(|s| &s.closure))
        .filter(|c| c.covers(date))
        .filter(|c| c.artist.is_none() || c.artist.as_ref() == artist)
        .map(|c| Away {
            artist: c
                .artist
                .as_ref()
                .and_then(|k| app.profile.artist(k))
                .map(|a| a.name.clone()),
            reason: c.reason.clone(),
        })
        .collect()
}

/// Adds the closures behind a `SlotTaken` at `start` for `artist`.
async fn explained(
    app: &App,
    error: StaffError,
    start: chrono::DateTime<chrono::Utc>,
    artist: Option<&inkdesk_domain::ArtistKey>,
) -> StaffError {
    match error {
        StaffError::SlotTaken(alternatives, _) => {
            StaffError::SlotTaken(alternatives, away_at(app, start, artist).await)
        }
        other => other,
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn event_id(raw: &str, field: &'static str) -> Result<EventId, StaffError> {
    EventId::parse(raw.trim()).map_err(|e| {
        StaffError::Input(InputError {
            field,
            problem: input::Problem::Invalid(e),
        })
    })
}

/// Books from the console. `idempotency_key` (the form's one-time token, or the API
/// caller's key) makes a repeated submission give the same booking, not a second one.
pub async fn create(
    app: &App,
    form: &BookingInput,
    idempotency_key: Option<String>,
) -> Result<Booking, StaffError> {
    let new = input::booking(form, &app.profile, idempotency_key)?;
    let (start, artist) = (new.start, new.artist.clone());
    let booking = match app.calendar.create(new).await {
        Ok(booking) => booking,
        Err(e) => {
            let error = StaffError::from_calendar(e, None);
            return Err(explained(app, error, start, artist.as_ref()).await);
        }
    };
    tracing::info!(booking = %booking.id, artist = ?booking.artist, "booked from the console");
    Ok(booking)
}

/// The live booking `id`.
pub async fn booking(app: &App, id: &str) -> Result<Booking, StaffError> {
    let id = event_id(id, "booking")?;
    app.calendar
        .get(&id)
        .await
        .map_err(|e| StaffError::from_calendar(e, Some(id.as_str())))
}

/// Moves booking `id` to the form's start (and length, when given); the calendar keeps
/// its artist and checks the new time as it checks any booking.
pub async fn move_booking(app: &App, id: &str, form: &MoveInput) -> Result<Booking, StaffError> {
    let id = event_id(id, "booking")?;
    let (start, duration) = input::movement(form, &app.profile)?;
    let booking = match app.calendar.reschedule(&id, start, duration).await {
        Ok(booking) => booking,
        Err(e) => {
            let error = StaffError::from_calendar(e, Some(id.as_str()));
            let artist = match &error {
                StaffError::SlotTaken(..) => {
                    app.calendar.get(&id).await.ok().and_then(|b| b.artist)
                }
                _ => None,
            };
            return Err(explained(app, error, start, artist.as_ref()).await);
        }
    };
    tracing::info!(booking = %booking.id, "moved from the console");
    Ok(booking)
}

/// Cancels booking `id`; its time is free at once.
pub async fn cancel(app: &App, id: &str) -> Result<EventId, StaffError> {
    let id = event_id(id, "booking")?;
    app.calendar
        .cancel(&id)
        .await
        .map_err(|e| StaffError::from_calendar(e, Some(id.as_str())))?;
    tracing::info!(booking = %id, "cancelled from the console");
    Ok(id)
}

/// Adds a closure to the calendar (every replica and the assistant see it).
pub async fn add_closure(app: &App, form: &ClosureInput) -> Result<StoredClosure, StaffError> {
    let closure = input::closure(form, &app.profile)?;
    let stored = app
        .calendar
        .add_closure(closure)
        .await
        .map_err(StaffError::Calendar)?;
    tracing::info!(closure = %stored.id, "closure added from the console");
    Ok(stored)
}

/// Removes a closure added at run time.
pub async fn remove_closure(app: &App, id: &str) -> Result<EventId, StaffError> {
    let id = event_id(id, "closure")?;
    match app.calendar.remove_closure(&id).await {
        Ok(()) => {
            tracing::info!(closure = %id, "closure removed from the console");
            Ok(id)
        }
        Err(CalendarError::NotFound(_)) => Err(StaffError::NoClosure(id.to_string())),
        Err(other) => Err(StaffError::Calendar(other)),
    }
}

/// The closures from today on: the profile's (edited there) and the calendar's (removable).
#[derive(Debug, Clone, Serialize)]
pub struct ClosuresView {
    /// From the studio profile's `[[closures]]`.
    pub profile: Vec<Closure>,
    /// Added at run time (console, `inkdesk block`), with the ids that remove them.
    pub calendar: Vec<StoredClosure>,
}

/// How far ahead the closures list reads.
const CLOSURES_AHEAD_DAYS: i64 = 5 * 366;

/// [`ClosuresView`] as of now.
pub async fn closures(app: &App) -> Result<ClosuresView, StaffError> {
    let today = app.profile.today(app.clock.now());
    let calendar = app
        .calendar
        .closures(today, today + Duration::days(CLOSURES_AHEAD_DAYS))
        .await
        .map_err(StaffError::Calendar)?;
    let profile = app
        .profile
        .closures
        .iter()
        .filter(|c| c.to >= today)
        .cloned()
        .collect();
    Ok(ClosuresView { profile, calendar })
}
