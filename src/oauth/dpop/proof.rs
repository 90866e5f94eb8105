//! One DPoP proof JWT (RFC 9449 §4.2, §4.3): explicitly typed `dpop+jwt`, signed with an
//! asymmetric algorithm by the public key in its own `jwk` header, for this method and
//! URI, made just now, with a `jti` the caller remembers.
//!
//! Everything that can be judged without cryptography is judged first: a proof over
//! 8 KB, a key type or curve we do not take, a key bigger than we verify cheaply or with
//! private members never reaches a signature check.

use base64::Engine;
use serde_json::{Map, Value};

use crate::clock::UnixTime;
use crate::crypto::foreign_jwt::verifier;
use crate::oauth::dpop::{Jkt, SIGNING_ALGS};

/// Longer proofs are refused unread.
pub const MAX_PROOF_BYTES: usize = 8192;
/// How old a proof's `iat` may be (RFC 9449 §11.1: a short window).
pub const MAX_AGE: i64 = 60;
/// How far ahead of our clock a client's `iat` may be.
pub const FUTURE_SKEW: i64 = 5;
const MAX_JTI_BYTES: usize = 256;
const MAX_NONCE_BYTES: usize = 256;
/// RSA moduli from 2048 to 4096 bits, as base64url lengths: larger keys make every
/// verification slower for nothing.
const RSA_MODULUS_B64: std::ops::RangeInclusive<usize> = 342..=683;
/// JWK members that only a private (or symmetric) key has (RFC 7518 §6.2.2, §6.3.2, §6.4).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A proof that passed every check but the nonce and replay ones, which need state.
#[derive(Debug)]
pub struct Proof {
    pub jkt: Jkt,
    pub jti: String,
    pub nonce: Option<String>,
}

/// Why a proof was refused: safe to show the client.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused(pub &'static str);

/// Verifies `raw` as a proof for a request `htm` `htu` received at `now`.
pub fn verify(raw: &str, htm: &str, htu: &str, now: UnixTime) -> Result<Proof, Refused> {
    if raw.len() > MAX_PROOF_BYTES {
        return Err(Refused("the DPoP proof is too long"));
    }
    let mut parts = raw.split('.');
    let (Some(header_b64), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refused("the DPoP proof is not a compact JWS"));
    };
    let header = json_object(header_b64).ok_or(Refused("the DPoP proof header is malformed"))?;
    if header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err(Refused("the DPoP proof must have typ dpop+jwt"));
    }
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("none");
    if !SIGNING_ALGS.contains(&alg) {
        return Err(Refused("the DPoP proof algorithm is not supported"));
    }
    let Some(Value::Object(jwk)) = header.get("jwk") else {
        return Err(Refused("the DPoP proof must carry its public key as jwk"));
    };
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
        return Err(Refused("the DPoP proof jwk must be a public key"));
    }
    if !key_fits(alg, jwk) {
        return Err(Refused(
            "the DPoP proof key type or curve is not supported for its algorithm",
        ));
    }
    let jkt = Jkt::of_jwk(jwk).ok_or(Refused("the DPoP proof jwk is incomplete"))?;
    let key = josekit::jwk::Jwk::from_map(jwk.clone())
        .map_err(|_| Refused("the DPoP proof jwk is malformed"))?;
    let verifier = verifier(alg, &key).ok_or(Refused("the DPoP proof jwk is unusable"))?;
    let (payload, _) = josekit::jws::deserialize_compact(raw, &*verifier)
        .map_err(|_| Refused("the DPoP proof signature is invalid"))?;
    let claims: Map<String, Value> = serde_json::from_slice(&payload)
        .map_err(|_| Refused("the DPoP proof claims are malformed"))?;

    if claims.get("htm").and_then(Value::as_str) != Some(htm) {
        return Err(Refused("the DPoP proof htm does not match the request"));
    }
    let claimed_uri = claims.get("htu").and_then(Value::as_str);
    if !claimed_uri.is_some_and(|u| same_uri(u, htu)) {
        return Err(Refused("the DPoP proof htu does not match the request"));
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or(Refused("the DPoP proof has no iat"))?;
    if iat < now - MAX_AGE || iat > now + FUTURE_SKEW {
        return Err(Refused("the DPoP proof iat is outside the accepted window"));
    }
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_BYTES)
        .ok_or(Refused("the DPoP proof needs a jti"))?;
    let nonce = match claims.get("nonce") {
        None => None,
        Some(Value::String(n)) if n.len() <= MAX_NONCE_BYTES => Some(n.clone()),
        Some(_) => return Err(Refused("the DPoP proof nonce is malformed")),
    };
    Ok(Proof {
        jkt,
        jti: jti.to_owned(),
        nonce,
    })
}

