//! The HTML pages: server-rendered with minijinja, no JavaScript. Every state-changing
//! form is a POST carrying the session's CSRF token; actions answer with a redirect.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use inkdesk_domain::ConversationId;
use minijinja::value::Serde;
use minijinja::{Environment, Value, context};
use serde::Deserialize;

use super::actions::{self, ActionError};
use super::api::TraceFilter;
use super::auth::{self, ClientIp, LOGIN_CSRF_COOKIE, Login, SESSION_COOKIE, Session, Staff};
use super::i18n::{LANG_COOKIE, Lang};
use super::{AdminState, csrf, view};

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("login.html", include_str!("templates/login.html")),
    (
        "status_badge.html",
        include_str!("templates/status_badge.html"),
    ),
    ("inbox.html", include_str!("templates/inbox.html")),
    ("trace.html", include_str!("templates/trace.html")),
    (
        "conversation.html",
        include_str!("templates/conversation.html"),
    ),
    (
        "confirm_delete.html",
        include_str!("templates/confirm_delete.html"),
    ),
    ("bookings.html", include_str!("templates/bookings.html")),
    ("traces.html", include_str!("templates/traces.html")),
    ("status.html", include_str!("templates/status.html")),
    ("usage.html", include_str!("templates/usage.html")),
    ("error.html", include_str!("templates/error.html")),
];

/// The stylesheet served at `/admin/static/admin.css`.
const STYLESHEET: &str = include_str!("templates/admin.css");

/// Every template, HTML-escaped by default, with a `local` filter that shows an RFC 3339
/// time in the studio's time zone.
pub fn templates(tz: chrono_tz::Tz) -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    for (name, source) in TEMPLATES.iter().chain(super::calendar::pages::TEMPLATES) {
        env.add_template(name, source)?;
    }
    super::calendar::pages::add_filters(&mut env, tz);
    env.add_filter("local", move |value: String| -> String {
        match DateTime::parse_from_rfc3339(&value) {
            Ok(at) => at.with_timezone(&tz).format("%d/%m/%Y %H:%M").to_string(),
            Err(_) => value,
        }
    });
    Ok(env)
}

/// `?lang=` and the traces' filters.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    /// `el` or `en`.
    pub lang: Option<String>,
    /// Traces: only this conversation.
    pub conversation: Option<String>,
    /// Traces: only this intent.
    pub intent: Option<String>,
}

