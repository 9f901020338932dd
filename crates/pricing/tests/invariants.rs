//! Properties of the formula that hold for every valid input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use inkdesk_pricing::{
    Difficulty, Euros, Piece, PricingRules, duration_for_price, piece_price, quote,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

/// A size in hundredths of a centimetre, 0.01..=200.00.
fn size() -> impl Strategy<Value = Decimal> {
    (1i64..=20_000).prop_map(|n| Decimal::new(n, 2))
}

/// Ink coverage in hundredths, 0.00..=1.00.
fn ink() -> impl Strategy<Value = Decimal> {
    (0i64..=100).prop_map(|n| Decimal::new(n, 2))
}

fn difficulty() -> impl Strategy<Value = Difficulty> {
    proptest::sample::select(Difficulty::ALL.to_vec())
}

fn piece() -> impl Strategy<Value = Piece> {
    (size(), size(), ink(), difficulty()).prop_map(|(h, w, i, d)| Piece::new(h, w, i, d).unwrap())
}

fn is_multiple_of_5(e: Euros) -> bool {
    (e.amount() % Decimal::from(5)).is_zero()
}

proptest! {
    #[test]
    fn a_piece_never_costs_less_than_the_minimum_and_is_a_multiple_of_5(p in piece()) {
        let price = piece_price(&p);
        prop_assert!(price >= Euros::whole(45));
        prop_assert!(is_multiple_of_5(price));
        prop_assert_eq!(price.amount().scale(), 0);
    }

    #[test]
    fn price_never_falls_when_height_grows(
        h in size(), extra in size(), w in size(), i in ink(), d in difficulty()
    ) {
        let taller = (h + extra).min(Piece::MAX_SIZE_CM);
        let a = piece_price(&Piece::new(h, w, i, d).unwrap());
        let b = piece_price(&Piece::new(taller, w, i, d).unwrap());
        prop_assert!(a <= b);
    }

    #[test]
    fn price_never_falls_when_width_grows(
        h in size(), w in size(), extra in size(), i in ink(), d in difficulty()
    ) {
        let wider = (w + extra).min(Piece::MAX_SIZE_CM);
        let a = piece_price(&Piece::new(h, w, i, d).unwrap());
        let b = piece_price(&Piece::new(h, wider, i, d).unwrap());
        prop_assert!(a <= b);
    }

    #[test]
    fn price_never_falls_when_ink_grows(
        h in size(), w in size(), i in ink(), j in ink(), d in difficulty()
    ) {
        let (less, more) = (i.min(j), i.max(j));
        let a = piece_price(&Piece::new(h, w, less, d).unwrap());
        let b = piece_price(&Piece::new(h, w, more, d).unwrap());
        prop_assert!(a <= b);
    }

    #[test]
    fn price_never_falls_when_the_difficulty_factor_grows(
        h in size(), w in size(), i in ink(), d in difficulty(), e in difficulty()
    ) {
        let (easier, harder) = if d.factor() <= e.factor() { (d, e) } else { (e, d) };
        let a = piece_price(&Piece::new(h, w, i, easier).unwrap());
        let b = piece_price(&Piece::new(h, w, i, harder).unwrap());
        prop_assert!(a <= b);
    }

    #[test]
    fn one_piece_quotes_a_larger_second_size(p in piece()) {
        let q = quote(&[p]).unwrap();
        let step = if q.low() < Euros::whole(90) { 5 } else { 10 };
        prop_assert_eq!(q.high().amount() - q.low().amount(), Decimal::from(step));
        prop_assert_eq!(q.total(), q.low());
        prop_assert_eq!(q.pieces(), &[piece_price(&p)][..]);
    }

    #[test]
    fn several_pieces_cost_less_than_their_sum_but_at_least_90_percent_minus_5(
        pieces in proptest::collection::vec(piece(), 2..6)
    ) {
        let q = quote(&pieces).unwrap();
        let sum = q.subtotal().amount();
        let total = q.total().amount();
        prop_assert!(total < sum);
        prop_assert!(total > sum * Decimal::new(9, 1) - Decimal::from(5));
        prop_assert!(is_multiple_of_5(q.total()));
        prop_assert!(q.total() >= Euros::whole(45));
        prop_assert_eq!((q.low(), q.high()), (q.total(), q.total()));
    }

    #[test]
    fn duration_is_a_multiple_of_5_never_falls_with_price_and_is_capped(
        a in 0i64..20_000, b in 0i64..20_000, max in 1u32..=1_000
    ) {
        let (lo, hi) = (a.min(b), a.max(b));
        let short = duration_for_price(Euros::whole(lo), max);
        let long = duration_for_price(Euros::whole(hi), max);
        prop_assert!(short <= long);
        prop_assert!(long <= max);
        if long < max {
            prop_assert_eq!(long % 5, 0);
            // Rounded up: never less time than price/100 hours.
            prop_assert!(Decimal::from(long) >= Decimal::from(hi) * Decimal::new(6, 1));
        }
    }

    #[test]
    fn quote_duration_never_exceeds_the_rules_maximum(
        pieces in proptest::collection::vec(piece(), 1..4)
    ) {
        let rules = PricingRules::default();
        prop_assert!(rules.quote(&pieces).unwrap().duration_minutes() <= rules.max_minutes);
    }
}
