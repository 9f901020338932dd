//! Command-line interface definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// inkdesk — answers a studio's Instagram DMs, quotes, books and hands over to people.
#[derive(Debug, Parser)]
#[command(name = "inkdesk", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a studio profile and print the effective settings.
    CheckConfig(StudioArgs),
    /// Quote one or more pieces with the fixed price formula.
    Quote(crate::commands::quote::QuoteArgs),
}

/// Where the studio profile comes from.
#[derive(Debug, Args, Clone)]
pub struct StudioArgs {
    /// Studio profile (TOML). Default: config/studio.toml if present, else the built-in
    /// example studio.
    #[arg(long, env = "INKDESK_STUDIO")]
    pub studio: Option<PathBuf>,
}
