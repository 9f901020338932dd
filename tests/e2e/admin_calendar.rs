//! The calendar from the console's API and forms against the running service: booking,
//! moving and cancelling with the studio's rules, closures, and the assistant seeing a
//! booking made from the console at once.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{Datelike, Duration as ChronoDuration, NaiveDate, Utc, Weekday};
use inkdesk_domain::StudioProfile;
use reqwest::StatusCode;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

use crate::admin::{client, csrf_in, login_at};
use crate::support::{
    ADMIN_TOKEN, Options, TestApp, graph_accepts_sends, send_reply_completion, spawn_with,
    text_event,
};

/// The example studio with two artists (each takes one appointment at a time).
pub fn studio_with_artists() -> StudioProfile {
    let toml = format!(
        "{}\n{}",
        include_str!("../../config/studio.example.toml"),
        r#"
[[artists]]
key = "maria"
name = "Μαρία"
styles = ["realistic"]

[[artists]]
key = "nikos"
name = "Νίκος"
styles = ["line_work"]
"#
    );
    StudioProfile::from_toml_str(&toml).unwrap()
}

/// The first `weekday` at least three days from now in Athens (inside the horizon, past
/// the notice).
pub fn next(weekday: Weekday) -> NaiveDate {
    let mut day = Utc::now()
        .with_timezone(&StudioProfile::example().time_zone)
        .date_naive()
        + ChronoDuration::days(3);
    while day.weekday() != weekday {
        day += ChronoDuration::days(1);
    }
    day
}

