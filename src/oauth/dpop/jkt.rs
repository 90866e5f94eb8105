//! The JWK SHA-256 thumbprint (RFC 7638 §3) a DPoP binding is keyed by (RFC 9449 §6.1).

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// An RFC 7638 SHA-256 thumbprint, base64url without padding: the value of `cnf.jkt` and
/// of `dpop_jkt`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Jkt(String);

impl Jkt {
    /// The thumbprint of a public key given as JWK members; `None` when a member the key
    /// type requires (RFC 7638 §3.2) is missing or not a string.
    pub fn of_jwk(jwk: &Map<String, Value>) -> Option<Jkt> {
        let required: &[&str] = match jwk.get("kty")?.as_str()? {
            "EC" => &["crv", "kty", "x", "y"],
            "RSA" => &["e", "kty", "n"],
            "OKP" => &["crv", "kty", "x"],
            _ => return None,
        };
        // Members in lexicographic order, no whitespace (RFC 7638 §3.3): a BTreeMap
        // serialized by serde_json is exactly that.
        let mut members = BTreeMap::new();
        for name in required {
            members.insert(*name, jwk.get(*name)?.as_str()?);
        }
        let canonical = serde_json::to_vec(&members).ok()?;
        Some(Jkt(b64(&Sha256::digest(&canonical))))
    }

    /// A thumbprint received from elsewhere (`dpop_jkt`, a stored binding): 43 base64url
    /// characters, as SHA-256 makes.
    pub fn parse(value: &str) -> Option<Jkt> {
        let well_formed = value.len() == 43
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        well_formed.then(|| Jkt(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Jkt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7638_example_key_has_the_rfc_thumbprint() {
        let jwk = serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        let jkt = Jkt::of_jwk(jwk.as_object().unwrap()).unwrap();
        assert_eq!(jkt.as_str(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn a_key_without_its_required_members_has_no_thumbprint() {
        let jwk = serde_json::json!({"kty": "EC", "crv": "P-256", "x": "abc"});
        assert!(Jkt::of_jwk(jwk.as_object().unwrap()).is_none());
        let jwk = serde_json::json!({"kty": "oct", "k": "abc"});
        assert!(Jkt::of_jwk(jwk.as_object().unwrap()).is_none());
    }

    #[test]
    fn only_a_sha256_sized_base64url_value_parses() {
        assert!(Jkt::parse("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs").is_some());
        assert!(Jkt::parse("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9X").is_none());
        assert!(Jkt::parse("NzbLsXh8uDCcd+6MNwXF4W_7noWXFZAfHkxZsRGC9Xs").is_none());
    }
}
