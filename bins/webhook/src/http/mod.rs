//! The HTTP surface: webhook, health, readiness, metrics and public pages, behind the
//! server's limits ([`limits`]: concurrency and request timeout, 503 beyond them).
//! [`client_addr`] finds the client's address behind a trusted proxy; [`feed`] serves the
//! iCalendar feed.

pub mod client_addr;
pub mod feed;
pub mod limits;
pub mod pages;
pub mod payments;
pub mod webhook;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use inkdesk_messaging::inbound::MAX_WEBHOOK_BODY_BYTES;

use crate::app::App;

/// Shared state of every handler; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The wired application.
    pub app: Arc<App>,
}

/// The router of every endpoint. `/health` stays outside the limits, so a busy replica
/// is not taken for a dead one.
pub fn router(app: Arc<App>) -> Router {
    let gate = limits::Gate::new(app.http.limits, app.metrics.clone());
    Router::new()
        .route("/webhook", get(webhook::verify).post(webhook::receive))
        .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BODY_BYTES))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/privacy", get(pages::privacy))
        .route("/terms", get(pages::terms))
        .route("/payments/stripe", axum::routing::post(payments::stripe))
        .route("/feed/{file}", get(feed::all))
        .route("/feed/{token}/{file}", get(feed::artist))
        .merge(crate::admin::router(app.clone()))
        .layer(axum::middleware::from_fn_with_state(gate, limits::gate))
        .route("/health", get(health))
        .with_state(AppState { app })
}

/// `GET /ready`: 200 when the store answers and the webhook can verify signatures;
/// otherwise 503 with the reasons, one per line.
async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let mut problems = Vec::new();
    if let Err(error) = state.app.stores.health.ping().await {
        problems.push(format!("store: {error}"));
    }
    if state.app.webhook.app_secret.is_none() {
        problems.push("IG_APP_SECRET is not set".to_owned());
    }
    if problems.is_empty() {
        (StatusCode::OK, "ready".to_owned())
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, problems.join("\n"))
    }
}

/// `GET /health`: the process is alive.
async fn health() -> &'static str {
    "ok"
}

/// `GET /metrics`: Prometheus text exposition; with `INKDESK_METRICS_TOKEN` set, only
/// for `Authorization: Bearer <token>` (401 otherwise).
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(expected) = &state.app.http.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if !given.is_some_and(|given| crate::admin::auth::token_matches(expected, given)) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "unauthorized",
            )
                .into_response();
        }
    }
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.app.metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    async fn app() -> Arc<App> {
        app_with(&[]).await
    }

    async fn app_with(env: &[(&str, &str)]) -> Arc<App> {
        let env: std::collections::HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let settings = crate::settings::Settings::from_env(&env).unwrap();
        let overrides = crate::app::Overrides {
            ephemeral: true,
            ..Default::default()
        };
        Arc::new(
            App::build(
                &settings,
                inkdesk_domain::StudioProfile::example(),
                overrides,
            )
            .await
            .unwrap(),
        )
    }

    async fn get_text(path: &str) -> (StatusCode, String) {
        get_from(app().await, Request::get(path).body(Body::empty()).unwrap()).await
    }

    async fn get_from(app: Arc<App>, request: Request<Body>) -> (StatusCode, String) {
        let response = router(app).oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn health_metrics_and_pages_answer() {
        assert_eq!(get_text("/health").await, (StatusCode::OK, "ok".into()));
        let (status, body) = get_text("/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            body.contains("inkdesk_webhook_ack_seconds_count 0"),
            "{body}"
        );
        let (status, body) = get_text("/privacy").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("Panda Ink Tattoo"));
        let (status, _) = get_text("/terms").await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn metrics_need_the_bearer_token_when_one_is_configured() {
        let app = app_with(&[("INKDESK_METRICS_TOKEN", "scrape-me-0123")]).await;
        let get = |auth: Option<&str>| {
            let mut request = Request::get("/metrics");
            if let Some(auth) = auth {
                request = request.header(header::AUTHORIZATION, auth);
            }
            request.body(Body::empty()).unwrap()
        };
        for refused in [None, Some("Bearer wrong"), Some("scrape-me-0123")] {
            let (status, body) = get_from(app.clone(), get(refused)).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{refused:?}");
            assert!(!body.contains("inkdesk_"), "{body}");
        }
        let (status, body) = get_from(app.clone(), get(Some("Bearer scrape-me-0123"))).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("inkdesk_webhook_ack_seconds_count"), "{body}");
        // Health stays open: it says nothing.
        let (status, _) = get_from(app, Request::get("/health").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK);
    }
}
