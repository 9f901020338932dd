//! `inkdesk-ceiling`: the benchmark's ceiling, a bare axum server whose `POST /webhook`
//! only does what no store can avoid — check the `X-Hub-Signature-256` HMAC over the raw
//! body and parse the JSON into events — then answers 200 without recording anything.
//!
//! `scripts/bench-webhook.sh` runs it beside `inkdesk serve`, with the same load, so every
//! webhook figure in docs/PERFORMANCE.md is also a ratio to what the HTTP stack, the
//! signature check and the parser allow on the same machine at the same moment.
//!
//! ```sh
//! PORT=3917 IG_APP_SECRET=S IG_ACCOUNT_ID=17841400000000000 inkdesk-ceiling
//! ```
//! It uses the same runtime (multi-threaded tokio), router stack and body limit as the
//! service, and the service's own signature check and parser (`inkdesk-messaging`).

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use inkdesk_messaging::inbound::MAX_WEBHOOK_BODY_BYTES;
use inkdesk_messaging::signature::SIGNATURE_HEADER;
use inkdesk_messaging::{parse_webhook, verify_signature};
use secrecy::SecretString;

/// What the handler needs.
struct Ceiling {
    secret: SecretString,
    account_id: String,
}

/// Verify, parse, answer: the service's webhook minus the store.
async fn receive(State(state): State<Arc<Ceiling>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok());
    if verify_signature(&state.secret, signature, &body).is_err() {
        return StatusCode::FORBIDDEN;
    }
    match parse_webhook(&body, &state.account_id) {
        Ok(events) => {
            // Dropped unrecorded; black_box keeps the parse from being optimised away.
            std::hint::black_box(events);
            StatusCode::OK
        }
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

fn main() -> anyhow::Result<()> {
    let port: u16 = std::env::var("PORT")
        .unwrap_or_else(|_| "3000".into())
        .parse()
        .context("PORT must be a port number")?;
    let secret = std::env::var("IG_APP_SECRET").context("IG_APP_SECRET is required")?;
    let account_id = std::env::var("IG_ACCOUNT_ID").unwrap_or_default();
    let state = Arc::new(Ceiling {
        secret: SecretString::from(secret),
        account_id,
    });
    let router = Router::new()
        .route("/webhook", post(receive))
        .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BODY_BYTES))
        .route("/health", get(|| async { "ok" }))
        .with_state(state);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
            axum::serve(listener, router).await?;
            Ok(())
        })
}
