//! How much the HTTP server takes on: at most `max_concurrency` requests at once (the next
//! one answers 503 at once) and an answer within `request_timeout` (503 when the handler
//! is slower).
//!
//! 503 is what Meta redelivers, so an overloaded replica loses no webhook. A handler that
//! passes the deadline is not cancelled: it runs to its end in the background (its
//! upstream calls have timeouts of their own) and keeps its place in the concurrency count
//! until then, so a slow dependency cannot pile up unbounded work behind fast 503s, and a
//! half-done side effect (a reply sent but not yet recorded) is never cut in two.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::metrics::Metrics;

/// The server's limits (`INKDESK_HTTP_TIMEOUT_SECONDS`, `INKDESK_HTTP_MAX_CONCURRENCY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Longest time to an answer; under Meta's 20-second webhook timeout by default.
    pub request_timeout: Duration,
    /// Requests handled at once by this process.
    pub max_concurrency: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(15),
            max_concurrency: 512,
        }
    }
}

/// The state of the limiting middleware.
#[derive(Debug, Clone)]
pub struct Gate {
    permits: Arc<Semaphore>,
    timeout: Duration,
    metrics: Arc<Metrics>,
}

impl Gate {
    /// A gate enforcing `limits`, counting refusals in `metrics`.
    pub fn new(limits: HttpLimits, metrics: Arc<Metrics>) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limits.max_concurrency.max(1))),
            timeout: limits.request_timeout,
            metrics,
        }
    }
}

fn unavailable(reason: &'static str) -> Response {
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, reason).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// The middleware: see the module documentation.
pub async fn gate(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    let Ok(permit) = gate.permits.clone().try_acquire_owned() else {
        gate.metrics.http_refused("overloaded");
        return unavailable("overloaded; try again");
    };
    // Logged on failure; a feed address carries its secret, which never reaches a log.
    let path = crate::http::feed::loggable_path(request.uri().path());
    let handler = tokio::spawn(async move {
        let response = next.run(request).await;
        drop(permit);
        response
    });
    match tokio::time::timeout(gate.timeout, handler).await {
        Ok(Ok(response)) => response,
        Ok(Err(error)) => {
            tracing::error!(%error, path, "request handler failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Err(_) => {
            gate.metrics.http_refused("timeout");
            tracing::warn!(
                path,
                timeout_ms = gate.timeout.as_millis() as u64,
                "request passed its deadline; answered 503, the handler finishes in the background"
            );
            unavailable("timed out; try again")
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tokio::sync::Notify;
    use tower::ServiceExt;

    use super::*;

    /// `/slow` tells `entered` it started, then waits for `release`; `/fast` answers.
    fn router(
        limits: HttpLimits,
        entered: Arc<Notify>,
        release: Arc<Notify>,
        metrics: Arc<Metrics>,
    ) -> Router {
        Router::new()
            .route(
                "/slow",
                get(move || {
                    let (entered, release) = (entered.clone(), release.clone());
                    async move {
                        entered.notify_one();
                        release.notified().await;
                        "done"
                    }
                }),
            )
            .route("/fast", get(|| async { "fast" }))
            .layer(axum::middleware::from_fn_with_state(
                Gate::new(limits, metrics),
                gate,
            ))
    }

    async fn call(router: &Router, path: &str) -> (StatusCode, String) {
        let response = router
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn a_request_over_the_concurrency_limit_is_refused_with_503_at_once() {
        let release = Arc::new(Notify::new());
        let metrics = Arc::new(Metrics::new());
        let limits = HttpLimits {
            request_timeout: Duration::from_secs(30),
            max_concurrency: 1,
        };
        let entered = Arc::new(Notify::new());
        let router = router(limits, entered.clone(), release.clone(), metrics.clone());
        let slow = tokio::spawn({
            let router = router.clone();
            async move { call(&router, "/slow").await }
        });
        // The slow request holds the only place once its handler runs.
        entered.notified().await;
        let (status, body) = call(&router, "/fast").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        release.notify_one();
        assert_eq!(slow.await.unwrap(), (StatusCode::OK, "done".into()));
        assert_eq!(call(&router, "/fast").await.0, StatusCode::OK);
        assert!(
            metrics
                .render()
                .contains("inkdesk_http_refused_total{label=\"overloaded\"}"),
            "{}",
            metrics.render()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_handler_is_answered_503_at_the_deadline_and_keeps_its_place() {
        let release = Arc::new(Notify::new());
        let metrics = Arc::new(Metrics::new());
        let limits = HttpLimits {
            request_timeout: Duration::from_secs(2),
            max_concurrency: 1,
        };
        let router = router(
            limits,
            Arc::new(Notify::new()),
            release.clone(),
            metrics.clone(),
        );
        let started = tokio::time::Instant::now();
        let (status, _) = call(&router, "/slow").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(started.elapsed(), Duration::from_secs(2));
        // The handler still runs and still counts against the limit.
        assert_eq!(
            call(&router, "/fast").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        release.notify_one();
        let mut status = StatusCode::SERVICE_UNAVAILABLE;
        for _ in 0..100 {
            tokio::task::yield_now().await;
            status = call(&router, "/fast").await.0;
            if status == StatusCode::OK {
                break;
            }
        }
        assert_eq!(status, StatusCode::OK, "the place is free once it finished");
        assert!(
            metrics
                .render()
                .contains("inkdesk_http_refused_total{label=\"timeout\"} 1"),
            "{}",
            metrics.render()
        );
    }
}
