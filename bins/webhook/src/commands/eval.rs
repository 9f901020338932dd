//! `inkdesk eval [DIR]`: runs the conversation scenarios and prints a table of scores with
//! the failed scenarios' transcripts. The suite itself lives in
//! `inkdesk_assistant::eval`; this module only picks the model and prints.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use inkdesk_assistant::EngineConfig;
use inkdesk_assistant::eval::{EvalModel, run_dir};

use crate::settings::{ProcessEnv, Settings};
use crate::studio;

/// Arguments of `inkdesk eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Directory of scenario files (`*.toml`).
    #[arg(default_value = "evals")]
    pub dir: PathBuf,
    /// Studio profile (TOML); default config/studio.toml if present, else the example.
    #[arg(long, env = "INKDESK_STUDIO")]
    pub studio: Option<PathBuf>,
    /// Answer with each scenario's own script even when a model is configured.
    #[arg(long)]
    pub scripted: bool,
}

/// Runs the suite; exit code 0 when every check held, 1 when one did not, 2 on bad input.
pub async fn run(args: &EvalArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::from_env(&ProcessEnv)?;
    let (profile, _) = studio::load(args.studio.as_deref())?;
    let live = if args.scripted {
        None
    } else {
        crate::app::model(&settings, false)?
    };
    let (model, name) = match live {
        Some(model) => (
            EvalModel::Live(model),
            format!(
                "{} (replies), {} (vision)",
                settings.model.model_default, settings.model.model_vision
            ),
        ),
        None => {
            if !args.scripted {
                eprintln!(
                    "no model configured (OPENAI_API_KEY or OPENAI_BASE_URL): running the scenarios' scripts, which checks the engine, not a model"
                );
            }
            (EvalModel::Scripted, "scripted".to_owned())
        }
    };
    let report = match run_dir(&args.dir, &profile, &EngineConfig::default(), &model, &name).await {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: {:#}", anyhow::Error::from(error));
            return Ok(ExitCode::from(crate::EXIT_BAD_INPUT));
        }
    };
    print!("{report}");
    Ok(if report.all_passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
