//! No-shows: staff mark a past booking completed or a no-show, and a customer with a
//! no-show is flagged — to the assistant (a fact in the turn's prompt), to the deposits (a
//! deposit is always required of them: [`CustomerStanding`]) and in the console.
//!
//! The flag is a small marker kept with the conversation in the store (`Keyed`, key
//! [`NO_SHOW_KEY`]), rewritten from the calendar's records whenever a booking's attendance
//! is marked here, so a turn reads it in one store call instead of searching the calendar;
//! deleting the conversation (a privacy request) deletes it too.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use inkdesk_calendar::{Booking, BookingStatus, Calendar, CalendarError, StatusChange};
use inkdesk_domain::{ConversationId, EventId};
use inkdesk_store::{Keyed, StoreError};
use serde::{Deserialize, Serialize};

use crate::deposits::CustomerStanding;

/// The `Keyed` key of a conversation's no-show marker.
pub const NO_SHOW_KEY: &str = "no-show";

/// How long the marker lasts after the last change (two years).
const MARKER_TTL: Duration = Duration::from_secs(2 * 365 * 24 * 3600);

/// Whether the customer came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attendance {
    /// The appointment took place.
    Completed,
    /// The customer did not come.
    NoShow,
}

impl Attendance {
    /// Reads `completed` or `no_show`.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "completed" => Some(Self::Completed),
            "no_show" | "no-show" => Some(Self::NoShow),
            _ => None,
        }
    }

    fn change(self) -> StatusChange {
        match self {
            Self::Completed => StatusChange::Complete,
            Self::NoShow => StatusChange::NoShow,
        }
    }
}

/// A conversation's no-show record, as the marker keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoShowRecord {
    /// How many of the customer's bookings are no-shows.
    pub count: usize,
    /// The start of the latest one.
    pub last: DateTime<Utc>,
}

/// Why marking failed.
#[derive(Debug, thiserror::Error)]
pub enum NoShowError {
    /// The calendar refused or failed (an unknown, cancelled or future booking: see
    /// [`CalendarError::Transition`]).
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    /// The marker could not be written (the status is changed; marking again fixes it).
    #[error("the no-show record could not be stored")]
    Store(#[from] StoreError),
}

/// Marks attendance and answers whether a customer has a no-show.
#[derive(Clone)]
pub struct NoShows {
    calendar: Arc<dyn Calendar>,
    keyed: Arc<dyn Keyed>,
}

impl std::fmt::Debug for NoShows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoShows").finish_non_exhaustive()
    }
}

impl NoShows {
    /// Over the calendar and the store's keyed values.
    pub fn new(calendar: Arc<dyn Calendar>, keyed: Arc<dyn Keyed>) -> Self {
        Self { calendar, keyed }
    }

    /// Marks a past booking completed or a no-show (the calendar refuses one that has not
    /// started, or a cancelled one) and rewrites its customer's record. Marking again is
    /// harmless; a no-show corrected to completed clears the flag when it was the only one.
    pub async fn mark(&self, id: &EventId, attendance: Attendance) -> Result<Booking, NoShowError> {
        let booking = match self.calendar.set_status(id, attendance.change()).await {
            Ok(booking) => booking,
            // Already so: the record is rewritten all the same.
            Err(CalendarError::Transition(_)) if self.already(id, attendance).await => {
                self.calendar.get(id).await?
            }
            Err(other) => return Err(other.into()),
        };
        self.refresh(&booking.conversation).await?;
        tracing::info!(booking = %booking.id, status = booking.status.code(), "attendance marked");
        Ok(booking)
    }

    async fn already(&self, id: &EventId, attendance: Attendance) -> bool {
        let Ok(booking) = self.calendar.get(id).await else {
            return false;
        };
        matches!(
            (booking.status, attendance),
            (BookingStatus::Completed, Attendance::Completed)
                | (BookingStatus::NoShow, Attendance::NoShow)
        )
    }

    /// Rewrites `conversation`'s marker from the calendar's records.
    pub async fn refresh(&self, conversation: &ConversationId) -> Result<(), NoShowError> {
        let missed: Vec<Booking> = self
            .calendar
            .bookings_of(conversation)
            .await?
            .into_iter()
            .filter(|b| b.status == BookingStatus::NoShow)
            .collect();
        match missed.iter().map(|b| b.start).max() {
            Some(last) => {
                let record = NoShowRecord {
                    count: missed.len(),
                    last,
                };
                let value = serde_json::to_value(&record).unwrap_or(serde_json::Value::Null);
                self.keyed
                    .put(conversation, NO_SHOW_KEY, value, MARKER_TTL)
                    .await?;
            }
            None => self.keyed.delete(conversation, NO_SHOW_KEY).await?,
        }
        Ok(())
    }

    /// The customer's no-show record, if they have one.
    pub async fn record(
        &self,
        conversation: &ConversationId,
    ) -> Result<Option<NoShowRecord>, StoreError> {
        Ok(self
            .keyed
            .get(conversation, NO_SHOW_KEY)
            .await?
            .and_then(|v| serde_json::from_value(v).ok()))
    }
}

#[async_trait]
impl CustomerStanding for NoShows {
    async fn deposit_always_required(&self, conversation: &ConversationId) -> bool {
        match self.record(conversation).await {
            Ok(record) => record.is_some(),
            Err(error) => {
                // Unknown: the studio's own rule applies this once.
                tracing::warn!(%conversation, %error, "no-show record unreadable");
                false
            }
        }
    }
}
