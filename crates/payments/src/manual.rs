//! `ManualPayments`: the studio's own payment instructions — bank transfer, IRIS, card at
//! the studio. Nothing external: the offer is text for the DM, and staff mark the deposit
//! received (there is no webhook).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use inkdesk_domain::Language;
use serde::{Deserialize, Serialize};

use crate::money::Money;
use crate::port::{
    DepositOffer, DepositRequest, HowToPay, PaymentEvent, PaymentId, Payments, PaymentsError,
    Provider, WebhookError,
};

/// How the studio accepts deposits, in the order the customer should read them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ManualConfig {
    /// At least one way to pay.
    pub methods: Vec<ManualMethod>,
    /// A sentence the studio adds after the methods (e.g. "Send us the receipt here."),
    /// already in the customer's language or neutral.
    pub note: Option<String>,
}

/// One way to pay the studio (the profile's `[[payments.methods]]`).
pub use inkdesk_domain::profile::PaymentMethod as ManualMethod;

impl From<&inkdesk_domain::profile::PaymentInstructions> for ManualConfig {
    fn from(profile: &inkdesk_domain::profile::PaymentInstructions) -> Self {
        Self {
            methods: profile.methods.clone(),
            note: profile.note.clone(),
        }
    }
}

impl ManualConfig {
    /// Checks that there is a method and that each is usable; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.methods.is_empty() {
            return Err("payments.manual.methods must name at least one way to pay".to_owned());
        }
        for method in &self.methods {
            match method {
                ManualMethod::BankTransfer {
                    beneficiary, iban, ..
                } => {
                    if beneficiary.trim().is_empty() {
                        return Err("bank_transfer.beneficiary must not be empty".to_owned());
                    }
                    if !iban_is_valid(iban) {
                        return Err(format!("bank_transfer.iban '{iban}' is not a valid IBAN"));
                    }
                }
                ManualMethod::Iris { payee } if payee.trim().is_empty() => {
                    return Err("iris.payee must not be empty".to_owned());
                }
                ManualMethod::Iris { .. } | ManualMethod::AtStudio => {}
            }
        }
        Ok(())
    }
}

/// ISO 13616 check: two letters, two check digits, up to 30 alphanumerics, and the
/// rearranged number ≡ 1 (mod 97).
fn iban_is_valid(raw: &str) -> bool {
    let iban: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = iban.as_bytes();
    if !(15..=34).contains(&bytes.len())
        || !bytes[..2].iter().all(u8::is_ascii_alphabetic)
        || !bytes[2..4].iter().all(u8::is_ascii_digit)
        || !bytes.iter().all(u8::is_ascii_alphanumeric)
    {
        return false;
    }
    let rearranged = bytes[4..].iter().chain(&bytes[..4]);
    let mut rem: u32 = 0;
    for b in rearranged {
        let value = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            _ => u32::from(b.to_ascii_uppercase() - b'A') + 10,
        };
        rem = if value >= 10 {
            (rem * 100 + value) % 97
        } else {
            (rem * 10 + value) % 97
        };
    }
    rem == 1
}

/// The instructions of one manual deposit request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualInstructions {
    /// The ways to pay.
    pub methods: Vec<ManualMethod>,
    /// What the customer writes as the transfer's reference (the booking id).
    pub reference: String,
    /// How much.
    pub amount: Money,
    /// Unpaid by then, the booking is cancelled.
    pub pay_by: DateTime<Utc>,
    /// The studio's own closing sentence.
    pub note: Option<String>,
}

