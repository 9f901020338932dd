//! The deposit flow's fixed texts (`prompts/deposits.toml`), filled in for one booking.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use inkdesk_calendar::format::format_date;
use inkdesk_domain::Language;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::locale;

const TEXTS: &str = include_str!("../../../../prompts/deposits.toml");

/// Which text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DepositText {
    /// After the booking reply: pay through this link by then.
    PayByLink,
    /// After the studio's instructions: the hold's end.
    PayByInstructions,
    /// The link could not be made; the studio sends the details.
    PayLater,
    /// To the customer when the deposit arrived.
    DepositReceived,
    /// To the customer when the hold ran out unpaid.
    UnpaidCancelled,
}

#[derive(Debug, Deserialize)]
struct Table {
    pay_by_link: String,
    pay_by_instructions: String,
    pay_later: String,
    deposit_received: String,
    unpaid_cancelled: String,
}

/// What a text may mention.
#[derive(Debug, Clone, Default)]
pub struct Fill<'a> {
    /// The deposit, with the currency.
    pub amount: Option<(Decimal, &'a str)>,
    /// The hold's end.
    pub pay_by: Option<DateTime<Utc>>,
    /// The appointment's start.
    pub when: Option<DateTime<Utc>>,
    /// The payment link.
    pub link: Option<&'a str>,
}

/// The texts of both languages, with the studio's zone and signature.
#[derive(Debug, Clone)]
pub struct DepositTexts {
    tables: HashMap<Language, HashMap<DepositText, String>>,
    time_zone: Tz,
    sign_off: String,
}

impl DepositTexts {
    /// Reads `prompts/deposits.toml` (compiled in); a broken file is a broken build, covered
    /// by the tests.
    pub fn new(time_zone: Tz, sign_off: &str) -> Result<Self, String> {
        let raw: HashMap<String, Table> =
            toml::from_str(TEXTS).map_err(|e| format!("prompts/deposits.toml: {e}"))?;
        let mut tables = HashMap::new();
        for (code, language) in [("el", Language::El), ("en", Language::En)] {
            let table = raw
                .get(code)
                .ok_or_else(|| format!("prompts/deposits.toml has no [{code}] table"))?;
            tables.insert(
                language,
                HashMap::from([
                    (DepositText::PayByLink, table.pay_by_link.clone()),
                    (
                        DepositText::PayByInstructions,
                        table.pay_by_instructions.clone(),
                    ),
                    (DepositText::PayLater, table.pay_later.clone()),
                    (DepositText::DepositReceived, table.deposit_received.clone()),
                    (DepositText::UnpaidCancelled, table.unpaid_cancelled.clone()),
                ]),
            );
        }
        Ok(Self {
            tables,
            time_zone,
            sign_off: sign_off.to_owned(),
        })
    }

    /// A date and time in the studio's zone, as the booking answers write them.
    pub fn instant(&self, at: DateTime<Utc>, language: Language) -> String {
        let local = at.with_timezone(&self.time_zone);
        format!(
            "{} {}",
            format_date(local.date_naive(), language),
            local.format("%H:%M")
        )
    }

    /// The text `which` in `language` with `fill`'s values.
    pub fn render(&self, which: DepositText, language: Language, fill: &Fill<'_>) -> String {
        let template = self
            .tables
            .get(&language)
            .and_then(|t| t.get(&which))
            .cloned()
            .unwrap_or_default();
        let amount = fill
            .amount
            .map(|(amount, symbol)| locale::amount_text(language, amount, symbol))
            .unwrap_or_default();
        let pay_by = fill
            .pay_by
            .map(|t| self.instant(t, language))
            .unwrap_or_default();
        let when = fill
            .when
            .map(|t| self.instant(t, language))
            .unwrap_or_default();
        template
            .replace("{amount}", amount.trim())
            .replace("{pay_by}", &pay_by)
            .replace("{when}", &when)
            .replace("{link}", fill.link.unwrap_or_default())
            .replace("{sign_off}", &self.sign_off)
            .trim()
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use chrono::TimeZone;

    #[test]
    fn every_text_renders_in_both_languages_without_placeholders() {
        let texts = DepositTexts::new(chrono_tz::Europe::Athens, "❤️🐼").unwrap();
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap();
        let fill = Fill {
            amount: Some((Decimal::from(45), "€")),
            pay_by: Some(at),
            when: Some(at),
            link: Some("https://checkout.stripe.com/c/pay/cs_test_1"),
        };
        for language in [Language::El, Language::En] {
            for which in [
                DepositText::PayByLink,
                DepositText::PayByInstructions,
                DepositText::PayLater,
                DepositText::DepositReceived,
                DepositText::UnpaidCancelled,
            ] {
                let text = texts.render(which, language, &fill);
                assert!(!text.is_empty(), "{which:?} {language:?}");
                assert!(!text.contains('{'), "{text}");
            }
        }
        let link = texts.render(DepositText::PayByLink, Language::El, &fill);
        assert!(link.contains("45"), "{link}");
        assert!(link.contains("12:00"), "{link}");
        assert!(link.ends_with("cs_test_1"), "{link}");
    }
}
