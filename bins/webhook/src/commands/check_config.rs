//! `inkdesk check-config`: validate the studio profile and print it.

use std::process::ExitCode;

use crate::cli::StudioArgs;
use crate::settings::{ProcessEnv, Settings};
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
    let settings = match Settings::from_env(&ProcessEnv) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("error: {err:#}");
            return Ok(ExitCode::from(crate::EXIT_BAD_INPUT));
        }
    };
    println!("\n# environment (secrets hidden)");
    for (key, value) in settings.report() {
        println!("# {key} = {value}");
    }
    for note in settings.payments.profile_notes(&profile) {
        println!("# {note}");
    }
    let missing = settings.missing_for_production();
    if missing.is_empty() {
        println!("# ready for production");
    } else {
        println!("# missing for production:");
        for line in missing {
            println!("#   - {line}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