impl ManualInstructions {
    /// The instructions as DM text in `language`: the amount, each method on its own line,
    /// the reference and the studio's note. The deadline is left to the caller, which knows
    /// the studio's time zone.
    pub fn text(&self, language: Language) -> String {
        let amount = format_amount(&self.amount);
        let mut lines = Vec::with_capacity(self.methods.len() + 3);
        lines.push(match language {
            Language::El => format!("Προκαταβολή: {amount}. Τρόποι πληρωμής:"),
            Language::En => format!("Deposit: {amount}. Ways to pay:"),
        });
        for method in &self.methods {
            lines.push(match (method, language) {
                (
                    ManualMethod::BankTransfer {
                        beneficiary,
                        iban,
                        bank,
                    },
                    lang,
                ) => {
                    let bank = bank
                        .as_deref()
                        .map(|b| format!(" ({b})"))
                        .unwrap_or_default();
                    match lang {
                        Language::El => format!(
                            "• Τραπεζική μεταφορά: IBAN {iban}{bank}, δικαιούχος {beneficiary}"
                        ),
                        Language::En => {
                            format!("• Bank transfer: IBAN {iban}{bank}, beneficiary {beneficiary}")
                        }
                    }
                }
                (ManualMethod::Iris { payee }, Language::El) => format!("• IRIS στο {payee}"),
                (ManualMethod::Iris { payee }, Language::En) => format!("• IRIS to {payee}"),
                (ManualMethod::AtStudio, Language::El) => {
                    "• Με κάρτα ή μετρητά στο studio".to_owned()
                }
                (ManualMethod::AtStudio, Language::En) => {
                    "• By card or cash at the studio".to_owned()
                }
            });
        }
        let transfers = self
            .methods
            .iter()
            .any(|m| !matches!(m, ManualMethod::AtStudio));
        if transfers {
            lines.push(match language {
                Language::El => format!("Στην αιτιολογία γράψτε: {}", self.reference),
                Language::En => format!("Reference to write with the payment: {}", self.reference),
            });
        }
        if let Some(note) = self.note.as_deref().filter(|n| !n.trim().is_empty()) {
            lines.push(note.trim().to_owned());
        }
        lines.join("\n")
    }
}

fn format_amount(money: &Money) -> String {
    match money.currency().code() {
        "EUR" => format!("{} €", money.amount()),
        other => format!("{} {other}", money.amount()),
    }
}

/// The manual adapter. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ManualPayments {
    config: ManualConfig,
}

impl ManualPayments {
    /// Builds the adapter after [`ManualConfig::validate`].
    pub fn new(config: ManualConfig) -> Result<Self, PaymentsError> {
        config.validate().map_err(PaymentsError::InvalidRequest)?;
        Ok(Self { config })
    }

    /// The payment id of a booking's manual deposit: derived from the booking id, so
    /// asking twice gives the same id.
    pub fn payment_id(booking: &crate::BookingRef) -> PaymentId {
        PaymentId::new(format!("manual:{}", booking.as_str()))
    }
}

#[async_trait]
impl Payments for ManualPayments {
    fn provider(&self) -> Provider {
        Provider::Manual
    }

    async fn request_deposit(
        &self,
        request: &DepositRequest,
    ) -> Result<DepositOffer, PaymentsError> {
        let instructions = ManualInstructions {
            methods: self.config.methods.clone(),
            reference: request.booking.as_str().to_owned(),
            amount: request.amount,
            pay_by: request.hold_until,
            note: self.config.note.clone(),
        };
        Ok(DepositOffer {
            payment_id: Self::payment_id(&request.booking),
            amount: request.amount,
            expires_at: request.hold_until,
            how: HowToPay::Instructions(instructions),
        })
    }

    async fn cancel(&self, _payment: &PaymentId) -> Result<(), PaymentsError> {
        // Nothing was created anywhere; the booking's state is the caller's.
        Ok(())
    }

