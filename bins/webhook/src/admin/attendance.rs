//! Past appointments: staff mark each completed or a no-show, and see which customers have
//! a no-show on record (those always pay a deposit, and the assistant is told).
//!
//! Page `GET /admin/past` (the last [`PAST_DAYS`] days), forms `POST
//! /admin/past/{id}/{completed|no_show}` (session and CSRF token); API `GET
//! /admin/api/past` and `POST /admin/api/bookings/{id}/attendance` with `{"outcome":
//! "completed" | "no_show"}` (bearer). Both go through `inkdesk_assistant::noshow::NoShows`.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use chrono::{DateTime, Utc};
use inkdesk_assistant::noshow::{Attendance, NoShowError};
use inkdesk_calendar::{CalendarError, Interval};
use inkdesk_domain::EventId;
use minijinja::context;
use minijinja::value::Serde;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::auth::{Bearer, Staff};
use super::pages::{CsrfForm, PageQuery, error_page, forbidden, render};
use super::{AdminState, csrf};
use crate::app::App;

/// How far back the page lists appointments.
pub const PAST_DAYS: i64 = 30;

/// One past appointment.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PastBooking {
    /// The booking.
    pub booking: String,
    /// Its conversation.
    pub conversation: String,
    /// The customer's name.
    pub customer: String,
    /// Their phone (national form for the studio's region).
    pub phone: String,
    /// The start.
    pub start: DateTime<Utc>,
    /// `confirmed`, `completed`, `no_show`, `pending_deposit`.
    pub status: &'static str,
    /// How many no-shows this customer has on record.
    pub customer_no_shows: usize,
}

/// The appointments of the last [`PAST_DAYS`] days that have started, latest first.
pub async fn past(app: &App) -> Result<Vec<PastBooking>, String> {
    let now = app.clock.now();
    let range = Interval::new(now - chrono::Duration::days(PAST_DAYS), now);
    let mut bookings = app
        .calendar
        .bookings_between(range)
        .await
        .map_err(|e| e.to_string())?;
    bookings.retain(|b| b.start <= now);
    bookings.reverse();
    let mut list = Vec::with_capacity(bookings.len());
    for b in bookings {
        let record = app
            .no_shows
            .record(&b.conversation)
            .await
            .map_err(|e| e.to_string())?;
        list.push(PastBooking {
            booking: b.id.as_str().to_owned(),
            conversation: b.conversation.as_str().to_owned(),
            customer: b.customer.as_str().to_owned(),
            phone: b.phone.national().to_owned(),
            start: b.start,
            status: b.status.code(),
            customer_no_shows: record.map_or(0, |r| r.count),
        });
    }
    Ok(list)
}

fn refusal(error: &NoShowError) -> (StatusCode, String) {
    match error {
        NoShowError::Calendar(CalendarError::NotFound(_)) => {
            (StatusCode::NOT_FOUND, "no such booking".to_owned())
        }
        NoShowError::Calendar(CalendarError::Gone(_)) => {
            (StatusCode::CONFLICT, "the booking was cancelled".to_owned())
        }
        NoShowError::Calendar(CalendarError::Transition(refused)) => {
            (StatusCode::CONFLICT, refused.to_string())
        }
        other => (StatusCode::BAD_GATEWAY, other.to_string()),
    }
}

async fn mark(
    app: &App,
    id: &str,
    outcome: &str,
) -> Result<serde_json::Value, (StatusCode, String)> {
    let id = EventId::parse(id).map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
    let Some(attendance) = Attendance::parse(outcome) else {
        return Err((
            StatusCode::BAD_REQUEST,
            "outcome must be completed or no_show".to_owned(),
        ));
    };
    let booking = app
        .no_shows
        .mark(&id, attendance)
        .await
        .map_err(|e| refusal(&e))?;
    let record = app
        .no_shows
        .record(&booking.conversation)
        .await
        .map_err(|e| (StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    Ok(json!({
        "booking_id": booking.id.as_str(),
        "status": booking.status.code(),
        "customer_no_shows": record.map_or(0, |r| r.count),
    }))
}

/// The body of `POST /admin/api/bookings/{id}/attendance`.
#[derive(Debug, Deserialize)]
pub struct AttendanceBody {
    /// `completed` or `no_show`.
    pub outcome: String,
}

/// `POST /admin/api/bookings/{id}/attendance`: 200 with the new status and the customer's
/// no-show count; 400 bad id or outcome, 404 unknown, 409 refused (not started yet,
/// cancelled, waiting for its deposit).
pub async fn api_mark(
    _: Bearer,
    State(state): State<AdminState>,
    Path(id): Path<String>,
    Json(body): Json<AttendanceBody>,
) -> Response {
    match mark(&state.app, &id, &body.outcome).await {
        Ok(answer) => Json(answer).into_response(),
        Err((status, message)) => (status, Json(json!({"error": message}))).into_response(),
    }
}

/// `GET /admin/api/past`: `{"past": [...]}`.
pub async fn api_past(_: Bearer, State(state): State<AdminState>) -> Response {
    match past(&state.app).await {
        Ok(list) => Json(json!({"past": list})).into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, Json(json!({"error": e}))).into_response(),
    }
}

/// `GET /admin/past`.
pub async fn page(
    State(state): State<AdminState>,
    Staff(session): Staff,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let (list, error) = match past(&state.app).await {
        Ok(list) => (list, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let ctx = context! { csrf => session.csrf, past => Serde(&list), error => error };
    render(&state, &query, &headers, "past.html", ctx)
}

/// `POST /admin/past/{id}/{outcome}`: back to the page.
pub async fn form_mark(
    State(state): State<AdminState>,
    Staff(session): Staff,
    Path((id, outcome)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !csrf::valid(&session, &form.csrf) {
        return forbidden(&state, &headers);
    }
    match mark(&state.app, &id, &outcome).await {
        Ok(_) => Redirect::to("/admin/past").into_response(),
        Err((status, message)) => error_page(&state, &headers, status, message),
    }
}
