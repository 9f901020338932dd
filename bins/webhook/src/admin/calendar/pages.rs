//! The calendar's HTML pages: the week, the booking, move and cancel forms, the closures.
//! Every change is a POST carrying the session's CSRF token; a refused one shows the form
//! again with what was typed and the reason in plain words, a done one redirects.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::DateTime;
use inkdesk_calendar::{Booking, Slot};
use minijinja::value::Serde;
use minijinja::{Environment, context};
use serde::{Deserialize, Serialize};

use super::super::auth::{self, Staff};
use super::super::i18n::Lang;
use super::super::pages::{PageQuery, error_page, forbidden, render};
use super::super::{AdminState, csrf, view};
use super::input::{BookingInput, ClosureInput, MoveInput};
use super::week::monday_of;
use super::{StaffError, texts::text};

/// The calendar pages' templates (registered with the console's).
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "booking_row.html",
        include_str!("../templates/booking_row.html"),
    ),
    ("week.html", include_str!("../templates/week.html")),
    (
        "booking_new.html",
        include_str!("../templates/booking_new.html"),
    ),
    (
        "booking_move.html",
        include_str!("../templates/booking_move.html"),
    ),
    (
        "booking_cancel.html",
        include_str!("../templates/booking_cancel.html"),
    ),
    ("closures.html", include_str!("../templates/closures.html")),
];

/// `local_time`: an RFC 3339 time as `HH:MM` in the studio's zone.
pub fn add_filters(env: &mut Environment<'static>, tz: chrono_tz::Tz) {
    env.add_filter("local_time", move |value: String| -> String {
        match DateTime::parse_from_rfc3339(&value) {
            Ok(at) => at.with_timezone(&tz).format("%H:%M").to_string(),
            Err(_) => value,
        }
    });
}

/// The pages' query: the language, the week, a form's prefill and what was just done.
#[derive(Debug, Default, Deserialize)]
pub struct CalendarQuery {
    /// `el` or `en`.
    pub lang: Option<String>,
    /// Any day of the week to show, `YYYY-MM-DD`.
    #[serde(default)]
    pub week: String,
    /// Prefill of the booking form.
    #[serde(default)]
    pub date: String,
    /// Prefill of the booking form.
    #[serde(default)]
    pub artist: String,
    /// Prefill of the booking form: the customer's conversation.
    #[serde(default)]
    pub conversation: String,
    /// What was just done (`booked`, `moved`, …), shown once.
    #[serde(default)]
    pub done: String,
}

impl CalendarQuery {
    fn page(&self) -> PageQuery {
        PageQuery {
            lang: self.lang.clone(),
            ..PageQuery::default()
        }
    }

    /// The notice for `done`, among the known ones only.
    fn notice(&self) -> Option<&'static str> {
        match self.done.as_str() {
            "booked" => Some("booked_notice"),
            "moved" => Some("moved_notice"),
            "cancelled" => Some("cancelled_notice"),
            "closure_added" => Some("closure_added"),
            "closure_removed" => Some("closure_removed"),
            _ => None,
        }
    }
}

fn lang(headers: &HeaderMap) -> Lang {
    Lang::pick(None, headers)
}

fn status_of(error: &StaffError) -> StatusCode {
    match error {
        StaffError::Input(_) => StatusCode::BAD_REQUEST,
        StaffError::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
        StaffError::SlotTaken(..) => StatusCode::CONFLICT,
        StaffError::NoBooking(_) | StaffError::NoClosure(_) => StatusCode::NOT_FOUND,
        StaffError::Gone(_) => StatusCode::GONE,
        StaffError::Calendar(_) => StatusCode::BAD_GATEWAY,
    }
}

fn with_status(mut response: Response, status: StatusCode) -> Response {
    *response.status_mut() = status;
    response
}

fn failed(state: &AdminState, headers: &HeaderMap, error: &StaffError) -> Response {
    if let StaffError::Calendar(cause) = error {
        tracing::warn!(error = %cause, "calendar change from the console failed");
    }
    error_page(
        state,
        headers,
        status_of(error),
        error.message(lang(headers)),
    )
}

/// Where to go after a change: the week of `booking`, with the notice.
fn to_week_of(
    state: &AdminState,
    booking_start: chrono::DateTime<chrono::Utc>,
    done: &str,
) -> Response {
    let local = booking_start.with_timezone(&state.app.profile.time_zone);
    let monday = monday_of(local.date_naive());
    Redirect::to(&format!("/admin/week?week={monday}&done={done}")).into_response()
}

/// An artist for the forms' choice.
#[derive(Debug, Serialize)]
struct ArtistChoice {
    key: String,
    name: String,
}

