//! Appointment calendar for inkdesk, reusable by any project that books appointments
//! (it knows nothing of Instagram, Redis or language models).
//!
//! Map of the crate:
//!
//! - [`interval`]: `Interval`, `BusyInterval` (timed / all-day / transparent) and `Slot`
//!   (serialises as RFC 3339 with the studio's offset).
//! - [`availability`]: the pure engine — `find_slots`, `has_room`, `free_units` (how many
//!   more appointments fit at a time), and `duration_for_price` (via `inkdesk-pricing`).
//!   Every rule of the behaviour reference §3 lives here, decided in the studio's time
//!   zone.
//! - [`port`]: the `Calendar` trait (async, object-safe), `NewBooking` (with its optional
//!   idempotency key and `event_id_for_key`), `Booking` and `CalendarError`; the booking
//!   checks every adapter shares, and `available_slots` (read the calendar over a
//!   request's window, then `find_slots`).
//! - [`lifecycle`]: `BookingStatus` (`pending_deposit → confirmed → completed | no_show`,
//!   `cancelled` by customer / studio / unpaid), the allowed changes (`StatusChange`, pure),
//!   and `DepositHold` (what a new pending booking waits for).
//! - [`embedded`]: `EmbeddedCalendar`, a SQLite file under the data dir (or in memory),
//!   the default when no Google credentials are configured.
//! - [`google`]: `GoogleCalendar`, the Google Calendar API v3 adapter (installed-app or
//!   service-account credentials, token cache, retries).
//! - [`ical`]: an RFC 5545 feed of bookings for phones to subscribe to.
//! - [`format`](mod@format): slot lists and durations in Greek and English.
//! - `testing` (feature `testing`): the behaviour suite every adapter passes, and mockall
//!   mocks of the port.
//!
//! Invariants: the engine is pure and cannot fail; Google's JSON never leaves
//! [`google`]; an adapter re-reads the calendar immediately before inserting and refuses
//! with [`CalendarError::SlotTaken`] when the slot filled meanwhile; every booking passes
//! `StudioProfile::check_appointment`; a `create` repeated with the same idempotency key
//! returns the booking it made (the key's own booking never makes its slot taken), one
//! whose booking was cancelled answers [`CalendarError::Gone`].

pub mod availability;
pub mod interval;

pub use availability::{SlotRequest, duration_for_price, find_slots, free_units, has_room};
pub use interval::{BusyInterval, BusySpan, Interval, Slot};
pub mod embedded;
pub mod event_text;
pub mod format;
pub mod ical;
pub mod lifecycle;
pub mod port;
#[cfg(feature = "testing")]
pub mod testing;

pub use embedded::EmbeddedCalendar;
pub use lifecycle::{BookingStatus, CancelledBy, DepositHold, StatusChange, TransitionError};
pub use port::{
    Booking, Calendar, CalendarError, ForgottenBooking, NewBooking, available_slots,
    event_id_for_key,
};
pub mod google;

pub use google::{Credentials, GoogleCalendar, GoogleConfig};
