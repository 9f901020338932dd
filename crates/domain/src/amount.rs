//! Prices and appointment durations, bounded by the studio profile.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// A price in the studio's currency: an exact decimal, positive and at most the studio's
/// maximum (5000 by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Price(Decimal);

impl Price {
    /// Validates an amount against `max`.
    pub fn new(amount: Decimal, max: Decimal) -> Result<Self, ValidationError> {
        if amount > Decimal::ZERO && amount <= max {
            Ok(Self(amount.normalize()))
        } else {
            Err(ValidationError::Price {
                max: max.normalize().to_string(),
            })
        }
    }

    /// Parses text such as `150`, `150.50`, `150€` or `€ 150,5` and validates it.
    pub fn parse(raw: &str, max: Decimal) -> Result<Self, ValidationError> {
        let text: String = raw
            .trim()
            .trim_matches(|c: char| c == '€' || c.is_whitespace())
            .replace(',', ".");
        let amount = Decimal::from_str(&text).map_err(|_| ValidationError::Price {
            max: max.normalize().to_string(),
        })?;
        Self::new(amount, max)
    }

    /// The amount.
    pub fn amount(self) -> Decimal {
        self.0
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The length of an appointment in whole minutes: positive and at most the studio's
/// longest appointment (10 h by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AppointmentDuration(u32);

impl AppointmentDuration {
    /// Validates a number of minutes against `max_minutes`.
    pub fn from_minutes(minutes: i64, max_minutes: u32) -> Result<Self, ValidationError> {
        match u32::try_from(minutes) {
            Ok(m) if m > 0 && m <= max_minutes => Ok(Self(m)),
            _ => Err(ValidationError::Duration { max_minutes }),
        }
    }

    /// Minutes.
    pub fn minutes(self) -> u32 {
        self.0
    }

    /// As a chrono duration.
    pub fn as_chrono(self) -> chrono::Duration {
        chrono::Duration::minutes(i64::from(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn prices_must_be_positive_and_at_most_the_maximum() {
        let max = dec!(5000);
        assert_eq!(Price::new(dec!(150), max).unwrap().amount(), dec!(150));
        assert!(Price::new(dec!(5000), max).is_ok());
        assert!(Price::new(dec!(5000.01), max).is_err());
        assert!(Price::new(dec!(0), max).is_err());
        assert!(Price::new(dec!(-5), max).is_err());
        assert_eq!(Price::parse("150€", max).unwrap().amount(), dec!(150));
        assert_eq!(Price::parse("€ 150,5", max).unwrap().amount(), dec!(150.5));
        assert!(Price::parse("a lot", max).is_err());
    }

    #[test]
    fn durations_must_be_positive_and_at_most_ten_hours() {
        assert_eq!(
            AppointmentDuration::from_minutes(90, 600)
                .unwrap()
                .minutes(),
            90
        );
        assert!(AppointmentDuration::from_minutes(600, 600).is_ok());
        for bad in [0, -30, 601, i64::MAX] {
            assert_eq!(
                AppointmentDuration::from_minutes(bad, 600),
                Err(ValidationError::Duration { max_minutes: 600 })
            );
        }
    }
}