fn artists(state: &AdminState) -> Vec<ArtistChoice> {
    state
        .app
        .profile
        .artists
        .iter()
        .map(|a| ArtistChoice {
            key: a.key.to_string(),
            name: a.name.clone(),
        })
        .collect()
}

/// A free time offered instead of a taken one: a button that submits the form with it.
#[derive(Debug, Serialize)]
struct Alternative {
    /// `YYYY-MM-DD HH:MM[ artist]`, read back by [`apply_slot`].
    value: String,
    /// `Τρίτη 8/12 12:00 · Μαρία`.
    label: String,
}

fn alternatives(state: &AdminState, slots: &[Slot], lang: Lang) -> Vec<Alternative> {
    let language = match lang {
        Lang::El => inkdesk_domain::Language::El,
        Lang::En => inkdesk_domain::Language::En,
    };
    slots
        .iter()
        .map(|slot| {
            let date = slot.date();
            let mut value = format!("{} {}", date, slot.start.format("%H:%M"));
            let mut label = format!(
                "{} {} {}",
                inkdesk_calendar::format::weekday_name(language, chrono::Datelike::weekday(&date)),
                date.format("%-d/%-m"),
                slot.start.format("%H:%M")
            );
            if let Some(artist) = &slot.artist {
                value.push(' ');
                value.push_str(artist.as_str());
                if let Some(a) = state.app.profile.artist(artist) {
                    label.push_str(" · ");
                    label.push_str(&a.name);
                }
            }
            Alternative { value, label }
        })
        .collect()
}

/// A picked alternative (`YYYY-MM-DD HH:MM[ artist]`) replaces the form's date, time and
/// artist.
fn apply_slot(slot: &str, date: &mut String, time: &mut String, artist: Option<&mut String>) {
    let mut parts = slot.split_whitespace();
    if let (Some(d), Some(t)) = (parts.next(), parts.next()) {
        *date = d.to_owned();
        *time = t.to_owned();
        if let (Some(a), Some(artist)) = (parts.next(), artist) {
            *artist = a.to_owned();
        }
    }
}

/// `GET /admin/week?week=YYYY-MM-DD`.
pub async fn week(
    State(state): State<AdminState>,
    Staff(session): Staff,
    Query(query): Query<CalendarQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::pick(query.lang.as_deref(), &headers);
    match super::week::week(&state.app, &query.week, lang).await {
        Ok(view) => {
            let ctx = context! {
                csrf => session.csrf,
                view => Serde(&view),
                notice => query.notice(),
            };
            render(&state, &query.page(), &headers, "week.html", ctx)
        }
        Err(e) => failed(&state, &headers, &e),
    }
}

/// The booking form's fields, with the session's token and the form's one-time token.
#[derive(Debug, Deserialize)]
pub struct BookingForm {
    /// The session's CSRF token.
    #[serde(default)]
    pub csrf: String,
    /// The form's one-time token: a repeated submission books once.
    #[serde(default)]
    pub request: String,
    /// A picked alternative (`YYYY-MM-DD HH:MM[ artist]`).
    #[serde(default)]
    pub slot: String,
    /// What was typed.
    #[serde(flatten)]
    pub booking: BookingInput,
}

fn booking_form(
    state: &AdminState,
    query: &PageQuery,
    headers: &HeaderMap,
    csrf: &str,
    request: &str,
    form: &BookingInput,
    error: Option<&StaffError>,
) -> Response {
    let lang = Lang::pick(query.lang.as_deref(), headers);
    let alternatives = match error {
        Some(StaffError::SlotTaken(slots, _)) => Some(alternatives(state, slots, lang)),
        _ => None,
    };
    let ctx = context! {
        csrf => csrf,
        request => request,
        form => Serde(form),
        artists => Serde(&artists(state)),
        time_zone => state.app.profile.time_zone.name(),
        error => error.map(|e| e.message(lang)),
        error_field => error.and_then(StaffError::field),
        alternatives => alternatives.as_ref().map(Serde),
    };
    let response = render(state, query, headers, "booking_new.html", ctx);
    match error {
        Some(e) => with_status(response, status_of(e)),
        None => response,
    }
}

/// `GET /admin/bookings/new?date=…&artist=…`: the booking form.
pub async fn new_booking(
    State(state): State<AdminState>,
    Staff(session): Staff,
    Query(query): Query<CalendarQuery>,
    headers: HeaderMap,
) -> Response {
    let form = BookingInput {
        date: query.date.clone(),
        artist: query.artist.clone(),
        conversation: query.conversation.clone(),
        ..BookingInput::default()
    };
    let request = auth::random_token();
    booking_form(
        &state,
        &query.page(),
        &headers,
        &session.csrf,
        &request,
        &form,
        None,
    )
}

