//! `PricingRules`: the numbers of the formula, with the first studio's values as defaults,
//! and the arithmetic that applies them.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use crate::{Euros, Piece, PricingError, Quote};

/// The longest appointment, in minutes, when the studio profile says nothing (10 h).
pub const DEFAULT_MAX_MINUTES: u32 = 600;

/// Every number the price and duration rules use. `Default` gives behaviour reference §2;
/// a studio profile may override any field (serde `default` fills the rest) and should call
/// [`validate`](Self::validate) when it loads them.
///
/// The arithmetic never panics, whatever the fields hold: a step of 0 or less means
/// "no rounding", and products saturate instead of overflowing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PricingRules {
    /// The lowest price of a piece (45).
    pub minimum: Euros,
    /// Prices are rounded down to a multiple of this (5).
    pub rounding: Euros,
    /// Weight of the ink coverage in `1 + ink_weight · ink` (0.3).
    #[serde(with = "crate::money::number")]
    pub ink_weight: Decimal,
    /// A single piece below this price gets a second size `+ step_below`, otherwise
    /// `+ step_above` (90).
    pub second_size_threshold: Euros,
    /// Second-size step below the threshold (5).
    pub second_size_step_below: Euros,
    /// Second-size step at or above the threshold (10).
    pub second_size_step_above: Euros,
    /// Several pieces: the sum is multiplied by this before rounding down (0.9, i.e. −10 %).
    #[serde(with = "crate::money::number")]
    pub multi_discount: Decimal,
    /// Appointment minutes per unit of price (0.6: price/100 hours).
    #[serde(with = "crate::money::number")]
    pub minutes_per_euro: Decimal,
    /// Durations are rounded up to a multiple of this many minutes (5).
    pub minute_rounding: u32,
    /// Durations are capped at this many minutes (600 = 10 h).
    pub max_minutes: u32,
}

impl Default for PricingRules {
    fn default() -> Self {
        Self {
            minimum: Euros::whole(45),
            rounding: Euros::whole(5),
            ink_weight: Decimal::new(3, 1),
            second_size_threshold: Euros::whole(90),
            second_size_step_below: Euros::whole(5),
            second_size_step_above: Euros::whole(10),
            multi_discount: Decimal::new(9, 1),
            minutes_per_euro: Decimal::new(6, 1),
            minute_rounding: 5,
            max_minutes: DEFAULT_MAX_MINUTES,
        }
    }
}

impl PricingRules {
    /// Checks that the rules make sense; the error names the first bad field.
    pub fn validate(&self) -> Result<(), PricingError> {
        let zero = Decimal::ZERO;
        let bad = |field, message| Err(PricingError::InvalidRule { field, message });
        if self.minimum.amount() < zero {
            return bad("minimum", "must not be negative");
        }
        if self.rounding.amount() <= zero {
            return bad("rounding", "must be more than 0");
        }
        if self.ink_weight < zero {
            return bad("ink_weight", "must not be negative");
        }
        if self.second_size_step_below.amount() < zero {
            return bad("second_size_step_below", "must not be negative");
        }
        if self.second_size_step_above.amount() < zero {
            return bad("second_size_step_above", "must not be negative");
        }
        if self.multi_discount <= zero || self.multi_discount > Decimal::ONE {
            return bad("multi_discount", "must be more than 0 and at most 1");
        }
        if self.minutes_per_euro <= zero {
            return bad("minutes_per_euro", "must be more than 0");
        }
        if self.minute_rounding == 0 {
            return bad("minute_rounding", "must be more than 0");
        }
        if self.max_minutes == 0 {
            return bad("max_minutes", "must be more than 0");
        }
        Ok(())
    }

    /// `P = max(minimum, floor(h·w·D·(1 + ink_weight·ink) / rounding) · rounding)`.
    pub fn piece_price(&self, piece: &Piece) -> Euros {
        let ink_factor = Decimal::ONE.saturating_add(self.ink_weight.saturating_mul(piece.ink()));
        let raw = piece
            .height_cm()
            .saturating_mul(piece.width_cm())
            .saturating_mul(piece.difficulty().factor())
            .saturating_mul(ink_factor);
        Euros::new(floor_to(raw, self.rounding.amount()).max(self.minimum.amount()))
    }