async fn api(
    app: &TestApp,
    verb: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = client()
        .request(verb, app.url(&format!("/admin/api{path}")))
        .bearer_auth(ADMIN_TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn post() -> reqwest::Method {
    reqwest::Method::POST
}

/// The local `HH:MM` of an RFC 3339 UTC time, in Athens.
fn local_time(rfc3339: &Value) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339.as_str().unwrap())
        .unwrap()
        .with_timezone(&StudioProfile::example().time_zone)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

#[tokio::test]
async fn the_api_books_moves_and_cancels_with_the_studios_rules() {
    let app = spawn_with(
        Options {
            profile: Some(studio_with_artists()),
            ..Options::default()
        },
        None,
        None,
    )
    .await;
    let calendar = &app.running.app.calendar;
    let day = next(Weekday::Tue);
    let date = day.to_string();
    let booking = |time: &str, artist: &str| {
        json!({"name": "Ελένη Κ", "phone": "691 234 5678", "date": date, "time": time,
               "price": 130, "artist": artist, "design": "τριαντάφυλλο"})
    };

    // Bad input: the field is named, nothing is booked.
    let mut bad_phone = booking("11:00", "maria");
    bad_phone["phone"] = json!("12");
    let (status, body) = api(&app, post(), "/bookings", Some(bad_phone)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["field"], "phone");
    assert!(
        body["error"].as_str().unwrap().starts_with("Phone: "),
        "{body}"
    );
    let mut bad_date = booking("11:00", "maria");
    bad_date["date"] = json!("8/12/2026");
    let (status, body) = api(&app, post(), "/bookings", Some(bad_date)).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("date"))
    );
    let (status, body) = api(&app, post(), "/bookings", Some(booking("11:00", "petros"))).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("artist"))
    );
    // The studio's rules: closed on Sundays.
    let mut sunday = booking("11:00", "maria");
    sunday["date"] = json!(next(Weekday::Sun).to_string());
    let (status, body) = api(&app, post(), "/bookings", Some(sunday)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"], "The studio is closed on that day");
    assert!(
        calendar
            .list_upcoming(Utc::now(), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // A booking: the price gives the length (130 € → 80 minutes), the time is Athens'.
    let mut first = booking("11:00", "maria");
    first["idempotency_key"] = json!("req-1");
    let (status, body) = api(&app, post(), "/bookings", Some(first.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let made = &body["booking"];
    assert_eq!(local_time(&made["start"]), format!("{date} 11:00"));
    assert_eq!(made["minutes"], 80);
    assert_eq!(made["artist"], "maria");
    assert_eq!(made["artist_name"], "Μαρία");
    assert_eq!(made["conversation"], "console");
    let id = made["id"].as_str().unwrap().to_owned();
    // The same key again is the same booking, not a second one.
    let (status, again) = api(&app, post(), "/bookings", Some(first)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(again["booking"]["id"], id.as_str());
    assert_eq!(
        calendar.list_upcoming(Utc::now(), 10).await.unwrap().len(),
        1
    );

    // Maria is taken at 11:00: the answer says so and offers free times, none of them hers
    // at 11:00.
    let (status, taken) = api(&app, post(), "/bookings", Some(booking("11:00", "maria"))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{taken}");
    assert_eq!(taken["error"], "That time is no longer free.");
    let alternatives = taken["alternatives"].as_array().unwrap();
    assert!(!alternatives.is_empty());
    assert!(alternatives.iter().all(|a| {
        !(a["start"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{date}T11:00"))
            && a["artist"] == "maria")
    }));
    // Whoever is free: Nikos.
    let (status, other) = api(&app, post(), "/bookings", Some(booking("11:00", ""))).await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    assert_eq!(other["booking"]["artist"], "nikos");

    // The week: a column per artist, each booking in its artist's column on its day.
    let (status, week) = api(
        &app,
        reqwest::Method::GET,
        &format!("/week?week={date}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{week}");
    assert_eq!(week["time_zone"], "Europe/Athens");
    let columns = week["columns"].as_array().unwrap();
    assert_eq!(columns.len(), 2);
    assert_eq!(columns[0]["artist"], "maria");
    let tuesday = &columns[0]["days"][1];
    assert_eq!(tuesday["date"], date.as_str());
    assert_eq!(tuesday["bookings"][0]["id"], id.as_str());
    assert_eq!(columns[1]["days"][1]["bookings"][0]["artist"], "nikos");
    assert!(columns[0]["days"][6]["closed"].as_bool().unwrap(), "Sunday");

    // Move: a new time and length; then a refused one leaves it where it was.
    let (status, moved) = api(
        &app,
        post(),
        &format!("/bookings/{id}/move"),
        Some(json!({"date": date, "time": "14:00", "duration_minutes": 60})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(
        local_time(&moved["booking"]["start"]),
        format!("{date} 14:00")
    );
    assert_eq!(moved["booking"]["minutes"], 60);
    assert_eq!(moved["booking"]["artist"], "maria");
    let (status, late) = api(
        &app,
        post(),
        &format!("/bookings/{id}/move"),
        Some(json!({"date": date, "time": "19:30"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{late}");
    assert_eq!(
        late["error"],
        "The appointment would end after closing time (20:00)"
    );
    let kept = calendar
        .get(&inkdesk_domain::EventId::parse(&id).unwrap())
        .await
        .unwrap();
    assert_eq!(kept.duration.minutes(), 60);
    assert_eq!(
        local_time(&json!(kept.start.to_rfc3339())),
        format!("{date} 14:00")
    );

    // Cancel, twice.
    let (status, cancelled) = api(&app, post(), &format!("/bookings/{id}/cancel"), None).await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["cancelled"], id.as_str());
    let (status, _) = api(&app, post(), &format!("/bookings/{id}/cancel"), None).await;
    assert_eq!(status, StatusCode::GONE);
    let (status, _) = api(&app, post(), "/bookings/a0b1c2d3e4/cancel", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = api(&app, post(), "/bookings/not%20an%20id/cancel", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let left = calendar.list_upcoming(Utc::now(), 10).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].artist.as_ref().unwrap().as_str(), "nikos");

    // Closures: Nikos away on the day; his booking stays, a new one is refused.
    let (status, body) = api(
        &app,
        post(),
        "/closures",
        Some(json!({"from": date, "to": (day - ChronoDuration::days(1)).to_string()})),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("to"))
    );
    let (status, added) = api(
        &app,
        post(),
        "/closures",
        Some(json!({"from": date, "artist": "nikos", "reason": "σεμινάριο"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let closure = added["closure"]["id"].as_str().unwrap().to_owned();
    assert_eq!(added["closure"]["to"], date.as_str());
    let (_, listed) = api(&app, reqwest::Method::GET, "/closures", None).await;
    assert_eq!(listed["calendar"][0]["id"], closure.as_str());
    assert_eq!(listed["calendar"][0]["reason"], "σεμινάριο");
    let stored = calendar.closures(day, day).await.unwrap();
    assert_eq!(stored.len(), 1);
    let (status, refused) = api(&app, post(), "/bookings", Some(booking("16:00", "nikos"))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(
        refused["error"],
        "That time is no longer free. Νίκος is away that day (σεμινάριο)."
    );
    assert_eq!(
        refused["away"],
        json!([{"artist": "Νίκος", "reason": "σεμινάριο"}])
    );
    let (_, week) = api(
        &app,
        reqwest::Method::GET,
        &format!("/week?week={date}"),
        None,
    )
    .await;
    assert_eq!(week["columns"][1]["days"][1]["away"], json!(["σεμινάριο"]));
    assert_eq!(week["columns"][0]["days"][1]["away"], json!([]));
    let (status, removed) = api(
        &app,
        reqwest::Method::DELETE,
        &format!("/closures/{closure}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    let (status, _) = api(
        &app,
        reqwest::Method::DELETE,
        &format!("/closures/{closure}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(calendar.closures(day, day).await.unwrap().is_empty());
    let (status, _) = api(&app, post(), "/bookings", Some(booking("16:00", "nikos"))).await;
    assert_eq!(status, StatusCode::CREATED);

    // Without the token, nothing.
    let refused = client()
        .post(app.url("/admin/api/bookings"))
        .json(&booking("17:00", "maria"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn booking_forms_keep_what_was_typed_explain_refusals_and_offer_free_times() {
    let mut profile = StudioProfile::example();
    profile.booking.capacity = 1;
    let app = spawn_with(
        Options {
            profile: Some(profile),
            ..Options::default()
        },
        None,
        None,
    )
    .await;
    let session = login_at(&app.url("")).await;
    let cookie = format!("inkdesk_admin={session}");
    let get = |path: String| {
        let cookie = cookie.clone();
        let url = app.url(&path);
        async move {
            let response = client()
                .get(url)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };
    let date = next(Weekday::Wed).to_string();
    // From a conversation, the form comes with its id.
    crate::admin::seed(&app, "5552301", 1).await;
    let (_, page) = get("/admin/c/5552301".to_owned()).await;
    assert!(
        page.contains("/admin/bookings/new?conversation=5552301"),
        "{page}"
    );
    let (_, prefilled) = get("/admin/bookings/new?conversation=5552301".to_owned()).await;
    assert!(
        prefilled.contains("name=\"conversation\" value=\"5552301\""),
        "{prefilled}"
    );
    let (status, form) = get(format!("/admin/bookings/new?date={date}")).await;
    assert_eq!(status, StatusCode::OK, "{form}");
    let csrf = csrf_in(&form);
    let request = form
        .split("name=\"request\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let submit = |fields: Vec<(&'static str, String)>| {
        let cookie = cookie.clone();
        let url = app.url("/admin/bookings/new");
        async move {
            let response = client()
                .post(url)
                .header("cookie", cookie)
                .form(&fields)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let location = response
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned());
            (status, location, response.text().await.unwrap())
        }
    };
    let fields = |phone: &str, time: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("request", request.clone()),
            ("name", "Ελένη Κ".to_owned()),
            ("phone", phone.to_owned()),
            ("date", date.clone()),
            ("time", time.to_owned()),
            ("duration_minutes", "60".to_owned()),
            ("design", "μικρό φεγγάρι".to_owned()),
        ]
    };
    let calendar = &app.running.app.calendar;

    // Without the session's token: refused, nothing booked.
    let mut forged = fields("6912345678", "11:00");
    forged[0].1 = "wrong".into();
    let (status, _, _) = submit(forged).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A bad phone: the form again, in Greek, with everything as typed.
    let (status, _, html) = submit(fields("12", "11:00")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{html}");
    assert!(
        html.contains("Τηλέφωνο: ο αριθμός δεν είναι έγκυρος"),
        "{html}"
    );
    assert!(
        html.contains("value=\"Ελένη Κ\"") && html.contains("value=\"μικρό φεγγάρι\""),
        "{html}"
    );
    assert!(
        html.contains(&format!("value=\"{request}\"")),
        "the same one-time token"
    );
    // Too early: the studio's hours, in plain words.
    let (status, _, html) = submit(fields("6912345678", "09:00")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("Εκείνη την ημέρα το στούντιο είναι ανοιχτό 11:00"),
        "{html}"
    );
    assert!(
        calendar
            .list_upcoming(Utc::now(), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Booked; a second submission of the same form is the same booking.
    let (status, location, _) = submit(fields("6912345678", "11:00")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.unwrap();
    assert!(
        location.starts_with("/admin/week?week=") && location.ends_with("&done=booked"),
        "{location}"
    );
    let (status, _, _) = submit(fields("6912345678", "11:00")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let booked = calendar.list_upcoming(Utc::now(), 10).await.unwrap();
    assert_eq!(booked.len(), 1);
    let (status, week) = get(location.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        week.contains("Το ραντεβού κλείστηκε.") && week.contains("Ελένη Κ"),
        "{week}"
    );
    assert!(
        week.contains(&format!("id=\"b-{}\"", booked[0].id)),
        "{week}"
    );

    // Another form for the same (full) hour: the free times instead, as one-click buttons.
    let (_, form) = get(format!("/admin/bookings/new?date={date}")).await;
    let other_request = form
        .split("name=\"request\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let mut second = fields("6987654321", "11:00");
    second[1].1 = other_request.clone();
    second[2].1 = "Νίκη Π".into();
    let (status, _, html) = submit(second.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("Η ώρα δεν είναι πια ελεύθερη."), "{html}");
    let pick = html
        .split("name=\"slot\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(pick, format!("{date} 12:00"));
    second.push(("slot", pick));
    let (status, _, _) = submit(second).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let booked = calendar.list_upcoming(Utc::now(), 10).await.unwrap();
    assert_eq!(booked.len(), 2);
    assert_eq!(booked[1].customer.as_str(), "Νίκη Π");

    // The move and cancel pages need the session's token too.
    let id = booked[0].id.to_string();
    for action in ["move", "cancel"] {
        let refused = client()
            .post(app.url(&format!("/admin/bookings/{id}/{action}")))
            .header("cookie", cookie.clone())
            .form(&[
                ("csrf", "wrong"),
                ("date", date.as_str()),
                ("time", "15:00"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{action}");
    }
    assert_eq!(
        calendar.list_upcoming(Utc::now(), 10).await.unwrap().len(),
        2
    );
    let (status, confirm) = get(format!("/admin/bookings/{id}/cancel?lang=en")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        confirm.contains("Cancel this booking?") && confirm.contains("Ελένη Κ"),
        "{confirm}"
    );
    let (status, _) = get("/admin/bookings/a0b1c2d3e4/move".to_owned()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Answers model calls from a script, in order.
struct Script(Arc<Mutex<VecDeque<Value>>>);

impl Respond for Script {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        match self.0.lock().unwrap().pop_front() {
            Some(body) => ResponseTemplate::new(200).set_body_json(body),
            None => ResponseTemplate::new(500),
        }
    }
}

fn tool_call(name: &str, arguments: Value) -> Value {
    json!({
        "id": "chatcmpl-e2e", "object": "chat.completion", "created": 1764400000, "model": "gpt-4o",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
            "tool_calls": [{"id": format!("call_{name}"), "type": "function",
                "function": {"name": name, "arguments": arguments.to_string()}}]}}],
        "usage": {"prompt_tokens": 3600, "completion_tokens": 30, "total_tokens": 3630}
    })
}

/// The tool answers the model was sent, in order.
async fn tool_answers(app: &TestApp) -> Vec<String> {
    let requests = app.model.received_requests().await.unwrap();
    let Some(last) = requests.last() else {
        return Vec::new();
    };
    let body: Value = serde_json::from_slice(&last.body).unwrap();
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_made_in_the_console_is_what_the_assistant_sees_next() {
    let mut profile = StudioProfile::example();
    profile.booking.capacity = 1;
    let app = spawn_with(
        Options {
            profile: Some(profile),
            ..Options::default()
        },
        None,
        None,
    )
    .await;
    graph_accepts_sends(&app.graph).await;
    let date = next(Weekday::Tue).to_string();

    // Staff book 11:00 from the console for this customer's conversation.
    let (status, made) = api(
        &app,
        post(),
        "/bookings",
        Some(
            json!({"name": "Γιάννης Π", "phone": "6912345678", "date": date, "time": "11:00",
                    "duration_minutes": 60, "conversation": "5554001"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let id = made["booking"]["id"].as_str().unwrap().to_owned();

    let script = Arc::new(Mutex::new(VecDeque::from([
        tool_call(
            "check_availability",
            json!({"from_date": date, "to_date": date, "duration_minutes": 60}),
        ),
        tool_call("find_my_bookings", json!({})),
        send_reply_completion("Έχετε ραντεβού την Τρίτη στις 11:00 ❤️🐼"),
    ])));
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(Script(script.clone()))
        .mount(&app.model)
        .await;
    app.post_signed(&text_event("5554001", "m_c1", "Τι ώρες έχετε την Τρίτη;"))
        .await;
    let sent = app.wait_for_sends(1, Duration::from_secs(10)).await;
    assert_eq!(sent.len(), 1);
    assert!(
        script.lock().unwrap().is_empty(),
        "the model script was not used up"
    );

    let answers = tool_answers(&app).await;
    assert_eq!(answers.len(), 2, "{answers:?}");
    // Availability no longer offers the hour booked from the console; the next one is free.
    assert!(
        !answers[0].contains(&format!("{date} 11:00")),
        "{}",
        answers[0]
    );
    assert!(
        answers[0].contains(&format!("{date} 12:00")),
        "{}",
        answers[0]
    );
    // And the customer's bookings include it.
    assert!(answers[1].contains(&id), "{}", answers[1]);

    // Cancelled from the console: the hour is offered again at once.
    let (status, _) = api(&app, post(), &format!("/bookings/{id}/cancel"), None).await;
    assert_eq!(status, StatusCode::OK);
    let slots = inkdesk_calendar::available_slots(
        app.running.app.calendar.as_ref(),
        &app.running.app.profile,
        &[],
        &inkdesk_calendar::SlotRequest::range(
            date.parse().unwrap(),
            date.parse().unwrap(),
            inkdesk_domain::AppointmentDuration::from_minutes(60, 600).unwrap(),
        ),
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(slots[0].start.format("%H:%M").to_string(), "11:00");
}
