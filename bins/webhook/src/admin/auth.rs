//! Who may use the console: the bearer token (compared in constant time), login
//! sessions and the login rate limit, both kept in the shared store (so every replica
//! behind a load balancer knows every login and counts every attempt), and the cookies.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use inkdesk_domain::{ConversationId, ValidationError};
use inkdesk_store::{Keyed, StoreError};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

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
/// The reserved `Keyed` scope sessions live under (`inkdesk-admin-sessions`).
const SESSION_SCOPE: &str = "admin-sessions";
/// The reserved `Keyed` scope login attempts are counted under (`inkdesk-admin-logins`).
const LOGIN_SCOPE: &str = "admin-logins";

/// True when `given` equals `expected`, in time independent of where they differ.
pub fn token_matches(expected: &SecretString, given: &str) -> bool {
    expected
        .expose_secret()
        .as_bytes()
        .ct_eq(given.as_bytes())
        .into()
}

/// 256 random bits, as 64 hex digits, from rand's thread-local generator (ChaCha12 seeded
/// from the operating system: cryptographically secure).
pub fn random_token() -> String {
    let mut bits = [0u8; 32];
    rand::fill(&mut bits);
    hex::encode(bits)
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
            scope: ConversationId::reserved(SESSION_SCOPE)?,
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

/// Login attempts per client address in fixed windows of [`LOGIN_WINDOW`], counted in the
/// store's [`Keyed`] values under a reserved scope with the store's atomic increment, so
/// the limit holds across replicas: however many replicas race, at most
/// [`LOGIN_ATTEMPTS`] attempts pass per window. IPv6 clients are counted per /64, the
/// block one subscriber gets.
pub struct LoginLimiter {
    keyed: Arc<dyn Keyed>,
    scope: ConversationId,
}

impl std::fmt::Debug for LoginLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginLimiter").finish_non_exhaustive()
    }
}

impl LoginLimiter {
    /// A limiter counting in `keyed` (whose clock times the windows).
    pub fn new(keyed: Arc<dyn Keyed>) -> Result<Self, ValidationError> {
        Ok(Self {
            keyed,
            scope: ConversationId::reserved(LOGIN_SCOPE)?,
        })
    }

    /// Records an attempt; `Ok(false)` when the address already used its attempts in this
    /// window (the refused attempt counts too). A store failure is an error (the caller
    /// refuses the login).
    pub async fn allow(&self, ip: Option<IpAddr>) -> Result<bool, StoreError> {
        let key = attempts_key(ip);
        let count = self
            .keyed
            .increment(&self.scope, &key, LOGIN_WINDOW)
            .await?;
        Ok(count <= LOGIN_ATTEMPTS as u64)
    }
}

/// The store key of an address's attempts: a hash of the address (of its /64 for IPv6).
fn attempts_key(ip: Option<IpAddr>) -> String {
    let counted = match ip {
        None => "unknown".to_owned(),
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let block = u128::from(v6) & !((1u128 << 64) - 1);
                format!("{}/64", std::net::Ipv6Addr::from(block))
            }
        },
    };
    format!(
        "login:{}",
        hex::encode(&Sha256::digest(counted.as_bytes())[..16])
    )
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

/// The client's address: the TCP peer, or the forwarded client when the peer is a
/// trusted proxy (`INKDESK_TRUSTED_PROXY`); `None` without connect info.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AdminState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AdminState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(state.console().trusted_proxies.client_of(parts)))
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
        match self.limiter.allow(ip).await {
            Ok(true) => {}
            Ok(false) => return Login::Limited,
            Err(error) => return Login::Unavailable(error),
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
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_token_must_match_exactly() {
        let expected = SecretString::from("s3cret-token");
        assert!(token_matches(&expected, "s3cret-token"));
        assert!(!token_matches(&expected, "s3cret-toke"));
        assert!(!token_matches(&expected, "s3cret-token2"));
        assert!(!token_matches(&expected, ""));
    }

    #[tokio::test]
    async fn five_login_attempts_a_minute_per_address_on_every_replica() {
        use inkdesk_domain::{Clock, ManualClock, SystemClock};
        use inkdesk_store::{StoreOptions, Stores};
        let clock = ManualClock::new(SystemClock.now());
        let clock_arc: Arc<dyn Clock> = Arc::new(clock.clone());
        let stores = Stores::memory(clock_arc.clone(), StoreOptions::default());
        let replica_a = LoginLimiter::new(stores.keyed.clone()).unwrap();
        let replica_b = LoginLimiter::new(stores.keyed.clone()).unwrap();
        let ip: Option<IpAddr> = "192.0.2.7".parse().ok();
        for n in 0..LOGIN_ATTEMPTS {
            let replica = if n % 2 == 0 { &replica_a } else { &replica_b };
            assert!(replica.allow(ip).await.unwrap(), "attempt {n}");
        }
        assert!(!replica_a.allow(ip).await.unwrap());
        assert!(
            !replica_b.allow(ip).await.unwrap(),
            "the other replica counts the same attempts"
        );
        assert!(
            replica_a.allow("192.0.2.8".parse().ok()).await.unwrap(),
            "other addresses are not affected"
        );
        clock.advance(chrono::Duration::seconds(59));
        assert!(!replica_a.allow(ip).await.unwrap(), "still the same window");
        clock.advance(chrono::Duration::seconds(1));
        assert!(replica_b.allow(ip).await.unwrap(), "a new window");
    }

    #[tokio::test]
    async fn concurrent_attempts_on_two_replicas_cannot_pass_together() {
        use inkdesk_domain::{Clock, SystemClock};
        use inkdesk_store::{StoreOptions, Stores};
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let stores = Stores::memory(clock, StoreOptions::default());
        let replicas = [
            Arc::new(LoginLimiter::new(stores.keyed.clone()).unwrap()),
            Arc::new(LoginLimiter::new(stores.keyed.clone()).unwrap()),
        ];
        let ip: Option<IpAddr> = "198.51.100.1".parse().ok();
        let attempts = (0..50).map(|n| {
            let limiter = replicas[n % 2].clone();
            tokio::spawn(async move { limiter.allow(ip).await.unwrap() })
        });
        let mut allowed = 0;
        for attempt in attempts.collect::<Vec<_>>() {
            allowed += usize::from(attempt.await.unwrap());
        }
        assert_eq!(allowed, LOGIN_ATTEMPTS);
    }

    #[test]
    fn ipv6_clients_are_counted_per_64_and_mapped_ipv4_as_ipv4() {
        let key = |s: &str| attempts_key(s.parse().ok());
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:192.0.2.7"), key("192.0.2.7"));
        assert_ne!(key("192.0.2.7"), key("192.0.2.8"));
        assert!(!key("192.0.2.7").contains("192"), "the store holds a hash");
    }

    #[test]
    fn session_ids_carry_256_random_bits() {
        let a = random_token();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, random_token());
        // uuid v4 pairs (the old ids) fix these nibbles to 4 and 8..b; random bits do not,
        // so across many ids every hex digit shows up at both positions.
        let (mut version, mut variant) = (HashSet::new(), HashSet::new());
        for _ in 0..400 {
            let id = random_token().into_bytes();
            version.insert(id[12]);
            variant.insert(id[16]);
        }
        assert_eq!((version.len(), variant.len()), (16, 16));
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
        let scope = ConversationId::reserved(SESSION_SCOPE).unwrap();
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
