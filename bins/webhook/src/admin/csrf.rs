//! CSRF protection: every state-changing form carries its session's random token in a
//! hidden `csrf` field, compared in constant time. The session cookie is also
//! `SameSite=Strict`; the token is the second line of defence. The login form, which has
//! no session yet, uses a double-submit cookie instead.

use subtle::ConstantTimeEq;

use super::auth::Session;

/// True when the submitted token is this session's.
pub fn valid(session: &Session, submitted: &str) -> bool {
    same(&session.csrf, submitted)
}

/// Constant-time equality of two tokens; empty tokens never match.
pub fn same(expected: &str, submitted: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_or_different_tokens_are_refused() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("", ""));
    }
}
