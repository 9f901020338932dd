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
    /// Run the webhook server and the workers (embedded store and calendar by default).
    Serve(crate::commands::serve::ServeArgs),
    /// Talk to the assistant from the terminal as a customer (no Instagram needed).
    Chat(crate::commands::chat::ChatArgs),
    /// Run the conversation scenarios (evals/) and print a table of scores.
    Eval(crate::commands::eval::EvalArgs),
    /// Validate a studio profile and print the effective settings.
    CheckConfig(StudioArgs),
    /// Quote one or more pieces with the fixed price formula.
    Quote(crate::commands::quote::QuoteArgs),
    /// Free appointment slots in the embedded calendar.
    Slots(crate::commands::calendar::SlotsArgs),
    /// Book an appointment in the embedded calendar; prints the booking id.
    Book(crate::commands::calendar::BookArgs),
    /// Upcoming bookings in the embedded calendar.
    Bookings(crate::commands::calendar::BookingsArgs),
    /// Cancel a booking in the embedded calendar.
    Cancel(crate::commands::calendar::CancelArgs),
    /// Close the studio (or one artist) on some dates; prints the closure id.
    Block(crate::commands::calendar::BlockArgs),
    /// Remove a closure made with `inkdesk block`.
    Unblock(crate::commands::calendar::UnblockArgs),
    /// Closures from today on (the profile's and the calendar's).
    Closures(crate::commands::calendar::ClosuresArgs),
    /// Turn an Instagram messages export into a review file of tone examples (JSONL).
    ImportInbox(crate::commands::tone::ImportInboxArgs),
    /// Embed the approved tone examples into the data dir's index (or Pinecone).
    Index(crate::commands::tone::IndexArgs),
}

/// Where the studio profile comes from.
#[derive(Debug, Args, Clone)]
pub struct StudioArgs {
    /// Studio profile (TOML). Default: config/studio.toml if present, else the built-in
    /// example studio.
    #[arg(long, env = "INKDESK_STUDIO")]
    pub studio: Option<PathBuf>,
}
