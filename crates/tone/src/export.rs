//! Reading an Instagram "Download your information" messages export (JSON format) and
//! turning it into (customer turn, studio reply) pairs.
//!
//! Layout: `…/messages/inbox/<thread>/message_1.json`, `message_2.json`, … Each file is
//! `{"participants":[{"name"}],"messages":[{"sender_name","timestamp_ms","content"?,
//! "photos"?,"share"?,"reactions"?,…}],"title",…}`; long threads are split over several files
//! (newest first in the export), so files are merged and sorted by `timestamp_ms`.
//!
//! The export writes every string as UTF-8 bytes each escaped as a separate code point
//! (`"\u00ce\u0093"` for `Γ`): [`repair_mojibake`] undoes that.
//!
//! Pairing rules (documented for the studio in the import report):
//! - the studio's messages are those whose `sender_name` equals the studio's display name
//!   (compared after repair, trimmed, case-insensitive); every other sender is the customer;
//! - messages without text (photo only, shares without caption) and Instagram's own
//!   system lines ("Liked a message", "sent an attachment.", reactions) are skipped;
//! - the **automatic greeting** is removed before turns are built: any studio message equal
//!   (after normalising case and spaces) to a configured greeting, or to the *auto-detected
//!   opener* — the most frequent identical first studio message across threads, when it
//!   opens at least [`ImportOptions::auto_greeting_min_threads`] threads and at least 20 % of
//!   the threads in which the studio wrote;
//! - consecutive messages of one side collapse into one turn (joined by a newline);
//! - each customer turn directly followed by a studio turn is a pair;
//! - pairs whose customer turn or studio reply is shorter than the minimums are dropped
//!   (too short to teach anything), and exact duplicates (same normalised texts) are dropped.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::error::ToneError;

/// Undo the export's latin-1-as-UTF-8 mojibake: when every char of `text` is below U+0100,
/// take each as one byte and decode the bytes as UTF-8. Text that is not mojibake (a char
/// above U+00FF, or bytes that are not valid UTF-8) is returned unchanged.
pub fn repair_mojibake(text: &str) -> String {
    let mut bytes = Vec::with_capacity(text.len());
    for ch in text.chars() {
        match u8::try_from(u32::from(ch)) {
            Ok(b) => bytes.push(b),
            Err(_) => return text.to_owned(),
        }
    }
    match String::from_utf8(bytes) {
        Ok(repaired) => repaired,
        Err(_) => text.to_owned(),
    }
}

/// Settings of the import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The studio's Instagram display name, as it appears in `sender_name`.
    pub studio_name: String,
    /// Studio greetings to drop wherever they appear (compared case- and space-insensitively).
    pub greetings: Vec<String>,
    /// Detect the automatic greeting (most frequent identical opener); see the module doc.
    pub detect_auto_greeting: bool,
    /// Minimum number of threads an identical opener must start to count as automatic.
    pub auto_greeting_min_threads: usize,
    /// Minimum characters of a customer turn worth keeping.
    pub min_customer_chars: usize,
    /// Minimum characters of a studio reply worth keeping.
    pub min_studio_chars: usize,
}

impl ImportOptions {
    /// Defaults for the given studio display name: auto-greeting detection on (3 threads),
    /// customer turns of at least 6 characters, studio replies of at least 15.
    pub fn new(studio_name: impl Into<String>) -> Self {
        Self {
            studio_name: studio_name.into(),
            greetings: Vec::new(),
            detect_auto_greeting: true,
            auto_greeting_min_threads: 3,
            min_customer_chars: 6,
            min_studio_chars: 15,
        }
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The customer (any participant other than the studio).
    Customer,
    /// The studio account.
    Studio,
}

/// One text message of a thread, repaired and attributed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportMessage {
    /// Who wrote it.
    pub side: Side,
    /// When, in epoch milliseconds.
    pub timestamp_ms: i64,
    /// The repaired text.
    pub text: String,
}

/// One conversation of the export, messages oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportThread {
    /// The thread's folder name (stable id inside the export).
    pub id: String,
    /// Text messages, oldest first.
    pub messages: Vec<ExportMessage>,
}

/// A customer turn and the studio's reply to it, before scrubbing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawPair {
    /// The customer's (collapsed) turn.
    pub customer: String,
    /// The studio's (collapsed) reply.
    pub studio: String,
    /// The thread it came from.
    pub thread: String,
    /// When the studio replied.
    pub at: DateTime<Utc>,
}

/// Counts of what the pairing kept and dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PairingStats {
    /// Pairs kept.
    pub kept: usize,
    /// Pairs dropped as too short.
    pub too_short: usize,
    /// Studio messages dropped as the automatic greeting.
    pub greetings: usize,
}

#[derive(Deserialize)]
struct WireFile {
    #[serde(default)]
    messages: Vec<WireMessage>,
}

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    sender_name: String,
    #[serde(default)]
    timestamp_ms: i64,
    content: Option<String>,
}

