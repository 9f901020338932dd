//! The checks of a turn: the ones every turn gets (no failure, the expected handoff, the
//! reply's language and signature, no price, time, deposit or reminder the studio did not
//! give, other customers' bookings untouched) and the ones its `expect` asks for.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use inkdesk_domain::{Language, StudioProfile};
use regex::Regex;
use rust_decimal::Decimal;
use serde_json::Value;

use super::scenario::{Expect, ExpectedHandoff, ToolStep};
use crate::engine::{ToolRecord, TurnOutcomeKind};
use crate::language::detect;
use crate::tools::HandoffReason;

/// One check's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// What was seen, when it did not hold.
    pub detail: String,
}

impl Check {
    fn pass(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            passed: true,
            detail: String::new(),
        }
    }

    fn verdict(name: impl Into<String>, failure: Option<String>) -> Self {
        match failure {
            None => Self::pass(name),
            Some(detail) => Self {
                name: name.into(),
                passed: false,
                detail,
            },
        }
    }
}

/// What the conversation has established so far: amounts and times the studio's tools
/// (or the customer, or the studio's facts) gave, which a reply may repeat.
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// Amounts a reply may state.
    pub amounts: BTreeSet<Decimal>,
    /// Times (`HH:MM`) a reply may state.
    pub times: BTreeSet<String>,
}

impl Known {
    /// The studio's own facts: the price guide and the opening hours.
    pub fn from_profile(profile: &StudioProfile) -> Self {
        let mut known = Self::default();
        for item in &profile.price_guide {
            known.amounts.insert(item.low.normalize());
            if let Some(high) = item.high {
                known.amounts.insert(high.normalize());
            }
        }
        for language in [Language::El, Language::En] {
            for line in crate::locale::hours_lines(language, &profile.hours) {
                known.add_times(&line);
            }
        }
        known
    }

    /// Adds everything a tool answered (amounts under price keys, every time).
    pub fn add_tool_result(&mut self, result: &str) {
        self.add_times(result);
        if let Ok(value) = serde_json::from_str::<Value>(result) {
            collect_amounts(&value, &mut self.amounts);
        }
    }

    /// Adds what the customer wrote: a reply may name a time the customer asked about
    /// ("17:00 is taken"). Amounts are not taken over: a price the customer names is
    /// exactly what a reply must not repeat unless a tool gave it.
    pub fn add_customer_text(&mut self, text: &str) {
        self.add_times(text);
    }

    /// Adds a time.
    pub fn add_time(&mut self, time: String) {
        self.times.insert(time);
    }

    /// Adds an amount.
    pub fn add_amount(&mut self, amount: Decimal) {
        self.amounts.insert(amount.normalize());
    }

    fn add_times(&mut self, text: &str) {
        self.times.extend(times_in(text));
    }
}

const PRICE_KEYS: [&str; 4] = [
    "price_as_measured",
    "price_slightly_larger",
    "total",
    "price",
];

fn collect_amounts(value: &Value, into: &mut BTreeSet<Decimal>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if PRICE_KEYS.contains(&key.as_str())
                    && let Some(d) = v.as_f64().and_then(|f| Decimal::try_from(f).ok())
                {
                    into.insert(d.normalize());
                }
                collect_amounts(v, into);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_amounts(v, into)),
        _ => {}
    }
}

static TIME: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\b([01]?\d|2[0-3]):([0-5]\d)\b").ok());
static NUMBER: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\d+(?:[.,]\d{1,2})?").ok());
/// A run of amounts ending in a currency word: `60 €`, `60 ή 65 ευρώ`, `60/65€`.
static PRICE_RUN: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\d+(?:[.,]\d{1,2})?(?:\s*(?:/|ή|or|και|and|-|–|,)\s*\d+(?:[.,]\d{1,2})?)*\s*(?:€|ευρώ|euros?\b|eur\b)",
    )
    .ok()
});
/// An amount after the symbol: `€60`.
static PRICE_AFTER_SYMBOL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"€\s*(\d+(?:[.,]\d{1,2})?)").ok());
static PERCENT: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"(\d+)\s*%").ok());

fn times_in(text: &str) -> Vec<String> {
    let Some(re) = TIME.as_ref() else {
        return Vec::new();
    };
    re.captures_iter(text)
        .filter_map(|c| {
            let hour: u32 = c.get(1)?.as_str().parse().ok()?;
            Some(format!("{hour:02}:{}", c.get(2)?.as_str()))
        })
        .collect()
}

