//! The review file: one [`ToneExample`] per line (JSONL).
//!
//! **Approval rule.** The import writes every line with `"approved": false`. The studio reads
//! the file and sets `"approved": true` on each pair it is happy to be imitated (or edits the
//! texts; deleting a line also rejects it). Indexing reads only lines with `"approved": true`
//! and refuses a file that has none ([`ToneError::NothingApproved`]), so an unreviewed
//! import can never reach the index by accident.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ToneError;

/// A past exchange used as a tone example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToneExample {
    /// What the customer wrote (consecutive messages joined by newlines).
    pub customer: String,
    /// The studio's reply, scrubbed of prices and dates.
    pub studio: String,
    /// The export thread it came from.
    pub thread: String,
    /// When the studio replied.
    pub at: DateTime<Utc>,
    /// The studio's verdict; only `Some(true)` lines are indexed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved: Option<bool>,
}

/// Write examples as JSONL (one object per line).
pub fn write_jsonl(path: &Path, examples: &[ToneExample]) -> Result<(), ToneError> {
    let file = File::create(path).map_err(|e| ToneError::io(path, e))?;
    let mut out = BufWriter::new(file);
    for example in examples {
        let line = serde_json::to_string(example).map_err(|e| {
            ToneError::io(
                path,
                std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            )
        })?;
        writeln!(out, "{line}").map_err(|e| ToneError::io(path, e))?;
    }
    out.flush().map_err(|e| ToneError::io(path, e))
}

/// Read every example of a JSONL file (blank lines skipped).
pub fn read_jsonl(path: &Path) -> Result<Vec<ToneExample>, ToneError> {
    let file = File::open(path).map_err(|e| ToneError::io(path, e))?;
    let mut examples = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| ToneError::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let example = serde_json::from_str(&line).map_err(|source| ToneError::ReviewParse {
            path: path.to_path_buf(),
            line: n + 1,
            source,
        })?;
        examples.push(example);
    }
    Ok(examples)
}

/// Read only the approved examples; an error when there are none (see the module doc).
pub fn read_approved(path: &Path) -> Result<Vec<ToneExample>, ToneError> {
    let approved: Vec<ToneExample> = read_jsonl(path)?
        .into_iter()
        .filter(|e| e.approved == Some(true))
        .collect();
    if approved.is_empty() {
        return Err(ToneError::NothingApproved {
            path: path.to_path_buf(),
        });
    }
    Ok(approved)
}