/// Find the `inbox` folder: `path` itself, `path/inbox`, `path/messages/inbox` or
/// `path/your_instagram_activity/messages/inbox` (newer exports).
pub fn find_inbox(path: &Path) -> Result<PathBuf, ToneError> {
    let candidates = [
        path.join("inbox"),
        path.join("messages").join("inbox"),
        path.join("your_instagram_activity")
            .join("messages")
            .join("inbox"),
    ];
    if path.file_name().is_some_and(|n| n == "inbox") && path.is_dir() {
        return Ok(path.to_path_buf());
    }
    candidates
        .into_iter()
        .find(|c| c.is_dir())
        .ok_or_else(|| ToneError::ExportNotFound {
            path: path.to_path_buf(),
        })
}

/// The thread folders of an inbox, sorted by name.
pub fn thread_dirs(inbox: &Path) -> Result<Vec<PathBuf>, ToneError> {
    let mut dirs = Vec::new();
    for entry in fs::read_dir(inbox).map_err(|e| ToneError::io(inbox, e))? {
        let entry = entry.map_err(|e| ToneError::io(inbox, e))?;
        if entry.path().is_dir() {
            dirs.push(entry.path());
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// Read one thread folder: every `message_*.json`, merged, repaired, sorted by time, and
/// with messages repeated across files (same sender, time and text) kept once.
pub fn read_thread(dir: &Path, studio_name: &str) -> Result<ExportThread, ToneError> {
    let studio = normalise(studio_name);
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| ToneError::io(dir, e))? {
        let path = entry.map_err(|e| ToneError::io(dir, e))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("message_") && name.ends_with(".json") {
            files.push(path);
        }
    }
    files.sort();
    let mut seen = HashSet::new();
    let mut messages = Vec::new();
    for file in files {
        let bytes = fs::read(&file).map_err(|e| ToneError::io(&file, e))?;
        let wire: WireFile =
            serde_json::from_slice(&bytes).map_err(|source| ToneError::ExportParse {
                path: file.clone(),
                source,
            })?;
        for m in wire.messages {
            let Some(content) = m.content else { continue };
            let text = repair_mojibake(&content).trim().to_owned();
            if text.is_empty() || is_system_line(&text) {
                continue;
            }
            let sender = repair_mojibake(&m.sender_name);
            let side = if normalise(&sender) == studio {
                Side::Studio
            } else {
                Side::Customer
            };
            if seen.insert((side, m.timestamp_ms, text.clone())) {
                messages.push(ExportMessage {
                    side,
                    timestamp_ms: m.timestamp_ms,
                    text,
                });
            }
        }
    }
    messages.sort_by_key(|m| m.timestamp_ms);
    let id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(ExportThread { id, messages })
}

/// Instagram's own lines that are not something a person typed.
fn is_system_line(text: &str) -> bool {
    let lower = text.to_lowercase();
    lower == "liked a message"
        || lower.ends_with(" sent an attachment.")
        || lower.ends_with(" shared a story.")
        || lower.ends_with(" shared a post.")
        || (lower.starts_with("reacted ") && lower.ends_with(" to your message"))
        || lower.ends_with("started a video chat")
        || lower.ends_with("started an audio call")
        || lower.contains("missed a video chat")
        || lower.contains("missed an audio call")
}

/// Lower-case, trimmed, inner whitespace collapsed: how greetings and duplicates compare.
pub fn normalise(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The auto-detected greeting (normalised), if one opener qualifies; see the module doc.
pub fn detect_greeting(threads: &[ExportThread], min_threads: usize) -> Option<String> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut studio_threads = 0usize;
    for thread in threads {
        if let Some(first) = thread.messages.iter().find(|m| m.side == Side::Studio) {
            studio_threads += 1;
            *counts.entry(normalise(&first.text)).or_default() += 1;
        }
    }
    let (opener, count) = counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))?;
    // 20 % of the threads the studio wrote in, and at least `min_threads` of them.
    (count >= min_threads.max(2) && count * 5 >= studio_threads).then_some(opener)
}

