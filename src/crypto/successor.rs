//! The successor of a rotated refresh token, kept so that a request racing the rotation
//! (within `WARDEN_REFRESH_GRACE`) gets the *same* successor back instead of a second one
//! (RFC 9700 §4.14.2: one live refresh token per grant).
//!
//! The successor is sealed (JWE `dir` + `A256GCM`) under a key derived from the plaintext
//! of its predecessor, which the database never holds (it keeps only a SHA-256 of it). So
//! a database dump, even with the master secret, does not reveal a live refresh token; only
//! whoever presents the predecessor can open it, and that is the client it was issued to.

use hmac::{Hmac, KeyInit, Mac};
use josekit::jwe::{self, Dir, JweHeader};
use sha2::Sha256;

fn key(predecessor: &str) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(predecessor.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(b"warden/v1/refresh-successor");
    mac.finalize().into_bytes().into()
}

pub fn seal(predecessor: &str, successor: &str) -> anyhow::Result<String> {
    let mut header = JweHeader::new();
    header.set_content_encryption("A256GCM");
    let encrypter = Dir.encrypter_from_bytes(key(predecessor))?;
    Ok(jwe::serialize_compact(
        successor.as_bytes(),
        &header,
        &encrypter,
    )?)
}

/// `None` when `sealed` was not sealed for `predecessor` (or was tampered with).
pub fn open(predecessor: &str, sealed: &str) -> Option<String> {
    let decrypter = Dir.decrypter_from_bytes(key(predecessor)).ok()?;
    let (plaintext, _) = jwe::deserialize_compact(sealed, &decrypter).ok()?;
    String::from_utf8(plaintext).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::crypto::random;

    #[test]
    fn only_the_predecessor_opens_its_successor() {
        let (one, two) = (random::token(), random::token());
        let sealed = seal(&one, &two).unwrap();
        assert!(!sealed.contains(&two));
        assert_eq!(open(&one, &sealed).as_deref(), Some(two.as_str()));
        assert_eq!(open(&random::token(), &sealed), None);
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(open(&one, &tampered), None);
    }
}
