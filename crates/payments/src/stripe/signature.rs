//! `Stripe-Signature`: `t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, where each `v1` is
//! HMAC-SHA256 under the endpoint's signing secret of `"{t}.{raw body}"`.
//!
//! Following Stripe's "Verify signatures manually": split the header on `,`, each element on
//! the first `=`; `t` is the timestamp and every `v1` a candidate signature (there are
//! several while a secret is being rolled); other schemes (`v0`, test schemes) are ignored.
//! The body is the exact bytes received. Candidates are compared in constant time, and the
//! timestamp must be within the tolerance of now (both directions: a future timestamp is a
//! clock problem or a forgery, not a fresh event).

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::port::WebhookError;

/// The header Stripe signs webhook calls with (HTTP header names are case-insensitive).
pub const SIGNATURE_HEADER: &str = "stripe-signature";

/// Stripe's recommended tolerance between the signed timestamp and now: 5 minutes.
pub const DEFAULT_TOLERANCE_SECONDS: i64 = 300;

/// Verifies `header` (the value of `Stripe-Signature`) against `payload` at `now`.
pub fn verify_signature(
    secret: &SecretString,
    header: Option<&str>,
    payload: &[u8],
    now: DateTime<Utc>,
    tolerance_seconds: i64,
) -> Result<(), WebhookError> {
    let key = secret.expose_secret().as_bytes();
    if key.is_empty() {
        return Err(WebhookError::NoSecret);
    }
    let header = header.ok_or(WebhookError::MissingSignature("Stripe-Signature"))?;
    let mut timestamp: Option<&str> = None;
    let mut candidates: Vec<Vec<u8>> = Vec::new();
    for element in header.split(',') {
        let Some((name, value)) = element.trim().split_once('=') else {
            continue;
        };
        match name.trim() {
            "t" if timestamp.is_none() => timestamp = Some(value.trim()),
            // A v1 that is not hex cannot match; keep looking at the others.
            "v1" => candidates.extend(hex::decode(value.trim()).ok()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(WebhookError::MalformedSignature)?;
    let seconds: i64 = timestamp
        .parse()
        .map_err(|_| WebhookError::MalformedSignature)?;
    if candidates.is_empty() {
        return Err(WebhookError::MalformedSignature);
    }

    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| WebhookError::NoSecret)?;
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(payload);
    let expected = mac.finalize().into_bytes();
    let matched = candidates
        .iter()
        .fold(subtle::Choice::from(0), |any, candidate| {
            any | expected.as_slice().ct_eq(candidate.as_slice())
        });
    if !bool::from(matched) {
        return Err(WebhookError::SignatureMismatch);
    }

    let age_seconds = now.timestamp().saturating_sub(seconds);
    if age_seconds.saturating_abs() > tolerance_seconds {
        return Err(WebhookError::TimestampOutOfTolerance {
            age_seconds,
            tolerance_seconds,
        });
    }
    Ok(())
}