fn parse_number(raw: &str) -> Option<Decimal> {
    raw.replace(',', ".")
        .parse::<Decimal>()
        .ok()
        .map(|d| d.normalize())
}

fn numbers(text: &str) -> Vec<Decimal> {
    let Some(re) = NUMBER.as_ref() else {
        return Vec::new();
    };
    re.find_iter(text)
        .filter_map(|m| parse_number(m.as_str()))
        .collect()
}

/// The amounts of money a text states.
pub fn prices_in(text: &str) -> Vec<Decimal> {
    let mut found = Vec::new();
    if let Some(re) = PRICE_RUN.as_ref() {
        for run in re.find_iter(text) {
            found.extend(numbers(run.as_str()));
        }
    }
    if let Some(re) = PRICE_AFTER_SYMBOL.as_ref() {
        found.extend(
            re.captures_iter(text)
                .filter_map(|c| parse_number(c.get(1)?.as_str())),
        );
    }
    found.sort();
    found.dedup();
    found
}

fn contains_any(haystack: &str, needles: &[&str]) -> Option<String> {
    let lower = haystack.to_lowercase();
    needles
        .iter()
        .find(|n| lower.contains(&n.to_lowercase()))
        .map(|n| (*n).to_owned())
}

/// Promises of a reminder to the customer. The eval's engine has no SMS sender, and a DM
/// reminder depends on Meta's 24-hour window, so no reminder can be promised there.
const REMINDER_PROMISES: [&str; 10] = [
    "remind you",
    "send you a reminder",
    "you'll get a reminder",
    "you will get a reminder",
    "you will receive a reminder",
    "θα σας υπενθυμίσ",
    "θα σας θυμίσ",
    "θα σας στείλουμε υπενθύμιση",
    "θα λάβετε υπενθύμιση",
    "θα σας έρθει υπενθύμιση",
];

/// Claims about paying online; inkdesk takes no payments.
const PAYMENT_CLAIMS: [&str; 8] = [
    "payment link",
    "pay online",
    "deposit has been received",
    "received your deposit",
    "σύνδεσμο πληρωμής",
    "link πληρωμής",
    "πληρωμή online",
    "λάβαμε την προκαταβολή",
];

const DEPOSIT_WORDS: [&str; 2] = ["deposit", "προκαταβολ"];

/// What a turn did, as the checks see it.
#[derive(Debug)]
pub struct TurnView<'a> {
    /// The reply sent, if any.
    pub reply: Option<&'a str>,
    /// How the turn ended.
    pub outcome: &'a TurnOutcomeKind,
    /// Why it was handed off, if it was.
    pub handoff: Option<HandoffReason>,
    /// Tool calls in order.
    pub tools: &'a [ToolRecord],
    /// This customer's upcoming bookings after the turn, as local `(YYYY-MM-DD, HH:MM)`.
    pub bookings: &'a [(String, String)],
    /// The price of each of those bookings, in the same order (`None`: none recorded).
    pub booking_prices: &'a [Option<Decimal>],
    /// Whether other customers' bookings are as they were.
    pub others_unchanged: Result<(), String>,
    /// For the scripted model: answers left over after the turn.
    pub script_left: Option<usize>,
}

