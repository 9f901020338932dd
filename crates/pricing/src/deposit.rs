//! `DepositRule`: the deposit a booking asks for — a percentage of the quoted price,
//! rounded UP by the studio's rule (the studio keeps at least its percentage), never more
//! than the price itself. `percent = 0` means no deposit.
//!
//! ```text
//! deposit = min(price, ceil(price · percent / 100 / step) · step)      (None if percent = 0)
//! ```

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{Euros, PricingError};

pub use inkdesk_domain::profile::DepositRounding;

/// The studio's deposit: a percentage of the quoted price and its rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DepositRule {
    /// Percent of the price, 0..=100; 0 turns deposits off (30).
    pub percent: u32,
    /// How the amount is rounded (whole euros).
    pub rounding: DepositRounding,
}

impl Default for DepositRule {
    fn default() -> Self {
        Self {
            percent: 30,
            rounding: DepositRounding::Whole,
        }
    }
}

impl DepositRule {
    /// The rule of a studio profile (`pricing.deposit_percent` and
    /// `pricing.deposit_rounding`).
    pub fn of_profile(profile: &inkdesk_domain::StudioProfile) -> Self {
        Self {
            percent: profile.pricing.deposit_percent,
            rounding: profile.pricing.deposit_rounding,
        }
    }

    /// No deposit at all.
    pub const NONE: DepositRule = DepositRule {
        percent: 0,
        rounding: DepositRounding::Whole,
    };

    /// Checks the percentage (at most 100).
    pub fn validate(&self) -> Result<(), PricingError> {
        if self.percent > 100 {
            return Err(PricingError::InvalidRule {
                field: "deposit.percent",
                message: "must be between 0 and 100",
            });
        }
        Ok(())
    }

    /// True when bookings ask for a deposit.
    pub fn is_on(&self) -> bool {
        self.percent > 0
    }

    /// The deposit for `price`, or `None` when deposits are off or the price is not
    /// positive. Never more than the price, even for a percentage over 100.
    pub fn deposit(&self, price: Euros) -> Option<Euros> {
        let price = price.amount();
        if !self.is_on() || price <= Decimal::ZERO {
            return None;
        }
        let share = price
            .saturating_mul(Decimal::from(self.percent.min(100)))
            .checked_div(Decimal::ONE_HUNDRED)?;
        let step = self.rounding.step();
        let rounded = share
            .checked_div(step)
            .map(|units| units.ceil().saturating_mul(step))?;
        Some(Euros::new(rounded.min(price)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn rule(percent: u32, rounding: DepositRounding) -> DepositRule {
        DepositRule { percent, rounding }
    }

    #[test]
    fn vectors_for_each_rounding() {
        use DepositRounding::*;
        // (price, percent, rounding, deposit)
        let vectors = [
            (dec!(135), 30, Cent, dec!(40.5)),
            (dec!(135), 30, Whole, dec!(41)),
            (dec!(135), 30, Five, dec!(45)),
            (dec!(135), 30, Ten, dec!(50)),
            (dec!(465), 30, Whole, dec!(140)), // 139.5 → 140
            (dec!(465), 30, Five, dec!(140)),
            (dec!(465), 20, Whole, dec!(93)), // exact, no rounding
            (dec!(45), 30, Whole, dec!(14)),  // 13.5 → 14
            (dec!(45), 30, Ten, dec!(20)),
            (dec!(50), 50, Five, dec!(25)),
            (dec!(45), 100, Whole, dec!(45)),
            (dec!(47.5), 100, Whole, dec!(47.5)), // capped at the price
            (dec!(12), 90, Ten, dec!(12)),        // 10.8 → 20, capped at 12
            (dec!(99.99), 33, Cent, dec!(33)),    // 32.9967 → 33.00
            (dec!(100), 1, Cent, dec!(1)),
            (dec!(1), 1, Cent, dec!(0.01)),
        ];
        for (price, percent, rounding, expected) in vectors {
            assert_eq!(
                rule(percent, rounding).deposit(Euros::new(price)),
                Some(Euros::new(expected)),
                "{percent}% of {price} rounded {rounding:?}"
            );
        }
    }

    #[test]
    fn zero_percent_or_no_price_means_no_deposit() {
        assert_eq!(DepositRule::NONE.deposit(Euros::whole(300)), None);
        assert!(!DepositRule::NONE.is_on());
        assert_eq!(DepositRule::default().deposit(Euros::whole(0)), None);
        assert_eq!(DepositRule::default().deposit(Euros::whole(-5)), None);
    }

    #[test]
    fn the_deposit_is_never_below_the_percentage_nor_above_the_price() {
        for rounding in [
            DepositRounding::Cent,
            DepositRounding::Whole,
            DepositRounding::Five,
            DepositRounding::Ten,
        ] {
            for percent in [1, 10, 25, 30, 33, 50, 99, 100] {
                for price in (45..=600).step_by(5) {
                    let price = Decimal::from(price);
                    let deposit = rule(percent, rounding)
                        .deposit(Euros::new(price))
                        .unwrap()
                        .amount();
                    let share = price * Decimal::from(percent) / Decimal::ONE_HUNDRED;
                    assert!(deposit >= share.min(price), "{percent}% of {price}");
                    assert!(deposit <= price, "{percent}% of {price}");
                    assert!(deposit - share < rounding.step(), "{percent}% of {price}");
                }
            }
        }
    }

    #[test]
    fn over_100_percent_is_refused_by_validate() {
        assert!(rule(101, DepositRounding::Whole).validate().is_err());
        assert!(rule(100, DepositRounding::Whole).validate().is_ok());
        assert!(DepositRule::default().validate().is_ok());
        // And even unvalidated it never asks for more than the price.
        assert_eq!(
            rule(250, DepositRounding::Whole).deposit(Euros::whole(80)),
            Some(Euros::whole(80))
        );
    }

    #[test]
    fn the_rule_reads_from_a_profile() {
        let parsed: DepositRule = toml::from_str("percent = 25\nrounding = \"five\"").unwrap();
        assert_eq!(parsed, rule(25, DepositRounding::Five));
        let defaults: DepositRule = toml::from_str("").unwrap();
        assert_eq!(defaults, DepositRule::default());
        assert_eq!(defaults.rounding, DepositRounding::Whole);
        assert!(toml::from_str::<DepositRule>("rounding = \"up\"").is_err());
        assert_eq!(
            serde_json::to_string(&DepositRounding::Cent).unwrap(),
            "\"cent\""
        );
    }
}