/// Renders a page in the chosen language; remembers an explicit `?lang=` in a cookie.
pub(super) fn render(
    state: &AdminState,
    query: &PageQuery,
    headers: &HeaderMap,
    name: &str,
    ctx: Value,
) -> Response {
    let lang = Lang::pick(query.lang.as_deref(), headers);
    let ctx = context! { t => lang.texts(), lang => lang.code(), ..ctx };
    let html = state
        .console()
        .templates
        .get_template(name)
        .and_then(|template| template.render(ctx));
    match html {
        Ok(html) => {
            let mut response = Html(html).into_response();
            if query.lang.is_some() {
                let cookie = auth::set_cookie(
                    LANG_COOKIE,
                    lang.code(),
                    std::time::Duration::from_secs(365 * 86_400),
                    state.console().secure_cookies(),
                );
                if let Ok(value) = HeaderValue::from_str(&cookie) {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            response
        }
        Err(error) => {
            tracing::error!(%error, template = name, "admin template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

pub(super) fn error_page(
    state: &AdminState,
    headers: &HeaderMap,
    status: StatusCode,
    message: impl std::fmt::Display,
) -> Response {
    let ctx = context! { message => message.to_string() };
    let mut response = render(state, &PageQuery::default(), headers, "error.html", ctx);
    *response.status_mut() = status;
    response
}

pub(super) fn forbidden(state: &AdminState, headers: &HeaderMap) -> Response {
    error_page(
        state,
        headers,
        StatusCode::FORBIDDEN,
        "CSRF token missing or wrong",
    )
}

fn action_failed(state: &AdminState, headers: &HeaderMap, error: ActionError) -> Response {
    let status = match &error {
        ActionError::Invalid(_) => StatusCode::BAD_REQUEST,
        ActionError::NoMessenger => StatusCode::SERVICE_UNAVAILABLE,
        ActionError::WindowClosed(_) => StatusCode::CONFLICT,
        ActionError::Send(_) => StatusCode::BAD_GATEWAY,
        ActionError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        ActionError::Calendar(_) => StatusCode::BAD_GATEWAY,
    };
    error_page(state, headers, status, error)
}

// A ready response is the natural error of an axum handler step.
#[allow(clippy::result_large_err)]
fn conversation_id(
    state: &AdminState,
    headers: &HeaderMap,
    raw: String,
) -> Result<ConversationId, Response> {
    ConversationId::parse(raw).map_err(|e| error_page(state, headers, StatusCode::BAD_REQUEST, e))
}

/// What every conversation form checks first: the session's CSRF token, then the id.
#[allow(clippy::result_large_err)]
fn form_target(
    state: &AdminState,
    headers: &HeaderMap,
    session: &Session,
    csrf: &str,
    id: String,
) -> Result<ConversationId, Response> {
    if !csrf::valid(session, csrf) {
        return Err(forbidden(state, headers));
    }
    conversation_id(state, headers, id)
}

/// `GET /admin/login`: the form, with a fresh double-submit token.
pub async fn login_form(
    State(state): State<AdminState>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    login_page(&state, &query, &headers, None, StatusCode::OK)
}

fn login_page(
    state: &AdminState,
    query: &PageQuery,
    headers: &HeaderMap,
    message: Option<&str>,
    status: StatusCode,
) -> Response {
    let token = auth::random_token();
    let ctx = context! { login_csrf => &token, message => message };
    let mut response = render(state, query, headers, "login.html", ctx);
    *response.status_mut() = status;
    let cookie = auth::set_cookie(
        LOGIN_CSRF_COOKIE,
        &token,
        std::time::Duration::from_secs(3600),
        state.console().secure_cookies(),
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The login form's fields.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    /// The admin token.
    pub token: String,
    /// Must equal the `inkdesk_login` cookie.
    #[serde(default)]
    pub csrf: String,
}

/// `POST /admin/login`: rate-limited per address; sets the session cookie.
pub async fn login(
    State(state): State<AdminState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let query = PageQuery::default();
    let double_submit = auth::cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if !csrf::same(double_submit, &form.csrf) {
        return forbidden(&state, &headers);
    }
    match state.console().try_login(ip, form.token.trim()).await {
        Login::Limited => {
            tracing::warn!(?ip, "admin login rate-limited");
            login_page(
                &state,
                &query,
                &headers,
                Some("login_limited"),
                StatusCode::TOO_MANY_REQUESTS,
            )
        }
        Login::Refused => {
            tracing::warn!(?ip, "admin login refused");
            login_page(
                &state,
                &query,
                &headers,
                Some("login_failed"),
                StatusCode::UNAUTHORIZED,
            )
        }
        Login::Unavailable(error) => {
            tracing::error!(%error, "admin session could not be stored");
            login_page(
                &state,
                &query,
                &headers,
                Some("login_unavailable"),
                StatusCode::SERVICE_UNAVAILABLE,
            )
        }
        Login::Started(session) => {
            tracing::info!(?ip, "admin login");
            let cookie = auth::set_cookie(
                SESSION_COOKIE,
                &session.id,
                auth::SESSION_TTL,
                state.console().secure_cookies(),
            );
            let mut response = Redirect::to("/admin/").into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
    }
}

/// A form with only the CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    /// The session's token.
    #[serde(default)]
    pub csrf: String,
}

/// `POST /admin/logout`.
pub async fn logout(
    State(state): State<AdminState>,
    Staff(session): Staff,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !csrf::valid(&session, &form.csrf) {
        return forbidden(&state, &headers);
    }
    state.console().logout(&session.id).await;
    let mut response = Redirect::to("/admin/login").into_response();
    let expired = auth::set_cookie(SESSION_COOKIE, "", std::time::Duration::ZERO, false);
    if let Ok(value) = HeaderValue::from_str(&expired) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `GET /admin/`: the inbox.
pub async fn inbox(
    State(state): State<AdminState>,
    Staff(session): Staff,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    match view::inbox(&state.app).await {
        Ok((paused, rows)) => {
            let ctx = context! { csrf => session.csrf, paused => paused, rows => Serde(&rows) };
            render(&state, &query, &headers, "inbox.html", ctx)
        }
        Err(e) => error_page(&state, &headers, StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

/// `GET /admin/c/{id}`: the transcript and the actions.
pub async fn conversation(
    State(state): State<AdminState>,
    Staff(session): Staff,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let id = match conversation_id(&state, &headers, id) {
        Ok(id) => id,
        Err(response) => return response,
    };
    match view::conversation(&state.app, &id).await {
        Ok(Some(view)) => {
            let paused = matches!(view.status, view::Status::Paused);
            let ctx = context! {
                csrf => session.csrf,
                paused => paused,
                can_send => state.app.messenger.is_some(),
                view => Serde(&view),
            };
            render(&state, &query, &headers, "conversation.html", ctx)
        }
        Ok(None) => error_page(&state, &headers, StatusCode::NOT_FOUND, id),
        Err(e) => error_page(&state, &headers, StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

/// The mute form.
#[derive(Debug, Deserialize)]
pub struct MuteForm {
    /// The session's token.
    #[serde(default)]
    pub csrf: String,
    /// How long.
    pub hours: u32,
}

fn back_to(id: &ConversationId) -> Response {
    Redirect::to(&format!("/admin/c/{id}")).into_response()
}

/// `POST /admin/c/{id}/mute`.
pub async fn mute(
    State(state): State<AdminState>,
    Staff(session): Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<MuteForm>,
) -> Response {
    let id = match form_target(&state, &headers, &session, &form.csrf, id) {
        Ok(id) => id,
        Err(response) => return response,
    };
    match actions::mute(&state.app, &id, form.hours).await {
        Ok(_) => back_to(&id),
        Err(e) => action_failed(&state, &headers, e),
    }
}

/// `POST /admin/c/{id}/unmute`.
pub async fn unmute(
    State(state): State<AdminState>,
    Staff(session): Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let id = match form_target(&state, &headers, &session, &form.csrf, id) {
        Ok(id) => id,
        Err(response) => return response,
    };
    match actions::unmute(&state.app, &id).await {
        Ok(_) => back_to(&id),
        Err(e) => action_failed(&state, &headers, e),
    }
}

/// The staff reply form.
#[derive(Debug, Deserialize)]
pub struct ReplyForm {
    /// The session's token.
    #[serde(default)]
    pub csrf: String,
    /// The message.
    pub text: String,
}

/// `POST /admin/c/{id}/reply`.
pub async fn reply(
    State(state): State<AdminState>,
    Staff(session): Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ReplyForm>,
) -> Response {
    let id = match form_target(&state, &headers, &session, &form.csrf, id) {
        Ok(id) => id,
        Err(response) => return response,
    };
    match actions::reply(&state.app, &id, &form.text).await {
        Ok(_) => back_to(&id),
        Err(e) => action_failed(&state, &headers, e),
    }
}

/// `GET /admin/c/{id}/delete`: the confirmation step.
pub async fn confirm_delete(
    State(state): State<AdminState>,
    Staff(session): Staff,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let id = match conversation_id(&state, &headers, id) {
        Ok(id) => id,
        Err(response) => return response,
    };
    let ctx = context! { csrf => session.csrf, conversation => id.as_str() };
    render(&state, &query, &headers, "confirm_delete.html", ctx)
}

/// `POST /admin/c/{id}/delete`.
pub async fn delete(
    State(state): State<AdminState>,
    Staff(session): Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let id = match form_target(&state, &headers, &session, &form.csrf, id) {
        Ok(id) => id,
        Err(response) => return response,
    };
    match actions::delete(&state.app, &id).await {
        Ok(_) => Redirect::to("/admin/").into_response(),
        Err(e) => action_failed(&state, &headers, e),
    }
}

/// `GET /admin/c/{id}/export`: the customer's data as a JSON download.
pub async fn export(
    State(state): State<AdminState>,
    Staff(_): Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let id = match conversation_id(&state, &headers, id) {
        Ok(id) => id,
        Err(response) => return response,
    };
    match view::export(&state.app, &id).await {
        Ok(export) => super::api::export_file(&id, &export),
        Err(e) => error_page(&state, &headers, StatusCode::BAD_GATEWAY, e),
    }
}

/// The global switch form.
#[derive(Debug, Deserialize)]
pub struct PauseForm {
    /// The session's token.
    #[serde(default)]
    pub csrf: String,
    /// `true` pauses, `false` resumes.
    pub paused: bool,
}

/// `POST /admin/pause`.
pub async fn pause(
    State(state): State<AdminState>,
    Staff(session): Staff,
    headers: HeaderMap,
    Form(form): Form<PauseForm>,
) -> Response {
    if !csrf::valid(&session, &form.csrf) {
        return forbidden(&state, &headers);
    }
    match actions::set_paused(&state.app, form.paused).await {
        Ok(()) => Redirect::to("/admin/").into_response(),
        Err(e) => action_failed(&state, &headers, e),
    }
}

/// `GET /admin/bookings`.
pub async fn bookings(
    State(state): State<AdminState>,
    Staff(session): Staff,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let (bookings, error) = match view::bookings(&state.app).await {
        Ok(list) => (list, None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    let ctx = context! { csrf => session.csrf, bookings => Serde(&bookings), error => error };
    render(&state, &query, &headers, "bookings.html", ctx)
}

/// `GET /admin/traces?conversation=…&intent=…`.
pub async fn traces(
    State(state): State<AdminState>,
    Staff(session): Staff,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let filter = TraceFilter {
        conversation: query.conversation.clone(),
        intent: query.intent.clone(),
    };
    let id = match filter.conversation_id() {
        Ok(id) => id,
        Err(e) => return error_page(&state, &headers, StatusCode::BAD_REQUEST, e),
    };
    match view::traces(&state.app, id.as_ref(), filter.intent()).await {
        Ok(traces) => {
            let ctx = context! {
                csrf => session.csrf,
                traces => Serde(&traces),
                filter_conversation => filter.conversation.clone().unwrap_or_default(),
                filter_intent => filter.intent().unwrap_or_default(),
                // The stable part every turn's prompt starts with; the per-turn part
                // (date, history, messages) is in each turn's transcript.
                system_prompt => state.app.engine.as_ref().map(|e| e.prompts().system().to_owned()),
            };
            render(&state, &query, &headers, "traces.html", ctx)
        }
        Err(e) => error_page(&state, &headers, StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

/// `GET /admin/status`.
pub async fn status(
    State(state): State<AdminState>,
    Staff(session): Staff,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let s = view::status(&state.app).await;
    let ctx = context! { csrf => session.csrf, paused => s.paused, s => Serde(&s) };
    render(&state, &query, &headers, "status.html", ctx)
}

/// `GET /admin/static/admin.css`.
pub async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        STYLESHEET,
    )
        .into_response()
}

/// Formats a time for tests and logs like the `local` filter.
pub fn local(at: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    at.with_timezone(&tz).format("%d/%m/%Y %H:%M").to_string()
}
