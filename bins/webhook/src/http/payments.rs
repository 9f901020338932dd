//! `POST /payments/stripe`: Stripe's events about deposit links. The signature
//! (`Stripe-Signature`: timestamp and HMAC-SHA256 of `{t}.{body}`, 5-minute tolerance) is
//! verified on the raw bytes by the payments crate; what an event does to a booking is
//! `Lifecycle::payment_event`'s (each event id applied once).
//!
//! Status codes: 200 applied, already applied or nothing to do; 400 a bad or missing
//! signature, an old timestamp or a body that is not an event (nothing changes); 404 when
//! Stripe is not the configured payment adapter; 500 when the calendar or the store failed
//! (Stripe delivers the event again later).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use inkdesk_payments::Provider;
use serde_json::json;

use super::AppState;

/// `POST /payments/stripe`.
pub async fn stripe(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(deposits) = state
        .app
        .lifecycle
        .deposits()
        .filter(|d| d.provider() == Provider::Stripe)
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let event = match deposits.payments().parse_webhook(&headers, &body) {
        Ok(event) => event,
        Err(error) => {
            tracing::warn!(%error, "Stripe webhook refused");
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": error.to_string()})),
            )
                .into_response();
        }
    };
    match state.app.lifecycle.payment_event(&event).await {
        Ok(outcome) => {
            tracing::info!(event = %event.event_id, ?outcome, "Stripe event handled");
            (StatusCode::OK, Json(json!({"received": true}))).into_response()
        }
        Err(error) => {
            tracing::error!(event = %event.event_id, %error, "Stripe event not applied; Stripe retries");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
