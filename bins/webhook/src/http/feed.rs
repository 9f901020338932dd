//! The studio's bookings as an iCalendar feed a phone subscribes to:
//! `GET /feed/{token}.ics` (every booking) and `GET /feed/{token}/{artist}.ics` (one
//! artist's), enabled by `INKDESK_FEED_TOKEN`.
//!
//! The token is the feed's only protection (calendar apps cannot send a header), so it is
//! compared in constant time and every failure — feed off, wrong token, unknown artist,
//! a name without `.ics` — answers the same 404. The feed holds the bookings from 30 days
//! ago on (what `inkdesk_calendar::ical::render_feed` renders); the content is built by the
//! calendar crate, this module only serves it.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use inkdesk_calendar::Booking;
use secrecy::{ExposeSecret, SecretString};

use crate::app::App;
use crate::http::AppState;

/// How far back the feed reaches: last month's appointments stay visible on the phone.
pub const FEED_PAST_DAYS: i64 = 30;
/// Most bookings in one feed (a studio books a few a day; this is years of them).
pub const FEED_LIMIT: usize = 5_000;
/// The file suffix every feed address ends in.
const SUFFIX: &str = ".ics";

/// `GET /feed/{token}.ics`: every booking.
pub async fn all(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some(token) = file.strip_suffix(SUFFIX) else {
        return not_found();
    };
    if !authorised(state.app.http.feed_token.as_ref(), token) {
        return not_found();
    }
    serve(&state.app, None).await
}

/// `GET /feed/{token}/{artist}.ics`: one artist's bookings.
pub async fn artist(
    State(state): State<AppState>,
    Path((token, file)): Path<(String, String)>,
) -> Response {
    let Some(artist) = file.strip_suffix(SUFFIX) else {
        return not_found();
    };
    if !authorised(state.app.http.feed_token.as_ref(), &token) {
        return not_found();
    }
    if !artists(&state.app).iter().any(|(key, _)| key == artist) {
        return not_found();
    }
    serve(&state.app, Some(artist)).await
}

/// The studio profile's artists as (key, name); none for a studio without artists.
fn artists(app: &App) -> Vec<(String, String)> {
    app.profile
        .artists
        .iter()
        .map(|a| (a.key.to_string(), a.name.clone()))
        .collect()
}

/// The artist key a booking carries, as text.
fn booking_artist(booking: &Booking) -> Option<String> {
    booking.artist.as_ref().map(ToString::to_string)
}

/// Whether `given` is the configured token (constant time; a disabled feed takes none).
fn authorised(expected: Option<&SecretString>, given: &str) -> bool {
    expected.is_some_and(|expected| crate::admin::auth::token_matches(expected, given))
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found").into_response()
}

async fn serve(app: &App, artist: Option<&str>) -> Response {
    let now = app.clock.now();
    let bookings = match app
        .calendar
        .list_upcoming(now - Duration::days(FEED_PAST_DAYS), FEED_LIMIT)
        .await
    {
        Ok(bookings) => bookings,
        Err(error) => {
            tracing::warn!(%error, "cannot read the calendar for the feed");
            return (StatusCode::SERVICE_UNAVAILABLE, "calendar unavailable").into_response();
        }
    };
    let (name, bookings) = match artist {
        None => (app.profile.name.clone(), bookings),
        Some(key) => {
            let label = artists(app)
                .into_iter()
                .find(|(k, _)| k == key)
                .map_or_else(|| key.to_owned(), |(_, name)| name);
            let mine = bookings
                .into_iter()
                .filter(|b| booking_artist(b).as_deref() == Some(key))
                .collect();
            (format!("{} · {label}", app.profile.name), mine)
        }
    };
    let body = inkdesk_calendar::ical::render_feed(
        &name,
        &bookings,
        app.profile.language,
        &app.profile.currency_symbol,
        now,
    );
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "private, no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
        .into_response()
}

/// One address to subscribe to, for the console's status page.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FeedLink {
    /// What it holds: the studio's name, or an artist's.
    pub label: String,
    /// The full address (`https://…/feed/{token}.ics`).
    pub url: String,
    /// The same address as `webcal://` (opens the subscribe dialog on an iPhone).
    pub webcal: String,
}

/// The feed's addresses under `public_url` (`INKDESK_PUBLIC_URL`): the whole studio's,
/// then one per artist. Empty while the feed is off.
pub fn links(app: &App, public_url: &str) -> Vec<FeedLink> {
    let Some(token) = app.http.feed_token.as_ref() else {
        return Vec::new();
    };
    let base = public_url.trim_end_matches('/');
    let token = token.expose_secret();
    let link = |label: String, path: String| {
        let url = format!("{base}{path}");
        let webcal = match url.split_once("://") {
            Some((_, rest)) => format!("webcal://{rest}"),
            None => url.clone(),
        };
        FeedLink { label, url, webcal }
    };
    let mut out = vec![link(app.profile.name.clone(), format!("/feed/{token}.ics"))];
    for (key, name) in artists(app) {
        out.push(link(name, format!("/feed/{token}/{key}.ics")));
    }
    out
}

/// A request path safe to log: a feed address loses its token.
pub fn loggable_path(path: &str) -> String {
    match path.strip_prefix("/feed/") {
        Some(_) => "/feed/[token]".to_owned(),
        None => path.to_owned(),
    }
}
