//! "Deposit received": staff confirm a booking waiting for its deposit (manual payments:
//! a bank transfer, IRIS or a payment at the studio arrived). The console's bookings page
//! posts `/admin/bookings/{id}/deposit-received` (session and CSRF token); the API takes
//! `POST /admin/api/bookings/{id}/deposit-received` (bearer). Both go through
//! `Lifecycle::deposit_received`: confirmed, the hold's expiry withdrawn, the customer
//! thanked inside the 24-hour window.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use inkdesk_assistant::deposits::LifecycleError;
use inkdesk_calendar::CalendarError;
use inkdesk_domain::EventId;
use serde_json::json;

use super::auth::{Bearer, Staff};
use super::pages::{CsrfForm, error_page, forbidden};
use super::{AdminState, csrf};

/// The status and message of a refused or failed "deposit received".
fn refusal(error: &LifecycleError) -> (StatusCode, String) {
    match error {
        LifecycleError::Calendar(CalendarError::NotFound(_)) => {
            (StatusCode::NOT_FOUND, "no such booking".to_owned())
        }
        LifecycleError::Calendar(CalendarError::Gone(_)) => (
            StatusCode::CONFLICT,
            "the booking was cancelled (its hold may have run out); book it again".to_owned(),
        ),
        LifecycleError::Calendar(CalendarError::Transition(refused)) => {
            (StatusCode::CONFLICT, refused.to_string())
        }
        other => (StatusCode::BAD_GATEWAY, other.to_string()),
    }
}

async fn confirm(
    state: &AdminState,
    raw: &str,
) -> Result<inkdesk_calendar::Booking, (StatusCode, String)> {
    let id = EventId::parse(raw).map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
    let booking = state
        .app
        .lifecycle
        .deposit_received(&id)
        .await
        .map_err(|e| refusal(&e))?;
    tracing::info!(booking = %booking.id, "deposit marked received by staff");
    Ok(booking)
}

/// `POST /admin/api/bookings/{id}/deposit-received`: 200 with the booking's new status;
/// 404 unknown, 409 not waiting for a deposit (or cancelled), 400 a malformed id.
pub async fn api_deposit_received(
    _: Bearer,
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> Response {
    match confirm(&state, &id).await {
        Ok(booking) => Json(json!({
            "booking_id": booking.id.as_str(),
            "status": booking.status.code(),
            "deposit": booking.deposit.map(|d| d.amount()),
        }))
        .into_response(),
        Err((status, message)) => (status, Json(json!({"error": message}))).into_response(),
    }
}

/// `POST /admin/bookings/{id}/deposit-received`: back to the bookings page.
pub async fn deposit_received(
    State(state): State<AdminState>,
    Staff(session): Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !csrf::valid(&session, &form.csrf) {
        return forbidden(&state, &headers);
    }
    match confirm(&state, &id).await {
        Ok(_) => Redirect::to("/admin/bookings").into_response(),
        Err((status, message)) => error_page(&state, &headers, status, message),
    }
}
