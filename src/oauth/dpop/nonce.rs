//! Server nonces (RFC 9449 §8) without server state: a nonce is its time window and an
//! HMAC of that window under a key derived from the master secret, so any node of a
//! cluster checks a nonce another node issued, and nothing is stored. The current and the
//! previous window are accepted, so a nonce lives between one and two windows.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::clock::UnixTime;

/// Seconds per nonce window.
pub const WINDOW: i64 = 120;
const TAG_BYTES: usize = 16;

/// How a presented nonce stands.
#[derive(Debug, PartialEq, Eq)]
pub enum Freshness {
    /// Issued in this window: sent back unchanged.
    Current,
    /// Issued in the window before: accepted, and a fresh nonce goes back.
    Previous,
    /// Older, forged, or not one of ours.
    Invalid,
}

/// The nonce of the window `now` falls in.
pub fn issue(key: &[u8; 32], now: UnixTime) -> String {
    encode(key, now.div_euclid(WINDOW))
}

pub fn check(key: &[u8; 32], nonce: &str, now: UnixTime) -> Freshness {
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(nonce) else {
        return Freshness::Invalid;
    };
    let Some((window, tag)) = bytes.split_first_chunk::<8>() else {
        return Freshness::Invalid;
    };
    let window = i64::from_be_bytes(*window);
    let current = now.div_euclid(WINDOW);
    let freshness = if window == current {
        Freshness::Current
    } else if window == current - 1 {
        Freshness::Previous
    } else {
        return Freshness::Invalid;
    };
    if bool::from(mac(key, window)[..].ct_eq(tag)) {
        freshness
    } else {
        Freshness::Invalid
    }
}

fn encode(key: &[u8; 32], window: i64) -> String {
    let mut bytes = window.to_be_bytes().to_vec();
    bytes.extend_from_slice(&mac(key, window));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn mac(key: &[u8; 32], window: i64) -> [u8; TAG_BYTES] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(b"dpop-nonce");
    mac.update(&window.to_be_bytes());
    let full = mac.finalize().into_bytes();
    let mut tag = [0u8; TAG_BYTES];
    tag.copy_from_slice(&full[..TAG_BYTES]);
    tag
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    #[test]
    fn a_nonce_is_current_then_previous_then_invalid() {
        let now = 1_000_000;
        let nonce = issue(&KEY, now);
        assert_eq!(check(&KEY, &nonce, now), Freshness::Current);
        assert_eq!(check(&KEY, &nonce, now + WINDOW), Freshness::Previous);
        assert_eq!(check(&KEY, &nonce, now + 2 * WINDOW), Freshness::Invalid);
        assert_eq!(check(&KEY, &nonce, now - WINDOW), Freshness::Invalid);
    }

    #[test]
    fn a_nonce_under_another_key_or_altered_is_invalid() {
        let now = 1_000_000;
        let nonce = issue(&KEY, now);
        assert_eq!(check(&[8; 32], &nonce, now), Freshness::Invalid);
        let mut altered = nonce.into_bytes();
        let last = altered.len() - 2;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert_eq!(check(&KEY, &altered, now), Freshness::Invalid);
        assert_eq!(check(&KEY, "", now), Freshness::Invalid);
        assert_eq!(check(&KEY, "not base64!", now), Freshness::Invalid);
    }
}
