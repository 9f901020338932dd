//! The suite's report: a table of scores and, for every scenario that failed, its
//! transcript with the checks that did not hold.

use std::fmt::{self, Write as _};

use super::run::ScenarioResult;

/// The results of a whole suite.
#[derive(Debug, Clone)]
pub struct SuiteReport {
    /// What answered (`scripted` or the model's name).
    pub model: String,
    /// One result per scenario, in file order.
    pub scenarios: Vec<ScenarioResult>,
}

impl SuiteReport {
    /// Scenarios that passed, and all scenarios.
    pub fn passed(&self) -> (usize, usize) {
        (
            self.scenarios.iter().filter(|s| s.passed()).count(),
            self.scenarios.len(),
        )
    }

    /// True when every check of every scenario held.
    pub fn all_passed(&self) -> bool {
        self.scenarios.iter().all(ScenarioResult::passed)
    }

    /// The table of scores (Markdown).
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "model: {}\n", self.model);
        out.push_str(
            "| scenario | lang | turns | checks | score | prompt tokens | cached | result |\n",
        );
        out.push_str("|---|---|---:|---:|---:|---:|---:|---|\n");
        let (mut ok_all, mut total_all) = (0, 0);
        for s in &self.scenarios {
            let (ok, total) = s.score();
            ok_all += ok;
            total_all += total;
            let prompt: u32 = s.turns.iter().map(|t| t.prompt_tokens).sum();
            let cached: u32 = s.turns.iter().map(|t| t.cached_tokens).sum();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {ok}/{total} | {:.0}% | {prompt} | {cached} | {} |",
                s.name,
                match s.language {
                    inkdesk_domain::Language::El => "el",
                    inkdesk_domain::Language::En => "en",
                },
                s.turns.len(),
                percent(ok, total),
                if s.passed() { "pass" } else { "FAIL" }
            );
        }
        let (passed, all) = self.passed();
        let _ = writeln!(
            out,
            "\n{passed}/{all} scenarios passed; {ok_all}/{total_all} checks ({:.1}%)",
            percent(ok_all, total_all)
        );
        out
    }

    /// Transcripts of the failed scenarios.
    pub fn failures(&self) -> String {
        let mut out = String::new();
        for s in self.scenarios.iter().filter(|s| !s.passed()) {
            let _ = writeln!(out, "\n=== {} ===", s.name);
            for (n, turn) in s.turns.iter().enumerate() {
                let _ = writeln!(out, "-- turn {}", n + 1);
                for line in &turn.customer {
                    let _ = writeln!(out, "customer: {line}");
                }
                for tool in &turn.tools {
                    let _ = writeln!(
                        out,
                        "  tool {}({}) -> {}",
                        tool.name, tool.arguments, tool.result
                    );
                }
                match &turn.reply {
                    Some(reply) => {
                        let _ = writeln!(out, "studio: {reply}");
                    }
                    None => out.push_str("studio: (no reply)\n"),
                }
                let _ = writeln!(out, "  outcome: {:?}", turn.outcome);
                for check in turn.checks.iter().filter(|c| !c.passed) {
                    let _ = writeln!(out, "  FAILED {}: {}", check.name, check.detail);
                }
            }
        }
        out
    }
}

fn percent(ok: usize, total: usize) -> f64 {
    if total == 0 {
        100.0
    } else {
        100.0 * ok as f64 / total as f64
    }
}

impl fmt::Display for SuiteReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.table())?;
        f.write_str(&self.failures())
    }
}
