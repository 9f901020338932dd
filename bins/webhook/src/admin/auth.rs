//! Who may use the console: the bearer token (compared in constant time), login
//! sessions kept in the shared store (so any replica behind a load balancer knows them),
//! the login rate limit (per replica) and the cookies.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use inkdesk_domain::{ConversationId, ValidationError};
use inkdesk_store::{Keyed, StoreError};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
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
/// The reserved `Keyed` scope sessions live under (not an Instagram id: those are digits).
const SESSION_SCOPE: &str = "inkdesk-admin-sessions";

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
#[derive(Clone)]
pub struct Session {
    /// The session id (the cookie's value).
    pub id: String,
    /// The token every form of this session must carry.
    pub csrf: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Both values are credentials: never in logs.
        f.debug_struct("Session").finish_non_exhaustive()
    }
}

/// Live sessions, in the store's [`Keyed`] values under one reserved scope, with the
/// store's TTL as their expiry. The key is a SHA-256 of the session id, so what the store
/// holds cannot be replayed as a cookie.
pub struct Sessions {
    keyed: Arc<dyn Keyed>,
    scope: ConversationId,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").finish_non_exhaustive()
    }
}

impl Sessions {
    /// Sessions kept in `keyed`.
    pub fn new(keyed: Arc<dyn Keyed>) -> Result<Self, ValidationError> {
        Ok(Self {
            keyed,
            scope: ConversationId::parse(SESSION_SCOPE)?,
        })
    }

    /// Starts a session; fails when the store cannot keep it.
    pub async fn create(&self) -> Result<Session, StoreError> {
        let session = Session {
            id: random_token(),
            csrf: random_token(),
        };
        let value = serde_json::json!({ "csrf": session.csrf });
        self.keyed
            .put(&self.scope, &key_of(&session.id), value, SESSION_TTL)
            .await?;
        Ok(session)
    }

    /// The live session with this id (none when the store cannot say).
    pub async fn get(&self, id: &str) -> Option<Session> {
        match self.keyed.get(&self.scope, &key_of(id)).await {
            Ok(value) => Some(Session {
                id: id.to_owned(),
                csrf: value?.get("csrf")?.as_str()?.to_owned(),
            }),
            Err(error) => {
                tracing::warn!(%error, "admin session store unavailable");
                None
            }
        }
    }

    /// Ends a session.
    pub async fn remove(&self, id: &str) {
        if let Err(error) = self.keyed.delete(&self.scope, &key_of(id)).await {
            tracing::warn!(%error, "admin session not removed from the store");
        }
    }
}

/// The store key of a session id.
fn key_of(id: &str) -> String {
    format!("session:{}", hex::encode(Sha256::digest(id.as_bytes())))
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
        let session = match cookie(&parts.headers, SESSION_COOKIE) {
            Some(id) => state.console().sessions.get(id).await,
            None => None,
        };
        session
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

/// What a login attempt came to.
#[derive(Debug)]
pub(super) enum Login {
    /// This address used its attempts for the minute.
    Limited,
    /// Wrong token.
    Refused,
    /// The store could not keep the session.
    Unavailable(StoreError),
    /// Logged in.
    Started(Session),
}

impl super::Console {
    /// Checks the login form's token and starts a session.
    pub(super) async fn try_login(&self, ip: Option<IpAddr>, given: &str) -> Login {
        if !self.limiter.allow(ip) {
            return Login::Limited;
        }
        let ok = self
            .token
            .as_ref()
            .is_some_and(|expected| token_matches(expected, given));
        if !ok {
            return Login::Refused;
        }
        match self.sessions.create().await {
            Ok(session) => Login::Started(session),
            Err(error) => Login::Unavailable(error),
        }
    }

    pub(super) async fn logout(&self, id: &str) {
        self.sessions.remove(id).await;
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

    #[tokio::test]
    async fn sessions_live_in_the_store_under_a_hash_and_expire() {
        use inkdesk_domain::{Clock, ManualClock, SystemClock};
        use inkdesk_store::{StoreOptions, Stores};
        let clock = ManualClock::new(SystemClock.now());
        let stores = Stores::memory(Arc::new(clock.clone()), StoreOptions::default());
        let sessions = Sessions::new(stores.keyed.clone()).unwrap();
        let session = sessions.create().await.unwrap();
        let found = sessions.get(&session.id).await.unwrap();
        assert_eq!(found.csrf, session.csrf);
        assert!(sessions.get("not-a-session").await.is_none());
        // Another replica on the same store knows the session.
        let other = Sessions::new(stores.keyed.clone()).unwrap();
        assert!(other.get(&session.id).await.is_some());
        // The store holds a hash of the id, never the cookie's value.
        let scope = ConversationId::parse(SESSION_SCOPE).unwrap();
        assert!(
            stores
                .keyed
                .get(&scope, &session.id)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            stores
                .keyed
                .get(&scope, &key_of(&session.id))
                .await
                .unwrap()
                .is_some()
        );
        clock.advance(chrono::Duration::from_std(SESSION_TTL).unwrap());
        assert!(sessions.get(&session.id).await.is_none());
        let again = sessions.create().await.unwrap();
        sessions.remove(&again.id).await;
        assert!(
            other.get(&again.id).await.is_none(),
            "logout ends it everywhere"
        );
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
