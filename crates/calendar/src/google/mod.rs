//! The Google Calendar API v3 adapter.
//!
//! - Reads: `events.list` with `singleEvents=true&orderBy=startTime`, every page followed.
//!   Cancelled events are skipped; `{"date"}` events become all-day closures;
//!   `transparency: "transparent"` events are marked transparent.
//! - Writes: `events.insert` with our own base32hex id — derived from the booking's
//!   idempotency key when it has one — so a retried insert that had in fact succeeded, or
//!   a repeated booking of the same key, answers 409 and the event there (read back, and
//!   ours) is the answer; the studio's popup reminder, no attendees; `events.patch` to
//!   move; `events.delete` to cancel.
//! - Ownership: the booking's fields, including the owning conversation, live in
//!   `extendedProperties.private` (`inkdeskConversation`, ...); a conversation's bookings
//!   are found with `privateExtendedProperty=inkdeskConversation=<id>`. Events without
//!   them are somebody else's: they block time but are never a `Booking`.
//! - Artists: a booking's artist is the private property `inkdeskArtist` (bookings always go
//!   in the studio's calendar). An artist's own `google_calendar_id` is read for busy time
//!   only: every event there keeps that artist busy.
//! - Closures added at run time are all-day events with the private properties
//!   `inkdeskClosure=1`, `inkdeskArtist` (when one artist is away) and `inkdeskReason`,
//!   found with `privateExtendedProperty=inkdeskClosure=1`.
//! - Writes from this process are serialised (re-read, check, write under one lock).
//!   Google has no transactions, so two *processes* can still race between re-read and
//!   insert; the caller keeps replicas apart by taking the store's atomic slot hold over
//!   the appointment before it books (the assistant does).

mod auth;
mod http;
mod wire;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, Utc};
use inkdesk_domain::{
    AppointmentDuration, ArtistKey, Clock, Closure, ConversationId, CustomerName, EventId,
    FreeText, PhoneNumber, Price, StudioProfile,
};
use reqwest::{Method, StatusCode};
use tokio::sync::Mutex;
use url::Url;

pub use auth::{CALENDAR_SCOPE, Credentials, CredentialsError, DEFAULT_TOKEN_URI};

use crate::event_text::{event_description, event_title};
use crate::interval::{BusyInterval, Interval};
use crate::lifecycle::{BookingStatus, CancelledBy, StatusChange};
use crate::port::{
    Booking, Calendar, CalendarError, ForgottenBooking, NewBooking, StoredClosure, check_bookable,
    recheck_window, same_request, slot_taken,
};
use auth::TokenSource;
use wire::{Event, EventList, EventTime, ExtendedProperties, MovedEvent, NewEvent};

/// The Calendar API's base URL.
pub const DEFAULT_API_BASE: &str = "https://www.googleapis.com/calendar/v3/";

/// Private extended property holding the owning conversation.
pub const OWNER_PROPERTY: &str = "inkdeskConversation";
const CUSTOMER_PROPERTY: &str = "inkdeskCustomer";
const PHONE_PROPERTY: &str = "inkdeskPhone";
const DESIGN_PROPERTY: &str = "inkdeskDesign";
const PRICE_PROPERTY: &str = "inkdeskPrice";
const DURATION_PROPERTY: &str = "inkdeskDurationMinutes";
/// Private extended property naming a booking's (or a closure's) artist.
pub const ARTIST_PROPERTY: &str = "inkdeskArtist";
/// Private extended property marking a closure (`"1"`).
pub const CLOSURE_PROPERTY: &str = "inkdeskClosure";
const REASON_PROPERTY: &str = "inkdeskReason";
/// Private extended property holding a booking's status code ([`BookingStatus::code`]).
pub const STATUS_PROPERTY: &str = "inkdeskStatus";
const HOLD_PROPERTY: &str = "inkdeskHoldUntil";
const DEPOSIT_PROPERTY: &str = "inkdeskDeposit";
const SMS_CONSENT_PROPERTY: &str = "inkdeskSmsConsent";

/// The event's `status` for a booking's: Google's `tentative` while the deposit is awaited.
fn event_status(status: BookingStatus) -> &'static str {
    match status {
        BookingStatus::PendingDeposit { .. } => "tentative",
        BookingStatus::Cancelled { .. } => "cancelled",
        _ => "confirmed",
    }
}

