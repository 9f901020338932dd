//! Google Calendar API v3 JSON, private to the adapter
//! (<https://developers.google.com/workspace/calendar/api/v3/reference/events>).

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

/// `events.list` response.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct EventList {
    #[serde(default)]
    pub items: Vec<Event>,
    pub next_page_token: Option<String>,
}

/// An event resource as Google returns it (the fields we read).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Event {
    pub id: Option<String>,
    /// The version of the event; sent back as `If-Match` to change it only if unchanged.
    #[serde(default)]
    pub etag: Option<String>,
    pub status: Option<String>,
    pub start: Option<EventTime>,
    pub end: Option<EventTime>,
    pub transparency: Option<String>,
    pub extended_properties: Option<ExtendedProperties>,
}

/// `start` / `end`: `dateTime` for timed events, `date` for all-day ones.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct EventTime {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_time: Option<DateTime<FixedOffset>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// Key/values kept on the event; we use `private` only.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct ExtendedProperties {
    #[serde(default)]
    pub private: BTreeMap<String, String>,
}

/// The body of `events.insert`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct NewEvent {
    pub id: String,
    pub summary: String,
    pub description: String,
    pub start: EventTime,
    pub end: EventTime,
    pub reminders: Reminders,
    pub extended_properties: ExtendedProperties,
    /// `confirmed`, or `tentative` while a deposit is awaited.
    pub status: &'static str,
    /// The event palette's colour of the booking's status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color_id: Option<&'static str>,
}

/// The body of `events.patch` when a booking moves.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct MovedEvent {
    pub description: String,
    pub start: EventTime,
    pub end: EventTime,
    pub extended_properties: ExtendedProperties,
}

/// The studio's own reminder instead of the calendar's default.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Reminders {
    pub use_default: bool,
    pub overrides: Vec<ReminderOverride>,
}

#[derive(Debug, Serialize)]
pub(super) struct ReminderOverride {
    pub method: &'static str,
    pub minutes: u32,
}

/// Google's error body: `{"error": {"code", "message", "errors": [{"reason"}]}}`.
#[derive(Debug, Deserialize)]
pub(super) struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
pub(super) struct ErrorDetail {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub errors: Vec<ErrorItem>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ErrorItem {
    #[serde(default)]
    pub reason: String,
}
