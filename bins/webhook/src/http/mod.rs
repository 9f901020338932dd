//! The HTTP surface: webhook, health, readiness, metrics and public pages.

pub mod pages;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use inkdesk_domain::StudioProfile;

use crate::metrics::Metrics;

/// Shared state of every handler; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The studio.
    pub profile: Arc<StudioProfile>,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
}

/// The router of every endpoint.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/privacy", get(pages::privacy))
        .route("/terms", get(pages::terms))
        .with_state(state)
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
        state.metrics.render(),
    )
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    fn state() -> AppState {
        AppState {
            profile: Arc::new(StudioProfile::example()),
            metrics: Arc::new(Metrics::new()),
        }
    }

    async fn get_text(path: &str) -> (StatusCode, String) {
        let response = router(state())
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