/// The key types and curves we verify, each with the algorithms that use it.
fn key_fits(alg: &str, jwk: &Map<String, Value>) -> bool {
    let member = |name: &str| jwk.get(name).and_then(Value::as_str);
    match (member("kty"), alg) {
        (Some("EC"), "ES256") => member("crv") == Some("P-256"),
        (Some("EC"), "ES384") => member("crv") == Some("P-384"),
        (Some("OKP"), "EdDSA") => member("crv") == Some("Ed25519"),
        (Some("RSA"), "RS256" | "PS256") => {
            member("n").is_some_and(|n| RSA_MODULUS_B64.contains(&n.len()))
        }
        _ => false,
    }
}

/// RFC 9449 §4.3 check 9 with RFC 3986 §6.2.2–6.2.3 normalisation (scheme and host case,
/// default port); an `htu` carrying a query or fragment is not a DPoP `htu` (§4.2).
fn same_uri(claimed: &str, expected: &str) -> bool {
    let (Ok(claimed), Ok(expected)) = (url::Url::parse(claimed), url::Url::parse(expected)) else {
        return false;
    };
    claimed.query().is_none()
        && claimed.fragment().is_none()
        && claimed.scheme() == expected.scheme()
        && claimed.host() == expected.host()
        && claimed.port_or_known_default() == expected.port_or_known_default()
        && claimed.path() == expected.path()
        && claimed.username().is_empty()
        && claimed.password().is_none()
}

fn json_object(b64: &str) -> Option<Map<String, Value>> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(b64)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const ENDPOINT: &str = "https://auth.example.com/token";

    #[test]
    fn htu_normalises_case_and_default_port_but_not_path_or_query() {
        assert!(same_uri("HTTPS://Auth.Example.com:443/token", ENDPOINT));
        assert!(!same_uri("https://auth.example.com/token?x=1", ENDPOINT));
        assert!(!same_uri("https://auth.example.com/token#f", ENDPOINT));
        assert!(!same_uri("https://auth.example.com/Token", ENDPOINT));
        assert!(!same_uri("https://auth.example.com:8443/token", ENDPOINT));
        assert!(!same_uri("https://evil.example/token", ENDPOINT));
        assert!(!same_uri("https://u@auth.example.com/token", ENDPOINT));
    }

    #[test]
    fn an_oversized_proof_is_refused_before_it_is_read() {
        let raw = "a".repeat(MAX_PROOF_BYTES + 1);
        assert_eq!(
            verify(&raw, "POST", ENDPOINT, 0).unwrap_err(),
            Refused("the DPoP proof is too long")
        );
    }

    #[test]
    fn keys_must_fit_their_algorithm() {
        let ec = serde_json::json!({"kty": "EC", "crv": "P-256", "x": "a", "y": "b"});
        let ec = ec.as_object().unwrap();
        assert!(key_fits("ES256", ec));
        assert!(!key_fits("ES384", ec));
        assert!(!key_fits("EdDSA", ec));
        let ed448 = serde_json::json!({"kty": "OKP", "crv": "Ed448", "x": "a"});
        assert!(!key_fits("EdDSA", ed448.as_object().unwrap()));
        let small_rsa = serde_json::json!({"kty": "RSA", "n": "abc", "e": "AQAB"});
        assert!(!key_fits("RS256", small_rsa.as_object().unwrap()));
    }
}
