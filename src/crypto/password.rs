//! Password hashing: argon2id (RFC 9106) with the crate's defaults (m=19 MiB, t=2, p=1).
//! Each call costs 30-40 ms of CPU, so callers run it with `spawn_blocking`.

use std::sync::OnceLock;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

/// The longest password we hash: argon2 takes any length, but a megabyte of input is an
/// attack, not a password.
pub const MAX_PASSWORD_BYTES: usize = 1024;

pub fn hash(password: &str) -> anyhow::Result<String> {
    let hashed = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    Ok(hashed.to_string())
}

/// True when `password` matches `stored`; a malformed stored hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), stored)
        .is_ok()
}

/// Spends the time of one verification against a hash nobody knows, so an unknown
/// username answers as slowly as a wrong password.
pub fn verify_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let stored = DUMMY.get_or_init(|| hash(&crate::crypto::random::token()).unwrap_or_default());
    let _ = verify(password, stored);
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_password() {
        let stored = hash("correct horse").unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse", &stored));
        assert!(!verify("wrong horse", &stored));
        assert!(!verify("correct horse", "not a hash"));
    }
}
