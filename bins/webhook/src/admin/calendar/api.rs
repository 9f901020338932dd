//! The calendar in the JSON API under `/admin/api` (bearer token, like the rest of it):
//! the week, booking, moving, cancelling, and the closures.
//!
//! Errors are `{"error": "...", "field": "phone"}` (the field when one is to blame): 400
//! for a field to correct, 422 when the studio's rules refuse the time, 409 with
//! `"alternatives"` (free slots, RFC 3339 with the studio's offset) when it is full, 404 for
//! an unknown booking or closure, 410 for a cancelled booking, 502 when the calendar failed.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::super::AdminState;
use super::super::auth::Bearer;
use super::super::i18n::Lang;
use super::super::view;
use super::StaffError;
use super::input::{BookingInput, ClosureInput, MoveInput};

impl IntoResponse for StaffError {
    fn into_response(self) -> Response {
        let status = match &self {
            StaffError::Input(_) => StatusCode::BAD_REQUEST,
            StaffError::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            StaffError::SlotTaken(..) => StatusCode::CONFLICT,
            StaffError::NoBooking(_) | StaffError::NoClosure(_) => StatusCode::NOT_FOUND,
            StaffError::Gone(_) => StatusCode::GONE,
            StaffError::Calendar(cause) => {
                tracing::warn!(error = %cause, "calendar change from the API failed");
                StatusCode::BAD_GATEWAY
            }
        };
        let mut body = json!({"error": self.message(Lang::En)});
        if let Some(field) = self.field() {
            body["field"] = json!(field);
        }
        if let StaffError::SlotTaken(alternatives, away) = &self {
            body["alternatives"] = json!(alternatives);
            body["away"] = json!(away);
        }
        (status, Json(body)).into_response()
    }
}

fn booking_json(state: &AdminState, booking: inkdesk_calendar::Booking) -> serde_json::Value {
    let mut views = [view::booking_view(booking)];
    view::name_artists(&state.app.profile, &mut views);
    json!({"booking": views[0]})
}

/// `?week=YYYY-MM-DD`.
#[derive(Debug, Default, Deserialize)]
pub struct WeekQuery {
    /// Any day of the week; default this week.
    #[serde(default)]
    pub week: String,
}

/// `GET /admin/api/week?week=YYYY-MM-DD`: the week's bookings per artist.
pub async fn week(
    _: Bearer,
    State(state): State<AdminState>,
    Query(query): Query<WeekQuery>,
) -> Result<Response, StaffError> {
    let view = super::week::week(&state.app, &query.week, Lang::En).await?;
    Ok(Json(view).into_response())
}

/// Body of `POST /admin/api/bookings`.
#[derive(Debug, Deserialize)]
pub struct CreateBody {
    /// The caller's key: the same key gives the same booking (a retried request books once).
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// The booking.
    #[serde(flatten)]
    pub booking: BookingInput,
}

/// `POST /admin/api/bookings` with `{"name", "phone", "date", "time", "duration_minutes" |
/// "price", "artist"?, "design"?, "conversation"?, "idempotency_key"?}`: 201 with
/// `{"booking": …}`.
pub async fn create(
    _: Bearer,
    State(state): State<AdminState>,
    Json(body): Json<CreateBody>,
) -> Result<Response, StaffError> {
    let key = body
        .idempotency_key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| format!("console-api/{k}"));
    let booking = super::create(&state.app, &body.booking, key).await?;
    Ok((StatusCode::CREATED, Json(booking_json(&state, booking))).into_response())
}

/// `GET /admin/api/bookings/{id}`.
pub async fn get(
    _: Bearer,
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Response, StaffError> {
    let booking = super::booking(&state.app, &id).await?;
    Ok(Json(booking_json(&state, booking)).into_response())
}

/// `POST /admin/api/bookings/{id}/move` with `{"date", "time", "duration_minutes"?,
/// "price"?}`.
pub async fn move_booking(
    _: Bearer,
    State(state): State<AdminState>,
    Path(id): Path<String>,
    Json(body): Json<MoveInput>,
) -> Result<Response, StaffError> {
    let booking = super::move_booking(&state.app, &id, &body).await?;
    Ok(Json(booking_json(&state, booking)).into_response())
}

/// `POST /admin/api/bookings/{id}/cancel`: `{"cancelled": id}`.
pub async fn cancel(
    _: Bearer,
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Response, StaffError> {
    let id = super::cancel(&state.app, &id).await?;
    Ok(Json(json!({"cancelled": id.as_str()})).into_response())
}

/// `GET /admin/api/closures`: `{"profile": [...], "calendar": [{"id", "from", "to",
/// "artist"?, "reason"?}]}` from today on.
pub async fn closures(_: Bearer, State(state): State<AdminState>) -> Result<Response, StaffError> {
    Ok(Json(super::closures(&state.app).await?).into_response())
}

/// `POST /admin/api/closures` with `{"from", "to"?, "artist"?, "reason"?}`: 201 with
/// `{"closure": {"id", …}}`.
pub async fn add_closure(
    _: Bearer,
    State(state): State<AdminState>,
    Json(body): Json<ClosureInput>,
) -> Result<Response, StaffError> {
    let stored = super::add_closure(&state.app, &body).await?;
    Ok((StatusCode::CREATED, Json(json!({"closure": stored}))).into_response())
}

/// `DELETE /admin/api/closures/{id}`: `{"removed": id}`.
pub async fn remove_closure(
    _: Bearer,
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Response, StaffError> {
    let id = super::remove_closure(&state.app, &id).await?;
    Ok(Json(json!({"removed": id.as_str()})).into_response())
}
