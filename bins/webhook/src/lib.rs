//! The `inkdesk` binary's library: configuration, wiring, HTTP, workers and the CLI.
//!
//! It stays thin: it reads configuration, wires concrete adapters into the crates' ports
//! as `Arc<dyn …>` and runs one subcommand. Every business rule lives in a library crate.
//! It is a library so the end-to-end tests in the workspace's `tests/` can start the
//! real application on a random port.
//!
//! Map:
//! - [`cli`]: the clap command line; [`commands`]: one module per subcommand.
//! - [`settings`]: environment variables (the seed's names and ours), secrets hidden.
//! - [`studio`]: finding and loading the studio profile.
//! - [`telemetry`]: bunyan JSON logs, pretty with `DEBUG=true`.
//! - [`http`]: the axum router and handlers.
//! - [`app`]: the wired application (every port as `Arc<dyn …>`, chosen by configuration);
//!   [`adapters`]: store ports adapted to the engine's ports.
//! - [`ingest`]: the webhook's fast path (dedupe, record, queue, mute).
//! - [`worker`]: debounce workers that claim due conversations and run turns.
//! - [`startup`]: server + workers with graceful shutdown.
//! - [`metrics`]: Prometheus counters and histograms served at `/metrics`.
//! - [`admin`]: the staff console under `/admin` (pages, JSON API, handoff notifications).

/// jemalloc for the whole process, SQLite's allocations included (the crate's unprefixed
/// `malloc`). With glibc's allocator the SQLite writer thread freeing what the runtime's
/// workers allocated cost a tenth of the server's time on a burst of webhooks; jemalloc
/// made the embedded store 10–16 % faster (docs/PERFORMANCE.md). The `inkdesk-ceiling`
/// bench binary does not link this library and keeps glibc's: under jemalloc it measured
/// the same.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

pub mod adapters;
pub mod admin;
pub mod app;
pub mod cli;
pub mod commands;
pub mod http;
pub mod ingest;
pub mod jobs;
pub mod metrics;
pub mod payments;
pub mod profiles;
pub mod settings;
pub mod startup;
pub mod studio;
pub mod telemetry;
pub mod worker;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

/// Exit code for input the user must correct (bad flags, invalid values).
pub const EXIT_BAD_INPUT: u8 = 2;

/// Runs the command line.
pub fn main() -> ExitCode {
    // A missing .env file is normal; values already in the environment win.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::CheckConfig(args) => commands::check_config::run(&args),
        Command::Quote(args) => commands::quote::run(&args),
        Command::Slots(args) => block_on(commands::calendar::slots(&args)),
        Command::Book(args) => block_on(commands::calendar::book(&args)),
        Command::Bookings(args) => block_on(commands::calendar::bookings(&args)),
        Command::Cancel(args) => block_on(commands::calendar::cancel(&args)),
        Command::Block(args) => block_on(commands::calendar::block(&args)),
        Command::Unblock(args) => block_on(commands::calendar::unblock(&args)),
        Command::Closures(args) => block_on(commands::calendar::closures(&args)),
        Command::Serve(args) => serve(&args),
        Command::Chat(args) => block_on(commands::chat::run(&args)),
        Command::Eval(args) => block_on(commands::eval::run(&args)),
        Command::ImportInbox(args) => commands::tone::import_inbox(&args),
        Command::Index(args) => block_on(commands::tone::index(&args)),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the service on a multi-threaded runtime.
fn serve(args: &commands::serve::ServeArgs) -> anyhow::Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(commands::serve::run(args))
}

/// Runs a one-shot command on a small runtime.
fn block_on(
    future: impl std::future::Future<Output = anyhow::Result<ExitCode>>,
) -> anyhow::Result<ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(future)
}