/// The event's `colorId` (Google's event palette) for a booking's status, so the studio
/// sees it at a glance: banana while pending, basil confirmed, graphite completed, tomato
/// for a no-show.
fn event_colour(status: BookingStatus) -> Option<&'static str> {
    match status {
        BookingStatus::PendingDeposit { .. } => Some("5"),
        BookingStatus::Confirmed => Some("10"),
        BookingStatus::Completed => Some("8"),
        BookingStatus::NoShow => Some("11"),
        BookingStatus::Cancelled { .. } => None,
    }
}

/// How often a status change overtaken by another writer reads and judges again.
const STATUS_ATTEMPTS: usize = 8;

/// Most pages read by one listing (250 events a page).
const MAX_PAGES: usize = 200;

/// How failed calls are retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: usize,
    /// First backoff delay.
    pub min_delay: Duration,
    /// Longest backoff delay.
    pub max_delay: Duration,
    /// Longest `Retry-After` honoured; a customer is waiting.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            min_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(4),
            max_retry_after: Duration::from_secs(20),
        }
    }
}

/// Where and how to reach the calendar.
#[derive(Debug, Clone)]
pub struct GoogleConfig {
    /// The calendar's id (`primary`, or `...@group.calendar.google.com`).
    pub calendar_id: String,
    /// API base URL ending in `/` (a wiremock server in tests).
    pub api_base: Url,
    /// Timeout of one request.
    pub request_timeout: Duration,
    /// Retries.
    pub retry: RetryPolicy,
}

impl GoogleConfig {
    /// Google's endpoints with default timeout and retries.
    pub fn new(calendar_id: impl Into<String>) -> Self {
        Self {
            calendar_id: calendar_id.into(),
            api_base: Url::parse(DEFAULT_API_BASE).unwrap_or_else(|_| unreachable_base()),
            request_timeout: Duration::from_secs(15),
            retry: RetryPolicy::default(),
        }
    }

    /// The same config against another API base (a trailing `/` is added when missing).
    #[must_use]
    pub fn with_api_base(mut self, mut base: Url) -> Self {
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        self.api_base = base;
        self
    }
}

// The default base is a constant that parses; this keeps the constructor panic-free.
fn unreachable_base() -> Url {
    Url::parse("https://www.googleapis.com/").unwrap_or_else(|_| unreachable_base())
}

/// Bookings in a Google calendar.
pub struct GoogleCalendar {
    http: reqwest::Client,
    config: GoogleConfig,
    auth: TokenSource,
    profile: Arc<StudioProfile>,
    clock: Arc<dyn Clock>,
    write: Mutex<()>,
}

impl std::fmt::Debug for GoogleCalendar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleCalendar")
            .field("calendar_id", &self.config.calendar_id)
            .field("api_base", &self.config.api_base.as_str())
            .finish_non_exhaustive()
    }
}

impl GoogleCalendar {
    /// An adapter for `config.calendar_id`, authenticating with `credentials`.
    pub fn new(
        config: GoogleConfig,
        credentials: Credentials,
        profile: Arc<StudioProfile>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, CalendarError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(config.request_timeout)
            .build()
            .map_err(CalendarError::unavailable)?;
        Ok(Self {
            auth: TokenSource::new(
                http.clone(),
                config.request_timeout,
                credentials,
                Arc::clone(&clock),
            ),
            http,
            config,
            profile,
            clock,
            write: Mutex::new(()),
        })
    }

    fn events_url(&self, event: Option<&EventId>) -> Result<Url, CalendarError> {
        self.events_url_of(&self.config.calendar_id, event)
    }

    fn events_url_of(
        &self,
        calendar_id: &str,
        event: Option<&EventId>,
    ) -> Result<Url, CalendarError> {
        let mut url = self.config.api_base.clone();
        {
            let mut segments = url.path_segments_mut().map_err(|()| {
                CalendarError::Unavailable("API base URL cannot take a path".into())
            })?;
            segments
                .pop_if_empty()
                .push("calendars")
                .push(calendar_id)
                .push("events");
            if let Some(id) = event {
                segments.push(id.as_str());
            }
        }
        Ok(url)
    }

