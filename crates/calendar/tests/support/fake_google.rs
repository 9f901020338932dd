//! A stateful stand-in for the Google Calendar API v3 and the OAuth token endpoint, on
//! a wiremock server. It keeps events in memory and answers `events.list` (time window,
//! `privateExtendedProperty`, pagination), `insert` (409 on a duplicate id), `get` (a deleted
//! event comes back with `status: "cancelled"`), `patch` (410 once deleted) and `delete`
//! (204, then 410), in the shapes of
//! <https://developers.google.com/workspace/calendar/api/v3/reference/events>.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The access token the fake's token endpoint issues and its API accepts.
pub const ACCESS_TOKEN: &str = "ya29.fake-access-token";

#[derive(Default)]
struct State {
    events: BTreeMap<String, Value>,
    next_id: u64,
    /// The next insert is stored but answered 503, as when Google's answer is lost.
    lose_next_insert_answer: bool,
    /// How long listings take to answer (read at arrival): widens the window between a
    /// re-check and the insert that follows it, as a slow network does.
    list_delay: std::time::Duration,
}

/// The fake Google: a wiremock server with the token endpoint and the events API mounted.
pub struct FakeGoogle {
    pub server: MockServer,
    state: Arc<Mutex<State>>,
    page_size: usize,
}

impl FakeGoogle {
    /// Starts a fake whose listings return `page_size` events a page.
    pub async fn start(page_size: usize) -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State::default()));
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": ACCESS_TOKEN,
                "expires_in": 3599,
                "scope": "https://www.googleapis.com/auth/calendar",
                "token_type": "Bearer"
            })))
            .mount(&server)
            .await;
        Mock::given(path_regex(r"^/calendars/[^/]+/events(/[^/]+)?$"))
            .respond_with(Api {
                state: Arc::clone(&state),
                page_size,
            })
            .mount(&server)
            .await;
        Self {
            server,
            state,
            page_size,
        }
    }

    /// Adds an event made outside inkdesk (the studio's own entry).
    pub fn seed(&self, mut event: Value) -> String {
        let mut state = self.state.lock().unwrap();
        state.next_id += 1;
        let id = event["id"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("seeded{:05}", state.next_id));
        event["id"] = json!(id);
        event["status"] = json!("confirmed");
        state.events.insert(id.clone(), event);
        id
    }

    /// Stores the next insert but answers it with a 503 (the client retries and meets 409).
    pub fn lose_next_insert_answer(&self) {
        self.state.lock().unwrap().lose_next_insert_answer = true;
    }

    /// Makes every listing answer after `delay` (its content is read when it arrives).
    pub fn set_list_delay(&self, delay: std::time::Duration) {
        self.state.lock().unwrap().list_delay = delay;
    }

    /// The ids of the live (not cancelled) events.
    pub fn live_ids(&self) -> Vec<String> {
        let state = self.state.lock().unwrap();
        state
            .events
            .iter()
            .filter(|(_, e)| e["status"] != "cancelled")
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The stored event with this id.
    pub fn event(&self, id: &str) -> Option<Value> {
        self.state.lock().unwrap().events.get(id).cloned()
    }
}

struct Api {
    state: Arc<Mutex<State>>,
    page_size: usize,
}

fn error(code: u16, reason: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(code).set_body_json(json!({
        "error": {
            "code": code,
            "message": message,
            "errors": [{"domain": "global", "reason": reason, "message": message}]
        }
    }))
}

/// An event time as an instant: `dateTime`, or `date` at UTC midnight (good enough here).
fn instant(time: &Value) -> Option<DateTime<Utc>> {
    if let Some(dt) = time["dateTime"].as_str() {
        return DateTime::parse_from_rfc3339(dt)
            .ok()
            .map(|t| t.with_timezone(&Utc));
    }
    let date: NaiveDate = time["date"].as_str()?.parse().ok()?;
    Some(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?))
}

fn with_server_fields(mut event: Value) -> Value {
    let id = event["id"].as_str().unwrap_or_default().to_owned();
    event["kind"] = json!("calendar#event");
    event["etag"] = json!(format!("\"{}\"", id.len()));
    event["htmlLink"] = json!(format!("https://www.google.com/calendar/event?eid={id}"));
    event["iCalUID"] = json!(format!("{id}@google.com"));
    event["created"] = json!("2026-11-30T05:00:00.000Z");
    event["updated"] = json!("2026-11-30T05:00:00.000Z");
    event["creator"] = json!({"email": "studio@example.com", "self": true});
    event["organizer"] = json!({"email": "studio@example.com", "self": true});
    event["sequence"] = json!(0);
    event
}

