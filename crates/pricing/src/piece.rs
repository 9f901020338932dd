//! `Piece`: one design to price, as measured from a reference image or given by a person.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{Difficulty, PricingError};

/// One tattoo to price: height and width in centimetres, ink coverage (0..=1) and the
/// difficulty class. Built only through [`Piece::new`] (or `FromStr` / serde, which call it),
/// so every `Piece` has both sizes in `(0, MAX_SIZE_CM]` and ink in `0..=1`.
///
/// JSON: `{"height_cm": 10, "width_cm": 8, "ink": 0.5, "difficulty": "heavy_shading"}`
/// (numbers may also be strings; the difficulty may be its factor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "PieceFields")]
pub struct Piece {
    #[serde(with = "crate::money::number")]
    height_cm: Decimal,
    #[serde(with = "crate::money::number")]
    width_cm: Decimal,
    #[serde(with = "crate::money::number")]
    ink: Decimal,
    difficulty: Difficulty,
}

impl Piece {
    /// The largest height or width accepted, in centimetres (a whole back is about 70 × 50).
    pub const MAX_SIZE_CM: Decimal = Decimal::from_parts(200, 0, 0, false, 0);

    /// Validates and builds a piece: sizes more than 0 and at most [`Self::MAX_SIZE_CM`],
    /// ink coverage between 0 and 1 inclusive. Checks height, then width, then ink.
    pub fn new(
        height_cm: Decimal,
        width_cm: Decimal,
        ink: Decimal,
        difficulty: Difficulty,
    ) -> Result<Self, PricingError> {
        check_size("height", height_cm)?;
        check_size("width", width_cm)?;
        if ink < Decimal::ZERO || ink > Decimal::ONE {
            return Err(PricingError::InkOutOfRange { value: ink });
        }
        Ok(Self {
            height_cm: height_cm.normalize(),
            width_cm: width_cm.normalize(),
            ink: ink.normalize(),
            difficulty,
        })
    }

    /// Height in centimetres.
    pub fn height_cm(&self) -> Decimal {
        self.height_cm
    }

    /// Width in centimetres.
    pub fn width_cm(&self) -> Decimal {
        self.width_cm
    }

    /// Ink coverage, 0..=1.
    pub fn ink(&self) -> Decimal {
        self.ink
    }

    /// Difficulty class.
    pub fn difficulty(&self) -> Difficulty {
        self.difficulty
    }
}

fn check_size(dimension: &'static str, value: Decimal) -> Result<(), PricingError> {
    if value <= Decimal::ZERO {
        Err(PricingError::NonPositiveSize { dimension, value })
    } else if value > Piece::MAX_SIZE_CM {
        Err(PricingError::SizeTooLarge {
            dimension,
            value,
            max: Piece::MAX_SIZE_CM,
        })
    } else {
        Ok(())
    }
}

/// Parses the CLI form `HEIGHT,WIDTH,INK,DIFFICULTY`, e.g. `10,8,0.5,1.45` or
/// `10,8,0.5,heavy_shading`; spaces around the parts are ignored.
impl FromStr for Piece {
    type Err = PricingError;

    fn from_str(input: &str) -> Result<Self, PricingError> {
        let parts: Vec<&str> = input.split(',').map(str::trim).collect();
        let [h, w, ink, d] = parts.as_slice() else {
            return Err(PricingError::MalformedPiece {
                input: input.to_owned(),
            });
        };
        Self::new(
            number("height", h)?,
            number("width", w)?,
            number("ink", ink)?,
            d.parse()?,
        )
    }
}

fn number(field: &'static str, text: &str) -> Result<Decimal, PricingError> {
    Decimal::from_str(text).map_err(|_| PricingError::InvalidNumber {
        field,
        input: text.to_owned(),
    })
}

/// The unchecked shape serde reads before [`Piece::new`] validates it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PieceFields {
    #[serde(with = "crate::money::number")]
    height_cm: Decimal,
    #[serde(with = "crate::money::number")]
    width_cm: Decimal,
    #[serde(with = "crate::money::number")]
    ink: Decimal,
    difficulty: Difficulty,
}

impl TryFrom<PieceFields> for Piece {
    type Error = PricingError;

    fn try_from(f: PieceFields) -> Result<Self, PricingError> {
        Self::new(f.height_cm, f.width_cm, f.ink, f.difficulty)
    }
}