    /// The quote for one or more pieces; see [`Quote`] for what each field holds.
    pub fn quote(&self, pieces: &[Piece]) -> Result<Quote, PricingError> {
        let prices: Vec<Euros> = pieces.iter().map(|p| self.piece_price(p)).collect();
        let subtotal: Euros = prices.iter().copied().sum();
        let (low, high, total) = match prices.as_slice() {
            [] => return Err(PricingError::NoPieces),
            [only] => {
                let step = if *only < self.second_size_threshold {
                    self.second_size_step_below
                } else {
                    self.second_size_step_above
                };
                let high = Euros::new(only.amount().saturating_add(step.amount()));
                (*only, high, *only)
            }
            _ => {
                let discounted = subtotal.amount().saturating_mul(self.multi_discount);
                let total = Euros::new(
                    floor_to(discounted, self.rounding.amount()).max(self.minimum.amount()),
                );
                (total, total, total)
            }
        };
        Ok(Quote::new(
            prices,
            low,
            high,
            total,
            self.duration_for_price(subtotal),
        ))
    }

    /// Minutes for a price: `min(max_minutes, ceil(price · minutes_per_euro / minute_rounding)
    /// · minute_rounding)`; 0 for a price of 0 or less.
    pub fn duration_for_price(&self, price: Euros) -> u32 {
        let raw = price.amount().saturating_mul(self.minutes_per_euro);
        let minutes = ceil_to(raw, Decimal::from(self.minute_rounding))
            .max(Decimal::ZERO)
            .min(Decimal::from(self.max_minutes));
        minutes.to_u32().unwrap_or(self.max_minutes)
    }
}

/// Rounds down to a multiple of `step`; a step of 0 or less leaves the value alone.
fn floor_to(value: Decimal, step: Decimal) -> Decimal {
    match value.checked_div(step) {
        Some(steps) if step > Decimal::ZERO => steps.floor().saturating_mul(step),
        _ => value,
    }
}

/// Rounds up to a multiple of `step`; a step of 0 or less leaves the value alone.
fn ceil_to(value: Decimal, step: Decimal) -> Decimal {
    match value.checked_div(step) {
        Some(steps) if step > Decimal::ZERO => steps.ceil().saturating_mul(step),
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn default_rules_are_valid_and_match_the_reference() {
        let rules = PricingRules::default();
        assert_eq!(rules.validate(), Ok(()));
        assert_eq!(rules.minimum, Euros::whole(45));
        assert_eq!(rules.rounding, Euros::whole(5));
        assert_eq!(rules.multi_discount, dec!(0.9));
        assert_eq!(rules.minutes_per_euro, dec!(0.6));
        assert_eq!(rules.max_minutes, 600);
    }

    #[test]
    fn nonsense_rules_are_refused_naming_the_field() {
        type Spoil = fn(&mut PricingRules);
        let cases: [(&str, Spoil); 5] = [
            ("rounding", |r| r.rounding = Euros::whole(0)),
            ("multi_discount", |r| r.multi_discount = dec!(1.1)),
            ("minutes_per_euro", |r| r.minutes_per_euro = dec!(0)),
            ("minute_rounding", |r| r.minute_rounding = 0),
            ("max_minutes", |r| r.max_minutes = 0),
        ];
        for (field, spoil) in cases {
            let mut rules = PricingRules::default();
            spoil(&mut rules);
            assert!(
                matches!(rules.validate(), Err(PricingError::InvalidRule { field: f, .. }) if f == field),
                "{field}"
            );
        }
    }

    #[test]
    fn zero_steps_do_not_panic_they_skip_rounding() {
        let rules = PricingRules {
            rounding: Euros::whole(0),
            minute_rounding: 0,
            minimum: Euros::whole(0),
            ..PricingRules::default()
        };
        let piece = Piece::new(dec!(7), dec!(7), dec!(0.3), crate::Difficulty::LightShading);
        let price = rules.piece_price(&piece.unwrap());
        assert_eq!(price.amount(), dec!(64.6261));
        assert_eq!(rules.duration_for_price(Euros::whole(45)), 27);
    }

    #[test]
    fn rounding_helpers_round_the_right_way() {
        assert_eq!(floor_to(dec!(469.99), dec!(5)), dec!(465));
        assert_eq!(floor_to(dec!(465), dec!(5)), dec!(465));
        assert_eq!(ceil_to(dec!(27), dec!(5)), dec!(30));
        assert_eq!(ceil_to(dec!(90), dec!(5)), dec!(90));
    }
}
