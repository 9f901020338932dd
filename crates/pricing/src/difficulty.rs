//! `Difficulty`: the ten style classes of the price formula and their factors.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::PricingError;

/// The style class of a piece; its [`factor`](Self::factor) is `D` in the formula.
///
/// Ordered by factor (the variants are declared from the cheapest to the dearest).
/// Serialised as its snake_case [`name`](Self::name); parsed (and deserialised) from the
/// name — case-insensitive, `-` or space for `_`, `color` for `colour` — or from the
/// factor written as a number or a string (`1.45`, `"1.45"`, `"2.5"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Difficulty {
    /// 1.14 — line work, no fill or shading.
    LineWork,
    /// 1.21 — light soft shading.
    LightShading,
    /// 1.45 — heavy shading or ornate detail.
    HeavyShading,
    /// 1.60 — filled black.
    FilledBlack,
    /// 1.65 — filled with one colour.
    FilledOneColour,
    /// 1.85 — colour and shading.
    ColourShading,
    /// 2.10 — multicolour with strong shading.
    MulticolourStrongShading,
    /// 2.50 — realistic (not a portrait).
    Realistic,
    /// 3.30 — portrait, armour or texture.
    Portrait,
    /// 3.75 — very small script.
    TinyScript,
}

impl Difficulty {
    /// All classes, from the lowest factor to the highest.
    pub const ALL: [Difficulty; 10] = [
        Self::LineWork,
        Self::LightShading,
        Self::HeavyShading,
        Self::FilledBlack,
        Self::FilledOneColour,
        Self::ColourShading,
        Self::MulticolourStrongShading,
        Self::Realistic,
        Self::Portrait,
        Self::TinyScript,
    ];

    /// The factor `D` (exact: `1.14`, `1.21`, …).
    pub fn factor(self) -> Decimal {
        // Hundredths, so every factor is exact.
        let hundredths = match self {
            Self::LineWork => 114,
            Self::LightShading => 121,
            Self::HeavyShading => 145,
            Self::FilledBlack => 160,
            Self::FilledOneColour => 165,
            Self::ColourShading => 185,
            Self::MulticolourStrongShading => 210,
            Self::Realistic => 250,
            Self::Portrait => 330,
            Self::TinyScript => 375,
        };
        Decimal::new(hundredths, 2)
    }

    /// The stable snake_case name used by serde, the CLI and the model's tools.
    pub fn name(self) -> &'static str {
        match self {
            Self::LineWork => "line_work",
            Self::LightShading => "light_shading",
            Self::HeavyShading => "heavy_shading",
            Self::FilledBlack => "filled_black",
            Self::FilledOneColour => "filled_one_colour",
            Self::ColourShading => "colour_shading",
            Self::MulticolourStrongShading => "multicolour_strong_shading",
            Self::Realistic => "realistic",
            Self::Portrait => "portrait",
            Self::TinyScript => "tiny_script",
        }
    }

    /// What the class covers, in English — for prompts that ask a vision model to classify.
    pub fn description(self) -> &'static str {
        match self {
            Self::LineWork => "line work, no fill or shading",
            Self::LightShading => "light soft shading",
            Self::HeavyShading => "heavy shading or ornate detail",
            Self::FilledBlack => "filled black",
            Self::FilledOneColour => "filled with one colour",
            Self::ColourShading => "colour and shading",
            Self::MulticolourStrongShading => "multicolour with strong shading",
            Self::Realistic => "realistic (not a portrait)",
            Self::Portrait => "portrait, armour or texture",
            Self::TinyScript => "very small script",
        }
    }
}

impl fmt::Display for Difficulty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Difficulty {
    type Err = PricingError;

    fn from_str(input: &str) -> Result<Self, PricingError> {
        let unknown = || PricingError::UnknownDifficulty {
            input: input.to_owned(),
        };
        let key = input
            .trim()
            .to_lowercase()
            .replace(['-', ' '], "_")
            .replace("color", "colour");
        if let Some(found) = Self::ALL.into_iter().find(|d| d.name() == key) {
            return Ok(found);
        }
        // Decimal equality ignores trailing zeros: "2.5" matches 2.50.
        let factor = Decimal::from_str(&key).map_err(|_| unknown())?;
        Self::ALL
            .into_iter()
            .find(|d| d.factor() == factor)
            .ok_or_else(unknown)
    }
}

impl Serialize for Difficulty {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Difficulty {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DifficultyVisitor)
    }
}

struct DifficultyVisitor;

impl serde::de::Visitor<'_> for DifficultyVisitor {
    type Value = Difficulty;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a difficulty name such as \"heavy_shading\" or its factor such as 1.45")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Difficulty, E> {
        Difficulty::from_str(v).map_err(E::custom)
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Difficulty, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Difficulty, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Difficulty, E> {
        self.visit_str(&v.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_parses_from_its_name_and_from_its_factor() {
        for d in Difficulty::ALL {
            assert_eq!(d.name().parse::<Difficulty>(), Ok(d));
            assert_eq!(d.factor().to_string().parse::<Difficulty>(), Ok(d));
        }
    }

    #[test]
    fn parsing_is_lenient_on_case_separators_spelling_and_trailing_zeros() {
        assert_eq!("Heavy-Shading".parse(), Ok(Difficulty::HeavyShading));
        assert_eq!(" colour shading ".parse(), Ok(Difficulty::ColourShading));
        assert_eq!("filled_one_color".parse(), Ok(Difficulty::FilledOneColour));
        assert_eq!("2.5".parse(), Ok(Difficulty::Realistic));
        assert_eq!("1.6".parse(), Ok(Difficulty::FilledBlack));
        assert_eq!("3.750".parse(), Ok(Difficulty::TinyScript));
    }

    #[test]
    fn unknown_names_and_factors_are_typed_errors() {
        for bad in ["", "watercolour", "1.5", "2", "-1.14", "1.14x"] {
            assert_eq!(
                bad.parse::<Difficulty>(),
                Err(PricingError::UnknownDifficulty {
                    input: bad.to_owned()
                })
            );
        }
    }

    #[test]
    fn factors_increase_in_declaration_order() {
        for pair in Difficulty::ALL.windows(2) {
            assert!(pair[0] < pair[1]);
            assert!(pair[0].factor() < pair[1].factor());
        }
    }
}
