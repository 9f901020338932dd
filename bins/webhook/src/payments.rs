//! Wiring of deposits: the `INKDESK_PAYMENTS` settings, the payment adapter they name, and
//! the booking lifecycle service built on it. No rule of a booking's life lives here (see
//! `inkdesk_assistant::deposits`).
//!
//! - `INKDESK_PAYMENTS=manual` (the default): the studio's own instructions from the
//!   profile's `[payments]` methods; staff mark "deposit received" in the console or the
//!   API. Without methods no deposit is asked, whatever `deposit_percent` says.
//! - `INKDESK_PAYMENTS=stripe`: Stripe Checkout with `STRIPE_SECRET_KEY`; Stripe's events
//!   arrive at `POST /payments/stripe`, signed with `STRIPE_WEBHOOK_SECRET`;
//!   `STRIPE_API_BASE_URL` points elsewhere in tests.

use std::sync::Arc;

use anyhow::{Context, bail};
use inkdesk_assistant::deposits::Deposits;
use inkdesk_domain::{Clock, StudioProfile};
use inkdesk_payments::{ManualConfig, ManualPayments, Payments, StripeConfig, StripePayments};
use inkdesk_store::Schedule;
use secrecy::SecretString;

use crate::settings::Env;

/// Which payment adapter takes deposits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PaymentsMode {
    /// The studio's own instructions.
    #[default]
    Manual,
    /// Stripe Checkout.
    Stripe,
}

/// The payment settings of the environment.
#[derive(Debug, Clone, Default)]
pub struct PaymentSettings {
    /// `INKDESK_PAYMENTS`: `manual` (default) or `stripe`.
    pub mode: PaymentsMode,
    /// `STRIPE_SECRET_KEY`.
    pub stripe_secret_key: Option<SecretString>,
    /// `STRIPE_WEBHOOK_SECRET`: the signing secret of `POST /payments/stripe`.
    pub stripe_webhook_secret: Option<SecretString>,
    /// `STRIPE_API_BASE_URL`: Stripe's API (`https://api.stripe.com`); tests use a fake.
    pub stripe_api_base_url: Option<String>,
}

impl PaymentSettings {
    /// Reads the payment variables; an unknown `INKDESK_PAYMENTS` is refused.
    pub fn from_env(env: &dyn Env) -> anyhow::Result<Self> {
        let mode = match env.get("INKDESK_PAYMENTS").as_deref().map(str::trim) {
            None | Some("" | "manual") => PaymentsMode::Manual,
            Some("stripe") => PaymentsMode::Stripe,
            Some(other) => bail!("INKDESK_PAYMENTS is '{other}'; it must be manual or stripe"),
        };
        Ok(Self {
            mode,
            stripe_secret_key: env.get("STRIPE_SECRET_KEY").map(SecretString::from),
            stripe_webhook_secret: env.get("STRIPE_WEBHOOK_SECRET").map(SecretString::from),
            stripe_api_base_url: env.get("STRIPE_API_BASE_URL"),
        })
    }

    /// `KEY = value` rows for `check-config`, secrets shown only as set/unset.
    pub fn report(&self) -> Vec<(String, String)> {
        let set = |s: &Option<SecretString>| {
            if s.is_some() { "set (hidden)" } else { "unset" }.to_owned()
        };
        vec![
            (
                "INKDESK_PAYMENTS".into(),
                match self.mode {
                    PaymentsMode::Manual => "manual",
                    PaymentsMode::Stripe => "stripe",
                }
                .into(),
            ),
            ("STRIPE_SECRET_KEY".into(), set(&self.stripe_secret_key)),
            (
                "STRIPE_WEBHOOK_SECRET".into(),
                set(&self.stripe_webhook_secret),
            ),
            (
                "STRIPE_API_BASE_URL".into(),
                self.stripe_api_base_url
                    .clone()
                    .unwrap_or_else(|| "unset".into()),
            ),
        ]
    }

    /// What production needs and is not configured.
    pub fn missing(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self.mode == PaymentsMode::Stripe {
            if self.stripe_secret_key.is_none() {
                missing.push("STRIPE_SECRET_KEY: INKDESK_PAYMENTS=stripe cannot make payment links; `serve` refuses to start");
            }
            if self.stripe_webhook_secret.is_none() {
                missing.push("STRIPE_WEBHOOK_SECRET: INKDESK_PAYMENTS=stripe cannot verify Stripe's events; `serve` refuses to start");
            }
        }
        missing
    }