/// `POST /admin/bookings/new`: books, or shows the form again with the reason.
pub async fn create(
    State(state): State<AdminState>,
    Staff(session): Staff,
    headers: HeaderMap,
    Form(mut form): Form<BookingForm>,
) -> Response {
    if !csrf::valid(&session, &form.csrf) {
        return forbidden(&state, &headers);
    }
    let input = &mut form.booking;
    apply_slot(
        &form.slot,
        &mut input.date,
        &mut input.time,
        Some(&mut input.artist),
    );
    // The one-time token is random per form (and not a conversation's), so the key names
    // this one submission.
    let request: String = form
        .request
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(64)
        .collect();
    let request = if request.len() < 16 {
        auth::random_token()
    } else {
        request
    };
    let key = format!("console/{request}");
    match super::create(&state.app, &form.booking, Some(key)).await {
        Ok(booking) => to_week_of(&state, booking.start, "booked"),
        Err(error) => booking_form(
            &state,
            &PageQuery::default(),
            &headers,
            &session.csrf,
            &request,
            &form.booking,
            Some(&error),
        ),
    }
}

fn row(state: &AdminState, booking: Booking) -> view::BookingView {
    let mut views = [view::booking_view(booking)];
    view::name_artists(&state.app.profile, &mut views);
    let [row] = views;
    row
}

/// The move form's fields.
#[derive(Debug, Deserialize)]
pub struct MoveForm {
    /// The session's CSRF token.
    #[serde(default)]
    pub csrf: String,
    /// A picked alternative (`YYYY-MM-DD HH:MM`).
    #[serde(default)]
    pub slot: String,
    /// What was typed.
    #[serde(flatten)]
    pub movement: MoveInput,
}

fn move_form(
    state: &AdminState,
    query: &PageQuery,
    headers: &HeaderMap,
    csrf: &str,
    booking: Booking,
    form: &MoveInput,
    error: Option<&StaffError>,
) -> Response {
    let lang = Lang::pick(query.lang.as_deref(), headers);
    let alternatives = match error {
        Some(StaffError::SlotTaken(slots, _)) => Some(alternatives(state, slots, lang)),
        _ => None,
    };
    let ctx = context! {
        csrf => csrf,
        b => Serde(&row(state, booking)),
        form => Serde(form),
        time_zone => state.app.profile.time_zone.name(),
        error => error.map(|e| e.message(lang)),
        error_field => error.and_then(StaffError::field),
        alternatives => alternatives.as_ref().map(Serde),
        hide_actions => true,
    };
    let response = render(state, query, headers, "booking_move.html", ctx);
    match error {
        Some(e) => with_status(response, status_of(e)),
        None => response,
    }
}

/// `GET /admin/bookings/{id}/move`: the move form, filled with the booking's time.
pub async fn move_page(
    State(state): State<AdminState>,
    Staff(session): Staff,
    Path(id): Path<String>,
    Query(query): Query<CalendarQuery>,
    headers: HeaderMap,
) -> Response {
    let booking = match super::booking(&state.app, &id).await {
        Ok(b) => b,
        Err(e) => return failed(&state, &headers, &e),
    };
    let local = booking.start.with_timezone(&state.app.profile.time_zone);
    let form = MoveInput {
        date: local.format("%Y-%m-%d").to_string(),
        time: local.format("%H:%M").to_string(),
        ..MoveInput::default()
    };
    move_form(
        &state,
        &query.page(),
        &headers,
        &session.csrf,
        booking,
        &form,
        None,
    )
}

/// `POST /admin/bookings/{id}/move`.
pub async fn move_booking(
    State(state): State<AdminState>,
    Staff(session): Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(mut form): Form<MoveForm>,
) -> Response {
    if !csrf::valid(&session, &form.csrf) {
        return forbidden(&state, &headers);
    }
    let input = &mut form.movement;
    apply_slot(&form.slot, &mut input.date, &mut input.time, None);
    match super::move_booking(&state.app, &id, &form.movement).await {
        Ok(booking) => to_week_of(&state, booking.start, "moved"),
        Err(
            error @ (StaffError::Input(_) | StaffError::Refused(_) | StaffError::SlotTaken(..)),
        ) => match super::booking(&state.app, &id).await {
            Ok(booking) => move_form(
                &state,
                &PageQuery::default(),
                &headers,
                &session.csrf,
                booking,
                &form.movement,
                Some(&error),
            ),
            Err(e) => failed(&state, &headers, &e),
        },
        Err(error) => failed(&state, &headers, &error),
    }
}

