//! `Money`: an exact amount in a named currency, and its provider form in minor units.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

/// Why an amount or a currency code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Not three ASCII letters.
    #[error("'{0}' is not an ISO 4217 currency code (three letters, e.g. EUR)")]
    Currency(String),
    /// Zero or negative.
    #[error("the amount must be more than 0, got {0}")]
    NotPositive(Decimal),
    /// More decimals than the currency has minor units (e.g. 10.005 EUR), or too large.
    #[error("{amount} {currency} cannot be expressed in whole minor units")]
    NotRepresentable {
        /// The amount given.
        amount: Decimal,
        /// Its currency.
        currency: Currency,
    },
}

/// An ISO 4217 currency code, held upper case (`EUR`); [`Currency::lower`] is the form
/// Stripe wants in requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

/// Currencies Stripe treats as zero-decimal: amounts are sent as whole units
/// (Stripe's "Supported currencies" page, section "Zero-decimal currencies").
const ZERO_DECIMAL: [&str; 16] = [
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
    "XAF", "XOF", "XPF",
];

/// Currencies with three decimals (Stripe's "Three-decimal currencies"): amounts are sent
/// in thousandths, and Stripe requires the last digit to be 0.
const THREE_DECIMAL: [&str; 5] = ["BHD", "JOD", "KWD", "OMR", "TND"];

impl Currency {
    /// The euro.
    pub const EUR: Currency = Currency(*b"EUR");

    /// Parses a three-letter code in any case.
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        let bytes = code.trim().as_bytes();
        match bytes {
            [a, b, c] if bytes.iter().all(u8::is_ascii_alphabetic) => Ok(Self([
                a.to_ascii_uppercase(),
                b.to_ascii_uppercase(),
                c.to_ascii_uppercase(),
            ])),
            _ => Err(MoneyError::Currency(code.to_owned())),
        }
    }

    /// The code upper case (`EUR`).
    pub fn code(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// The code lower case (`eur`), as Stripe's requests want it.
    pub fn lower(&self) -> String {
        self.code().to_ascii_lowercase()
    }

    /// How many decimals a provider amount has: 0, 2 or 3.
    pub fn minor_exponent(&self) -> u32 {
        if ZERO_DECIMAL.contains(&self.code()) {
            0
        } else if THREE_DECIMAL.contains(&self.code()) {
            3
        } else {
            2
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.code().to_owned()
    }
}

/// A positive, exact amount of money in a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

impl Money {
    /// Validates an amount: more than zero and expressible in whole minor units of
    /// `currency` (so `12.5 EUR` is fine and `12.345 EUR` is not).
    pub fn new(amount: Decimal, currency: Currency) -> Result<Self, MoneyError> {
        if amount <= Decimal::ZERO {
            return Err(MoneyError::NotPositive(amount));
        }
        let money = Self {
            amount: amount.normalize(),
            currency,
        };
        money.minor_units()?;
        Ok(money)
    }

    /// The exact amount.
    pub fn amount(&self) -> Decimal {
        self.amount
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The amount in the currency's smallest unit as providers want it: cents for EUR
    /// (`12.50` → `1250`), whole yen for JPY, thousandths for KWD.
    pub fn minor_units(&self) -> Result<i64, MoneyError> {
        let scale = Decimal::from(10_i64.pow(self.currency.minor_exponent()));
        let minor = self.amount.checked_mul(scale);
        match minor {
            Some(m) if m.fract().is_zero() => m.to_i64().ok_or(self.not_representable()),
            _ => Err(self.not_representable()),
        }
    }

    /// Reads a provider amount in minor units back into money.
    pub fn from_minor_units(minor: i64, currency: Currency) -> Result<Self, MoneyError> {
        let amount = Decimal::new(minor, currency.minor_exponent());
        Self::new(amount, currency)
    }

    fn not_representable(&self) -> MoneyError {
        MoneyError::NotRepresentable {
            amount: self.amount,
            currency: self.currency,
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn euros_become_cents_exactly() {
        let m = Money::new(dec!(135.50), Currency::EUR).unwrap();
        assert_eq!(m.minor_units().unwrap(), 13550);
        assert_eq!(
            Money::new(dec!(45), Currency::EUR).unwrap().minor_units(),
            Ok(4500)
        );
        assert_eq!(
            Money::new(dec!(0.1), Currency::EUR).unwrap().minor_units(),
            Ok(10)
        );
    }

    #[test]
    fn zero_and_three_decimal_currencies_use_their_own_unit() {
        let jpy = Currency::parse("jpy").unwrap();
        assert_eq!(Money::new(dec!(5000), jpy).unwrap().minor_units(), Ok(5000));
        assert!(Money::new(dec!(5000.5), jpy).is_err());
        let kwd = Currency::parse("KWD").unwrap();
        assert_eq!(Money::new(dec!(1.25), kwd).unwrap().minor_units(), Ok(1250));
    }

    #[test]
    fn fractions_of_a_cent_zero_and_negative_amounts_are_refused() {
        assert!(matches!(
            Money::new(dec!(10.005), Currency::EUR),
            Err(MoneyError::NotRepresentable { .. })
        ));
        assert_eq!(
            Money::new(Decimal::ZERO, Currency::EUR),
            Err(MoneyError::NotPositive(Decimal::ZERO))
        );
        assert!(Money::new(dec!(-1), Currency::EUR).is_err());
    }

    #[test]
    fn currency_codes_are_three_letters_any_case() {
        assert_eq!(Currency::parse(" eur ").unwrap(), Currency::EUR);
        assert_eq!(Currency::EUR.lower(), "eur");
        for bad in ["", "EU", "EURO", "E1R", "€"] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn minor_units_round_trip() {
        let m = Money::from_minor_units(4550, Currency::EUR).unwrap();
        assert_eq!(m.amount(), dec!(45.5));
        assert_eq!(m.minor_units(), Ok(4550));
    }
}
