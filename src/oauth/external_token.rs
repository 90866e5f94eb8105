//! Subject tokens from trusted external issuers (RFC 8693 §2.1 with RFC 7519 validation):
//! signature with a key from the issuer's JWKS (fetched through the safe fetcher), one of
//! the algorithms the admin allowed (never `none` or HMAC), `iss`, `aud`, `exp`, `nbf` and
//! `iat` within a minute of skew.

use crate::crypto::foreign_jwt::verifier;
use josekit::jwk::JwkSet;
use serde_json::Value;

use crate::state::AppState;
use crate::store::exchange::TrustedIssuerRow;

const SKEW: i64 = 60;
const MAX_JWKS_BYTES: usize = 64 * 1024;
pub use crate::crypto::foreign_jwt::{ASYMMETRIC_ALGS as ALLOWED_ALGS, unverified_issuer};

/// What an external subject token says, once verified.
#[derive(Debug)]
pub struct ExternalClaims {
    pub sub: String,
    pub scope: String,
    pub exp: i64,
    pub act: Option<Value>,
    pub may_act: Option<Value>,
}

/// Verifies `token` as issued by `issuer`; the error says why it is unacceptable.
pub async fn verify(
    state: &AppState,
    issuer: &TrustedIssuerRow,
    token: &str,
) -> Result<ExternalClaims, String> {
    if token.len() > 16 * 1024 {
        return Err("the subject token is too long".into());
    }
    let header = josekit::jwt::decode_header(token)
        .map_err(|_| "the subject token is not a JWT".to_owned())?;
    let alg = header
        .claim("alg")
        .and_then(Value::as_str)
        .unwrap_or("none");
    if !ALLOWED_ALGS.contains(&alg) || !issuer.algorithms.split(' ').any(|a| a == alg) {
        return Err(format!("algorithm {alg} is not accepted from this issuer"));
    }
    let jwks = state
        .fetcher
        .get(
            crate::fetch::FetchKind::Jwks,
            &issuer.jwks_uri,
            MAX_JWKS_BYTES,
        )
        .await
        .map_err(|e| format!("the issuer's keys are unavailable: {e}"))?;
    let Ok(set) = JwkSet::from_bytes(&jwks) else {
        state.fetcher.forget(&issuer.jwks_uri);
        return Err("the issuer's JWKS is malformed".into());
    };
    let kid = header.claim("kid").and_then(Value::as_str);
    let candidates = match kid {
        Some(k) => set.get(k),
        None => set.keys(),
    };
    let (payload, _) = candidates
        .into_iter()
        .filter_map(|jwk| verifier(alg, jwk))
        .find_map(|v| josekit::jwt::decode_with_verifier(token, &*v).ok())
        .ok_or("the subject token's signature does not verify")?;
    let now = state.clock.now();
    if payload.issuer() != Some(issuer.issuer.as_str()) {
        return Err("the subject token has the wrong issuer".into());
    }
    if !payload
        .audience()
        .is_some_and(|aud| aud.contains(&issuer.audience.as_str()))
    {
        return Err("the subject token is not for the expected audience".into());
    }
    let exp = payload
        .claim("exp")
        .and_then(Value::as_i64)
        .ok_or("the subject token has no exp")?;
    if exp <= now - SKEW {
        return Err("the subject token has expired".into());
    }
    if payload
        .claim("nbf")
        .and_then(Value::as_i64)
        .is_some_and(|nbf| nbf > now + SKEW)
    {
        return Err("the subject token is not valid yet".into());
    }
    if payload
        .claim("iat")
        .and_then(Value::as_i64)
        .is_some_and(|iat| iat > now + SKEW)
    {
        return Err("the subject token was issued in the future".into());
    }
    let sub = payload
        .subject()
        .filter(|s| !s.is_empty())
        .ok_or("the subject token has no sub")?;
    let scope = match (payload.claim("scope"), payload.claim("scp")) {
        (Some(Value::String(s)), _) => s.clone(),
        (_, Some(Value::Array(items))) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    };
    Ok(ExternalClaims {
        sub: sub.to_owned(),
        scope,
        exp,
        act: payload.claim("act").cloned(),
        may_act: payload.claim("may_act").cloned(),
    })
}
