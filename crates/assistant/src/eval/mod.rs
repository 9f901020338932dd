//! The conversation eval suite: scenario files run against the engine, each turn scored
//! by checks of what a good studio answer is.
//!
//! - [`scenario`]: the TOML format ([`Scenario`], [`load_dir`]).
//! - [`run`](mod@run): one scenario on a fresh engine, in-memory calendar and fixed clock
//!   ([`run_scenario`]), with the scenario's script ([`EvalModel::Scripted`]) or a real
//!   model ([`EvalModel::Live`]).
//! - [`checks`]: the checks every turn gets and the ones a turn's `expect` asks for.
//! - [`report`]: the table of scores and the failed scenarios' transcripts.
//!
//! With the scripted model the suite proves the engine and the checks (CI); with a real
//! model it measures the prompt and the model (a studio or a developer, before shipping a
//! prompt or model change). Tone examples are off, so runs are comparable.

pub mod checks;
pub mod report;
pub mod run;
pub mod scenario;

use std::path::Path;

use inkdesk_domain::StudioProfile;

pub use report::SuiteReport;
pub use run::{EvalModel, ScenarioResult, SetupError, run_scenario};
pub use scenario::{Scenario, ScenarioError, load_dir};

use crate::EngineConfig;

/// Why a suite could not run.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A scenario file is unusable.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// A scenario could not be set up.
    #[error(transparent)]
    Setup(#[from] SetupError),
}

/// Runs every scenario in `dir`, in file-name order, on `profile` with `model`.
/// `model_name` labels the report.
pub async fn run_dir(
    dir: &Path,
    profile: &StudioProfile,
    config: &EngineConfig,
    model: &EvalModel,
    model_name: &str,
) -> Result<SuiteReport, EvalError> {
    let scenarios = load_dir(dir)?;
    let mut results = Vec::with_capacity(scenarios.len());
    for scenario in &scenarios {
        results.push(run_scenario(scenario, profile, config, model).await?);
    }
    Ok(SuiteReport {
        model: model_name.to_owned(),
        scenarios: results,
    })
}
