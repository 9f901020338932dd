//! Signatures computed over the exact bytes of a webhook body, end to end with parsing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use inkdesk_messaging::{SignatureError, parse_webhook, signature_header, verify_signature};
use secrecy::SecretString;

#[test]
fn a_fixture_signed_over_its_exact_bytes_verifies_and_then_parses() {
    let secret = SecretString::from("0123456789abcdef0123456789abcdef".to_owned());
    let path = format!("{}/tests/fixtures/batch.json", env!("CARGO_MANIFEST_DIR"));
    let raw = std::fs::read(path).unwrap();
    let header = signature_header(&secret, &raw).unwrap();
    assert!(header.starts_with("sha256=") && header.len() == 7 + 64);

    verify_signature(&secret, Some(&header), &raw).unwrap();
    assert_eq!(parse_webhook(&raw, "17841400000000001").unwrap().len(), 6);

    // Re-serialising the same JSON changes the bytes, and the signature no longer holds.
    let value: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    let reserialised = serde_json::to_vec(&value).unwrap();
    assert_ne!(reserialised, raw);
    assert_eq!(
        verify_signature(&secret, Some(&header), &reserialised),
        Err(SignatureError::Mismatch)
    );
}
