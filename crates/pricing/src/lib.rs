//! The tattoo price formula of inkdesk: exact decimals, no IO, no clock, no floats.
//!
//! # The rules (behaviour reference §2) — this is the one place they live
//!
//! For one piece of height `h` cm, width `w` cm, ink coverage `ink` (0..=1) and difficulty
//! factor `D` ([`Difficulty::factor`]):
//!
//! ```text
//! P = max(45, floor(h · w · D · (1 + 0.3 · ink) / 5) · 5)        euros, rounded DOWN to 5
//! ```
//!
//! - **One piece** is quoted as two sizes: `low = P`, `high = P + 5` if `P < 90`, else
//!   `P + 10`; `total = P`.
//! - **Several pieces**: `S = ΣPᵢ`, `T = floor(0.9 · S / 5) · 5` (10 % off, rounded down to 5);
//!   `low = high = total = T`. Only `T` is stated.
//! - **Duration** from a price: `minutes = min(600, ceil(price · 0.6 / 5) · 5)` — price/100
//!   hours rounded UP to 5 minutes, capped at the longest appointment (10 h). A quote's
//!   duration comes from `S`, the sum *before* the discount (for one piece, `P`).
//! - Inputs: `0 < h, w ≤ 200` cm, `0 ≤ ink ≤ 1`, `D` one of the ten classes.
//!
//! Every number above is a field of [`PricingRules`] (its `Default` is the list above), so a
//! studio profile can change them; the free functions [`piece_price`], [`quote()`] and
//! [`duration_for_price`] use the defaults. All arithmetic is `rust_decimal`, so the exact
//! boundary `15 × 10 × 2.5 × 1.24 = 465` is 465, not 464.999….
//!
//! # Map
//!
//! - [`difficulty`]: [`Difficulty`], the ten classes with factor, snake_case name, parsing.
//! - [`piece`]: [`Piece`], a validated piece; parses the CLI form `H,W,INK,D`.
//! - [`rules`]: [`PricingRules`] and the arithmetic (price, quote, duration).
//! - [`quote`](mod@quote): [`Quote`], the serialisable result (`pieces`, `low`, `high`,
//!   `total`, `duration_minutes`).
//! - [`money`]: [`Euros`], exact money written as a JSON number.
//! - [`deposit`]: [`DepositRule`] and [`DepositRounding`], the deposit of a quoted price
//!   (a percentage rounded up by the studio's rule, never above the price; 0 % = none).
//! - [`error`]: [`PricingError`], messages fit to show the model or print in the CLI.

pub mod deposit;
pub mod difficulty;
pub mod error;
pub mod money;
pub mod piece;
pub mod quote;
pub mod rules;

pub use deposit::{DepositRounding, DepositRule};
pub use difficulty::Difficulty;
pub use error::PricingError;
pub use money::Euros;
pub use piece::Piece;
pub use quote::Quote;
pub use rules::{DEFAULT_MAX_MINUTES, PricingRules};

/// The price of one piece under the default rules (see the crate doc for the formula).
pub fn piece_price(piece: &Piece) -> Euros {
    PricingRules::default().piece_price(piece)
}

/// The quote for one or more pieces under the default rules; no pieces is an error.
pub fn quote(pieces: &[Piece]) -> Result<Quote, PricingError> {
    PricingRules::default().quote(pieces)
}

/// Appointment minutes for a price under the default rules, capped at `max_minutes`.
pub fn duration_for_price(price: Euros, max_minutes: u32) -> u32 {
    PricingRules {
        max_minutes,
        ..PricingRules::default()
    }
    .duration_for_price(price)
}