    fn parse_webhook(
        &self,
        _headers: &http::HeaderMap,
        _body: &[u8],
    ) -> Result<PaymentEvent, WebhookError> {
        Err(WebhookError::NotSupported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BookingRef, Currency};
    use chrono::TimeZone;
    use rust_decimal::dec;

    fn config() -> ManualConfig {
        ManualConfig {
            methods: vec![
                ManualMethod::BankTransfer {
                    beneficiary: "Ink Studio IKE".to_owned(),
                    iban: "GR16 0110 1250 0000 0001 2300 695".to_owned(),
                    bank: Some("National Bank of Greece".to_owned()),
                },
                ManualMethod::Iris {
                    payee: "6900000000".to_owned(),
                },
                ManualMethod::AtStudio,
            ],
            note: Some("Στείλτε μας την απόδειξη εδώ.".to_owned()),
        }
    }

    fn request() -> DepositRequest {
        DepositRequest {
            booking: BookingRef::new("bk-42").unwrap(),
            amount: Money::new(dec!(40), Currency::EUR).unwrap(),
            customer_reference: "ig:123".to_owned(),
            hold_until: Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap(),
            description: "Deposit".to_owned(),
        }
    }

    #[test]
    fn iban_check_digits_are_verified() {
        assert!(iban_is_valid("GR16 0110 1250 0000 0001 2300 695"));
        assert!(iban_is_valid("DE89370400440532013000"));
        assert!(!iban_is_valid("GR17 0110 1250 0000 0001 2300 695"));
        assert!(!iban_is_valid("GR16"));
        assert!(!iban_is_valid("1216 0110 1250 0000 0001 2300 695"));
    }

    #[test]
    fn a_config_without_methods_or_with_a_bad_iban_is_refused() {
        assert!(ManualPayments::new(ManualConfig::default()).is_err());
        let mut bad = config();
        bad.methods[0] = ManualMethod::BankTransfer {
            beneficiary: "X".to_owned(),
            iban: "GR00 1234".to_owned(),
            bank: None,
        };
        let err = bad.validate().unwrap_err();
        assert!(err.contains("iban"), "{err}");
        assert!(ManualPayments::new(config()).is_ok());
    }

    #[tokio::test]
    async fn the_offer_is_instructions_with_a_stable_payment_id() {
        let payments = ManualPayments::new(config()).unwrap();
        let first = payments.request_deposit(&request()).await.unwrap();
        let again = payments.request_deposit(&request()).await.unwrap();
        assert_eq!(first.payment_id, PaymentId::new("manual:bk-42"));
        assert_eq!(first, again);
        assert_eq!(first.expires_at, request().hold_until);
        let HowToPay::Instructions(instructions) = first.how else {
            panic!("manual payments give instructions");
        };
        let el = instructions.text(Language::El);
        assert_eq!(
            el,
            "Προκαταβολή: 40 €. Τρόποι πληρωμής:\n\
             • Τραπεζική μεταφορά: IBAN GR16 0110 1250 0000 0001 2300 695 (National Bank of Greece), δικαιούχος Ink Studio IKE\n\
             • IRIS στο 6900000000\n\
             • Με κάρτα ή μετρητά στο studio\n\
             Στην αιτιολογία γράψτε: bk-42\n\
             Στείλτε μας την απόδειξη εδώ."
        );
        let en = instructions.text(Language::En);
        assert!(en.starts_with("Deposit: 40 €. Ways to pay:\n• Bank transfer: IBAN GR16"));
        assert!(en.contains("\nReference to write with the payment: bk-42\n"));
    }

    #[tokio::test]
    async fn at_the_studio_only_needs_no_reference_and_there_is_no_webhook() {
        let payments = ManualPayments::new(ManualConfig {
            methods: vec![ManualMethod::AtStudio],
            note: None,
        })
        .unwrap();
        let offer = payments.request_deposit(&request()).await.unwrap();
        let HowToPay::Instructions(instructions) = offer.how else {
            panic!("manual payments give instructions");
        };
        assert_eq!(
            instructions.text(Language::En),
            "Deposit: 40 €. Ways to pay:\n• By card or cash at the studio"
        );
        assert_eq!(
            payments.parse_webhook(&http::HeaderMap::new(), b"{}"),
            Err(WebhookError::NotSupported)
        );
        assert!(payments.cancel(&offer.payment_id).await.is_ok());
    }

    #[test]
    fn config_reads_from_toml_shaped_serde() {
        let json = serde_json::json!({
            "methods": [
                {"kind": "iris", "payee": "6900000000"},
                {"kind": "at_studio"}
            ]
        });
        let parsed: ManualConfig = serde_json::from_value(json).unwrap();
        assert_eq!(parsed.methods.len(), 2);
        assert!(parsed.validate().is_ok());
    }
}
