//! [`RemindingCalendar`]: the calendar, keeping each booking's reminder job in step.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use inkdesk_calendar::StatusChange;
use inkdesk_calendar::port::StoredClosure;
use inkdesk_calendar::{
    Booking, BusyInterval, Calendar, CalendarError, ForgottenBooking, Interval, NewBooking,
};
use inkdesk_domain::{AppointmentDuration, Closure, ConversationId, EventId};

use super::ReminderPlanner;

/// A [`Calendar`] that schedules, moves and removes reminder jobs as bookings are made,
/// moved and cancelled, whoever makes the change (the assistant, the console, the
/// command line).
///
/// The calendar change comes first and the job second: a process that dies between the
/// two leaves a booking without its reminder until the change is repeated (a resumed turn
/// repeats its keyed `create`, which finds the booking and schedules again; scheduling is
/// idempotent by key). A job that fails to store is logged, never turned into a failed
/// booking: the appointment is what the customer asked for.
#[derive(Clone)]
pub struct RemindingCalendar {
    inner: Arc<dyn Calendar>,
    planner: ReminderPlanner,
}

impl RemindingCalendar {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Calendar>, planner: ReminderPlanner) -> Self {
        Self { inner, planner }
    }

    /// The planner (the status change of a booking calls it too).
    pub fn planner(&self) -> &ReminderPlanner {
        &self.planner
    }
}

fn warn(result: Result<impl Sized, inkdesk_store::StoreError>, booking: &EventId, what: &str) {
    if let Err(error) = result {
        tracing::error!(booking = %booking.as_str(), %error, what, "reminder job not updated");
    }
}

#[async_trait]
impl Calendar for RemindingCalendar {
    async fn busy(&self, range: Interval) -> Result<Vec<BusyInterval>, CalendarError> {
        self.inner.busy(range).await
    }

    async fn create(&self, booking: NewBooking) -> Result<Booking, CalendarError> {
        let made = self.inner.create(booking).await?;
        warn(self.planner.confirmed(&made).await, &made.id, "schedule");
        Ok(made)
    }

    async fn get(&self, id: &EventId) -> Result<Booking, CalendarError> {
        self.inner.get(id).await
    }

    async fn reschedule(
        &self,
        id: &EventId,
        start: DateTime<Utc>,
        duration: Option<AppointmentDuration>,
    ) -> Result<Booking, CalendarError> {
        let moved = self.inner.reschedule(id, start, duration).await?;
        warn(self.planner.moved(&moved).await, &moved.id, "move");
        Ok(moved)
    }

    async fn cancel(&self, id: &EventId) -> Result<(), CalendarError> {
        let result = self.inner.cancel(id).await;
        // A second cancel (`Gone`) still makes sure the job is gone.
        if matches!(result, Ok(()) | Err(CalendarError::Gone(_))) {
            warn(self.planner.cancelled(id).await, id, "cancel");
        }
        result
    }

    async fn set_status(
        &self,
        id: &EventId,
        change: StatusChange,
    ) -> Result<Booking, CalendarError> {
        let changed = self.inner.set_status(id, change).await?;
        // Confirmed (the deposit came in): remind; anything else: no reminder.
        if super::is_confirmed(&changed) {
            warn(self.planner.confirmed(&changed).await, id, "schedule");
        } else {
            warn(self.planner.cancelled(id).await, id, "cancel");
        }
        Ok(changed)
    }

    async fn bookings_between(&self, range: Interval) -> Result<Vec<Booking>, CalendarError> {
        self.inner.bookings_between(range).await
    }

    async fn bookings_of(
        &self,
        conversation: &ConversationId,
    ) -> Result<Vec<Booking>, CalendarError> {
        self.inner.bookings_of(conversation).await
    }

    async fn upcoming_for(
        &self,
        conversation: &ConversationId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Booking>, CalendarError> {
        self.inner.upcoming_for(conversation, now).await
    }

    async fn list_upcoming(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Booking>, CalendarError> {
        self.inner.list_upcoming(now, limit).await
    }

    async fn forget_customer(
        &self,
        conversation: &ConversationId,
    ) -> Result<Vec<ForgottenBooking>, CalendarError> {
        let forgotten = self.inner.forget_customer(conversation).await?;
        for entry in &forgotten {
            warn(self.planner.cancelled(&entry.id).await, &entry.id, "forget");
        }
        Ok(forgotten)
    }

    async fn add_closure(&self, closure: Closure) -> Result<StoredClosure, CalendarError> {
        self.inner.add_closure(closure).await
    }

    async fn remove_closure(&self, id: &EventId) -> Result<(), CalendarError> {
        self.inner.remove_closure(id).await
    }

    async fn closures(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<StoredClosure>, CalendarError> {
        self.inner.closures(from, to).await
    }
}
