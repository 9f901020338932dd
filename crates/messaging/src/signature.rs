//! `X-Hub-Signature-256`: HMAC-SHA256 of the raw request body under the app secret.
//!
//! Always verify the exact bytes that arrived, never re-serialised JSON: re-encoding changes
//! escapes and key order, and the digest with it. The comparison is constant-time
//! ([`Mac::verify_slice`]).

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Name of the header Meta signs webhook calls with.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

const PREFIX: &str = "sha256=";

/// Why a webhook call's signature was refused. Every variant means "answer 403".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The request carried no `X-Hub-Signature-256` header.
    #[error("the X-Hub-Signature-256 header is missing")]
    Missing,
    /// The header is not `sha256=` followed by 64 hex digits.
    #[error("the X-Hub-Signature-256 header is malformed")]
    Malformed,
    /// The digest does not match the body under our app secret.
    #[error("the X-Hub-Signature-256 signature does not match the body")]
    Mismatch,
    /// The configured app secret is empty, so no signature can be trusted.
    #[error("no app secret is configured")]
    NoSecret,
}

/// Verifies `header` (the value of `X-Hub-Signature-256`) against `raw_body`.
pub fn verify_signature(
    app_secret: &SecretString,
    header: Option<&str>,
    raw_body: &[u8],
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?.trim();
    let hex_digest = header
        .strip_prefix(PREFIX)
        .or_else(|| {
            // Meta sends lower case; be lenient about the algorithm label's case only.
            header
                .get(..PREFIX.len())
                .filter(|p| p.eq_ignore_ascii_case(PREFIX))
                .and_then(|_| header.get(PREFIX.len()..))
        })
        .ok_or(SignatureError::Malformed)?;
    if hex_digest.len() != 64 {
        return Err(SignatureError::Malformed);
    }
    let digest = hex::decode(hex_digest).map_err(|_| SignatureError::Malformed)?;
    let mut mac = keyed_mac(app_secret)?;
    mac.update(raw_body);
    mac.verify_slice(&digest)
        .map_err(|_| SignatureError::Mismatch)
}

/// Computes the header value Meta would send for `raw_body` (`sha256=<hex>`).
///
/// Used by tests (here and in the server) to sign fixtures over their exact bytes.
pub fn signature_header(
    app_secret: &SecretString,
    raw_body: &[u8],
) -> Result<String, SignatureError> {
    let mut mac = keyed_mac(app_secret)?;
    mac.update(raw_body);
    Ok(format!(
        "{PREFIX}{}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

fn keyed_mac(app_secret: &SecretString) -> Result<HmacSha256, SignatureError> {
    let key = app_secret.expose_secret().as_bytes();
    if key.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    // HMAC accepts keys of any length, so this cannot fail; map it anyway rather than panic.
    HmacSha256::new_from_slice(key).map_err(|_| SignatureError::NoSecret)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> SecretString {
        SecretString::from("app-secret".to_owned())
    }

    #[test]
    fn known_vector_matches_an_independent_computation() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), RFC 4231-style
        // published vector.
        let key = SecretString::from("key".to_owned());
        let header =
            signature_header(&key, b"The quick brown fox jumps over the lazy dog").unwrap();
        assert_eq!(
            header,
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }

    #[test]
    fn signature_over_exact_bytes_verifies_and_any_change_fails() {
        let body = br#"{"object":"instagram","entry":[]}"#;
        let header = signature_header(&secret(), body).unwrap();
        assert_eq!(verify_signature(&secret(), Some(&header), body), Ok(()));
        // Same JSON, different bytes (a space): must fail.
        let respaced = br#"{"object": "instagram","entry":[]}"#;
        assert_eq!(
            verify_signature(&secret(), Some(&header), respaced),
            Err(SignatureError::Mismatch)
        );
        let other_secret = SecretString::from("other".to_owned());
        assert_eq!(
            verify_signature(&other_secret, Some(&header), body),
            Err(SignatureError::Mismatch)
        );
        let upper = header.replacen("sha256=", "SHA256=", 1);
        assert_eq!(verify_signature(&secret(), Some(&upper), body), Ok(()));
    }

    #[test]
    fn missing_and_malformed_headers_are_typed() {
        let body = b"{}";
        assert_eq!(
            verify_signature(&secret(), None, body),
            Err(SignatureError::Missing)
        );
        for bad in [
            "",
            "sha1=abcd",
            "sha256=",
            "sha256=zz",
            &format!("sha256={}", "g".repeat(64)),
            &format!("sha256={}", "a".repeat(63)),
            &"a".repeat(64),
        ] {
            assert_eq!(
                verify_signature(&secret(), Some(bad), body),
                Err(SignatureError::Malformed),
                "{bad:?}"
            );
        }
        assert_eq!(
            verify_signature(&secret(), Some(&format!("sha256={}", "a".repeat(64))), body),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn an_empty_secret_trusts_nothing() {
        let empty = SecretString::from(String::new());
        assert_eq!(
            verify_signature(&empty, Some(&format!("sha256={}", "a".repeat(64))), b"{}"),
            Err(SignatureError::NoSecret)
        );
    }
}