/// Build the pairs of every thread following the module's rules. Duplicates are not
/// removed here (they are compared after scrubbing, in the import).
pub fn pair_threads(
    threads: &[ExportThread],
    options: &ImportOptions,
) -> (Vec<RawPair>, PairingStats) {
    let mut greetings: HashSet<String> = options.greetings.iter().map(|g| normalise(g)).collect();
    if options.detect_auto_greeting
        && let Some(g) = detect_greeting(threads, options.auto_greeting_min_threads)
    {
        greetings.insert(g);
    }
    let mut stats = PairingStats::default();
    let mut pairs = Vec::new();
    for thread in threads {
        let mut turns: Vec<(Side, String, i64)> = Vec::new();
        for m in &thread.messages {
            if m.side == Side::Studio && greetings.contains(&normalise(&m.text)) {
                stats.greetings += 1;
                continue;
            }
            match turns.last_mut() {
                Some((side, text, _)) if *side == m.side => {
                    text.push('\n');
                    text.push_str(&m.text);
                }
                _ => turns.push((m.side, m.text.clone(), m.timestamp_ms)),
            }
        }
        for w in turns.windows(2) {
            let [(Side::Customer, customer, _), (Side::Studio, studio, at_ms)] = w else {
                continue;
            };
            if customer.chars().count() < options.min_customer_chars
                || studio.chars().count() < options.min_studio_chars
            {
                stats.too_short += 1;
                continue;
            }
            let at = DateTime::<Utc>::from_timestamp_millis(*at_ms).unwrap_or_default();
            pairs.push(RawPair {
                customer: customer.clone(),
                studio: studio.clone(),
                thread: thread.id.clone(),
                at,
            });
        }
    }
    stats.kept = pairs.len();
    (pairs, stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mojibake(s: &str) -> String {
        s.bytes().map(char::from).collect()
    }

    #[test]
    fn mojibake_of_greek_and_emoji_is_repaired() {
        for s in ["Γεια σας! Πόσο κοστίζει;", "Ευχαριστούμε ❤️🐼", "José"]
        {
            assert_eq!(repair_mojibake(&mojibake(s)), s);
        }
    }

    #[test]
    fn text_that_is_not_mojibake_is_left_alone() {
        // Already-correct Greek has chars above U+00FF.
        assert_eq!(repair_mojibake("Καλησπέρα"), "Καλησπέρα");
        // Latin-1 text that is not valid UTF-8 as bytes stays as it is.
        assert_eq!(repair_mojibake("café"), "café");
        assert_eq!(repair_mojibake("plain ascii"), "plain ascii");
    }

    fn msg(side: Side, t: i64, text: &str) -> ExportMessage {
        ExportMessage {
            side,
            timestamp_ms: t,
            text: text.into(),
        }
    }

    fn thread(id: &str, messages: Vec<ExportMessage>) -> ExportThread {
        ExportThread {
            id: id.into(),
            messages,
        }
    }

    const HELLO: &str = "Γεια σας! Θα σας απαντήσουμε σύντομα ❤️";

    #[test]
    fn consecutive_turns_collapse_and_greeting_opener_is_detected() {
        let mut threads = Vec::new();
        for i in 0..3 {
            threads.push(thread(
                &format!("t{i}"),
                vec![
                    msg(Side::Customer, 1, "Καλησπέρα"),
                    msg(Side::Studio, 2, HELLO),
                    msg(Side::Customer, 3, "θέλω ένα τατουάζ στο χέρι"),
                    msg(Side::Studio, 4, "Στείλτε μας μια φωτογραφία"),
                    msg(Side::Studio, 5, "και το μέγεθος σε εκατοστά"),
                ],
            ));
        }
        assert_eq!(detect_greeting(&threads, 3), Some(normalise(HELLO)));
        let (pairs, stats) = pair_threads(&threads, &ImportOptions::new("studio"));
        assert_eq!(stats.greetings, 3);
        assert_eq!(pairs.len(), 3);
        assert_eq!(pairs[0].customer, "Καλησπέρα\nθέλω ένα τατουάζ στο χέρι");
        assert_eq!(
            pairs[0].studio,
            "Στείλτε μας μια φωτογραφία\nκαι το μέγεθος σε εκατοστά"
        );
    }

    #[test]
    fn an_opener_used_in_few_threads_is_not_a_greeting() {
        let threads = vec![
            thread(
                "a",
                vec![msg(Side::Customer, 1, "hello"), msg(Side::Studio, 2, "Hi!")],
            ),
            thread(
                "b",
                vec![msg(Side::Customer, 1, "hello"), msg(Side::Studio, 2, "Hi!")],
            ),
        ];
        assert_eq!(detect_greeting(&threads, 3), None);
    }

    #[test]
    fn short_pairs_are_dropped_and_studio_first_turns_are_not_pairs() {
        let threads = vec![thread(
            "a",
            vec![
                msg(Side::Studio, 1, "Καλώς ήρθατε στο στούντιο μας"),
                msg(Side::Customer, 2, "ok"),
                msg(Side::Studio, 3, "Τέλεια, σας περιμένουμε!"),
                msg(Side::Customer, 4, "Πόσο κάνει ένα μικρό;"),
                msg(Side::Studio, 5, "👍"),
            ],
        )];
        let (pairs, stats) = pair_threads(&threads, &ImportOptions::new("studio"));
        assert!(pairs.is_empty());
        assert_eq!(stats.too_short, 2);
    }

    #[test]
    fn system_lines_are_recognised() {
        assert!(is_system_line("Liked a message"));
        assert!(is_system_line("maria sent an attachment."));
        assert!(is_system_line("Reacted ❤️ to your message"));
        assert!(!is_system_line("Σας στείλαμε το σχέδιο"));
    }
}
