//! The admin console under `/admin`: server-rendered pages for the studio's staff and a
//! JSON API under `/admin/api`, both behind `INKDESK_ADMIN_TOKEN`.
//!
//! Map:
//! - [`auth`]: the bearer token (constant-time), login sessions in the shared store, the
//!   login rate limit, cookies.
//! - [`csrf`]: per-session tokens on every state-changing form.
//! - [`i18n`]: Greek and English UI text.
//! - [`view`]: what the pages and the API show (inbox, transcript, traces, bookings,
//!   status), read from the ports.
//! - [`actions`]: what staff can do (mute, unmute, reply, delete, pause).
//! - [`calendar`]: the week of bookings, booking, moving and cancelling, closures (pages
//!   and API).
//! - [`pages`] / [`api`]: the HTML and JSON handlers.
//! - [`notify`]: handoff notifications (Telegram, signed webhook).
//!
//! The console is off (every path answers 404) while the token is unset. Sessions and
//! the login rate limit live in the store, so replicas behind a load balancer share them.

pub mod actions;
pub mod api;
pub mod attendance;
pub mod auth;
pub mod calendar;
pub mod csrf;
pub mod deposits;
pub mod i18n;
pub mod notify;
pub mod pages;
pub mod reminders;
pub mod view;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use inkdesk_domain::ConversationId;
use secrecy::SecretString;

use crate::app::App;
use crate::http::client_addr::TrustedProxies;
use crate::settings::Settings;

use auth::{LoginLimiter, Sessions};
use notify::Notifier;

/// The console's own state: token, sessions, login limiter, templates, notifier.
pub struct Console {
    token: Option<SecretString>,
    sessions: Sessions,
    limiter: LoginLimiter,
    templates: minijinja::Environment<'static>,
    notifier: Notifier,
    secure_cookies: bool,
    trusted_proxies: TrustedProxies,
    public_url: Option<String>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("enabled", &self.token.is_some())
            .field("notifier", &self.notifier)
            .finish_non_exhaustive()
    }
}

impl Console {
    /// The console as configured: off without `INKDESK_ADMIN_TOKEN`.
    pub fn new(
        settings: &Settings,
        time_zone: chrono_tz::Tz,
        keyed: Arc<dyn inkdesk_store::Keyed>,
    ) -> Result<Self, ConsoleError> {
        Ok(Self {
            token: settings.admin_token.clone(),
            sessions: Sessions::new(keyed.clone())?,
            limiter: LoginLimiter::new(keyed)?,
            templates: pages::templates(time_zone)?,
            notifier: Notifier::new(settings.notify.clone())?,
            secure_cookies: secure_cookies(settings.notify.public_url.as_deref()),
            trusted_proxies: settings.server.trusted_proxies.clone(),
            public_url: settings.notify.public_url.clone(),
        })
    }

    /// Whether `INKDESK_ADMIN_TOKEN` is set.
    pub fn enabled(&self) -> bool {
        self.token.is_some()
    }

    /// `INKDESK_PUBLIC_URL`: the service's public address, when set.
    pub fn public_url(&self) -> Option<&str> {
        self.public_url.as_deref()
    }

    /// The handoff notifier.
    pub fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    /// Tells the studio (in the background) that a conversation needs a person.
    pub fn notify_handoff(&self, conversation: &ConversationId, reason: &str) {
        self.notifier.handoff(conversation, reason);
    }
}