    /// Follows `nextPageToken` and keeps the events `keep` accepts, stopping at `want`.
    async fn list(
        &self,
        params: &[(&str, String)],
        want: usize,
        keep: impl Fn(&Event) -> bool + Send + Sync,
    ) -> Result<Vec<Event>, CalendarError> {
        self.list_in(&self.config.calendar_id, params, want, keep)
            .await
    }

    /// [`Self::list`] in the calendar `calendar_id`.
    async fn list_in(
        &self,
        calendar_id: &str,
        params: &[(&str, String)],
        want: usize,
        keep: impl Fn(&Event) -> bool + Send + Sync,
    ) -> Result<Vec<Event>, CalendarError> {
        let mut kept = Vec::new();
        let mut page_token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url = self.events_url_of(calendar_id, None)?;
            {
                let mut query = url.query_pairs_mut();
                query
                    .append_pair("singleEvents", "true")
                    .append_pair("orderBy", "startTime")
                    .append_pair("maxResults", "250");
                for (key, value) in params {
                    query.append_pair(key, value);
                }
                if let Some(token) = &page_token {
                    query.append_pair("pageToken", token);
                }
            }
            let reply = self.send(Method::GET, url, None).await?;
            if reply.status != StatusCode::OK {
                return Err(CalendarError::Unavailable(
                    format!("listing events answered HTTP {}", reply.status).into(),
                ));
            }
            let page: EventList =
                serde_json::from_slice(&reply.body).map_err(CalendarError::unavailable)?;
            for event in page.items {
                if is_live(&event) && keep(&event) {
                    kept.push(event);
                    if kept.len() >= want {
                        return Ok(kept);
                    }
                }
            }
            match page.next_page_token {
                Some(token) => page_token = Some(token),
                None => return Ok(kept),
            }
        }
        tracing::warn!(pages = MAX_PAGES, "stopped following event pages");
        Ok(kept)
    }

    async fn fetch(&self, id: &EventId) -> Result<Booking, CalendarError> {
        self.fetch_versioned(id).await.map(|(booking, _)| booking)
    }

    /// The booking and its event's etag.
    async fn fetch_versioned(
        &self,
        id: &EventId,
    ) -> Result<(Booking, Option<String>), CalendarError> {
        let reply = self
            .send(Method::GET, self.events_url(Some(id))?, None)
            .await?;
        match reply.status {
            StatusCode::NOT_FOUND => Err(CalendarError::NotFound(id.clone())),
            StatusCode::GONE => Err(CalendarError::Gone(id.clone())),
            status if status.is_success() => {
                let event: Event =
                    serde_json::from_slice(&reply.body).map_err(CalendarError::unavailable)?;
                if !is_live(&event) {
                    return Err(CalendarError::Gone(id.clone()));
                }
                let booking = to_booking(&event, &self.profile)
                    .ok_or_else(|| CalendarError::NotFound(id.clone()))?;
                Ok((booking, event.etag))
            }
            status => Err(CalendarError::Unavailable(
                format!("reading event answered HTTP {status}").into(),
            )),
        }
    }

    fn event_time(&self, at: DateTime<Utc>) -> EventTime {
        EventTime {
            date_time: Some(at.with_timezone(&self.profile.time_zone).fixed_offset()),
            date: None,
            time_zone: Some(self.profile.time_zone.name().to_owned()),
        }
    }

    fn properties(booking: &Booking) -> ExtendedProperties {
        let mut private = BTreeMap::new();
        private.insert(OWNER_PROPERTY.to_owned(), booking.conversation.to_string());
        private.insert(CUSTOMER_PROPERTY.to_owned(), booking.customer.to_string());
        private.insert(PHONE_PROPERTY.to_owned(), booking.phone.e164().to_owned());
        if let Some(design) = &booking.design {
            private.insert(DESIGN_PROPERTY.to_owned(), design.to_string());
        }
        if let Some(price) = &booking.price {
            private.insert(PRICE_PROPERTY.to_owned(), price.amount().to_string());
        }
        private.insert(
            DURATION_PROPERTY.to_owned(),
            booking.duration.minutes().to_string(),
        );
        if let Some(artist) = &booking.artist {
            private.insert(ARTIST_PROPERTY.to_owned(), artist.to_string());
        }
        private.insert(STATUS_PROPERTY.to_owned(), booking.status.code().to_owned());
        if let Some(hold) = booking.status.hold_until() {
            private.insert(HOLD_PROPERTY.to_owned(), rfc3339(hold));
        }
        if let Some(deposit) = &booking.deposit {
            private.insert(DEPOSIT_PROPERTY.to_owned(), deposit.amount().to_string());
        }
        private.insert(
            SMS_CONSENT_PROPERTY.to_owned(),
            if booking.sms_consent { "1" } else { "0" }.to_owned(),
        );
        ExtendedProperties { private }
    }

    /// The `events.insert` body of a closure: all day from `from` to the day after `to`.
    fn closure_event(&self, closure: &StoredClosure) -> serde_json::Value {
        let mut private = BTreeMap::new();
        private.insert(CLOSURE_PROPERTY.to_owned(), "1".to_owned());
        if let Some(artist) = &closure.closure.artist {
            private.insert(ARTIST_PROPERTY.to_owned(), artist.to_string());
        }
        if let Some(reason) = &closure.closure.reason {
            private.insert(REASON_PROPERTY.to_owned(), reason.clone());
        }
        let end = closure.closure.to.succ_opt().unwrap_or(NaiveDate::MAX);
        let summary = match (&closure.closure.artist, &closure.closure.reason) {
            (Some(artist), Some(reason)) => format!("{artist}: {reason}"),
            (Some(artist), None) => format!("{artist}: away"),
            (None, Some(reason)) => reason.clone(),
            (None, None) => "Closed".to_owned(),
        };
        serde_json::json!({
            "id": closure.id.as_str(),
            "summary": summary,
            "start": {"date": closure.closure.from.to_string()},
            "end": {"date": end.to_string()},
            "transparency": "opaque",
            "extendedProperties": {"private": private},
        })
    }

    /// Busy time of the artists' own calendars over `range`, each entry the artist's.
    async fn artists_busy(&self, range: Interval) -> Result<Vec<BusyInterval>, CalendarError> {
        let mut busy = Vec::new();
        for artist in &self.profile.artists {
            let Some(calendar_id) = &artist.google_calendar_id else {
                continue;
            };
            let params = [
                ("timeMin", rfc3339(range.start)),
                ("timeMax", rfc3339(range.end)),
            ];
            let events = self
                .list_in(calendar_id, &params, usize::MAX, |_| true)
                .await?;
            busy.extend(
                events
                    .iter()
                    .filter_map(to_busy)
                    .map(|b| b.with_artist(Some(artist.key.clone()))),
            );
        }
        Ok(busy)
    }

    fn description(&self, booking: &Booking) -> String {
        event_description(
            booking,
            self.profile.language,
            &self.profile.currency_symbol,
        )
    }

    fn new_event(&self, booking: &Booking) -> NewEvent {
        NewEvent {
            id: booking.id.to_string(),
            summary: event_title(booking, self.profile.language),
            description: self.description(booking),
            start: self.event_time(booking.start),
            end: self.event_time(booking.end),
            reminders: wire::Reminders {
                use_default: false,
                overrides: vec![wire::ReminderOverride {
                    method: "popup",
                    minutes: self.profile.booking.reminder_minutes,
                }],
            },
            extended_properties: Self::properties(booking),
            status: event_status(booking.status),
            color_id: event_colour(booking.status),
        }
    }
}

