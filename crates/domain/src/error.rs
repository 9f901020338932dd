//! The one error type of the domain crate.
//!
//! Messages are short, in plain English, and safe to show to a customer or to return to
//! the model as a tool result: they say what was wrong and what is accepted, never more.

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// A phone number that is not valid for its region.
    #[error("the phone number is not valid; please give a full mobile or landline number")]
    Phone,
    /// A name with characters other than letters, spaces, apostrophes, hyphens and dots.
    #[error("the name may contain only letters, spaces, apostrophes, hyphens and dots")]
    NameCharacters,
    /// A name outside 2–100 characters.
    #[error("the name must be between 2 and 100 characters long")]
    NameLength,
    /// A date not in `YYYY-MM-DD` form.
    #[error("the date must be written as YYYY-MM-DD")]
    DateFormat,
    /// A time not in `H:MM`/`HH:MM` 24-hour form.
    #[error("the time must be written as HH:MM in 24-hour form, for example 14:30")]
    TimeFormat,
    /// A date before today in the studio's time zone.
    #[error("the date is in the past")]
    DateInPast,
    /// A start time that has already passed or is inside the minimum notice.
    #[error("appointments need at least {minutes} minutes' notice")]
    TooSoon {
        /// The studio's minimum notice in minutes.
        minutes: u32,
    },
    /// A date beyond the booking horizon.
    #[error("appointments can be booked at most {days} days ahead")]
    BeyondHorizon {
        /// The studio's horizon in days.
        days: u32,
    },
    /// The studio is closed on that day.
    #[error("the studio is closed on that day")]
    ClosedDay,
    /// The start lies outside opening hours.
    #[error("the studio is open {hours} on that day")]
    OutsideHours {
        /// The day's spans, `HH:MM–HH:MM, HH:MM–HH:MM`.
        hours: String,
    },
    /// The appointment would end after closing time.
    #[error("the appointment would end after closing time ({close})")]
    EndsAfterClosing {
        /// Closing time, `HH:MM`.
        close: String,
    },
    /// The studio has no artist with this key.
    #[error("the studio has no artist `{key}`")]
    UnknownArtist {
        /// The key asked for.
        key: String,
    },
    /// A local time that does not exist (the clocks jump forward over it).
    #[error("that time does not exist on that day because of the daylight-saving change")]
    NonexistentLocalTime,
    /// A duration that is zero, negative or too long.
    #[error("the duration must be between 1 minute and {max_minutes} minutes")]
    Duration {
        /// The longest appointment in minutes.
        max_minutes: u32,
    },
    /// A price that is zero, negative, too large or not a number.
    #[error("the price must be a positive amount of at most {max}")]
    Price {
        /// The largest accepted price.
        max: String,
    },
    /// A calendar event id in the wrong form.
    #[error("the booking id is not valid")]
    EventId,
    /// Free text that is empty or too long.
    #[error("the text must be between 1 and {max} characters")]
    TextLength {
        /// The longest accepted text in characters.
        max: usize,
    },
    /// A conversation id with characters unsafe for keys.
    #[error("the conversation id is not valid")]
    ConversationId,
}
