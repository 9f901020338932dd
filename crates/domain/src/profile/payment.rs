//! How the studio takes deposits: the rounding of the amount (the percentage is
//! `pricing.deposit_percent`) and the ways a customer can pay it without a payment provider
//! (`[payments]`: bank transfer, IRIS, at the studio).
//!
//! Plain data: the pricing crate computes the amount from these fields and the payments
//! crate turns the methods into instructions, so this crate depends on neither.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// How a deposit is rounded; always up, to a multiple of [`step`](Self::step).
///
/// In a profile (`pricing.deposit_rounding`): `"cent"`, `"whole"` (the default), `"five"` or
/// `"ten"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DepositRounding {
    /// Exact to the cent (30 % of 135 is 40.50).
    Cent,
    /// Up to whole euros (40.50 → 41).
    #[default]
    Whole,
    /// Up to a multiple of 5 (40.50 → 45).
    Five,
    /// Up to a multiple of 10 (40.50 → 50).
    Ten,
}

impl DepositRounding {
    /// The multiple a deposit is rounded up to.
    pub fn step(self) -> Decimal {
        match self {
            Self::Cent => Decimal::new(1, 2),
            Self::Whole => Decimal::ONE,
            Self::Five => Decimal::from(5),
            Self::Ten => Decimal::from(10),
        }
    }
}

/// One way to pay the studio a deposit directly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PaymentMethod {
    /// A bank transfer to the studio's account.
    BankTransfer {
        /// The account holder's name.
        beneficiary: String,
        /// The IBAN (checked with its mod-97 check digits; spaces allowed).
        iban: String,
        /// The bank's name, when the studio wants it shown.
        #[serde(default)]
        bank: Option<String>,
    },
    /// IRIS, the Greek instant payment: to the mobile number or VAT number the studio
    /// registered with its bank.
    Iris {
        /// The IRIS identifier to pay to (as the studio writes it).
        payee: String,
    },
    /// By card (or cash) at the studio, before the appointment day.
    AtStudio,
}

/// `[payments]`: the studio's own ways to be paid a deposit (the `manual` payments
/// adapter). Without any, manual deposits are off whatever `deposit_percent` says — a
/// booking is never held for a payment the customer has no way to make.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentInstructions {
    /// The ways to pay, in the order the customer reads them (`[[payments.methods]]`).
    pub methods: Vec<PaymentMethod>,
    /// A sentence the studio adds after the methods (e.g. "Send us the receipt here.").
    pub note: Option<String>,
}