/// `GET /admin/bookings/{id}/cancel`: the confirmation step.
pub async fn confirm_cancel(
    State(state): State<AdminState>,
    Staff(session): Staff,
    Path(id): Path<String>,
    Query(query): Query<CalendarQuery>,
    headers: HeaderMap,
) -> Response {
    let booking = match super::booking(&state.app, &id).await {
        Ok(b) => b,
        Err(e) => return failed(&state, &headers, &e),
    };
    let local = booking.start.with_timezone(&state.app.profile.time_zone);
    let ctx = context! {
        csrf => session.csrf,
        week => monday_of(local.date_naive()).to_string(),
        b => Serde(&row(&state, booking)),
        hide_actions => true,
    };
    render(&state, &query.page(), &headers, "booking_cancel.html", ctx)
}

/// A form with only the CSRF token.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    /// The session's token.
    #[serde(default)]
    pub csrf: String,
}

/// `POST /admin/bookings/{id}/cancel`.
pub async fn cancel(
    State(state): State<AdminState>,
    Staff(session): Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    if !csrf::valid(&session, &form.csrf) {
        return forbidden(&state, &headers);
    }
    // Read first: the week to go back to.
    let booking = match super::booking(&state.app, &id).await {
        Ok(b) => b,
        Err(e) => return failed(&state, &headers, &e),
    };
    match super::cancel(&state.app, &id).await {
        Ok(_) => to_week_of(&state, booking.start, "cancelled"),
        Err(e) => failed(&state, &headers, &e),
    }
}

async fn closures_page(
    state: &AdminState,
    query: &CalendarQuery,
    headers: &HeaderMap,
    csrf: &str,
    form: &ClosureInput,
    error: Option<&StaffError>,
) -> Response {
    let lang = Lang::pick(query.lang.as_deref(), headers);
    let (view, load_error) = match super::closures(&state.app).await {
        Ok(view) => (Some(view), None),
        Err(e) => (None, Some(e.message(lang))),
    };
    let names: std::collections::BTreeMap<String, String> = state
        .app
        .profile
        .artists
        .iter()
        .map(|a| (a.key.to_string(), a.name.clone()))
        .collect();
    let ctx = context! {
        csrf => csrf,
        view => view.as_ref().map(Serde),
        artists => Serde(&artists(state)),
        artist_names => names,
        form => Serde(form),
        notice => query.notice(),
        error => error.map(|e| e.message(lang)).or(load_error),
        whole_studio => text(lang, "whole_studio"),
    };
    let response = render(state, &query.page(), headers, "closures.html", ctx);
    match error {
        Some(e) => with_status(response, status_of(e)),
        None => response,
    }
}

/// `GET /admin/closures`: the closures from today on and the form to add one.
pub async fn closures(
    State(state): State<AdminState>,
    Staff(session): Staff,
    Query(query): Query<CalendarQuery>,
    headers: HeaderMap,
) -> Response {
    closures_page(
        &state,
        &query,
        &headers,
        &session.csrf,
        &ClosureInput::default(),
        None,
    )
    .await
}

/// The closure form's fields.
#[derive(Debug, Deserialize)]
pub struct ClosureForm {
    /// The session's CSRF token.
    #[serde(default)]
    pub csrf: String,
    /// What was typed.
    #[serde(flatten)]
    pub closure: ClosureInput,
}

/// `POST /admin/closures`.
pub async fn add_closure(
    State(state): State<AdminState>,
    Staff(session): Staff,
    headers: HeaderMap,
    Form(form): Form<ClosureForm>,
) -> Response {
    if !csrf::valid(&session, &form.csrf) {
        return forbidden(&state, &headers);
    }
    match super::add_closure(&state.app, &form.closure).await {
        Ok(_) => Redirect::to("/admin/closures?done=closure_added").into_response(),
        Err(error) => {
            closures_page(
                &state,
                &CalendarQuery::default(),
                &headers,
                &session.csrf,
                &form.closure,
                Some(&error),
            )
            .await
        }
    }
}

/// `POST /admin/closures/{id}/delete`.
pub async fn remove_closure(
    State(state): State<AdminState>,
    Staff(session): Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    if !csrf::valid(&session, &form.csrf) {
        return forbidden(&state, &headers);
    }
    match super::remove_closure(&state.app, &id).await {
        Ok(_) => Redirect::to("/admin/closures?done=closure_removed").into_response(),
        Err(e) => failed(&state, &headers, &e),
    }
}
