//! Opaque secrets (codes, refresh tokens, client secrets) and the hashes we store instead.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// 256 random bits, base64url without padding (43 URL-safe characters), never starting
/// with `-` or `_`: client ids and secrets are pasted into command lines, where a leading
/// `-` reads as an option (argparse, clap). Drawn again when it would (1 in 32), which
/// costs 0.05 bits.
pub fn token() -> String {
    loop {
        let token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        if token.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return token;
        }
    }
}

/// SHA-256 of an opaque token, base64url: what the database keeps.
pub fn sha256_b64(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(value.as_bytes()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_url_safe_and_distinct() {
        let a = token();
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(a, token());
    }

    #[test]
    fn tokens_never_start_like_a_command_line_option() {
        // 64 draws of the first character would hit `-` or `_` about twice.
        for _ in 0..2000 {
            assert!(token().starts_with(|c: char| c.is_ascii_alphanumeric()));
        }
    }
}