    /// How deposits work with this profile, one line each for `check-config`.
    pub fn profile_notes(&self, profile: &StudioProfile) -> Vec<String> {
        let percent = profile.pricing.deposit_percent;
        let mut notes = Vec::new();
        match (self.mode, percent, profile.payments.methods.is_empty()) {
            (_, 0, _) => notes.push(
                "deposits: off for everyone (pricing.deposit_percent = 0); customers who did not show up still pay one when a way to pay is configured".to_owned(),
            ),
            (PaymentsMode::Manual, _, true) => notes.push(format!(
                "deposits: OFF — pricing.deposit_percent is {percent} but [payments] has no methods and INKDESK_PAYMENTS=manual, so no deposit is asked"
            )),
            (PaymentsMode::Manual, _, false) => notes.push(format!(
                "deposits: {percent}% by the studio's instructions, held {} h; staff mark them received",
                profile.pricing.deposit_hold_hours
            )),
            (PaymentsMode::Stripe, _, _) => notes.push(format!(
                "deposits: {percent}% by Stripe Checkout, held {} h",
                profile.pricing.deposit_hold_hours
            )),
        }
        if self.mode == PaymentsMode::Manual
            && !profile.payments.methods.is_empty()
            && let Err(error) = ManualConfig::from(&profile.payments).validate()
        {
            notes.push(format!("error: [payments] {error}"));
        }
        notes
    }

    /// The payment adapter, or `None` when the studio cannot be paid (manual without
    /// methods). A configuration that cannot work (a bad IBAN, Stripe without its keys)
    /// is an error naming the setting.
    pub fn adapter(
        &self,
        profile: &StudioProfile,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Option<Arc<dyn Payments>>> {
        match self.mode {
            PaymentsMode::Manual if profile.payments.methods.is_empty() => Ok(None),
            PaymentsMode::Manual => {
                let manual = ManualPayments::new(ManualConfig::from(&profile.payments))
                    .context("the studio profile's [payments]")?;
                Ok(Some(Arc::new(manual)))
            }
            PaymentsMode::Stripe => {
                let (Some(key), Some(secret)) =
                    (&self.stripe_secret_key, &self.stripe_webhook_secret)
                else {
                    bail!(
                        "INKDESK_PAYMENTS=stripe needs STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET"
                    );
                };
                let mut config = StripeConfig::new(key.clone(), secret.clone());
                if let Some(base) = &self.stripe_api_base_url {
                    config = config.base_url(base.clone());
                }
                let stripe = StripePayments::new(config, clock)
                    .map_err(|e| anyhow::anyhow!("{e}"))
                    .context("STRIPE_API_BASE_URL / STRIPE_SECRET_KEY")?;
                Ok(Some(Arc::new(stripe)))
            }
        }
    }
}

/// The studio's deposits, when it can be paid: `None` otherwise.
pub fn deposits(
    settings: &PaymentSettings,
    profile: &Arc<StudioProfile>,
    schedule: Arc<dyn Schedule>,
    clock: Arc<dyn Clock>,
    standing: Arc<dyn inkdesk_assistant::deposits::CustomerStanding>,
) -> anyhow::Result<Option<Arc<Deposits>>> {
    let Some(payments) = settings.adapter(profile, clock)? else {
        if profile.pricing.deposit_percent > 0 {
            tracing::warn!(
                percent = profile.pricing.deposit_percent,
                "no way to be paid is configured ([payments] methods or INKDESK_PAYMENTS=stripe): no deposit is asked"
            );
        }
        return Ok(None);
    };
    let deposits = Deposits::new(profile.clone(), payments, schedule)
        .context("cannot take deposits in the studio's currency")?
        .with_standing(standing);
    Ok(Some(Arc::new(deposits)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn manual_is_the_default_and_an_unknown_mode_is_refused() {
        let settings = PaymentSettings::from_env(&env(&[])).unwrap();
        assert_eq!(settings.mode, PaymentsMode::Manual);
        assert!(settings.missing().is_empty());
        let err = PaymentSettings::from_env(&env(&[("INKDESK_PAYMENTS", "paypal")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("manual or stripe"), "{err}");
    }

    #[test]
    fn stripe_without_its_secrets_is_missing_and_secrets_stay_hidden() {
        let settings = PaymentSettings::from_env(&env(&[
            ("INKDESK_PAYMENTS", "stripe"),
            ("STRIPE_SECRET_KEY", "sk_test_very_secret"),
        ]))
        .unwrap();
        assert_eq!(settings.missing().len(), 1);
        let report = format!("{:?} {:?}", settings, settings.report());
        assert!(!report.contains("very_secret"), "{report}");
        let profile = StudioProfile::default();
        let clock: Arc<dyn Clock> = Arc::new(inkdesk_domain::SystemClock);
        assert!(settings.adapter(&profile, clock).is_err());
    }

    #[test]
    fn manual_without_methods_takes_no_deposit_and_a_bad_iban_is_an_error() {
        let settings = PaymentSettings::default();
        let mut profile = StudioProfile::default();
        let clock: Arc<dyn Clock> = Arc::new(inkdesk_domain::SystemClock);
        assert!(settings.adapter(&profile, clock.clone()).unwrap().is_none());
        assert!(settings.profile_notes(&profile)[0].contains("OFF"));
        profile.payments.methods = vec![inkdesk_domain::profile::PaymentMethod::BankTransfer {
            beneficiary: "Ink IKE".into(),
            iban: "GR17 0110 1250 0000 0001 2300 695".into(),
            bank: None,
        }];
        let err = format!("{:#}", settings.adapter(&profile, clock).err().unwrap());
        assert!(err.contains("IBAN"), "{err}");
        assert!(
            settings
                .profile_notes(&profile)
                .iter()
                .any(|n| n.starts_with("error"))
        );
    }
}
