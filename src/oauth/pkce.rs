//! PKCE (RFC 7636), S256 only as OAuth 2.1 §4.1.1 and MCP require.
//!
//! `code_challenge = BASE64URL(SHA256(code_verifier))` (§4.2): always 43 characters.
//! `code_verifier = 43*128unreserved` (§4.1).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

fn is_base64url(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Validates the authorization request's challenge and method.
pub fn check_challenge(
    challenge: Option<&str>,
    method: Option<&str>,
) -> Result<String, &'static str> {
    let Some(challenge) = challenge else {
        return Err("code_challenge is required (PKCE with S256)");
    };
    match method {
        Some("S256") => {}
        None => {
            return Err("code_challenge_method must be S256 (the default, plain, is not allowed)");
        }
        Some(_) => return Err("code_challenge_method must be S256"),
    }
    if challenge.len() != 43 || !is_base64url(challenge) {
        return Err("code_challenge must be the 43-character base64url SHA-256 of the verifier");
    }
    Ok(challenge.to_owned())
}

/// True when `verifier` is well formed and hashes to `challenge` (constant-time compare).
pub fn verify(challenge: &str, verifier: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !well_formed {
        return false;
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    computed.as_bytes().ct_eq(challenge.as_bytes()).into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_vector_verifies() {
        assert!(verify(CHALLENGE, VERIFIER));
        assert!(!verify(CHALLENGE, &format!("{VERIFIER}x")));
    }

    #[test]
    fn plain_missing_and_malformed_challenges_are_refused() {
        assert!(check_challenge(Some(CHALLENGE), Some("S256")).is_ok());
        assert!(check_challenge(Some(CHALLENGE), Some("plain")).is_err());
        assert!(check_challenge(Some(CHALLENGE), None).is_err());
        assert!(check_challenge(None, Some("S256")).is_err());
        assert!(check_challenge(Some("short"), Some("S256")).is_err());
        assert!(check_challenge(Some(&"+".repeat(43)), Some("S256")).is_err());
    }

    #[test]
    fn verifiers_of_the_wrong_length_or_alphabet_fail() {
        let short = &VERIFIER[..42];
        assert!(!verify(
            &URL_SAFE_NO_PAD.encode(Sha256::digest(short)),
            short
        ));
        let odd = format!("{}!", &VERIFIER[..42]);
        assert!(!verify(&URL_SAFE_NO_PAD.encode(Sha256::digest(&odd)), &odd));
        let long = "a".repeat(129);
        assert!(!verify(
            &URL_SAFE_NO_PAD.encode(Sha256::digest(&long)),
            &long
        ));
    }
}
