//! `inkdesk check-config`: validate the studio profile and print it.

use std::process::ExitCode;

use crate::cli::StudioArgs;
use crate::studio::{self, ProfileSource};

/// Prints the effective profile, or a one-line error with exit code 2.
pub fn run(args: &StudioArgs) -> anyhow::Result<ExitCode> {
    let (profile, source) = match studio::load(args.studio.as_deref()) {
        Ok(loaded) => loaded,
        Err(err) => {
            eprintln!("error: {err:#}");
            return Ok(ExitCode::from(crate::EXIT_BAD_INPUT));
        }
    };
    match source {
        ProfileSource::File(path) => println!("# studio profile: {}", path.display()),
        ProfileSource::BuiltIn => println!("# studio profile: built-in example"),
    }
    print!("{}", profile.to_toml_string()?);
    Ok(ExitCode::SUCCESS)
}
