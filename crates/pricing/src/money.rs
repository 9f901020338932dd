//! `Euros`, the money newtype, and the JSON-number form of decimals.

use std::fmt;
use std::iter::Sum;
use std::str::FromStr;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An amount of money in the studio's currency (euros for the first studio), held as an
/// exact decimal.
///
/// Serialised as a JSON/TOML **number** (`465`, not `"465"`): whole amounts — every price
/// this crate computes — are written as integers, so no float is ever involved; an amount
/// with cents is written as the nearest float. Deserialises from an integer, a float or a
/// decimal string (`"45"`, `"45.50"`), so a TOML profile may write either form.
///
/// `Display` prints the bare amount (`465`, `45.5`); the caller adds the currency sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Euros(Decimal);

impl Euros {
    /// Wraps an amount (normalised, so `465.00` and `465` are the same value and print alike).
    pub fn new(amount: Decimal) -> Self {
        Self(amount.normalize())
    }

    /// A whole amount.
    pub fn whole(amount: i64) -> Self {
        Self(Decimal::from(amount))
    }

    /// The exact amount.
    pub fn amount(self) -> Decimal {
        self.0
    }
}

impl From<Decimal> for Euros {
    fn from(amount: Decimal) -> Self {
        Self::new(amount)
    }
}

impl Sum for Euros {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        Self::new(iter.fold(Decimal::ZERO, |acc, e| acc.saturating_add(e.0)))
    }
}

impl fmt::Display for Euros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.normalize())
    }
}

impl Serialize for Euros {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        number::serialize(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for Euros {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        number::deserialize(deserializer).map(Self::new)
    }
}

/// Serde helpers writing a `Decimal` as a number and reading it from a number or a string.
/// Use with `#[serde(with = "crate::money::number")]`.
pub(crate) mod number {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        value: &Decimal,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let value = value.normalize();
        match (value.scale(), value.to_i64()) {
            (0, Some(whole)) => serializer.serialize_i64(whole),
            _ => serializer.serialize_f64(value.to_f64().unwrap_or(f64::NAN)),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Decimal, D::Error> {
        deserializer.deserialize_any(DecimalVisitor)
    }

    struct DecimalVisitor;

    impl serde::de::Visitor<'_> for DecimalVisitor {
        type Value = Decimal;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number or a decimal string")
        }

        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Decimal, E> {
            Ok(Decimal::from(v))
        }

        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Decimal, E> {
            Ok(Decimal::from(v))
        }

        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Decimal, E> {
            // Rust prints the shortest text that reads back as the same float, so 0.3
            // becomes exactly 0.3 rather than 0.299999999999999988897769753748.
            if !v.is_finite() {
                return Err(E::custom("the number must be finite"));
            }
            self.visit_str(&v.to_string())
        }

        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Decimal, E> {
            Decimal::from_str(v.trim())
                .or_else(|_| Decimal::from_scientific(v.trim()))
                .map_err(|_| E::custom(format!("'{v}' is not a decimal number")))
        }
    }
}
