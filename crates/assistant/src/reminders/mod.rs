//! Customer reminders of confirmed appointments: durable jobs in the store's
//! [`Schedule`], sent once across replicas and crashes.
//!
//! - [`ReminderPlanner`] keeps one job per booking, keyed `reminder:<booking id>`, due
//!   `booking.reminder_hours` before the start: scheduled when a booking is confirmed,
//!   moved with it, removed when it is cancelled. [`RemindingCalendar`] wraps the calendar
//!   so every path that books, moves or cancels (the assistant, the console, the command
//!   line) keeps the jobs right.
//! - [`ReminderSender`] (the [`crate::jobs`] handler of kind `reminder`) runs one claimed job: it re-reads the booking (a cancelled, moved
//!   or no longer confirmed booking is not reminded), picks the channel — an Instagram DM
//!   while the customer's 24-hour window is open, else an SMS when the customer agreed to
//!   one when booking and Twilio is configured, else a line in the console's "remind by
//!   hand" list — and sends it once (see the invariants there).
//! - [`ReminderTexts`] renders `prompts/reminders.toml`.

mod calendar;
mod sender;
mod text;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use inkdesk_calendar::{Booking, BookingStatus, Calendar};
use inkdesk_domain::{Clock, ConversationId, EventId};
use inkdesk_store::{Schedule, StoreError};
use serde::{Deserialize, Serialize};

pub use calendar::RemindingCalendar;
pub use sender::{
    Channel, ReminderConfig, ReminderObserver, ReminderOutcome, ReminderPorts, ReminderProgress,
    ReminderSender, ReminderStep, Settled,
};
pub use text::{ReminderKind, ReminderTextError, ReminderTexts};

/// The `kind` of a reminder job's payload (see [`crate::jobs`]).
pub const JOB_KIND: &str = "reminder";

/// The job key of a booking's reminder.
pub fn job_key(booking: &EventId) -> String {
    format!("reminder:{}", booking.as_str())
}

/// What a reminder job carries: the booking as it was when the job was scheduled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderJob {
    /// The booking.
    pub booking: EventId,
    /// Its conversation.
    pub conversation: ConversationId,
    /// Its start when the reminder was scheduled (a booking found elsewhere at fire time
    /// was moved without its reminder: the reminder is moved, not sent).
    pub start: DateTime<Utc>,
}

impl ReminderJob {
    /// The job's payload (with its `kind`).
    pub fn to_value(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(object) = value.as_object_mut() {
            object.insert("kind".to_owned(), JOB_KIND.into());
        }
        value
    }

    /// Reads a payload.
    pub fn from_value(value: &serde_json::Value) -> Option<Self> {
        serde_json::from_value(value.clone()).ok()
    }
}

/// Why a [`ReminderPlanner::sweep`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The calendar could not be read.
    #[error(transparent)]
    Calendar(#[from] inkdesk_calendar::CalendarError),
    /// The schedule could not be written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether a booking is one to remind: confirmed (not waiting for its deposit, completed,
/// a no-show or cancelled).
pub fn is_confirmed(booking: &Booking) -> bool {
    booking.status == BookingStatus::Confirmed
}

/// Whether the customer agreed, when booking, to be reminded by SMS.
pub fn sms_consent(booking: &Booking) -> bool {
    booking.sms_consent
}

/// Keeps each confirmed booking's reminder job where it belongs.
#[derive(Clone)]
pub struct ReminderPlanner {
    schedule: Arc<dyn Schedule>,
    clock: Arc<dyn Clock>,
    hours: u32,
}

impl std::fmt::Debug for ReminderPlanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReminderPlanner")
            .field("hours", &self.hours)
            .finish_non_exhaustive()
    }
}

impl ReminderPlanner {
    /// Reminders `hours` before each appointment (`0`: none).
    pub fn new(schedule: Arc<dyn Schedule>, clock: Arc<dyn Clock>, hours: u32) -> Self {
        Self {
            schedule,
            clock,
            hours,
        }
    }

    /// When the reminder of an appointment starting at `start` is due.
    pub fn due(&self, start: DateTime<Utc>) -> DateTime<Utc> {
        start - chrono::Duration::hours(i64::from(self.hours))
    }

    /// Whether reminders are on.
    pub fn enabled(&self) -> bool {
        self.hours > 0
    }

    /// A booking was confirmed: schedules its reminder (a second call changes nothing).
    /// A booking made less than `reminder_hours` ahead gets none: the customer has just
    /// been told the time. Returns whether a job was stored.
    pub async fn confirmed(&self, booking: &Booking) -> Result<bool, StoreError> {
        if !self.enabled() || !is_confirmed(booking) {
            return Ok(false);
        }
        let due = self.due(booking.start);
        if due <= self.clock.now() {
            return Ok(false);
        }
        let job = ReminderJob {
            booking: booking.id.clone(),
            conversation: booking.conversation.clone(),
            start: booking.start,
        };
        self.schedule
            .schedule_job(&job_key(&booking.id), due, job.to_value())
            .await
    }

    /// A booking moved: its reminder (sent or not) is replaced by one for the new time.
    /// A move to where the booking already is (a repeated request) keeps the job as it
    /// is, so a reminder already sent is not sent again.
    pub async fn moved(&self, booking: &Booking) -> Result<bool, StoreError> {
        let key = job_key(&booking.id);
        if let Some(job) = self.schedule.job(&key).await?
            && ReminderJob::from_value(&job.payload).is_some_and(|j| j.start == booking.start)
        {
            return Ok(false);
        }
        self.schedule.cancel_job(&key).await?;
        self.confirmed(booking).await
    }

    /// Schedules the reminders missing among `calendar`'s next `limit` bookings: those made
    /// where the calendar was changed without this planner (the command line, a process
    /// that died between the change and the job). Only adds: a booking with a job in any
    /// state — waiting, sent, settled — keeps it. Returns how many were added.
    pub async fn sweep(&self, calendar: &dyn Calendar, limit: usize) -> Result<usize, SweepError> {
        if !self.enabled() {
            return Ok(0);
        }
        let now = self.clock.now();
        let mut added = 0;
        for booking in calendar.list_upcoming(now, limit).await? {
            if self.confirmed(&booking).await? {
                added += 1;
            }
        }
        if added > 0 {
            tracing::info!(added, "reminders scheduled for bookings made elsewhere");
        }
        Ok(added)
    }

    /// A booking was cancelled (or is no longer confirmed): its reminder goes.
    pub async fn cancelled(&self, booking: &EventId) -> Result<(), StoreError> {
        self.schedule
            .cancel_job(&job_key(booking))
            .await
            .map(|_| ())
    }
}