impl Respond for Api {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let authorised = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            == Some(&format!("Bearer {ACCESS_TOKEN}"));
        if !authorised {
            return error(401, "authError", "Invalid Credentials");
        }
        let segments: Vec<&str> = request.url.path().trim_matches('/').split('/').collect();
        let id = segments.get(3).map(|s| s.to_string());
        let mut state = self.state.lock().unwrap();
        match (request.method.as_str(), id) {
            ("GET", None) => self.list(&state, request).set_delay(state.list_delay),
            ("POST", None) => {
                let mut event: Value = match serde_json::from_slice(&request.body) {
                    Ok(v) => v,
                    Err(_) => return error(400, "parseError", "Parse Error"),
                };
                let id = match event["id"].as_str() {
                    Some(id) => id.to_owned(),
                    None => {
                        state.next_id += 1;
                        format!("gen{:08}", state.next_id)
                    }
                };
                if state.events.contains_key(&id) {
                    return error(409, "duplicate", "The requested identifier already exists.");
                }
                event["id"] = json!(id);
                // Google keeps `tentative` when asked; anything else is `confirmed`.
                if event["status"] != "tentative" {
                    event["status"] = json!("confirmed");
                }
                let event = with_server_fields(event);
                state.events.insert(id, event.clone());
                if std::mem::take(&mut state.lose_next_insert_answer) {
                    return error(503, "backendError", "Backend Error");
                }
                ResponseTemplate::new(200).set_body_json(event)
            }
            ("GET", Some(id)) => match state.events.get(&id) {
                Some(event) => ResponseTemplate::new(200).set_body_json(event.clone()),
                None => error(404, "notFound", "Not Found"),
            },
            ("PATCH", Some(id)) => {
                let patch: Value = match serde_json::from_slice(&request.body) {
                    Ok(v) => v,
                    Err(_) => return error(400, "parseError", "Parse Error"),
                };
                match state.events.get_mut(&id) {
                    None => error(404, "notFound", "Not Found"),
                    Some(event) if event["status"] == "cancelled" => {
                        error(410, "deleted", "Resource has been deleted")
                    }
                    // `If-Match` with an older etag: the event changed since it was read.
                    Some(event)
                        if request
                            .headers
                            .get("if-match")
                            .and_then(|v| v.to_str().ok())
                            .is_some_and(|etag| Some(etag) != event["etag"].as_str()) =>
                    {
                        error(412, "conditionNotMet", "Precondition Failed")
                    }
                    Some(event) => {
                        // Patch semantics: the fields sent replace those stored (our
                        // writes always send the whole private property map).
                        for (key, value) in patch.as_object().cloned().unwrap_or_default() {
                            event[key.as_str()] = value;
                        }
                        // Every change gives the event a new version.
                        let version = event["sequence"].as_i64().unwrap_or(0) + 1;
                        event["sequence"] = json!(version);
                        event["etag"] = json!(format!("\"{}-{version}\"", id.len()));
                        ResponseTemplate::new(200).set_body_json(event.clone())
                    }
                }
            }
            ("DELETE", Some(id)) => match state.events.get_mut(&id) {
                None => error(404, "notFound", "Not Found"),
                Some(event) if event["status"] == "cancelled" => {
                    error(410, "deleted", "Resource has been deleted")
                }
                Some(event) => {
                    event["status"] = json!("cancelled");
                    ResponseTemplate::new(204)
                }
            },
            _ => error(405, "methodNotAllowed", "Method Not Allowed"),
        }
    }
}

impl Api {
    fn list(&self, state: &State, request: &Request) -> ResponseTemplate {
        let query: BTreeMap<String, String> = request.url.query_pairs().into_owned().collect();
        if query.get("singleEvents").map(String::as_str) != Some("true")
            || query.get("orderBy").map(String::as_str) != Some("startTime")
        {
            return error(400, "invalid", "orderBy=startTime needs singleEvents=true");
        }
        let time_min = query
            .get("timeMin")
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
        let time_max = query
            .get("timeMax")
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
        let property = query
            .get("privateExtendedProperty")
            .and_then(|p| p.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let mut matching: Vec<(DateTime<Utc>, &Value)> = state
            .events
            .values()
            .filter(|e| e["status"] != "cancelled")
            .filter_map(|e| Some((instant(&e["start"])?, instant(&e["end"])?, e)))
            .filter(|(_, end, _)| time_min.is_none_or(|min| *end > min))
            .filter(|(start, _, _)| time_max.is_none_or(|max| *start < max))
            .filter(|(_, _, e)| {
                property.as_ref().is_none_or(|(k, v)| {
                    e["extendedProperties"]["private"][k.as_str()].as_str() == Some(v.as_str())
                })
            })
            .map(|(start, _, e)| (start, e))
            .collect();
        matching.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| a.1["id"].as_str().cmp(&b.1["id"].as_str()))
        });
        let offset: usize = query
            .get("pageToken")
            .and_then(|t| t.strip_prefix("page-"))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let page: Vec<Value> = matching
            .iter()
            .skip(offset)
            .take(self.page_size)
            .map(|(_, e)| (*e).clone())
            .collect();
        let mut body = json!({
            "kind": "calendar#events",
            "etag": "\"p3\"",
            "summary": "Studio",
            "updated": "2026-11-30T05:00:00.000Z",
            "timeZone": "Europe/Athens",
            "accessRole": "owner",
            "defaultReminders": [{"method": "popup", "minutes": 30}],
            "items": page,
        });
        if offset + self.page_size < matching.len() {
            body["nextPageToken"] = json!(format!("page-{}", offset + self.page_size));
        }
        ResponseTemplate::new(200).set_body_json(body)
    }
}
