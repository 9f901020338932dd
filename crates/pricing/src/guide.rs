//! The price guide: fixed prices for common requests, used when there is no image to price.

use serde::{Deserialize, Serialize};

use crate::Euros;

/// One line of the price guide: a kind of request and its price, or two sizes.
///
/// Same field names as the studio profile's `[[price_guide]]` tables; amounts are read from
/// numbers or decimal strings (`low = 40` or `low = "40"`) and written as numbers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceGuideEntry {
    /// Stable key, e.g. `small_shaded`.
    pub key: String,
    /// Greek label.
    pub label_el: String,
    /// English label.
    pub label_en: String,
    /// Price of the smaller size, or the only price.
    pub low: Euros,
    /// Price of the larger size, when the guide gives two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high: Option<Euros>,
}

impl PriceGuideEntry {
    fn new(key: &str, label_el: &str, label_en: &str, low: i64, high: Option<i64>) -> Self {
        Self {
            key: key.to_owned(),
            label_el: label_el.to_owned(),
            label_en: label_en.to_owned(),
            low: Euros::whole(low),
            high: high.map(Euros::whole),
        }
    }

    /// `40/45`, or `180` when there is one price.
    pub fn prices_text(&self) -> String {
        match self.high {
            Some(high) => format!("{}/{}", self.low, high),
            None => self.low.to_string(),
        }
    }
}

/// The first studio's price guide (behaviour reference §2), in the order the reference
/// lists it. Keys and labels match `config/studio.example.toml`.
///
/// The reference's remaining guide rules are policy text rather than entries: two small
/// pieces on one person cost 5 or 10 less in total; prices are cash and final on the day.
pub fn default_price_guide() -> Vec<PriceGuideEntry> {
    type E = PriceGuideEntry;
    vec![
        E::new(
            "very_small_simple",
            "Πολύ μικρό, απλό",
            "Very small, simple",
            40,
            Some(45),
        ),
        E::new("small_simple", "Μικρό, απλό", "Small, simple", 50, Some(55)),
        E::new(
            "small_shaded",
            "Μικρό με σκίαση",
            "Small with shading",
            60,
            Some(65),
        ),
        E::new(
            "small_flat_colour",
            "Μικρό με ένα χρώμα",
            "Small, flat colour",
            65,
            Some(70),
        ),
        E::new(
            "fine_line_photo",
            "Fine line από φωτογραφία",
            "Fine line from a photo",
            70,
            Some(75),
        ),
        E::new(
            "small_lettering",
            "Μικρά γράμματα",
            "Small lettering",
            40,
            Some(45),
        ),
        E::new(
            "medium_shaded",
            "Μεσαίο με σκίαση",
            "Medium with shading",
            90,
            Some(95),
        ),
        E::new("realistic", "Ρεαλιστικό", "Realistic", 160, Some(180)),
        E::new(
            "large_freehand",
            "Μεγάλο freehand",
            "Large freehand",
            180,
            None,
        ),
        E::new(
            "large_realistic_layered",
            "Μεγάλο ρεαλιστικό, σε στρώσεις",
            "Large realistic, layered",
            280,
            Some(320),
        ),
        E::new("retouch", "Ρετούς", "Retouch", 25, Some(30)),
    ]
}
