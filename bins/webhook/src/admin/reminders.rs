//! The console's "remind by hand" list: upcoming bookings whose reminder no channel could
//! send (outside Instagram's 24-hour window without SMS consent or Twilio, the assistant
//! paused, a refused send) or that may have gone out by SMS before its sender died, with
//! the customer's phone number, until a person marks them reminded.

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use chrono::{DateTime, Utc};
use inkdesk_assistant::reminders::{ReminderProgress, Settled, job_key};
use inkdesk_domain::EventId;
use minijinja::context;
use minijinja::value::Serde;
use serde::Serialize;
use serde_json::json;

use super::auth::{Bearer, Staff};
use super::pages::{CsrfForm, PageQuery, error_page, forbidden, render};
use super::{AdminState, csrf};
use crate::app::App;

/// How many upcoming bookings the list looks through.
const LOOKAHEAD: usize = 500;

/// How long a "reminded by hand" mark is kept (past any appointment it is about).
const MARK_TTL: Duration = Duration::from_secs(60 * 24 * 3600);

fn mark_key(booking: &EventId) -> String {
    format!("reminded-by-hand:{}", booking.as_str())
}

/// One reminder for a person to make.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ByHand {
    /// The booking.
    pub booking: String,
    /// Its conversation.
    pub conversation: String,
    /// The customer's name.
    pub customer: String,
    /// Their phone number (national form for the studio's region, E.164 otherwise).
    pub phone: String,
    /// The number in E.164 (for `tel:` links).
    pub phone_e164: String,
    /// The appointment's start.
    pub start: DateTime<Utc>,
    /// Why no channel sent it.
    pub reason: String,
    /// True when an SMS may have gone out (check before calling).
    pub maybe_sent: bool,
}

/// The reminders a person should make, earliest appointment first.
pub async fn by_hand(app: &App) -> Result<Vec<ByHand>, String> {
    let now = app.clock.now();
    let bookings = app
        .calendar
        .list_upcoming(now, LOOKAHEAD)
        .await
        .map_err(|e| e.to_string())?;
    let mut list = Vec::new();
    for booking in bookings {
        let job = app
            .stores
            .schedule
            .job(&job_key(&booking.id))
            .await
            .map_err(|e| e.to_string())?;
        let Some(job) = job else { continue };
        let progress = ReminderProgress::of(job.progress.as_ref());
        let (reason, maybe_sent) = match progress.settled {
            Some(Settled::ByHand { reason }) => (reason, false),
            Some(Settled::MaybeSent { .. }) => (
                "the SMS may have gone out (its sender stopped while Twilio had it)".to_owned(),
                true,
            ),
            _ => continue,
        };
        let marked = app
            .stores
            .keyed
            .get(&booking.conversation, &mark_key(&booking.id))
            .await
            .map_err(|e| e.to_string())?;
        if marked.is_some() {
            continue;
        }
        list.push(ByHand {
            booking: booking.id.as_str().to_owned(),
            conversation: booking.conversation.as_str().to_owned(),
            customer: booking.customer.as_str().to_owned(),
            phone: booking.phone.national().to_owned(),
            phone_e164: booking.phone.e164().to_owned(),
            start: booking.start,
            reason,
            maybe_sent,
        });
    }
    Ok(list)
}

/// Marks a booking's reminder as made by a person: it leaves the list.
pub async fn mark_done(app: &App, booking: &EventId) -> Result<(), (StatusCode, String)> {
    let found = app.calendar.get(booking).await.map_err(|e| match e {
        inkdesk_calendar::CalendarError::NotFound(_) | inkdesk_calendar::CalendarError::Gone(_) => {
            (StatusCode::NOT_FOUND, e.to_string())
        }
        other => (StatusCode::BAD_GATEWAY, other.to_string()),
    })?;
    app.stores
        .keyed
        .put(
            &found.conversation,
            &mark_key(booking),
            json!({"at": app.clock.now()}),
            MARK_TTL,
        )
        .await
        .map_err(|e| (StatusCode::SERVICE_UNAVAILABLE, e.to_string()))
}

/// `GET /admin/api/reminders`: `{"by_hand": [...]}`.
pub async fn api_list(_: Bearer, State(state): State<AdminState>) -> Response {
    match by_hand(&state.app).await {
        Ok(list) => Json(json!({"by_hand": list})).into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, Json(json!({"error": e}))).into_response(),
    }
}

/// `POST /admin/api/reminders/{booking}/done`: a person reminded the customer.
pub async fn api_done(
    _: Bearer,
    State(state): State<AdminState>,
    Path(booking): Path<String>,
) -> Response {
    let Ok(id) = EventId::parse(&booking) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "not a booking id"})),
        )
            .into_response();
    };
    match mark_done(&state.app, &id).await {
        Ok(()) => Json(json!({"reminded": booking})).into_response(),
        Err((status, e)) => (status, Json(json!({"error": e}))).into_response(),
    }
}

/// `GET /admin/reminders`: the page.
pub async fn page(
    State(state): State<AdminState>,
    Staff(session): Staff,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let (list, error) = match by_hand(&state.app).await {
        Ok(list) => (list, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let ctx = context! { csrf => session.csrf, reminders => Serde(&list), error => error };
    render(&state, &query, &headers, "reminders.html", ctx)
}

/// `POST /admin/reminders/{booking}/done` (form, CSRF-checked): the page's "reminded"
/// button; back to the list, which no longer shows it.
pub async fn form_done(
    State(state): State<AdminState>,
    Staff(session): Staff,
    Path(booking): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !csrf::valid(&session, &form.csrf) {
        return forbidden(&state, &headers);
    }
    let Ok(id) = EventId::parse(&booking) else {
        return error_page(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            "not a booking id".to_owned(),
        );
    };
    match mark_done(&state.app, &id).await {
        Ok(()) => Redirect::to("/admin/reminders").into_response(),
        Err((status, message)) => error_page(&state, &headers, status, message),
    }
}
