//! Scrubbing old prices and dates out of the studio's past replies, so tone examples
//! never carry stale facts into a new reply.
//!
//! The rules, applied in this order (Greek with or without accents, any case):
//!
//! 1. **Amounts with a currency** become `[price]`, ranges included: `150€`, `€40`,
//!    `150 ευρώ`, `150 ευρω`, `100-150 euros`, `100€ - 150€`, `40 ή 45 ευρώ`, `90 EUR`.
//! 2. **Calendar dates** become `[time]`: a day with a month name (`19 Νοεμβρίου`,
//!    `19 Νοεμβριου`, `3 Μάη`, `19 November`, `November 19th`, `19th of Nov`), a day of the
//!    month (`24 του μηνός`), numeric dates (`19/11`, `19/11/2024`, `19-11-24`).
//!    Weekday names stay (`Ραντεβού έχουμε Παρασκευή` is unchanged).
//! 3. **Clock times** become `[time]`: always the unambiguous forms (`18:00`, `18.30`,
//!    `5 μ.μ.`, `11 π.μ.`, `5pm`); in a *booking sentence* also day parts
//!    (`το απόγευμα`, `5 το απόγευμα`, `in the evening`), `στις 5` / `at 5` and ordinals
//!    (`the 24th`).
//! 4. In a *price sentence*, **bare amounts and ranges** become `[price]` (`180 με 220`,
//!    `40 τον καθένα`, `κάνει 80`), except numbers below 20 (no price is that low; keeps
//!    `2 σχέδια ή 1`) and numbers followed by a unit (`10 πόντους`, `15 εκατοστά`, `2 ώρες`,
//!    `3 σχέδια`, `100 τατουάζ`, `10x15`).
//!
//! 5. **Personal data** on both sides of a pair ([`scrub_personal`]): phone numbers (8 or more
//!    digits, `+30 691 234 5678`, `(210) 123-4567`) become `[phone]`, e-mail addresses
//!    `[email]`. [`scrub`] applies it too.
//!
//! A *sentence* is the text between `.`+space, `!`, `?`, `;` (Greek question mark) and line
//! breaks. A *price sentence* contains a price word (τιμή, κοστίζει, κόστος, κάνει,
//! χρέωση, προκαταβολή, πληρωμή, μετρητά, καθένα, σύνολο, price, cost, charge, pay,
//! deposit, each, cash, total); a *booking sentence* a booking word (ραντεβού, κλείσουμε,
//! διαθέσιμο, ελεύθερο, έρθετε/ελάτε, περάστε, αύριο, σήμερα, a weekday, appointment,
//! book, slot, available, free, come, see you, tomorrow, today).

use std::sync::LazyLock;

use regex::{Captures, Regex};

/// Placeholder for a removed amount.
pub const PRICE: &str = "[price]";
/// Placeholder for a removed time or date.
pub const TIME: &str = "[time]";
/// Placeholder for a removed phone number.
pub const PHONE: &str = "[phone]";
/// Placeholder for a removed e-mail address.
pub const EMAIL: &str = "[email]";

/// Expand a plain lower-case Greek/Latin word list so that each Greek vowel also matches its
/// accented and diaeresis forms (`νοεμβριου` matches `Νοεμβρίου`).
fn fold(words: &str) -> String {
    let mut out = String::with_capacity(words.len() * 3);
    for ch in words.chars() {
        let class = match ch {
            'α' => "[αά]",
            'ε' => "[εέ]",
            'η' => "[ηή]",
            'ι' => "[ιίϊΐ]",
            'ο' => "[οό]",
            'υ' => "[υύϋΰ]",
            'ω' => "[ωώ]",
            _ => {
                out.push(ch);
                continue;
            }
        };
        out.push_str(class);
    }
    out
}

const NUM: &str = r"\d+(?:[.,]\d{1,2})?";
const SEP: &str = r"(?:\s*[-–—/]\s*|\s+(?:με|έως|εως|ως|μέχρι|μεχρι|to|or|ή|η)\s+)";
const CURRENCY_WORD: &str = r"(?:€|(?:ευρώ|ευρω|euros?|eur)\b)";

struct Rules {
    currency_prefix: Regex,
    currency_suffix: Regex,
    dates: Vec<Regex>,
    clock: Regex,
    meridiem: Regex,
    booking_cue: Regex,
    day_part: Regex,
    at_hour: Regex,
    ordinal: Regex,
    price_cue: Regex,
    bare_amount: Regex,
    unit: Regex,
    phone: Regex,
    email: Regex,
}

