//! `GET /webhook` (Meta's subscription handshake) and `POST /webhook` (events).
//!
//! The POST path only verifies, parses and records: no upstream call, so Meta gets its
//! answer within milliseconds. Status codes: 200 recorded (or nothing to record), 400
//! malformed JSON, 403 bad signature, 413 body over the limit (axum's body limit), 503
//! when `IG_APP_SECRET` is unset or the store cannot record (Meta redelivers later).

use std::collections::HashMap;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use inkdesk_messaging::signature::SIGNATURE_HEADER;
use inkdesk_messaging::{ParseError, parse_webhook, verify_signature, verify_subscription};
use tracing::Instrument;

use super::AppState;
use crate::ingest;

/// `GET /webhook`: answers the challenge when mode and token match, else 403.
pub async fn verify(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(expected) = state.app.webhook.verify_token.as_ref() else {
        tracing::warn!("webhook verification refused: IG_VERIFY_TOKEN is not set");
        return StatusCode::FORBIDDEN.into_response();
    };
    match verify_subscription(
        query.get("hub.mode").map(String::as_str),
        query.get("hub.verify_token").map(String::as_str),
        query.get("hub.challenge").map(String::as_str),
        expected,
    ) {
        Ok(challenge) => (StatusCode::OK, challenge).into_response(),
        Err(error) => {
            tracing::warn!(%error, "webhook verification refused");
            StatusCode::FORBIDDEN.into_response()
        }
    }
}

/// `POST /webhook`: verify the signature over the raw bytes, parse, record, 200.
pub async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let started = Instant::now();
    // One id per webhook call ties its log lines together.
    let span = tracing::info_span!("webhook", request_id = %uuid::Uuid::new_v4().simple());
    let (status, outcome) = handle(&state, &headers, &body).instrument(span).await;
    state
        .app
        .metrics
        .webhook(outcome, started.elapsed().as_secs_f64());
    status.into_response()
}

async fn handle(state: &AppState, headers: &HeaderMap, body: &[u8]) -> (StatusCode, &'static str) {
    let app = &state.app;
    let Some(secret) = app.webhook.app_secret.as_ref() else {
        tracing::error!("webhook refused: IG_APP_SECRET is not set");
        return (StatusCode::SERVICE_UNAVAILABLE, "not_configured");
    };
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok());
    if let Err(error) = verify_signature(secret, signature, body) {
        tracing::warn!(%error, "webhook signature refused");
        return (StatusCode::FORBIDDEN, "bad_signature");
    }
    let events = match parse_webhook(body, app.webhook.account_id.as_deref().unwrap_or("")) {
        Ok(events) => events,
        Err(ParseError::TooLarge { .. }) => return (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
        Err(error) => {
            tracing::warn!(%error, "webhook body refused");
            return (StatusCode::BAD_REQUEST, "malformed");
        }
    };
    match ingest::record_all(app, &events).await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(error) => {
            tracing::error!(%error, "webhook events could not be recorded; Meta will redeliver");
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
        }
    }
}
