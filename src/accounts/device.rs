//! Device cookies (OWASP, "Slow down online guessing attacks with device cookies"): a
//! browser that has signed in to an account carries a cookie that Warden signed for that
//! account. Sign-in from such a browser counts its failures against that device alone, so
//! guesses from elsewhere, however many, never lock the real user out; browsers without
//! one share the account-wide ceiling.
//!
//! The value is `{id}.{mac}`: a random id and HMAC-SHA-256 (under the master key's pepper)
//! of the account and the id. It names no account: it proves one only when the username
//! being tried is the one it was issued for.

use subtle::ConstantTimeEq;

use crate::crypto::master_key::MasterKey;
use crate::crypto::random;

/// How long a device stays trusted after its last sign-in.
pub const DEVICE_TTL: i64 = 180 * 86_400;

/// A fresh cookie value for `account` (the lowercased username).
pub fn issue(master: &MasterKey, account: &str) -> String {
    let id = random::token();
    let mac = mac(master, account, &id);
    format!("{id}.{mac}")
}

/// The device id, when `value` was issued by us for `account`.
pub fn verify(master: &MasterKey, account: &str, value: &str) -> Option<String> {
    let (id, given) = value.split_once('.')?;
    if id.len() != 43 || given.len() != 43 {
        return None;
    }
    let expected = mac(master, account, id);
    bool::from(given.as_bytes().ct_eq(expected.as_bytes())).then(|| id.to_owned())
}

fn mac(master: &MasterKey, account: &str, id: &str) -> String {
    // The prefix keeps these MACs apart from every other use of the pepper.
    master.keyed_hash(&format!("device-cookie\n{account}\n{id}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_proves_only_its_own_account_under_its_own_key() {
        let key = MasterKey::from_secret("0123456789abcdef0123456789abcdef");
        let cookie = issue(&key, "alice");
        let id = verify(&key, "alice", &cookie).unwrap();
        assert_eq!(cookie.split_once('.').unwrap().0, id);
        assert_eq!(verify(&key, "bob", &cookie), None);
        let other = MasterKey::from_secret("another secret of at least 32 chars!!");
        assert_eq!(verify(&other, "alice", &cookie), None);
        let (id, mac) = cookie.split_once('.').unwrap();
        let forged = format!(
            "{id}.{}",
            mac.replace(&mac[..1], if &mac[..1] == "A" { "B" } else { "A" })
        );
        assert_eq!(verify(&key, "alice", &forged), None);
        assert_eq!(verify(&key, "alice", "garbage"), None);
    }
}