/// Not deleted, and not a booking whose cancellation was recorded (the properties are
/// written just before the delete; an interrupted cancel still counts as one).
fn is_live(event: &Event) -> bool {
    event.status.as_deref() != Some("cancelled")
        && !event
            .extended_properties
            .as_ref()
            .and_then(|p| p.private.get(STATUS_PROPERTY))
            .is_some_and(|code| code.starts_with("cancelled"))
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn to_busy(event: &Event) -> Option<BusyInterval> {
    let (start, end) = (event.start.as_ref()?, event.end.as_ref()?);
    let entry = match (start.date_time, end.date_time, start.date, end.date) {
        (Some(s), Some(e), _, _) => {
            BusyInterval::timed(s.with_timezone(&Utc), e.with_timezone(&Utc))
        }
        (_, _, Some(first), Some(last)) => BusyInterval::all_day(first, last),
        _ => return None,
    };
    let entry = entry
        .with_transparent(event.transparency.as_deref() == Some("transparent"))
        .with_artist(artist_of(event));
    Some(match event.id.as_deref().map(EventId::parse) {
        Some(Ok(id)) => entry.with_event(id),
        _ => entry,
    })
}

fn artist_of(event: &Event) -> Option<ArtistKey> {
    let props = &event.extended_properties.as_ref()?.private;
    ArtistKey::parse(props.get(ARTIST_PROPERTY)?).ok()
}

/// The closure an event holds, when inkdesk made it as one.
fn to_closure(event: &Event) -> Option<StoredClosure> {
    let props = &event.extended_properties.as_ref()?.private;
    if props.get(CLOSURE_PROPERTY).map(String::as_str) != Some("1") {
        return None;
    }
    let from = event.start.as_ref()?.date?;
    let end = event.end.as_ref()?.date?;
    Some(StoredClosure {
        id: EventId::parse(event.id.as_deref()?).ok()?,
        closure: Closure {
            from,
            to: end.pred_opt().filter(|d| *d >= from).unwrap_or(from),
            artist: artist_of(event),
            reason: props.get(REASON_PROPERTY).cloned(),
        },
    })
}

/// The booking an event holds, when inkdesk made it (all our properties are present).
fn to_booking(event: &Event, profile: &StudioProfile) -> Option<Booking> {
    let props = &event.extended_properties.as_ref()?.private;
    let get = |key: &str| props.get(key).map(String::as_str);
    let start = event.start.as_ref()?.date_time?.with_timezone(&Utc);
    let minutes: i64 = get(DURATION_PROPERTY)?.parse().ok()?;
    let duration = AppointmentDuration::from_minutes(minutes, u32::MAX).ok()?;
    Some(Booking {
        id: EventId::parse(event.id.as_deref()?).ok()?,
        conversation: ConversationId::parse(get(OWNER_PROPERTY)?).ok()?,
        customer: CustomerName::parse(get(CUSTOMER_PROPERTY)?).ok()?,
        phone: PhoneNumber::parse(get(PHONE_PROPERTY)?, profile.phone_region).ok()?,
        design: get(DESIGN_PROPERTY).and_then(|d| FreeText::parse(d).ok()),
        price: get(PRICE_PROPERTY)
            .and_then(|p| p.parse::<rust_decimal::Decimal>().ok())
            .and_then(|p| Price::new(p, rust_decimal::Decimal::MAX).ok()),
        start,
        end: start + duration.as_chrono(),
        duration,
        artist: artist_of(event),
        status: BookingStatus::from_code(
            get(STATUS_PROPERTY),
            get(HOLD_PROPERTY)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc)),
        )?,
        deposit: get(DEPOSIT_PROPERTY)
            .and_then(|p| p.parse::<rust_decimal::Decimal>().ok())
            .and_then(|p| Price::new(p, rust_decimal::Decimal::MAX).ok()),
        sms_consent: get(SMS_CONSENT_PROPERTY) == Some("1"),
    })
}

