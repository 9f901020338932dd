//! The JSON API under `/admin/api`, bearer token only (no cookies, so no CSRF).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use inkdesk_domain::ConversationId;
use serde::Deserialize;
use serde_json::json;

use inkdesk_assistant::runner::requeue::Requeued;

use super::AdminState;
use super::actions::{self, ActionError};
use super::auth::Bearer;
use super::view;

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, Json(json!({"error": message.to_string()}))).into_response()
}

impl IntoResponse for ActionError {
    fn into_response(self) -> Response {
        let status = match &self {
            ActionError::Invalid(_) => StatusCode::BAD_REQUEST,
            ActionError::NoMessenger => StatusCode::SERVICE_UNAVAILABLE,
            ActionError::WindowClosed(_) => StatusCode::CONFLICT,
            ActionError::Send(_) => StatusCode::BAD_GATEWAY,
            ActionError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ActionError::Calendar(_) => StatusCode::BAD_GATEWAY,
        };
        error(status, self)
    }
}

// A ready response is the natural error of an axum handler step.
#[allow(clippy::result_large_err)]
fn parse_id(raw: String) -> Result<ConversationId, Response> {
    ConversationId::parse(raw).map_err(|e| error(StatusCode::BAD_REQUEST, e))
}

fn store_error(e: inkdesk_store::StoreError) -> Response {
    error(StatusCode::INTERNAL_SERVER_ERROR, e)
}

/// `GET /admin/api/conversations`.
pub async fn list(_: Bearer, State(state): State<AdminState>) -> Result<Response, Response> {
    let (paused, rows) = view::inbox(&state.app).await.map_err(store_error)?;
    Ok(Json(json!({"paused": paused, "conversations": rows})).into_response())
}

/// `GET /admin/api/conversations/{id}`.
pub async fn conversation(
    _: Bearer,
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    let id = parse_id(id)?;
    match view::conversation(&state.app, &id)
        .await
        .map_err(store_error)?
    {
        Some(view) => Ok(Json(view).into_response()),
        None => Err(error(StatusCode::NOT_FOUND, "no such conversation")),
    }
}

/// Body of `POST …/mute`.
#[derive(Debug, Deserialize)]
pub struct MuteBody {
    /// How long.
    pub hours: u32,
}

/// `POST /admin/api/conversations/{id}/mute` with `{"hours": n}`.
pub async fn mute(
    _: Bearer,
    State(state): State<AdminState>,
    Path(id): Path<String>,
    Json(body): Json<MuteBody>,
) -> Result<Response, Response> {
    let id = parse_id(id)?;
    let until = actions::mute(&state.app, &id, body.hours)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok(Json(json!({"muted_until": until})).into_response())
}

/// `POST /admin/api/conversations/{id}/unmute`.
pub async fn unmute(
    _: Bearer,
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    let id = parse_id(id)?;
    let requeued = actions::unmute(&state.app, &id)
        .await
        .map_err(IntoResponse::into_response)?;
    let (queued, outside_window) = match requeued {
        Requeued::Nothing => (0, false),
        Requeued::Queued(n) => (n, false),
        Requeued::OutsideWindow => (0, true),
    };
    Ok(axum::Json(serde_json::json!({
        "requeued": queued,
        "outside_window": outside_window,
    }))
    .into_response())
}

/// Body of `POST …/reply`.
#[derive(Debug, Deserialize)]
pub struct ReplyBody {
    /// The staff's message.
    pub text: String,
}

/// `POST /admin/api/conversations/{id}/reply` with `{"text": …}`.
pub async fn reply(
    _: Bearer,
    State(state): State<AdminState>,
    Path(id): Path<String>,
    Json(body): Json<ReplyBody>,
) -> Result<Response, Response> {
    let id = parse_id(id)?;
    let sent = actions::reply(&state.app, &id, &body.text)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok(Json(sent).into_response())
}

/// `DELETE /admin/api/conversations/{id}`: `{"anonymised_bookings": [{id, start, end}]}`.
pub async fn delete(
    _: Bearer,
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    let id = parse_id(id)?;
    let deleted = actions::delete(&state.app, &id)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok(Json(deleted).into_response())
}

/// `GET /admin/api/conversations/{id}/export`: everything inkdesk holds about the
/// customer, as one JSON file.
pub async fn export(
    _: Bearer,
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    let id = parse_id(id)?;
    let export = view::export(&state.app, &id)
        .await
        .map_err(|e| error(StatusCode::BAD_GATEWAY, e))?;
    Ok(export_file(&id, &export))
}

/// The export as a JSON download named after the conversation.
pub fn export_file(id: &ConversationId, export: &view::Export) -> Response {
    let disposition = format!("attachment; filename=\"inkdesk-{id}.json\"");
    let mut response = Json(export).into_response();
    if let Ok(value) = axum::http::HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(axum::http::header::CONTENT_DISPOSITION, value);
    }
    response
}

/// `POST /admin/api/pause`.
pub async fn pause(_: Bearer, State(state): State<AdminState>) -> Result<Response, Response> {
    actions::set_paused(&state.app, true)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok(Json(json!({"paused": true})).into_response())
}

/// `POST /admin/api/resume`.
pub async fn resume(_: Bearer, State(state): State<AdminState>) -> Result<Response, Response> {
    actions::set_paused(&state.app, false)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok(Json(json!({"paused": false})).into_response())
}

/// `GET /admin/api/bookings`.
pub async fn bookings(_: Bearer, State(state): State<AdminState>) -> Result<Response, Response> {
    let list = view::bookings(&state.app)
        .await
        .map_err(|e| error(StatusCode::BAD_GATEWAY, e))?;
    Ok(Json(json!({"bookings": list})).into_response())
}

/// Filters of `GET /admin/api/traces`.
#[derive(Debug, Default, Deserialize)]
pub struct TraceFilter {
    /// Only this conversation.
    pub conversation: Option<String>,
    /// Only turns with this intent.
    pub intent: Option<String>,
}

impl TraceFilter {
    /// The conversation filter, validated; empty means none.
    pub fn conversation_id(
        &self,
    ) -> Result<Option<ConversationId>, inkdesk_domain::ValidationError> {
        self.conversation
            .as_deref()
            .filter(|c| !c.trim().is_empty())
            .map(|c| ConversationId::parse(c.trim()))
            .transpose()
    }

    /// The intent filter; empty means none.
    pub fn intent(&self) -> Option<&str> {
        self.intent
            .as_deref()
            .map(str::trim)
            .filter(|i| !i.is_empty())
    }
}

/// `GET /admin/api/traces?conversation=…&intent=…`.
pub async fn traces(
    _: Bearer,
    State(state): State<AdminState>,
    Query(filter): Query<TraceFilter>,
) -> Result<Response, Response> {
    let id = filter
        .conversation_id()
        .map_err(|e| error(StatusCode::BAD_REQUEST, e))?;
    let list = view::traces(&state.app, id.as_ref(), filter.intent())
        .await
        .map_err(store_error)?;
    Ok(Json(json!({"traces": list})).into_response())
}

/// `GET /admin/api/status`.
pub async fn status(_: Bearer, State(state): State<AdminState>) -> Response {
    Json(view::status(&state.app).await).into_response()
}