fn rules() -> Result<Rules, regex::Error> {
    let greek_months = fold(
        "ιανουαρ\\w*|γεναρ\\w*|φεβρουαρ\\w*|φλεβαρ\\w*|μαρτ\\w*|απριλ\\w*|μαι\\w*|μαη|ιουν\\w*|ιουλ\\w*|αυγουστ\\w*|σεπτεμβρ\\w*|οκτωβρ\\w*|νοεμβρ\\w*|δεκεμβρ\\w*",
    );
    let en_months = "january|jan|february|feb|march|mar|april|apr|may|june|jun|july|jul|august|aug|september|sept|sep|october|oct|november|nov|december|dec";
    let en_months_cap = "January|Jan|February|Feb|March|Mar|April|Apr|May|June|Jun|July|Jul|August|Aug|September|Sept|Sep|October|Oct|November|Nov|December|Dec";
    let day = r"(?:0?[1-9]|[12]\d|3[01])";
    let month_num = r"(?:0?[1-9]|1[0-2])";
    let weekdays = fold(
        "δευτερα|τριτη|τεταρτη|πεμπτη|παρασκευη|σαββατο|κυριακη|monday|tuesday|wednesday|thursday|friday|saturday|sunday",
    );
    let booking = fold(
        "ραντεβ\\w*|κλεισ\\w*|διαθεσιμ\\w*|ελευθερ\\w*|ερθ\\w*|ελα|ελατε|περασ\\w*|αυριο|σημερα|μεθαυριο|appointments?|book\\w*|slots?|available|free|come|see you|tomorrow|today",
    );
    let price = fold(
        "τιμ\\w*|κοστ\\w*|κανει|κανουν|χρεω\\w*|χρεων\\w*|προκαταβολ\\w*|πληρ\\w*|μετρητ\\w*|καθενα|καθεμια|συνολ\\w*|prices?|costs?|charge\\w*|pay\\w*|deposit|each|cash|total",
    );
    let units = fold(
        "cm|εκ|εκατοστ\\w*|ποντ\\w*|ωρ\\w*|λεπτ\\w*|hours?|hrs?|mins?|minutes?|σχεδι\\w*|τατουαζ|tattoos?|κομματ\\w*|pieces?|designs?|χρον\\w*|ετων|ετη|φορ\\w*|μερ\\w*|days?|weeks?|εβδομαδ\\w*|μην\\w*|months?|years?|x|χ|%|people|ατομα|ατομ\\w*",
    );
    Ok(Rules {
        currency_prefix: Regex::new(&format!(r"€\s*{NUM}(?:{SEP}€?\s*{NUM})?"))?,
        currency_suffix: Regex::new(&format!(
            r"(?i)\b{NUM}(?:\s*{CURRENCY_WORD})?(?:{SEP}{NUM})?\s*{CURRENCY_WORD}"
        ))?,
        dates: vec![
            Regex::new(&format!(
                r"(?i)\b{day}(?:η|ης|st|nd|rd|th)?\s+(?:of\s+|του\s+)?(?:{greek_months}|(?:{en_months})\b)"
            ))?,
            Regex::new(&format!(r"\b(?:{en_months_cap})\s+{day}(?:st|nd|rd|th)?\b"))?,
            Regex::new(&format!(
                r"(?i)\b{day}\s+(?:του\s+)?(?:{})\b",
                fold("μηνα|μηνος")
            ))?,
            Regex::new(&format!(
                r"\b{day}[/.-]{month_num}[/.-](?:\d{{4}}|\d{{2}})\b"
            ))?,
            Regex::new(&format!(r"\b{day}/{month_num}\b"))?,
        ],
        clock: Regex::new(r"\b(?:[01]?\d|2[0-3])(?::[0-5]\d|\.(?:00|15|30|45))\b")?,
        meridiem: Regex::new(
            r"(?i)\b(?:[01]?\d|2[0-3])(?:[:.][0-5]\d)?\s*(?:μ\.?\s?μ\.?|π\.?\s?μ\.?|a\.m\.|p\.m\.|am\b|pm\b)",
        )?,
        booking_cue: Regex::new(&format!(r"(?i)\b(?:{booking}|{weekdays})\b"))?,
        day_part: Regex::new(&format!(
            r"(?i)(?:\b\d{{1,2}}\s+)?(?:\b(?:το|την|in\s+the)\s+)?\b(?:{}|morning|afternoon|evening)\b",
            fold("πρωι|μεσημερι|απογευμα|βραδυ")
        ))?,
        at_hour: Regex::new(r"(?i)\b(στις|at|around|γυρω\s+στις)\s+\d{1,2}\b")?,
        ordinal: Regex::new(r"(?i)\b(?:the\s+)?\d{1,2}(?:st|nd|rd|th)\b")?,
        price_cue: Regex::new(&format!(r"(?i)\b(?:{price})\b"))?,
        bare_amount: Regex::new(&format!(
            r"(?i)\b(?P<amt>{NUM}(?:{SEP}{NUM})?)\b(?P<tail>\s*(?:[\p{{L}}%]+)?)"
        ))?,
        unit: Regex::new(&format!(r"(?i)^(?:{units})$"))?,
        // 8+ digits, optionally with a leading + or 00 and single spaces, dots or dashes.
        phone: Regex::new(
            r"(?:\+|\b00)?\b\d(?:[ .\-]?\d){7,14}\b|\(\+?\d{2,3}\)\s?\d(?:[ .\-]?\d){6,12}\b",
        )?,
        email: Regex::new(r"(?i)\b[a-z0-9._%+\-]+@[a-z0-9.\-]+\.[a-z]{2,}\b")?,
    })
}

