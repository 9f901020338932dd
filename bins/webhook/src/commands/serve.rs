//! `inkdesk serve`: the webhook server and the workers.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use crate::app::{App, Overrides};
use crate::settings::{ProcessEnv, Settings};
use crate::{startup, studio, telemetry};

/// Arguments of `inkdesk serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Studio profile (TOML); default config/studio.toml if present, else the example.
    #[arg(long, env = "INKDESK_STUDIO")]
    pub studio: Option<PathBuf>,
    /// Keep everything in memory (no files in the data dir); for trying things out.
    #[arg(long)]
    pub ephemeral: bool,
}

/// Runs until SIGINT or SIGTERM.
pub async fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let settings = Settings::from_env(&ProcessEnv)?;
    if let Err(err) = settings.check_for_serve() {
        eprintln!("error: {err:#}");
        return Ok(ExitCode::from(crate::EXIT_BAD_INPUT));
    }
    telemetry::init(settings.debug, settings.log_file.as_deref())?;
    let (profile, source) = studio::load(args.studio.as_deref())?;
    tracing::info!(studio = %profile.name, source = ?source, "studio profile loaded");
    let overrides = Overrides {
        ephemeral: args.ephemeral,
        ..Overrides::default()
    };
    let app = Arc::new(App::build(&settings, profile, overrides).await?);
    let addr = std::net::SocketAddr::new(settings.server.bind, settings.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (INKDESK_BIND, PORT)"))?;
    let running = startup::start(app, listener)?;
    tracing::info!(
        addr = %running.addr,
        startup_ms = started.elapsed().as_millis() as u64,
        "inkdesk is ready"
    );
    shutdown_signal().await;
    tracing::info!("shutting down: finishing turns in flight");
    running.stop().await;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
