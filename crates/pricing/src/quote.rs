//! `Quote`: what the studio states for a request of one or more pieces.

use serde::Serialize;

use crate::Euros;

/// The result of pricing a request.
///
/// | field | one piece | several pieces |
/// |---|---|---|
/// | `pieces` | `[P]` | `[P₁, P₂, …]` |
/// | `low` | `P` (the size as measured) | `T` |
/// | `high` | `P + 5` if `P < 90`, else `P + 10` (a slightly larger size) | `T` |
/// | `total` | `P` (= `low`: the price of the piece as measured) | `T = floor(0.9·ΣPᵢ / 5)·5` |
/// | `duration_minutes` | from `P` | from `ΣPᵢ`, **before** the discount |
///
/// The duration comes from the undiscounted sum because the discount is commercial: two
/// pieces take as long to tattoo as they did before the discount. For several pieces only
/// `total` should be stated to the customer.
///
/// JSON (what `inkdesk quote --json` prints):
/// `{"pieces":[45,130],"low":155,"high":155,"total":155,"duration_minutes":105}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quote {
    pieces: Vec<Euros>,
    low: Euros,
    high: Euros,
    total: Euros,
    duration_minutes: u32,
}

impl Quote {
    pub(crate) fn new(
        pieces: Vec<Euros>,
        low: Euros,
        high: Euros,
        total: Euros,
        duration_minutes: u32,
    ) -> Self {
        Self {
            pieces,
            low,
            high,
            total,
            duration_minutes,
        }
    }

    /// The price of each piece before any discount, in the order given.
    pub fn pieces(&self) -> &[Euros] {
        &self.pieces
    }

    /// One piece: the price of the size as measured. Several: the discounted total.
    pub fn low(&self) -> Euros {
        self.low
    }

    /// One piece: the price of the next size up. Several: the discounted total.
    pub fn high(&self) -> Euros {
        self.high
    }

    /// The price to state (and to put on a booking): `P` for one piece, `T` for several.
    pub fn total(&self) -> Euros {
        self.total
    }

    /// The undiscounted sum of the piece prices, `ΣPᵢ`.
    pub fn subtotal(&self) -> Euros {
        self.pieces.iter().copied().sum()
    }

    /// Appointment length in minutes, capped at the longest appointment.
    pub fn duration_minutes(&self) -> u32 {
        self.duration_minutes
    }

    /// True for a single piece, which is quoted as two sizes (`low` / `high`).
    pub fn has_two_sizes(&self) -> bool {
        self.pieces.len() == 1
    }
}