static RULES: LazyLock<Result<Rules, regex::Error>> = LazyLock::new(rules);

/// Scrub one studio reply following the module's rules.
///
/// Fails safe: if the rules could not be compiled (a programming error the tests catch),
/// the result is empty, so the import drops the pair instead of keeping a stale price.
pub fn scrub(text: &str) -> String {
    let rules = match RULES.as_ref() {
        Ok(rules) => rules,
        Err(error) => {
            tracing::error!(%error, "scrubbing rules do not compile; dropping text");
            return String::new();
        }
    };
    let mut out = personal(rules, text);
    out = rules.currency_prefix.replace_all(&out, PRICE).into_owned();
    out = rules.currency_suffix.replace_all(&out, PRICE).into_owned();
    for date in &rules.dates {
        out = date.replace_all(&out, TIME).into_owned();
    }
    out = rules.meridiem.replace_all(&out, TIME).into_owned();
    out = rules.clock.replace_all(&out, TIME).into_owned();
    map_sentences(&out, |sentence| scrub_sentence(rules, sentence))
}

/// Remove phone numbers and e-mail addresses (`[phone]`, `[email]`); used on both sides of
/// a pair, since customer turns are stored in the index and shown to the model too.
pub fn scrub_personal(text: &str) -> String {
    match RULES.as_ref() {
        Ok(rules) => personal(rules, text),
        Err(error) => {
            tracing::error!(%error, "scrubbing rules do not compile; dropping text");
            String::new()
        }
    }
}

fn personal(rules: &Rules, text: &str) -> String {
    let out = rules.email.replace_all(text, EMAIL);
    rules.phone.replace_all(&out, PHONE).into_owned()
}

fn scrub_sentence(rules: &Rules, sentence: &str) -> String {
    let mut s = sentence.to_owned();
    if rules.booking_cue.is_match(&s) {
        s = rules.day_part.replace_all(&s, TIME).into_owned();
        s = rules
            .at_hour
            .replace_all(&s, |c: &Captures| format!("{} {TIME}", &c[1]))
            .into_owned();
        s = rules.ordinal.replace_all(&s, TIME).into_owned();
    }
    if rules.price_cue.is_match(&s) {
        s = rules
            .bare_amount
            .replace_all(&s, |c: &Captures| {
                let whole = &c[0];
                let tail = c.name("tail").map_or("", |m| m.as_str());
                let word = tail.trim();
                if rules.unit.is_match(word) || !reaches_price_floor(&c["amt"]) {
                    whole.to_owned()
                } else {
                    format!("{PRICE}{tail}")
                }
            })
            .into_owned();
    }
    s
}

/// Whether the largest number of an amount or range is at least 20 (no price is lower).
fn reaches_price_floor(amount: &str) -> bool {
    amount
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse::<u64>().ok())
        .any(|n| n >= 20)
}

/// Apply `f` to each sentence, keeping the delimiters in place.
fn map_sentences(text: &str, mut f: impl FnMut(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, ch)) = chars.next() {
        let boundary = match ch {
            '!' | '?' | ';' | '\n' => true,
            '.' => chars.peek().is_some_and(|(_, next)| next.is_whitespace()),
            _ => false,
        };
        if boundary {
            out.push_str(&f(&text[start..i]));
            out.push(ch);
            start = i + ch.len_utf8();
        }
    }
    out.push_str(&f(&text[start..]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_compile() {
        assert!(RULES.as_ref().is_ok(), "{:?}", RULES.as_ref().err());
    }

    #[test]
    fn sentences_keep_their_delimiters() {
        let text = "Α. Β; Γ!\nΔ 1.5 ε";
        assert_eq!(map_sentences(text, str::to_owned), text);
    }
}
