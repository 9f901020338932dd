//! The `GET` subscription handshake Meta performs when the webhook is registered.
//!
//! Meta calls `GET /webhook?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`; we answer
//! 200 with the challenge as plain text only when the mode is `subscribe` and the token is
//! ours. Anything else is a [`VerifyError`] (the server answers 403).

use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

/// Longest challenge we echo back. Meta's challenges are short numbers; the cap keeps us from
/// reflecting arbitrary large input.
pub const MAX_CHALLENGE_LEN: usize = 256;

/// Why a subscription check was refused. Every variant means "answer 403".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// `hub.mode` was missing or not `subscribe`.
    #[error("hub.mode is not `subscribe`")]
    WrongMode,
    /// `hub.verify_token` was missing or did not match the configured token.
    #[error("hub.verify_token does not match")]
    TokenMismatch,
    /// `hub.challenge` was missing, empty or longer than [`MAX_CHALLENGE_LEN`].
    #[error("hub.challenge is missing or unusable")]
    BadChallenge,
}

/// Checks a subscription request and returns the challenge to echo back as `text/plain`.
///
/// The token comparison is constant-time, so response timing does not reveal how much of a
/// guessed token was right.
pub fn verify_subscription(
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&str>,
    expected_token: &SecretString,
) -> Result<String, VerifyError> {
    if mode != Some("subscribe") {
        return Err(VerifyError::WrongMode);
    }
    let given = token.ok_or(VerifyError::TokenMismatch)?;
    let expected = expected_token.expose_secret();
    // An empty configured token would accept an empty `hub.verify_token`; refuse that outright.
    let matches: bool = given.as_bytes().ct_eq(expected.as_bytes()).into();
    if expected.is_empty() || !matches {
        return Err(VerifyError::TokenMismatch);
    }
    match challenge {
        Some(c) if !c.is_empty() && c.len() <= MAX_CHALLENGE_LEN => Ok(c.to_owned()),
        _ => Err(VerifyError::BadChallenge),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn matching_mode_and_token_echo_the_challenge() {
        let got = verify_subscription(
            Some("subscribe"),
            Some("s3cret"),
            Some("1158201444"),
            &secret("s3cret"),
        );
        assert_eq!(got, Ok("1158201444".to_owned()));
    }

    #[test]
    fn wrong_token_wrong_mode_and_missing_parts_are_refused() {
        let s = secret("s3cret");
        let cases = [
            (
                Some("subscribe"),
                Some("s3creT"),
                Some("1"),
                VerifyError::TokenMismatch,
            ),
            (
                Some("subscribe"),
                Some("s3cret-longer"),
                Some("1"),
                VerifyError::TokenMismatch,
            ),
            (
                Some("subscribe"),
                None,
                Some("1"),
                VerifyError::TokenMismatch,
            ),
            (
                Some("unsubscribe"),
                Some("s3cret"),
                Some("1"),
                VerifyError::WrongMode,
            ),
            (None, Some("s3cret"), Some("1"), VerifyError::WrongMode),
            (
                Some("subscribe"),
                Some("s3cret"),
                None,
                VerifyError::BadChallenge,
            ),
            (
                Some("subscribe"),
                Some("s3cret"),
                Some(""),
                VerifyError::BadChallenge,
            ),
        ];
        for (mode, token, challenge, want) in cases {
            assert_eq!(
                verify_subscription(mode, token, challenge, &s),
                Err(want.clone()),
                "{mode:?} {token:?} {challenge:?}"
            );
        }
        let long = "9".repeat(MAX_CHALLENGE_LEN + 1);
        assert_eq!(
            verify_subscription(Some("subscribe"), Some("s3cret"), Some(&long), &s),
            Err(VerifyError::BadChallenge)
        );
    }

    #[test]
    fn an_empty_configured_token_accepts_nothing() {
        assert_eq!(
            verify_subscription(Some("subscribe"), Some(""), Some("1"), &secret("")),
            Err(VerifyError::TokenMismatch)
        );
    }
}
