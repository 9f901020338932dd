//! Starting and stopping the service: HTTP server plus workers, with graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::App;
use crate::{http, worker};

/// A running service.
#[derive(Debug)]
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The wired application (tests inspect its stores).
    pub app: Arc<App>,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    workers: JoinHandle<()>,
}

/// Starts the HTTP server on `listener` and the workers; returns at once.
pub fn start(app: Arc<App>, listener: TcpListener) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    let (shutdown, stop) = watch::channel(false);
    let mut server_stop = stop.clone();
    let router = http::router(app.clone());
    let server = tokio::spawn(async move {
        // Connect info gives the admin login's rate limit the client's address.
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            // Either a stop signal or the sender going away ends the server.
            let _ = server_stop.wait_for(|stop| *stop).await;
        })
        .await
    });
    // The turn workers and the scheduled-job worker stop (and are killed) together.
    let jobs_stop = stop.clone();
    let sweep_stop = stop.clone();
    let workers = tokio::spawn({
        let app = app.clone();
        async move {
            tokio::join!(
                worker::run(app.clone(), stop),
                crate::jobs::run(app.clone(), jobs_stop),
                crate::jobs::sweep_reminders(app, sweep_stop)
            );
        }
    });
    Ok(Running {
        addr,
        app,
        shutdown,
        server,
        workers,
    })
}

impl Running {
    /// Stops accepting requests, lets turns in flight finish (within the grace period)
    /// and returns when everything has stopped.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        match self.server.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!(%error, "HTTP server failed"),
            Err(error) => tracing::error!(%error, "HTTP server task failed"),
        }
        if let Err(error) = self.workers.await {
            tracing::error!(%error, "worker task failed");
        }
    }

    /// Stops at once, abandoning turns in flight (their leases expire): what a crash
    /// looks like to the other replicas.
    pub fn kill(self) {
        self.server.abort();
        self.workers.abort();
    }
}
