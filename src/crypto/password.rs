//! Password hashing: argon2id (RFC 9106) with the crate's defaults (m=19 MiB, t=2, p=1).
//! Each call costs 30-40 ms of CPU and 19 MiB of memory, so sign-in verifies through the
//! bounded `password_pool` (its threads reuse their memory); admin-side hashing, rare and
//! authenticated, runs with `spawn_blocking`.

use std::sync::OnceLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, PasswordHasher, PasswordVerifier, Version};
use subtle::ConstantTimeEq;

/// The longest password we hash: argon2 takes any length, but a megabyte of input is an
/// attack, not a password.
pub const MAX_PASSWORD_BYTES: usize = 1024;

#[tracing::instrument(name = "password.hash", level = "debug", skip_all)]
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

/// A hash of a random password nobody knows: verifying against it spends the time of one
/// verification, so an unknown username answers as slowly as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash(&crate::crypto::random::token()).unwrap_or_default())
}

/// Spends the time of one verification against `dummy_hash`.
pub fn verify_dummy(password: &str) {
    let _ = verify(password, dummy_hash());
}

/// The most argon2 memory one stored hash may ask for (4 × the default): a hash with more
/// never matches rather than making a hasher allocate without bound.
pub const MAX_MEMORY_BLOCKS: usize = 4 * Params::DEFAULT_M_COST as usize;

/// `verify`, computing in `memory` (grown to the hash's block count when it is smaller,
/// and kept by the caller for the next verification) instead of a fresh allocation.
pub fn verify_in(password: &str, stored: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let blocks = params.block_count();
    if blocks > MAX_MEMORY_BLOCKS {
        return false;
    }
    if memory.len() < blocks {
        memory.resize(blocks, Block::new());
    }
    let mut out = vec![0u8; expected.len()];
    let computed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password.as_bytes(),
        salt,
        &mut out,
        &mut memory[..blocks],
    );
    computed.is_ok() && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
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

    #[test]
    fn verifying_in_reused_memory_agrees_with_the_crate() {
        let stored = hash("correct horse").unwrap();
        let mut memory = Vec::new();
        assert!(verify_in("correct horse", &stored, &mut memory));
        let kept = memory.len();
        assert_eq!(kept, Params::DEFAULT_M_COST as usize);
        assert!(!verify_in("wrong horse", &stored, &mut memory));
        assert!(verify_in("correct horse", &stored, &mut memory));
        assert_eq!(memory.len(), kept, "the memory is reused, not grown");
        assert!(!verify_in("correct horse", "not a hash", &mut memory));
        // A hash demanding far more memory than ours never matches and allocates nothing.
        let greedy = "$argon2id$v=19$m=1048576,t=1,p=1$c2FsdHNhbHRzYWx0$\
                      AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert!(!verify_in("x", greedy, &mut memory));
        assert_eq!(memory.len(), kept);
    }
}