/// Whether the console's cookies carry `Secure`: always, except when the public URL is
/// plain-HTTP localhost (a developer's machine, where there is no TLS to require).
fn secure_cookies(public_url: Option<&str>) -> bool {
    let Some(url) = public_url.and_then(|u| url::Url::parse(u).ok()) else {
        return true;
    };
    let local = match url.host() {
        Some(url::Host::Domain(name)) => name == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    !(url.scheme() == "http" && local)
}

/// Why the console could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// A template does not parse (a bug caught by the tests).
    #[error("admin template: {0}")]
    Template(#[from] minijinja::Error),
    /// The HTTP client for notifications.
    #[error("notification client: {0}")]
    Http(#[from] reqwest::Error),
    /// A reserved store scope is not a valid id (a bug caught by the tests).
    #[error("admin store scope: {0}")]
    Sessions(#[from] inkdesk_domain::ValidationError),
}

/// State of every admin handler.
#[derive(Debug, Clone)]
pub struct AdminState {
    /// The wired application (its `admin` field is the [`Console`]).
    pub app: Arc<App>,
}

impl AdminState {
    fn console(&self) -> &Console {
        &self.app.admin
    }
}

/// The console's routes under `/admin`, to be merged into the service's router.
pub fn router<S: Clone + Send + Sync + 'static>(app: Arc<App>) -> Router<S> {
    let state = AdminState { app };
    let api = Router::new()
        .route("/conversations", get(api::list))
        .route(
            "/conversations/{id}",
            get(api::conversation).delete(api::delete),
        )
        .route("/conversations/{id}/mute", post(api::mute))
        .route("/conversations/{id}/unmute", post(api::unmute))
        .route("/conversations/{id}/reply", post(api::reply))
        .route("/conversations/{id}/export", get(api::export))
        .route("/pause", post(api::pause))
        .route("/resume", post(api::resume))
        .route("/bookings", get(api::bookings).post(calendar::api::create))
        .route("/bookings/{id}", get(calendar::api::get))
        .route("/bookings/{id}/move", post(calendar::api::move_booking))
        .route("/bookings/{id}/cancel", post(calendar::api::cancel))
        .route("/week", get(calendar::api::week))
        .route(
            "/closures",
            get(calendar::api::closures).post(calendar::api::add_closure),
        )
        .route("/closures/{id}", delete(calendar::api::remove_closure))
        .route(
            "/bookings/{id}/deposit-received",
            post(deposits::api_deposit_received),
        )
        .route("/traces", get(api::traces))
        .route("/status", get(api::status))
        .route("/reminders", get(reminders::api_list))
        .route("/reminders/{booking}/done", post(reminders::api_done))
        .route("/past", get(attendance::api_past))
        .route("/bookings/{id}/attendance", post(attendance::api_mark));
    let console = Router::new()
        .route("/", get(pages::inbox))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/c/{id}", get(pages::conversation))
        .route("/c/{id}/mute", post(pages::mute))
        .route("/c/{id}/unmute", post(pages::unmute))
        .route("/c/{id}/reply", post(pages::reply))
        .route("/c/{id}/export", get(pages::export))
        .route(
            "/c/{id}/delete",
            get(pages::confirm_delete).post(pages::delete),
        )
        .route("/bookings", get(pages::bookings))
        .route("/reminders", get(reminders::page))
        .route("/reminders/{booking}/done", post(reminders::form_done))
        .route("/past", get(attendance::page))
        .route("/past/{id}/{outcome}", post(attendance::form_mark))
        .route(
            "/bookings/new",
            get(calendar::pages::new_booking).post(calendar::pages::create),
        )
        .route(
            "/bookings/{id}/move",
            get(calendar::pages::move_page).post(calendar::pages::move_booking),
        )
        .route(
            "/bookings/{id}/cancel",
            get(calendar::pages::confirm_cancel).post(calendar::pages::cancel),
        )
        .route("/week", get(calendar::pages::week))
        .route(
            "/closures",
            get(calendar::pages::closures).post(calendar::pages::add_closure),
        )
        .route(
            "/closures/{id}/delete",
            post(calendar::pages::remove_closure),
        )
        .route(
            "/bookings/{id}/deposit-received",
            post(deposits::deposit_received),
        )
        .route("/traces", get(pages::traces))
        .route("/status", get(pages::status))
        .route("/pause", post(pages::pause))
        .route("/static/admin.css", get(pages::stylesheet))
        .nest("/api", api);
    Router::new()
        .nest("/admin", console)
        // `nest` serves `/admin` only; the trailing-slash form is the same inbox.
        .route("/admin/", get(pages::inbox))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// Fails closed while the token is unset and adds the security headers to every answer.
async fn guard(State(state): State<AdminState>, request: Request, next: Next) -> Response {
    let mut response = if state.console().enabled() {
        next.run(request).await
    } else {
        StatusCode::NOT_FOUND.into_response()
    };
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_secure_unless_the_public_url_is_plain_http_localhost() {
        for url in [
            None,
            Some("https://ink.example.gr"),
            Some("http://ink.example.gr"),
            Some("https://localhost:3000"),
            Some("http://localhost.example.gr"),
            Some("not a url"),
        ] {
            assert!(secure_cookies(url), "{url:?}");
        }
        for url in [
            "http://localhost:3000",
            "http://127.0.0.1:3000/",
            "http://[::1]:8080",
        ] {
            assert!(!secure_cookies(Some(url)), "{url}");
        }
    }
}