#[async_trait]
impl Calendar for GoogleCalendar {
    async fn busy(&self, range: Interval) -> Result<Vec<BusyInterval>, CalendarError> {
        let params = [
            ("timeMin", rfc3339(range.start)),
            ("timeMax", rfc3339(range.end)),
        ];
        let events = self.list(&params, usize::MAX, |_| true).await?;
        let mut busy: Vec<BusyInterval> = events.iter().filter_map(to_busy).collect();
        busy.extend(self.artists_busy(range).await?);
        Ok(busy)
    }

    async fn create(&self, new: NewBooking) -> Result<Booking, CalendarError> {
        let now = self.clock.now();
        let (start, duration) = (new.start, new.duration);
        let keyed = new.idempotency_key.is_some();
        let mut booking = Booking::from_new(new.event_id()?, new);
        if keyed {
            // The same key booked before (a retried or resumed request): that is the answer.
            match self.fetch(&booking.id).await {
                Ok(existing) => return same_request(existing, &booking),
                Err(CalendarError::NotFound(_)) => {}
                Err(other) => return Err(other),
            }
        }
        self.profile
            .check_appointment_for(booking.artist.as_ref(), start, duration, now)?;
        let guard = self.write.lock().await;
        let busy = self
            .busy(recheck_window(&self.profile, start, duration))
            .await?;
        // The booking's own event (another attempt of the same key that just landed) does
        // not make its slot taken: the insert below answers 409 and finds it.
        let Some(artist) = check_bookable(
            &self.profile,
            &busy,
            start,
            duration,
            booking.artist.as_ref(),
            Some(&booking.id),
            now,
        )?
        else {
            drop(guard);
            return Err(slot_taken(
                self,
                &self.profile,
                start,
                duration,
                booking.artist.as_ref(),
                now,
            )
            .await);
        };
        booking.artist = artist;
        let body =
            serde_json::to_value(self.new_event(&booking)).map_err(CalendarError::unavailable)?;
        let reply = self
            .send(Method::POST, self.events_url(None)?, Some(body))
            .await?;
        match reply.status {
            status if status.is_success() => {
                tracing::info!(booking = %booking.id, "booking created in Google Calendar");
                Ok(booking)
            }
            // 409: the id exists — an earlier attempt of this insert (a retry after a lost
            // answer, or the same key) went through. What is there is the answer, when it
            // is this conversation's booking; a deleted event keeps its id (`Gone`).
            StatusCode::CONFLICT => match self.fetch(&booking.id).await {
                Ok(existing) => {
                    tracing::info!(booking = %existing.id, "booking already in Google Calendar");
                    same_request(existing, &booking)
                }
                Err(CalendarError::NotFound(_)) => Err(CalendarError::Unavailable(
                    format!(
                        "event id {} is taken by an event inkdesk did not make",
                        booking.id
                    )
                    .into(),
                )),
                Err(other) => Err(other),
            },
            status => Err(CalendarError::Unavailable(
                format!("inserting the event answered HTTP {status}").into(),
            )),
        }
    }

