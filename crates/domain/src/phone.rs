//! Phone numbers, validated against libphonenumber's metadata.

use std::fmt;
use std::str::FromStr;

use phonenumber::country::Id as CountryId;
use phonenumber::{Mode, PhoneNumber as RawNumber};
use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// A region code such as `GR` used for numbers written without a country code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region(CountryId);

impl Region {
    /// Greece, the first studio's region and the default.
    pub const GREECE: Region = Region(CountryId::GR);

    /// Parses an ISO 3166-1 alpha-2 code (`GR`, `gb`).
    pub fn parse(code: &str) -> Option<Region> {
        CountryId::from_str(&code.trim().to_ascii_uppercase())
            .ok()
            .map(Region)
    }
}

impl Default for Region {
    fn default() -> Self {
        Self::GREECE
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_ref())
    }
}

/// A valid phone number. Stored as E.164; shown in national form when it belongs to the
/// studio's region.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber {
    e164: String,
    national: String,
    domestic: bool,
}

impl PhoneNumber {
    /// Parses a number as a customer might type it (spaces, dashes, brackets, `+30`,
    /// `0030`, or the country code without `+`), interpreting numbers without a country
    /// code in `region`. Only numbers valid in libphonenumber's metadata are accepted.
    pub fn parse(raw: &str, region: Region) -> Result<Self, ValidationError> {
        let trimmed = raw.trim();
        if trimmed.is_empty()
            || trimmed.chars().any(|c| c.is_alphabetic())
            || trimmed.chars().filter(char::is_ascii_digit).count() < 6
        {
            return Err(ValidationError::Phone);
        }
        let cleaned: String = trimmed
            .chars()
            .filter(|c| !matches!(c, '(' | ')' | '-' | ' ' | '.' | '/'))
            .collect();
        let parsed = Self::parse_valid(&cleaned, region.0)
            .or_else(|| {
                // "306912345678": the country code typed without "+" or "00".
                let code = phonenumber::metadata::DATABASE
                    .by_id(region.0.as_ref())?
                    .country_code()
                    .to_string();
                cleaned
                    .strip_prefix(&code)
                    .filter(|_| !cleaned.starts_with('+'))
                    .and_then(|_| Self::parse_valid(&format!("+{cleaned}"), region.0))
            })
            .ok_or(ValidationError::Phone)?;
        let domestic = parsed.country().id() == Some(region.0);
        let national: String = parsed
            .format()
            .mode(Mode::National)
            .to_string()
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        Ok(Self {
            e164: parsed.format().mode(Mode::E164).to_string(),
            national,
            domestic,
        })
    }

    fn parse_valid(text: &str, region: CountryId) -> Option<RawNumber> {
        phonenumber::parse(Some(region), text)
            .ok()
            .filter(phonenumber::is_valid)
    }

    /// The number in E.164 form, e.g. `+306912345678`.
    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// The number as dialled inside its own country, digits only, e.g. `6912345678`.
    pub fn national(&self) -> &str {
        &self.national
    }
}

impl fmt::Display for PhoneNumber {
    /// National form for numbers of the studio's region, E.164 for foreign numbers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.domestic {
            f.write_str(&self.national)
        } else {
            f.write_str(&self.e164)
        }
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = ValidationError;
    /// Deserialises a stored E.164 number (or any form, read as Greek).
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value, Region::GREECE)
    }
}

impl From<PhoneNumber> for String {
    fn from(value: PhoneNumber) -> Self {
        value.e164
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gr(raw: &str) -> Result<PhoneNumber, ValidationError> {
        PhoneNumber::parse(raw, Region::GREECE)
    }

    #[test]
    fn greek_mobile_in_every_written_form_normalises_to_one_number() {
        for raw in [
            "6912345678",
            "+30 6912345678",
            "691 234 5678",
            "691-234-5678",
            "0030 6912345678",
            "306912345678",
            "+30-691-234-5678",
            "+306912345678 ",
            "(+30) 691-234-5678",
        ] {
            let phone = gr(raw).unwrap_or_else(|e| panic!("{raw:?} refused: {e}"));
            assert_eq!(phone.national(), "6912345678", "{raw:?}");
            assert_eq!(phone.e164(), "+306912345678", "{raw:?}");
            assert_eq!(phone.to_string(), "6912345678");
        }
    }

    #[test]
    fn greek_landlines_are_accepted() {
        for raw in ["2101234567", "(210) 123-4567", "+302101234567"] {
            assert_eq!(gr(raw).unwrap().national(), "2101234567", "{raw:?}");
        }
    }

    #[test]
    fn invalid_numbers_are_refused() {
        for raw in [
            "691234567",
            "69123abc78",
            "5912345678",
            "1234567890",
            "0691234567",
            "",
            "   ",
            "6812345678",
        ] {
            assert_eq!(gr(raw), Err(ValidationError::Phone), "{raw:?}");
        }
    }

    #[test]
    fn foreign_numbers_valid_for_their_region_are_accepted() {
        let uk = gr("+44 7911 123456").unwrap();
        assert_eq!(uk.e164(), "+447911123456");
        assert_eq!(uk.to_string(), "+447911123456");
    }

    #[test]
    fn serde_round_trips_through_e164() {
        let phone = gr("691 234 5678").unwrap();
        let json = serde_json_like(&phone);
        assert_eq!(json, "+306912345678");
        assert_eq!(PhoneNumber::try_from(json).unwrap(), phone);
    }

    fn serde_json_like(phone: &PhoneNumber) -> String {
        String::from(phone.clone())
    }

    #[test]
    fn region_codes_parse_case_insensitively() {
        assert_eq!(Region::parse("gr"), Some(Region::GREECE));
        assert_eq!(Region::parse("XX"), None);
    }
}
