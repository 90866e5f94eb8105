//! OpenID Connect pieces Warden needs as a relying party: Discovery 1.0 §4 (the issuer in
//! the document must be the one configured, byte for byte) and ID token validation, Core
//! 1.0 §3.1.3.7: signature by a key of the issuer's JWKS with an asymmetric algorithm
//! (never `none` or HMAC), `iss`, `aud` (and `azp` when there are several audiences),
//! `exp`, `iat`, and the `nonce` Warden sent.

use josekit::jwk::JwkSet;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use super::UpstreamError;
use crate::crypto::foreign_jwt::{ASYMMETRIC_ALGS, verifier};
use crate::state::AppState;
use crate::store::upstream::ProviderRow;

const SKEW: i64 = 60;
const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
const MAX_ID_TOKEN_BYTES: usize = 16 * 1024;

#[derive(Debug, serde::Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: String,
}

/// The provider's discovery document (cached by the fetcher per `Cache-Control`).
pub async fn discover(state: &AppState, issuer: &str) -> Result<Discovery, UpstreamError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let body = state
        .fetcher
        .get(&url, MAX_DOCUMENT_BYTES)
        .await
        .map_err(|e| UpstreamError::Unavailable(format!("the provider's discovery failed: {e}")))?;
    let parsed: Result<Discovery, _> = serde_json::from_slice(&body);
    match parsed {
        Ok(d) if d.issuer == issuer => Ok(d),
        Ok(_) => {
            state.fetcher.forget(&url);
            Err(UpstreamError::Unavailable(
                "the provider's discovery document names another issuer".into(),
            ))
        }
        Err(_) => {
            state.fetcher.forget(&url);
            Err(UpstreamError::Unavailable(
                "the provider's discovery document is malformed".into(),
            ))
        }
    }
}

/// Verifies an ID token and returns its claims.
pub async fn verify_id_token(
    state: &AppState,
    p: &ProviderRow,
    jwks_uri: &str,
    token: &str,
    nonce: &str,
) -> Result<Map<String, Value>, UpstreamError> {
    let invalid = |why: &str| UpstreamError::Invalid(format!("the provider's ID token {why}"));
    if token.len() > MAX_ID_TOKEN_BYTES {
        return Err(invalid("is too long"));
    }
    let header = josekit::jwt::decode_header(token).map_err(|_| invalid("is not a JWT"))?;
    let alg = header
        .claim("alg")
        .and_then(Value::as_str)
        .unwrap_or("none");
    if !ASYMMETRIC_ALGS.contains(&alg) {
        return Err(invalid(&format!(
            "uses an algorithm Warden does not accept ({alg})"
        )));
    }
    let kid = header.claim("kid").and_then(Value::as_str);
    let mut payload = None;
    // A key we have not seen may be a rotation: refetch the JWKS once before refusing.
    for attempt in 0..2 {
        let body = state
            .fetcher
            .get(jwks_uri, MAX_DOCUMENT_BYTES)
            .await
            .map_err(|e| {
                UpstreamError::Unavailable(format!("the provider's keys are unavailable: {e}"))
            })?;
        let Ok(set) = JwkSet::from_bytes(&body) else {
            state.fetcher.forget(jwks_uri);
            return Err(UpstreamError::Unavailable(
                "the provider's JWKS is malformed".into(),
            ));
        };
        let candidates = match kid {
            Some(k) => set.get(k),
            None => set.keys(),
        };
        payload = candidates
            .into_iter()
            .filter_map(|jwk| verifier(alg, jwk))
            .find_map(|v| josekit::jwt::decode_with_verifier(token, &*v).ok())
            .map(|(p, _)| p);
        if payload.is_some() || attempt == 1 {
            break;
        }
        state.fetcher.forget(jwks_uri);
    }
    let payload = payload.ok_or_else(|| invalid("has a signature that does not verify"))?;
    let claims = payload.claims_set().clone();
    if claims.get("iss").and_then(Value::as_str) != p.issuer.as_deref() {
        return Err(invalid("was issued by someone else"));
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !audiences.contains(&p.client_id.as_str()) {
        return Err(invalid("is for another client"));
    }
    if audiences.len() > 1 && claims.get("azp").and_then(Value::as_str) != Some(&p.client_id) {
        return Err(invalid("is for another party (azp)"));
    }
    let now = state.clock.now();
    match claims.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp > now - SKEW => {}
        Some(_) => return Err(invalid("has expired")),
        None => return Err(invalid("has no expiry")),
    }
    if claims
        .get("iat")
        .and_then(Value::as_i64)
        .is_none_or(|iat| iat > now + SKEW)
    {
        return Err(invalid("has no valid issue time"));
    }
    let sent = claims.get("nonce").and_then(Value::as_str).unwrap_or("");
    if sent.is_empty() || !bool::from(sent.as_bytes().ct_eq(nonce.as_bytes())) {
        return Err(invalid("does not carry the nonce of this sign-in"));
    }
    Ok(claims)
}