/// Every check of one turn.
pub fn check_turn(
    view: &TurnView<'_>,
    expect: &Expect,
    language: Language,
    known: &Known,
    profile: &StudioProfile,
) -> Vec<Check> {
    let mut checks = Vec::new();
    let reply = view.reply.unwrap_or_default();

    checks.push(Check::verdict(
        "turn completed",
        matches!(view.outcome, TurnOutcomeKind::Failed)
            .then(|| "the turn failed (apology sent)".to_owned()),
    ));
    if let Some(left) = view.script_left {
        checks.push(Check::verdict(
            "script used exactly",
            (left > 0).then(|| format!("{left} scripted answers were not asked for")),
        ));
    }
    checks.push(handoff_check(expect.handoff, view.handoff));
    checks.push(Check::verdict(
        "reply sent",
        view.reply
            .is_none_or(|r| r.trim().is_empty())
            .then(|| "no reply".to_owned()),
    ));

    let sign_off = profile.sign_off.trim();
    let body = reply.trim().trim_end_matches(sign_off);
    let detected = detect(body, language).language;
    checks.push(Check::verdict(
        "reply language",
        (!reply.is_empty() && detected != language)
            .then(|| format!("expected {language:?}, the reply reads as {detected:?}")),
    ));
    if !sign_off.is_empty() {
        checks.push(Check::verdict(
            "ends with the studio's signature",
            (!reply.is_empty() && !reply.trim_end().ends_with(sign_off))
                .then(|| format!("no `{sign_off}` at the end")),
        ));
    }

    let unknown_prices: Vec<String> = prices_in(reply)
        .into_iter()
        .filter(|p| !known.amounts.contains(p))
        .map(|p| p.to_string())
        .collect();
    checks.push(Check::verdict(
        "every price came from the studio",
        (!unknown_prices.is_empty()).then(|| {
            format!(
                "amounts no quote, booking or price guide gave: {}",
                unknown_prices.join(", ")
            )
        }),
    ));
    let unknown_times: Vec<String> = times_in(reply)
        .into_iter()
        .filter(|t| !known.times.contains(t))
        .collect();
    checks.push(Check::verdict(
        "every time came from the calendar",
        (!unknown_times.is_empty())
            .then(|| format!("times no tool returned: {}", unknown_times.join(", "))),
    ));
    checks.push(Check::verdict(
        "no promise the studio cannot keep",
        promise_problem(reply, profile),
    ));
    checks.push(Check::verdict(
        "other customers' bookings untouched",
        view.others_unchanged.clone().err(),
    ));

    for tool in &expect.tools {
        checks.push(Check::verdict(
            format!("called {}", tool.name),
            tool_missing(tool, view.tools),
        ));
    }
    for forbidden in &expect.not_tools {
        let args = forbidden.args();
        let label = match args.as_object() {
            Some(map) if !map.is_empty() => format!("did not call {}({args})", forbidden.name()),
            _ => format!("did not call {}", forbidden.name()),
        };
        checks.push(Check::verdict(
            label,
            view.tools
                .iter()
                .find(|t| {
                    t.name == forbidden.name()
                        && subset(
                            &args,
                            &serde_json::from_str(&t.arguments).unwrap_or(Value::Null),
                        )
                })
                .map(|t| format!("called {}({})", t.name, t.arguments)),
        ));
    }
    if !expect.prices.is_empty() {
        let stated = prices_in(reply);
        let missing: Vec<String> = expect
            .prices
            .iter()
            .map(|p| Decimal::from(*p))
            .filter(|p| !stated.contains(p))
            .map(|p| p.to_string())
            .collect();
        checks.push(Check::verdict(
            "states the quoted prices",
            (!missing.is_empty()).then(|| format!("missing {}", missing.join(", "))),
        ));
    }
    if expect.states_quote {
        checks.push(Check::verdict(
            "states the quote",
            quote_problem(reply, view.tools),
        ));
    }
    if !expect.says_any.is_empty() {
        let needles: Vec<&str> = expect.says_any.iter().map(String::as_str).collect();
        checks.push(Check::verdict(
            "says what it should",
            contains_any(reply, &needles)
                .is_none()
                .then(|| format!("none of: {}", expect.says_any.join(" | "))),
        ));
    }
    if !expect.says_none.is_empty() {
        let needles: Vec<&str> = expect.says_none.iter().map(String::as_str).collect();
        checks.push(Check::verdict(
            "says nothing it should not",
            contains_any(reply, &needles).map(|n| format!("says `{n}`")),
        ));
    }
    if let Some(expected) = &expect.bookings {
        let want: Vec<(String, String)> = expected
            .iter()
            .map(|b| {
                (
                    b.date.format("%Y-%m-%d").to_string(),
                    b.time.format("%H:%M").to_string(),
                )
            })
            .collect();
        checks.push(Check::verdict(
            "bookings as expected",
            (want != view.bookings).then(|| {
                format!(
                    "expected {}, the calendar holds {}",
                    list_bookings(&want),
                    list_bookings(view.bookings)
                )
            }),
        ));
        if expected.iter().any(|b| b.price.is_some()) {
            let wrong: Vec<String> = expected
                .iter()
                .zip(view.booking_prices)
                .filter_map(|(booking, got)| {
                    let want = Decimal::from(booking.price?);
                    (Some(want) != got.map(|d| d.normalize())).then(|| {
                        format!(
                            "{} {} costs {} instead of {want}",
                            booking.date.format("%Y-%m-%d"),
                            booking.time.format("%H:%M"),
                            got.map_or("nothing".to_owned(), |d| d.to_string()),
                        )
                    })
                })
                .collect();
            checks.push(Check::verdict(
                "booking prices from the quote",
                (!wrong.is_empty()).then(|| wrong.join("; ")),
            ));
        }
    }
    checks
}

