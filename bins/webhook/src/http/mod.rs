//! The HTTP surface: webhook, health, readiness, metrics and public pages.

pub mod pages;
pub mod webhook;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use inkdesk_messaging::inbound::MAX_WEBHOOK_BODY_BYTES;

use crate::app::App;

/// Shared state of every handler; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The wired application.
    pub app: Arc<App>,
}

/// The router of every endpoint.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/webhook", get(webhook::verify).post(webhook::receive))
        .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BODY_BYTES))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/privacy", get(pages::privacy))
        .route("/terms", get(pages::terms))
        .merge(crate::admin::router(app.clone()))
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

/// `GET /metrics`: Prometheus text exposition.
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.app.metrics.render(),
    )
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    async fn app() -> Arc<App> {
        let settings =
            crate::settings::Settings::from_env(&std::collections::HashMap::new()).unwrap();
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
        let response = router(app().await)
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
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
}
