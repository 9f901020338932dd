//! `inkdesk`: the studio's Instagram front desk.
//!
//! This binary stays thin: it reads configuration, wires concrete adapters into the
//! crates' ports and runs one subcommand. Every rule lives in a library crate.

mod cli;
mod commands;
mod settings;
mod studio;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

/// Exit code for input the user must correct (bad flags, invalid values).
const EXIT_BAD_INPUT: u8 = 2;

fn main() -> ExitCode {
    // A missing .env file is normal; a malformed one is reported by the commands that need it.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::CheckConfig(args) => commands::check_config::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
