//! Scenario files: what the customer says, what the calendar holds, what the scripted
//! model answers, and what a good turn looks like.
//!
//! A scenario is a TOML file (see `evals/README.md` for the full format). Placeholders in
//! script arguments and expected arguments are replaced when the scenario runs: `$img1`,
//! `$img2`, … are the references of the conversation's images in the order sent, and
//! `$booking1`, … the ids of the calendar entries the scenario starts with.

use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use inkdesk_domain::Language;
use serde::Deserialize;
use serde_json::Value;

/// A scenario file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file or directory could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid scenario TOML.
    #[error("{path}: {message}")]
    Invalid {
        /// The path.
        path: PathBuf,
        /// What is wrong, naming the field.
        message: String,
    },
    /// The directory holds no scenario.
    #[error("no scenario files (*.toml) in {0}")]
    Empty(PathBuf),
}

/// One scenario, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A short name; defaults to the file's stem.
    #[serde(default)]
    pub name: String,
    /// What the scenario is about, for the reader.
    #[serde(default)]
    pub about: String,
    /// The reply language expected on every turn (a turn may say otherwise).
    pub language: LanguageCode,
    /// The studio's local time when the conversation starts (`YYYY-MM-DDTHH:MM`).
    #[serde(deserialize_with = "local_time")]
    pub now: NaiveDateTime,
    /// A studio profile (TOML) replacing the suite's, relative to the scenario file.
    #[serde(default)]
    pub studio: Option<PathBuf>,
    /// Calendar entries before the conversation starts.
    #[serde(default)]
    pub calendar: Vec<CalendarEntry>,
    /// The customer's turns, in order.
    #[serde(rename = "turn")]
    pub turns: Vec<Turn>,
    /// Where the file was read from (set by the loader).
    #[serde(skip)]
    pub path: PathBuf,
}

/// `el` or `en`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LanguageCode {
    /// Greek.
    El,
    /// English.
    En,
}

impl From<LanguageCode> for Language {
    fn from(code: LanguageCode) -> Self {
        match code {
            LanguageCode::El => Language::El,
            LanguageCode::En => Language::En,
        }
    }
}

/// Whose calendar entry it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Owner {
    /// The scenario's customer.
    Customer,
    /// Another customer of the studio.
    #[default]
    Other,
}

/// A booking in the calendar before the conversation starts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarEntry {
    /// Whose booking.
    #[serde(default)]
    pub owner: Owner,
    /// Day (studio's zone).
    pub date: NaiveDate,
    /// Start time (studio's zone).
    #[serde(deserialize_with = "clock_time")]
    pub time: NaiveTime,
    /// Length.
    #[serde(default = "sixty")]
    pub minutes: u32,
    /// Customer name.
    #[serde(default = "default_name")]
    pub name: String,
    /// Phone.
    #[serde(default = "default_phone")]
    pub phone: String,
    /// Design note.
    #[serde(default)]
    pub design: Option<String>,
    /// Quoted price.
    #[serde(default)]
    pub price: Option<u32>,
}

fn local_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
    let raw = String::deserialize(d)?;
    NaiveDateTime::parse_from_str(&raw, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(&raw, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| serde::de::Error::custom(format!("`{raw}` is not YYYY-MM-DDTHH:MM")))
}

fn clock_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
    let raw = String::deserialize(d)?;
    NaiveTime::parse_from_str(&raw, "%H:%M")
        .map_err(|_| serde::de::Error::custom(format!("`{raw}` is not HH:MM")))
}

fn sixty() -> u32 {
    60
}

fn default_name() -> String {
    "Maria Papa".to_owned()
}

fn default_phone() -> String {
    "6900000000".to_owned()
}

/// One burst of customer messages and what should come of it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    /// Minutes after the previous turn (or the start) at which the customer writes.
    #[serde(default = "two")]
    pub after_minutes: u32,
    /// Images sent first, one message each; paths relative to the scenario file.
    #[serde(default)]
    pub images: Vec<PathBuf>,
    /// Text messages, one message each, in order.
    #[serde(default)]
    pub say: Vec<String>,
    /// The scripted model's answers for this turn, in call order (vision calls first).
    /// Ignored when a real model is evaluated.
    #[serde(default)]
    pub script: Vec<ScriptStep>,
    /// What a good answer looks like.
    #[serde(default)]
    pub expect: Expect,
}

fn two() -> u32 {
    2
}

/// One scripted model answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptStep {
    /// A vision answer (the JSON object the vision prompt asks for).
    #[serde(default)]
    pub vision: Option<Value>,
    /// Tool calls.
    #[serde(default)]
    pub tools: Option<Vec<ToolStep>>,
    /// A `send_reply` call with this text.
    #[serde(default)]
    pub reply: Option<String>,
    /// The intents of that `send_reply` call.
    #[serde(default)]
    pub intents: Vec<String>,
}

/// A tool call: a scripted one, or an expected one (arguments are then a subset).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolStep {
    /// The tool's name.
    pub name: String,
    /// Its arguments (for expectations: the ones that must match; `"*"` = present).
    #[serde(default = "empty_object")]
    pub args: Value,
    /// For expectations: the call must have succeeded (true) or been refused (false).
    #[serde(default)]
    pub ok: Option<bool>,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// A call that must not happen.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum NotTool {
    /// Any call of this tool.
    Name(String),
    /// Calls of this tool with these arguments (a subset).
    Call(ToolStep),
}

