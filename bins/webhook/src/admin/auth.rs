//! Who may use the console: the bearer token (compared in constant time), login
//! sessions kept in memory, the login rate limit and the cookies.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;
use tokio::time::Instant;

use super::AdminState;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "inkdesk_admin";
/// Name of the login form's double-submit cookie.
pub const LOGIN_CSRF_COOKIE: &str = "inkdesk_login";
/// How long a login lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Login attempts allowed per client address per [`LOGIN_WINDOW`].
pub const LOGIN_ATTEMPTS: usize = 5;
/// The rate limit's window.
pub const LOGIN_WINDOW: Duration = Duration::from_secs(60);
/// Most live sessions kept; the oldest go first beyond it.
const MAX_SESSIONS: usize = 1000;

/// True when `given` equals `expected`, in time independent of where they differ.
pub fn token_matches(expected: &SecretString, given: &str) -> bool {
    expected
        .expose_secret()
        .as_bytes()
        .ct_eq(given.as_bytes())
        .into()
}

/// 256 random bits from the OS generator, as hex.
pub fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// One logged-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    /// The session id (the cookie's value).
    pub id: String,
    /// The token every form of this session must carry.
    pub csrf: String,
    expires: Instant,
}

/// Live sessions by id.
#[derive(Debug, Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Starts a session.
    pub fn create(&self) -> Session {
        let session = Session {
            id: random_token(),
            csrf: random_token(),
            expires: Instant::now() + SESSION_TTL,
        };
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        map.retain(|_, s| s.expires > now);
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map.values().min_by_key(|s| s.expires).map(|s| s.id.clone())
        {
            map.remove(&oldest);
        }
        map.insert(session.id.clone(), session.clone());
        session
    }

    /// The live session with this id.
    pub fn get(&self, id: &str) -> Option<Session> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(id).filter(|s| s.expires > Instant::now()).cloned()
    }

    /// Ends a session.
    pub fn remove(&self, id: &str) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(id);
    }
}

/// Recent login attempts per client address.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    attempts: Mutex<HashMap<Option<IpAddr>, VecDeque<Instant>>>,
}

impl LoginLimiter {
    /// Records an attempt; false when the address already used its attempts this minute.
    pub fn allow(&self, ip: Option<IpAddr>) -> bool {
        let now = Instant::now();
        let mut map = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, times| {
            times
                .back()
                .is_some_and(|t| now.duration_since(*t) < LOGIN_WINDOW)
        });
        let times = map.entry(ip).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= LOGIN_WINDOW)
        {
            times.pop_front();
        }
        if times.len() >= LOGIN_ATTEMPTS {
            return false;
        }
        times.push_back(now);
        true
    }
}

/// The value of cookie `name` in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value scoped to the console.
pub fn set_cookie(name: &str, value: &str, max_age: Duration, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={}{}",
        max_age.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The client's address, when the server was started with connect info.
#[derive(Debug, Clone, Copy)]
pub struct PeerIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// A logged-in browser (pages); without a session the browser is sent to the login form.
#[derive(Debug, Clone)]
pub struct Staff(pub Session);

impl FromRequestParts<AdminState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AdminState,
    ) -> Result<Self, Self::Rejection> {
        cookie(&parts.headers, SESSION_COOKIE)
            .and_then(|id| state.console().sessions.get(id))
            .map(Staff)
            .ok_or_else(|| Redirect::to("/admin/login").into_response())
    }
}

/// An API caller that sent the right `Authorization: Bearer` token.
#[derive(Debug, Clone, Copy)]
pub struct Bearer;

impl FromRequestParts<AdminState> for Bearer {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AdminState,
    ) -> Result<Self, Self::Rejection> {
        let given = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match (&state.console().token, given) {
            (Some(expected), Some(given)) if token_matches(expected, given.trim()) => Ok(Bearer),
            _ => Err((
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                axum::Json(serde_json::json!({"error": "unauthorized"})),
            )
                .into_response()),
        }
    }
}

impl super::Console {
    /// Checks the login form's token; `None` when this address is over its limit.
    pub(super) fn try_login(&self, ip: Option<IpAddr>, given: &str) -> Option<Option<Session>> {
        if !self.limiter.allow(ip) {
            return None;
        }
        let ok = self
            .token
            .as_ref()
            .is_some_and(|expected| token_matches(expected, given));
        Some(ok.then(|| self.sessions.create()))
    }

    pub(super) fn logout(&self, id: &str) {
        self.sessions.remove(id);
    }

    pub(super) fn secure_cookies(&self) -> bool {
        self.secure_cookies
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_must_match_exactly() {
        let expected = SecretString::from("s3cret-token");
        assert!(token_matches(&expected, "s3cret-token"));
        assert!(!token_matches(&expected, "s3cret-toke"));
        assert!(!token_matches(&expected, "s3cret-token2"));
        assert!(!token_matches(&expected, ""));
    }

    #[tokio::test(start_paused = true)]
    async fn five_login_attempts_a_minute_per_address() {
        let limiter = LoginLimiter::default();
        let ip: Option<IpAddr> = "192.0.2.7".parse().ok();
        for _ in 0..LOGIN_ATTEMPTS {
            assert!(limiter.allow(ip));
        }
        assert!(!limiter.allow(ip));
        assert!(
            limiter.allow("192.0.2.8".parse().ok()),
            "other addresses are not affected"
        );
        tokio::time::advance(LOGIN_WINDOW).await;
        assert!(limiter.allow(ip));
    }

    #[tokio::test(start_paused = true)]
    async fn sessions_expire() {
        let sessions = Sessions::default();
        let session = sessions.create();
        assert!(sessions.get(&session.id).is_some());
        assert!(sessions.get("not-a-session").is_none());
        tokio::time::advance(SESSION_TTL).await;
        assert!(sessions.get(&session.id).is_none());
    }

    #[test]
    fn cookies_are_read_from_the_header() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; inkdesk_admin=abc; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "c"), None);
    }
}