    async fn get(&self, id: &EventId) -> Result<Booking, CalendarError> {
        self.fetch(id).await
    }

    async fn reschedule(
        &self,
        id: &EventId,
        start: DateTime<Utc>,
        duration: Option<AppointmentDuration>,
    ) -> Result<Booking, CalendarError> {
        let now = self.clock.now();
        let guard = self.write.lock().await;
        let current = self.fetch(id).await?;
        let duration = duration.unwrap_or(current.duration);
        self.profile
            .check_appointment_for(current.artist.as_ref(), start, duration, now)?;
        let busy = self
            .busy(recheck_window(&self.profile, start, duration))
            .await?;
        // The booking keeps its artist; one made before the studio had artists gets the
        // first free one.
        let Some(artist) = check_bookable(
            &self.profile,
            &busy,
            start,
            duration,
            current.artist.as_ref(),
            Some(id),
            now,
        )?
        else {
            drop(guard);
            return Err(slot_taken(
                self,
                &self.profile,
                start,
                duration,
                current.artist.as_ref(),
                now,
            )
            .await);
        };
        let moved = Booking {
            start,
            end: start + duration.as_chrono(),
            duration,
            artist,
            ..current
        };
        let body = MovedEvent {
            description: self.description(&moved),
            start: self.event_time(moved.start),
            end: self.event_time(moved.end),
            extended_properties: Self::properties(&moved),
        };
        let body = serde_json::to_value(body).map_err(CalendarError::unavailable)?;
        let reply = self
            .send(Method::PATCH, self.events_url(Some(id))?, Some(body))
            .await?;
        match reply.status {
            StatusCode::NOT_FOUND => Err(CalendarError::NotFound(id.clone())),
            StatusCode::GONE => Err(CalendarError::Gone(id.clone())),
            status if status.is_success() => Ok(moved),
            status => Err(CalendarError::Unavailable(
                format!("moving the event answered HTTP {status}").into(),
            )),
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
        let _guard = self.write.lock().await;
        // Compare and set across processes: the PATCH carries the etag read, and an event
        // changed meanwhile (another replica's status change) answers 412 — read again and
        // judge again, so of two racing changes one wins and the other is refused.
        for _ in 0..STATUS_ATTEMPTS {
            // Only inkdesk's own bookings can be changed through the port.
            let (current, etag) = self.fetch_versioned(id).await?;
            let status = current.status.apply(change, current.start, now)?;
            let changed = Booking { status, ..current };
            // The status goes in the properties first (a cancel too, so who cancelled is
            // kept with the deleted event), then a cancel deletes the event.
            let mut body = serde_json::json!({
                "extendedProperties": Self::properties(&changed),
            });
            if !status.is_cancelled() {
                body["status"] = serde_json::json!(event_status(status));
                body["colorId"] = serde_json::json!(event_colour(status));
            }
            let reply = self
                .send_if_match(
                    Method::PATCH,
                    self.events_url(Some(id))?,
                    Some(body),
                    etag.as_deref(),
                )
                .await?;
            match reply.status {
                StatusCode::PRECONDITION_FAILED => continue,
                StatusCode::NOT_FOUND => return Err(CalendarError::NotFound(id.clone())),
                StatusCode::GONE => return Err(CalendarError::Gone(id.clone())),
                status if status.is_success() => {}
                status => {
                    return Err(CalendarError::Unavailable(
                        format!("changing the event's status answered HTTP {status}").into(),
                    ));
                }
            }
            if status.is_cancelled() {
                let reply = self
                    .send(Method::DELETE, self.events_url(Some(id))?, None)
                    .await?;
                match reply.status {
                    StatusCode::NOT_FOUND => return Err(CalendarError::NotFound(id.clone())),
                    // Deleted meanwhile: the recorded cancellation is ours.
                    StatusCode::GONE => {}
                    status if status.is_success() => {}
                    status => {
                        return Err(CalendarError::Unavailable(
                            format!("deleting the event answered HTTP {status}").into(),
                        ));
                    }
                }
            }
            tracing::info!(booking = %id, status = %changed.status, "booking status changed in Google Calendar");
            return Ok(changed);
        }
        Err(CalendarError::Unavailable(
            "the event kept changing while its status was changed".into(),
        ))
    }

    async fn bookings_between(&self, range: Interval) -> Result<Vec<Booking>, CalendarError> {
        let params = [
            ("timeMin", rfc3339(range.start)),
            ("timeMax", rfc3339(range.end)),
        ];
        let events = self.list(&params, usize::MAX, |_| true).await?;
        Ok(events
            .iter()
            .filter_map(|e| to_booking(e, &self.profile))
            .filter(|b| range.start <= b.start && b.start < range.end)
            .collect())
    }

    async fn bookings_of(
        &self,
        conversation: &ConversationId,
    ) -> Result<Vec<Booking>, CalendarError> {
        let params = [(
            "privateExtendedProperty",
            format!("{OWNER_PROPERTY}={conversation}"),
        )];
        let events = self.list(&params, usize::MAX, |_| true).await?;
        Ok(events
            .iter()
            .filter_map(|e| to_booking(e, &self.profile))
            .filter(|b| &b.conversation == conversation)
            .collect())
    }

    async fn upcoming_for(
        &self,
        conversation: &ConversationId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Booking>, CalendarError> {
        let params = [
            ("timeMin", rfc3339(now)),
            (
                "privateExtendedProperty",
                format!("{OWNER_PROPERTY}={conversation}"),
            ),
        ];
        let events = self.list(&params, usize::MAX, |_| true).await?;
        Ok(events
            .iter()
            .filter_map(|e| to_booking(e, &self.profile))
            .filter(|b| &b.conversation == conversation && b.start >= now)
            .collect())
    }

    async fn list_upcoming(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Booking>, CalendarError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let params = [("timeMin", rfc3339(now))];
        let profile = Arc::clone(&self.profile);
        let events = self
            .list(&params, limit, move |e| {
                to_booking(e, &profile).is_some_and(|b| b.start >= now)
            })
            .await?;
        Ok(events
            .iter()
            .filter_map(|e| to_booking(e, &self.profile))
            .collect())
    }
    async fn add_closure(&self, closure: Closure) -> Result<StoredClosure, CalendarError> {
        let id = EventId::parse(&uuid::Uuid::new_v4().simple().to_string())?;
        let stored = StoredClosure { id, closure };
        let body = self.closure_event(&stored);
        let reply = self
            .send(Method::POST, self.events_url(None)?, Some(body))
            .await?;
        if reply.status.is_success() {
            tracing::info!(closure = %stored.id, "closure added to Google Calendar");
            Ok(stored)
        } else {
            Err(CalendarError::Unavailable(
                format!("inserting the closure answered HTTP {}", reply.status).into(),
            ))
        }
    }

    async fn remove_closure(&self, id: &EventId) -> Result<(), CalendarError> {
        let _guard = self.write.lock().await;
        let reply = self
            .send(Method::GET, self.events_url(Some(id))?, None)
            .await?;
        match reply.status {
            StatusCode::NOT_FOUND | StatusCode::GONE => {
                return Err(CalendarError::NotFound(id.clone()));
            }
            status if status.is_success() => {
                let event: Event =
                    serde_json::from_slice(&reply.body).map_err(CalendarError::unavailable)?;
                // Only a closure inkdesk made can be removed this way.
                if !is_live(&event) || to_closure(&event).is_none() {
                    return Err(CalendarError::NotFound(id.clone()));
                }
            }
            status => {
                return Err(CalendarError::Unavailable(
                    format!("reading the closure answered HTTP {status}").into(),
                ));
            }
        }
        let reply = self
            .send(Method::DELETE, self.events_url(Some(id))?, None)
            .await?;
        match reply.status {
            StatusCode::NOT_FOUND | StatusCode::GONE => Err(CalendarError::NotFound(id.clone())),
            status if status.is_success() => Ok(()),
            status => Err(CalendarError::Unavailable(
                format!("deleting the closure answered HTTP {status}").into(),
            )),
        }
    }

    async fn closures(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<StoredClosure>, CalendarError> {
        // All-day events are read by instants: a day either side catches every zone.
        let day = |d: NaiveDate| d.and_time(NaiveTime::MIN).and_utc();
        let params = [
            ("timeMin", rfc3339(day(from) - chrono::Duration::days(1))),
            ("timeMax", rfc3339(day(to) + chrono::Duration::days(2))),
            ("privateExtendedProperty", format!("{CLOSURE_PROPERTY}=1")),
        ];
        let events = self.list(&params, usize::MAX, |_| true).await?;
        let mut closures: Vec<StoredClosure> = events
            .iter()
            .filter_map(to_closure)
            .filter(|c| c.closure.from <= to && c.closure.to >= from)
            .collect();
        closures.sort_by(|a, b| (a.closure.from, &a.id).cmp(&(b.closure.from, &b.id)));
        Ok(closures)
    }

    async fn forget_customer(
        &self,
        conversation: &ConversationId,
    ) -> Result<Vec<ForgottenBooking>, CalendarError> {
        let _guard = self.write.lock().await;
        // Every live event the conversation owns, past ones included (no timeMin).
        let params = [(
            "privateExtendedProperty",
            format!("{OWNER_PROPERTY}={conversation}"),
        )];
        let events = self.list(&params, usize::MAX, |_| true).await?;
        let mut forgotten = Vec::new();
        for event in &events {
            let Some(booking) = to_booking(event, &self.profile) else {
                continue;
            };
            if &booking.conversation != conversation {
                continue;
            }
            // Every personal property is written empty (whether Google merges or replaces
            // the map, none survives); length and price stay for the studio's books.
            let mut private = Self::properties(&booking).private;
            for key in [
                OWNER_PROPERTY,
                CUSTOMER_PROPERTY,
                PHONE_PROPERTY,
                DESIGN_PROPERTY,
            ] {
                private.insert(key.to_owned(), String::new());
            }
            let body = serde_json::json!({
                "summary": crate::event_text::forgotten_title(self.profile.language),
                "description": crate::event_text::forgotten_description(self.profile.language),
                "extendedProperties": {"private": private},
            });
            let reply = self
                .send(
                    Method::PATCH,
                    self.events_url(Some(&booking.id))?,
                    Some(body),
                )
                .await?;
            match reply.status {
                // Deleted meanwhile: nothing of it is left to forget.
                StatusCode::NOT_FOUND | StatusCode::GONE => continue,
                status if status.is_success() => forgotten.push(ForgottenBooking {
                    id: booking.id.clone(),
                    start: booking.start,
                    end: booking.end,
                }),
                status => {
                    return Err(CalendarError::Unavailable(
                        format!("clearing the event's personal data answered HTTP {status}").into(),
                    ));
                }
            }
        }
        forgotten.sort_by_key(|f| f.start);
        Ok(forgotten)
    }
}
