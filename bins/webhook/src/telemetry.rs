//! Logging: bunyan JSON in production, human-readable with `DEBUG=true`.
//!
//! Privacy rule kept by every crate: message text and phone numbers are never logged at
//! INFO or above; they may appear at DEBUG/TRACE only, which production does not enable.

use std::path::Path;

use anyhow::Context;
use tracing_bunyan_formatter::{BunyanFormattingLayer, JsonStorageLayer};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Installs the global subscriber. `RUST_LOG` overrides the default level (`info`, or
/// `debug` with `DEBUG=true`). With `log_file`, JSON lines are also appended there.
pub fn init(debug: bool, log_file: Option<&Path>) -> anyhow::Result<()> {
    let default = if debug {
        "debug,hyper=info,h2=info,reqwest=info"
    } else {
        "info"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let file_layer = match log_file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open log file {}", path.display()))?;
            Some(BunyanFormattingLayer::new(
                "inkdesk".into(),
                std::sync::Mutex::new(file),
            ))
        }
        None => None,
    };
    let stdout_layer = if debug {
        tracing_subscriber::fmt::layer().pretty().boxed()
    } else {
        BunyanFormattingLayer::new("inkdesk".into(), std::io::stdout).boxed()
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(JsonStorageLayer)
        .with(stdout_layer)
        .with(file_layer)
        .try_init()
        .context("a logger is already installed")
}