fn quote_problem(reply: &str, tools: &[ToolRecord]) -> Option<String> {
    let Some(quote) = tools.iter().rev().find(|t| t.name == "quote" && t.ok) else {
        return Some("no successful quote in this turn".to_owned());
    };
    let mut amounts = BTreeSet::new();
    if let Ok(value) = serde_json::from_str::<Value>(&quote.result) {
        collect_amounts(&value, &mut amounts);
    }
    let stated = prices_in(reply);
    let missing: Vec<String> = amounts
        .iter()
        .filter(|a| !stated.contains(a))
        .map(Decimal::to_string)
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "the quote gave {}, the reply does not state it",
            missing.join(", ")
        )
    })
}

fn list_bookings(list: &[(String, String)]) -> String {
    if list.is_empty() {
        return "none".to_owned();
    }
    list.iter()
        .map(|(d, t)| format!("{d} {t}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn handoff_check(expected: ExpectedHandoff, actual: Option<HandoffReason>) -> Check {
    let ok = matches!(
        (expected, actual),
        (ExpectedHandoff::None, None)
            | (ExpectedHandoff::Any, Some(_))
            | (ExpectedHandoff::Complaint, Some(HandoffReason::Complaint))
            | (
                ExpectedHandoff::AskedForPerson,
                Some(HandoffReason::AskedForPerson)
            )
    );
    Check::verdict(
        "handoff as expected",
        (!ok).then(|| format!("expected {expected:?}, got {actual:?}")),
    )
}

fn promise_problem(reply: &str, profile: &StudioProfile) -> Option<String> {
    if let Some(found) = contains_any(reply, &REMINDER_PROMISES) {
        return Some(format!(
            "promises a reminder (`{found}`); without SMS none can be promised"
        ));
    }
    if let Some(found) = contains_any(reply, &PAYMENT_CLAIMS) {
        return Some(format!(
            "talks of paying online (`{found}`); inkdesk takes no payments"
        ));
    }
    if contains_any(reply, &DEPOSIT_WORDS).is_some() {
        let percent = profile.pricing.deposit_percent;
        if percent == 0 {
            return Some("mentions a deposit; the studio asks for none".to_owned());
        }
        let wrong: Vec<String> = PERCENT
            .as_ref()
            .map(|re| {
                re.captures_iter(reply)
                    .filter_map(|c| c.get(1)?.as_str().parse::<u32>().ok())
                    .filter(|p| *p != percent)
                    .map(|p| format!("{p}%"))
                    .collect()
            })
            .unwrap_or_default();
        if !wrong.is_empty() {
            return Some(format!(
                "deposit of {} stated; the studio's is {percent}%",
                wrong.join(", ")
            ));
        }
    }
    None
}

fn tool_missing(expected: &ToolStep, calls: &[ToolRecord]) -> Option<String> {
    let matching = calls.iter().filter(|c| c.name == expected.name).find(|c| {
        let args: Value = serde_json::from_str(&c.arguments).unwrap_or(Value::Null);
        subset(&expected.args, &args) && expected.ok.is_none_or(|ok| ok == c.ok)
    });
    match matching {
        Some(_) => None,
        None => {
            let seen: Vec<String> = calls
                .iter()
                .map(|c| format!("{}({})", c.name, c.arguments))
                .collect();
            Some(format!(
                "no {}({}){} among: {}",
                expected.name,
                expected.args,
                match expected.ok {
                    Some(true) => " that succeeded",
                    Some(false) => " that was refused",
                    None => "",
                },
                if seen.is_empty() {
                    "no tool calls".to_owned()
                } else {
                    seen.join("; ")
                }
            ))
        }
    }
}

/// True when everything in `expected` is in `actual`: objects by key (extra keys allowed),
/// arrays element by element, numbers by value, strings ignoring case and surrounding
/// space; the string `"*"` matches anything present.
pub fn subset(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::String(s), a) if s == "*" => !a.is_null(),
        (Value::Object(e), Value::Object(a)) => e
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|av| subset(v, av))),
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(x, y)| subset(x, y))
        }
        (Value::Number(e), Value::Number(a)) => e.as_f64() == a.as_f64(),
        (Value::Number(e), Value::String(a)) => e.as_f64() == a.trim().parse::<f64>().ok(),
        (Value::String(e), Value::String(a)) => e.trim().eq_ignore_ascii_case(a.trim()),
        (e, a) => e == a,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;
    use serde_json::json;

    #[test]
    fn prices_are_found_in_greek_and_english_forms() {
        assert_eq!(prices_in("Η τιμή είναι 60 € ή 65 €"), [dec!(60), dec!(65)]);
        assert_eq!(prices_in("60 ή 65 ευρώ, μετρητά"), [dec!(60), dec!(65)]);
        assert_eq!(prices_in("It's €155 for both"), [dec!(155)]);
        assert_eq!(prices_in("45,5 € total"), [dec!(45.5)]);
        assert!(prices_in("Friday 20 November at 17:00, 30% deposit").is_empty());
    }

    #[test]
    fn times_are_normalised() {
        assert_eq!(times_in("9:30 ή 17:00"), ["09:30", "17:00"]);
    }

    #[test]
    fn subset_matches_loosely_but_not_wrongly() {
        let actual =
            json!({"from_date": "2026-11-20", "price": 60, "pieces": [{"image_ref": "img-1"}]});
        assert!(subset(&json!({"from_date": "2026-11-20"}), &actual));
        assert!(subset(&json!({"price": 60.0}), &actual));
        assert!(subset(&json!({"pieces": [{"image_ref": "*"}]}), &actual));
        assert!(!subset(&json!({"from_date": "2026-11-21"}), &actual));
        assert!(!subset(&json!({"to_date": "*"}), &actual));
    }

    fn view<'a>(reply: &'a str, outcome: &'a TurnOutcomeKind) -> TurnView<'a> {
        TurnView {
            reply: Some(reply),
            outcome,
            handoff: None,
            tools: &[],
            bookings: &[],
            booking_prices: &[],
            others_unchanged: Ok(()),
            script_left: Some(0),
        }
    }

    fn failed(checks: &[Check]) -> Vec<&str> {
        checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name.as_str())
            .collect()
    }

    #[test]
    fn an_invented_price_time_or_promise_fails_and_a_faithful_reply_passes() {
        let profile = StudioProfile::example();
        let mut known = Known::from_profile(&profile);
        known.add_tool_result(r#"{"price_as_measured": 60, "price_slightly_larger": 65}"#);
        known.add_tool_result(r#"{"slots": [{"time": "17:00"}]}"#);
        let ok = TurnOutcomeKind::Replied;
        let expect = Expect::default();
        let good = "Η τιμή είναι 60 € ή 65 €. Την Παρασκευή έχουμε 17:00. ❤️🐼";
        let checks = check_turn(&view(good, &ok), &expect, Language::El, &known, &profile);
        assert!(failed(&checks).is_empty(), "{checks:?}");

        let bad = "Η τιμή είναι 85 €, έχουμε και 18:00, θα σας στείλουμε υπενθύμιση. ❤️🐼";
        let checks = check_turn(&view(bad, &ok), &expect, Language::El, &known, &profile);
        assert_eq!(
            failed(&checks),
            [
                "every price came from the studio",
                "every time came from the calendar",
                "no promise the studio cannot keep"
            ]
        );

        let english = "The price is 60 € ❤️🐼";
        let checks = check_turn(&view(english, &ok), &expect, Language::El, &known, &profile);
        assert_eq!(failed(&checks), ["reply language"]);

        let wrong_deposit = "Θέλουμε προκαταβολή 50% ❤️🐼";
        let checks = check_turn(
            &view(wrong_deposit, &ok),
            &expect,
            Language::El,
            &known,
            &profile,
        );
        assert_eq!(failed(&checks), ["no promise the studio cannot keep"]);
    }

    #[test]
    fn a_missing_handoff_or_tool_fails() {
        let profile = StudioProfile::example();
        let known = Known::from_profile(&profile);
        let ok = TurnOutcomeKind::Replied;
        let expect = Expect {
            handoff: ExpectedHandoff::Complaint,
            tools: vec![ToolStep {
                name: "quote".to_owned(),
                args: json!({}),
                ok: None,
            }],
            ..Expect::default()
        };
        let checks = check_turn(
            &view("Λυπούμαστε ❤️🐼", &ok),
            &expect,
            Language::El,
            &known,
            &profile,
        );
        assert_eq!(failed(&checks), ["handoff as expected", "called quote"]);
    }
}