impl NotTool {
    /// The tool's name.
    pub fn name(&self) -> &str {
        match self {
            Self::Name(n) => n,
            Self::Call(step) => &step.name,
        }
    }

    /// The arguments a forbidden call has (empty: any call).
    pub fn args(&self) -> Value {
        match self {
            Self::Name(_) => empty_object(),
            Self::Call(step) => step.args.clone(),
        }
    }
}

/// Which handoff a turn should end in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ExpectedHandoff {
    /// No handoff (the default).
    #[default]
    None,
    /// Handed off as a complaint.
    Complaint,
    /// Handed off because the customer asked for a person.
    AskedForPerson,
    /// Handed off for any reason.
    Any,
}

/// A booking as an expectation: this customer's upcoming appointment at this local time.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedBooking {
    /// Day.
    pub date: NaiveDate,
    /// Start time.
    #[serde(deserialize_with = "clock_time")]
    pub time: NaiveTime,
    /// The booking's price, when the scenario says (it comes from the quote the booking
    /// named, never from the model).
    #[serde(default)]
    pub price: Option<u32>,
}

/// What must be true after a turn, besides the checks every turn gets.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Tools that must have been called (arguments as a subset).
    #[serde(default)]
    pub tools: Vec<ToolStep>,
    /// Tools that must not have been called: a name, or a name with arguments (then only
    /// calls whose arguments include those count).
    #[serde(default)]
    pub not_tools: Vec<NotTool>,
    /// How the turn ends (default: no handoff).
    #[serde(default)]
    pub handoff: ExpectedHandoff,
    /// Amounts the reply must state.
    #[serde(default)]
    pub prices: Vec<u32>,
    /// The reply states every amount this turn's `quote` answered (whatever the model
    /// measured), and the turn made a quote.
    #[serde(default)]
    pub states_quote: bool,
    /// The reply contains at least one of these (case-insensitive).
    #[serde(default)]
    pub says_any: Vec<String>,
    /// The reply contains none of these (case-insensitive).
    #[serde(default)]
    pub says_none: Vec<String>,
    /// This customer's upcoming bookings after the turn, exactly (omit to not check).
    #[serde(default)]
    pub bookings: Option<Vec<ExpectedBooking>>,
    /// The reply language, when it differs from the scenario's.
    #[serde(default)]
    pub language: Option<LanguageCode>,
}

impl Scenario {
    /// Parses `text` read from `path`, checking what serde cannot.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ScenarioError> {
        let invalid = |message: String| ScenarioError::Invalid {
            path: path.to_owned(),
            message,
        };
        let mut scenario: Scenario = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        scenario.path = path.to_owned();
        if scenario.name.is_empty() {
            scenario.name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
        }
        if scenario.turns.is_empty() {
            return Err(invalid("a scenario needs at least one [[turn]]".to_owned()));
        }
        for (n, turn) in scenario.turns.iter().enumerate() {
            let n = n + 1;
            if turn.say.is_empty() && turn.images.is_empty() {
                return Err(invalid(format!(
                    "turn {n}: nothing to send (say or images)"
                )));
            }
            if turn.script.is_empty() {
                return Err(invalid(format!(
                    "turn {n}: no script for the scripted model"
                )));
            }
            for (k, step) in turn.script.iter().enumerate() {
                let set = [
                    step.vision.is_some(),
                    step.tools.is_some(),
                    step.reply.is_some(),
                ]
                .into_iter()
                .filter(|b| *b)
                .count();
                if set != 1 {
                    return Err(invalid(format!(
                        "turn {n}, script step {}: give exactly one of vision, tools, reply",
                        k + 1
                    )));
                }
            }
        }
        Ok(scenario)
    }

    /// The directory relative paths are resolved against.
    pub fn base_dir(&self) -> &Path {
        self.path.parent().unwrap_or_else(|| Path::new("."))
    }
}

/// Every `*.toml` scenario in `dir` (not recursive), sorted by file name.
pub fn load_dir(dir: &Path) -> Result<Vec<Scenario>, ScenarioError> {
    let read = |source| ScenarioError::Read {
        path: dir.to_owned(),
        source,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(ScenarioError::Empty(dir.to_owned()));
    }
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
                path: path.clone(),
                source,
            })?;
            Scenario::parse(&text, path)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimal_scenario_parses_and_mistakes_name_the_field() {
        let good = r#"
language = "en"
now = "2026-11-18T11:30"
[[turn]]
say = ["Hi"]
[[turn.script]]
reply = "Hello! ❤️🐼"
"#;
        let s = Scenario::parse(good, Path::new("evals/hello.toml")).unwrap();
        assert_eq!(s.name, "hello");
        assert_eq!(s.turns[0].after_minutes, 2);
        assert_eq!(s.turns[0].expect.handoff, ExpectedHandoff::None);

        let typo = good.replace("say =", "sya =");
        let err = Scenario::parse(&typo, Path::new("x.toml")).unwrap_err();
        assert!(err.to_string().contains("sya"), "{err}");

        let two_kinds = good.replace("reply = \"Hello! ❤️🐼\"", "reply = \"x\"\nvision = {}");
        let err = Scenario::parse(&two_kinds, Path::new("x.toml")).unwrap_err();
        assert!(err.to_string().contains("exactly one"), "{err}");
    }
}
