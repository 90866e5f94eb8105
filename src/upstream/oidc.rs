//! OpenID Connect pieces Warden needs as a relying party: Discovery 1.0 §4 (the issuer in
//! the document must be the one configured, byte for byte) and ID token validation, Core
//! 1.0 §3.1.3.7: signature by a key of the issuer's JWKS with an asymmetric algorithm
//! (never `none` or HMAC), `iss`, `aud` (ours alone) and `azp` (ours when present), `exp`,
//! `iat` (recent), `nbf`, and the `nonce` Warden sent.

use josekit::jwk::JwkSet;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use super::UpstreamError;
use crate::crypto::foreign_jwt::{ASYMMETRIC_ALGS, verifier};
use crate::domain::Provider;
use crate::state::AppState;

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
    /// RFC 9207 §3: when true, every authorization response names the issuer.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

/// The provider's discovery document (cached by the fetcher per `Cache-Control`).
pub async fn discover(state: &AppState, issuer: &str) -> Result<Discovery, UpstreamError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let body = state
        .fetcher
        .get(crate::fetch::FetchKind::Upstream, &url, MAX_DOCUMENT_BYTES)
        .await
        .map_err(|e| UpstreamError::Unavailable(format!("the provider's discovery failed: {e}")))?;
    let parsed: Result<Discovery, _> = serde_json::from_slice(&body);
    match parsed {
        Ok(d) if d.issuer == issuer => {
            // The browser is sent there with our PKCE challenge and state: it must be https
            // (plain http on loopback only where loopback fetches are allowed, in development).
            let secure = url::Url::parse(&d.authorization_endpoint).is_ok_and(|u| {
                u.scheme() == "https"
                    || (u.scheme() == "http"
                        && state.settings.dev_allow_loopback_fetch
                        && crate::net::is_loopback_host(&u))
            });
            if secure {
                Ok(d)
            } else {
                state.fetcher.forget(&url);
                Err(UpstreamError::Unavailable(
                    "the provider's authorization endpoint is not an https URL".into(),
                ))
            }
        }
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

fn invalid(why: &str) -> UpstreamError {
    UpstreamError::Invalid(format!("the provider's ID token {why}"))
}

/// How old an ID token may be when it reaches us: the code was just redeemed, so a token
/// issued long ago is a replayed one.
const MAX_AGE: i64 = 600;

/// Core 1.0 §3.1.3.7 items 3–5, 9–10 and RFC 7519 §4.1.5: the token is for us alone (every
/// `aud` is our client id, and an `azp`, when present, is too), it has not expired, it was
/// issued within the last `MAX_AGE` seconds and not in the future, and its `nbf` has come.
fn check_time_and_audience(
    claims: &Map<String, Value>,
    client_id: &str,
    now: i64,
) -> Result<(), UpstreamError> {
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !audiences.contains(&client_id) {
        return Err(invalid("is for another client"));
    }
    if audiences.iter().any(|a| *a != client_id) {
        return Err(invalid("is also for other audiences"));
    }
    if claims
        .get("azp")
        .is_some_and(|azp| azp.as_str() != Some(client_id))
    {
        return Err(invalid("is for another party (azp)"));
    }
    match claims.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp > now - SKEW => {}
        Some(_) => return Err(invalid("has expired")),
        None => return Err(invalid("has no expiry")),
    }
    match claims.get("iat").and_then(Value::as_i64) {
        Some(iat) if iat > now + SKEW => return Err(invalid("has no valid issue time")),
        Some(iat) if iat < now - MAX_AGE => return Err(invalid("was issued too long ago")),
        Some(_) => {}
        None => return Err(invalid("has no valid issue time")),
    }
    match claims.get("nbf") {
        None => {}
        Some(nbf) => match nbf.as_i64() {
            Some(nbf) if nbf <= now + SKEW => {}
            _ => return Err(invalid("is not valid yet")),
        },
    }
    Ok(())
}

/// Verifies an ID token and returns its claims.
pub async fn verify_id_token(
    state: &AppState,
    p: &Provider,
    jwks_uri: &str,
    token: &str,
    nonce: &str,
) -> Result<Map<String, Value>, UpstreamError> {
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
            .get(
                crate::fetch::FetchKind::Upstream,
                jwks_uri,
                MAX_DOCUMENT_BYTES,
            )
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
    check_time_and_audience(&claims, &p.client_id, state.clock.now())?;
    let sent = claims.get("nonce").and_then(Value::as_str).unwrap_or("");
    if sent.is_empty() || !bool::from(sent.as_bytes().ct_eq(nonce.as_bytes())) {
        return Err(invalid("does not carry the nonce of this sign-in"));
    }
    Ok(claims)
}
