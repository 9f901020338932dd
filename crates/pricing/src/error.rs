//! `PricingError`: everything that can be wrong with the input of a quote.

use rust_decimal::Decimal;

/// Why a piece, a difficulty or a quote request was refused.
///
/// The messages are plain sentences that can be returned to the model (as a tool result)
/// or printed by the CLI; they name the field and the accepted range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    /// A height or width of zero or less.
    #[error("the {dimension} must be more than 0 cm, got {value} cm")]
    NonPositiveSize {
        /// `"height"` or `"width"`.
        dimension: &'static str,
        /// The value given.
        value: Decimal,
    },
    /// A height or width above the largest size we price.
    #[error("the {dimension} must be at most {max} cm, got {value} cm")]
    SizeTooLarge {
        /// `"height"` or `"width"`.
        dimension: &'static str,
        /// The value given.
        value: Decimal,
        /// The largest accepted value.
        max: Decimal,
    },
    /// Ink coverage outside 0..=1.
    #[error("the ink coverage must be between 0 and 1, got {value}")]
    InkOutOfRange {
        /// The value given.
        value: Decimal,
    },
    /// A difficulty that is neither a known name nor a known factor.
    #[error(
        "unknown difficulty '{input}'; use one of: line_work (1.14), light_shading (1.21), \
         heavy_shading (1.45), filled_black (1.60), filled_one_colour (1.65), \
         colour_shading (1.85), multicolour_strong_shading (2.10), realistic (2.50), \
         portrait (3.30), tiny_script (3.75)"
    )]
    UnknownDifficulty {
        /// The text given.
        input: String,
    },
    /// A number that could not be read.
    #[error("the {field} must be a number, got '{input}'")]
    InvalidNumber {
        /// Which field (`"height"`, `"width"`, `"ink"`).
        field: &'static str,
        /// The text given.
        input: String,
    },
    /// A piece written in the wrong shape (the CLI form is `H,W,INK,D`).
    #[error("a piece is written HEIGHT,WIDTH,INK,DIFFICULTY (e.g. 10,8,0.5,1.45), got '{input}'")]
    MalformedPiece {
        /// The text given.
        input: String,
    },
    /// A quote was asked for no pieces at all.
    #[error("a quote needs at least one piece")]
    NoPieces,
    /// A pricing rule (from the studio profile) that makes no sense.
    #[error("pricing rule {field} {message}")]
    InvalidRule {
        /// The rule's field name, e.g. `"rounding"`.
        field: &'static str,
        /// What is wrong, e.g. `"must be more than 0"`.
        message: &'static str,
    },
}
