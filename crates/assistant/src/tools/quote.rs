//! The `quote` tool: pieces (from analysed images or stated sizes) priced by
//! inkdesk-pricing. The model gets amounts to state, never the arithmetic.

use std::collections::HashMap;
use std::str::FromStr;

use inkdesk_pricing::{Difficulty, Piece, PricingRules, Quote};
use serde_json::{Value, json};

use super::args::{PieceArg, ToolArgError};
use crate::message::Measurements;

/// A priced request: the quote and the tool result for the model.
#[derive(Debug, Clone, PartialEq)]
pub struct PricedQuote {
    /// The pricing crate's quote (kept in the turn record).
    pub quote: Quote,
    /// What the model is told.
    pub result: Value,
    /// What was priced, in a few words (`rose 7×7 cm + 10×8 cm heavy_shading`): kept with
    /// the recorded quote for the studio.
    pub what: String,
}

/// Prices `pieces`, looking image references up in `images` (this conversation's analysed
/// images only, so another conversation's image can never be priced here).
pub fn price_pieces(
    pieces: &[PieceArg],
    images: &HashMap<String, Measurements>,
    rules: &PricingRules,
    currency_symbol: &str,
) -> Result<PricedQuote, ToolArgError> {
    let mut priced = Vec::with_capacity(pieces.len());
    let mut what = Vec::with_capacity(pieces.len());
    for (index, piece) in pieces.iter().enumerate() {
        let field = |name: &str| format!("pieces[{index}].{name}");
        let built = match piece {
            PieceArg::Image(reference) => {
                let m = images.get(reference).ok_or_else(|| ToolArgError {
                    field: field("image_ref"),
                    message: format!(
                        "no analysed image `{reference}` in this conversation; use a reference \
                         from an [image …] line, or ask for the size and style"
                    ),
                })?;
                let difficulty = Difficulty::from_str(&m.style).map_err(|e| ToolArgError {
                    field: field("image_ref"),
                    message: e.to_string(),
                })?;
                let text: String = m.description.chars().take(60).collect();
                what.push(format!("{text} {}×{} cm", m.height_cm, m.width_cm));
                Piece::new(m.height_cm, m.width_cm, m.ink_coverage, difficulty)
            }
            PieceArg::Stated {
                height_cm,
                width_cm,
                ink,
                style,
            } => {
                let difficulty = Difficulty::from_str(style).map_err(|e| ToolArgError {
                    field: field("style"),
                    message: e.to_string(),
                })?;
                what.push(format!("{height_cm}×{width_cm} cm {style}"));
                Piece::new(*height_cm, *width_cm, *ink, difficulty)
            }
        }
        .map_err(|e| ToolArgError {
            field: format!("pieces[{index}]"),
            message: e.to_string(),
        })?;
        priced.push(built);
    }
    let quote = rules.quote(&priced).map_err(|e| ToolArgError {
        field: "pieces".to_owned(),
        message: e.to_string(),
    })?;
    let result = if quote.has_two_sizes() {
        json!({
            "pieces": 1,
            "price_as_measured": quote.low(),
            "price_slightly_larger": quote.high(),
            "currency": currency_symbol,
            "appointment_minutes": quote.duration_minutes(),
            "say": "both amounts, exactly",
        })
    } else {
        json!({
            "pieces": quote.pieces().len(),
            "total": quote.total(),
            "currency": currency_symbol,
            "appointment_minutes": quote.duration_minutes(),
            "say": "only this total, exactly",
        })
    };
    Ok(PricedQuote {
        quote,
        result,
        what: what.join(" + "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;
    use rust_decimal::dec;

    fn stated(h: Decimal, w: Decimal, ink: Decimal, style: &'static str) -> PieceArg {
        PieceArg::Stated {
            height_cm: h,
            width_cm: w,
            ink,
            style,
        }
    }

    fn measured(h: Decimal, w: Decimal, ink: Decimal, style: &str) -> Measurements {
        Measurements {
            description: "design".to_owned(),
            height_cm: h,
            width_cm: w,
            ink_coverage: ink,
            style: style.to_owned(),
        }
    }

    #[test]
    fn one_image_is_quoted_as_two_exact_sizes() {
        let images = HashMap::from([(
            "img-aaaaaa".to_owned(),
            measured(dec!(7), dec!(7), dec!(0.3), "light_shading"),
        )]);
        let priced = price_pieces(
            &[PieceArg::Image("img-aaaaaa".to_owned())],
            &images,
            &PricingRules::default(),
            "€",
        )
        .unwrap();
        assert_eq!(priced.result["price_as_measured"], json!(60));
        assert_eq!(priced.result["price_slightly_larger"], json!(65));
        assert!(priced.result.get("total").is_none());
    }

    #[test]
    fn two_pieces_state_only_the_discounted_total() {
        let priced = price_pieces(
            &[
                stated(dec!(5), dec!(5), dec!(0.10), "line_work"),
                stated(dec!(10), dec!(8), dec!(0.5), "heavy_shading"),
            ],
            &HashMap::new(),
            &PricingRules::default(),
            "€",
        )
        .unwrap();
        // 45 + 130 = 175, −10 % = 157.5, down to 5 → 155.
        assert_eq!(priced.result["total"], json!(155));
        assert!(!priced.result.to_string().contains("130"));
        assert_eq!(priced.what, "5×5 cm line_work + 10×8 cm heavy_shading");
    }

    #[test]
    fn unknown_image_references_and_impossible_sizes_are_refused_for_the_model() {
        let err = price_pieces(
            &[PieceArg::Image("img-000000".to_owned())],
            &HashMap::new(),
            &PricingRules::default(),
            "€",
        )
        .unwrap_err();
        assert_eq!(err.field, "pieces[0].image_ref");
        let err = price_pieces(
            &[stated(dec!(500), dec!(5), dec!(0.1), "line_work")],
            &HashMap::new(),
            &PricingRules::default(),
            "€",
        )
        .unwrap_err();
        assert_eq!(err.field, "pieces[0]");
    }
}
