//! `private_key_jwt` client authentication (RFC 7523 §2.2, §3; OIDC Core §9): the client
//! signs a short-lived JWT with a key it published (`jwks` or `jwks_uri`).
//!
//! `iss` and `sub` are the client id; `aud` is one value, our issuer or token endpoint
//! (clients send either); `exp` is required and at most five minutes ahead; `jti` is remembered until
//! `exp`, so an assertion works once. Only asymmetric algorithms: `none` and HMAC are
//! refused, whatever the header says.

use crate::crypto::foreign_jwt::verifier;
use josekit::jwk::JwkSet;
use serde_json::Value;

use crate::domain::Client;
use crate::oauth::error::OAuthError;
use crate::oauth::metadata::paths;
use crate::state::AppState;

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
pub const SIGNING_ALGS: [&str; 5] = crate::crypto::foreign_jwt::ASYMMETRIC_ALGS;
pub use crate::crypto::foreign_jwt::unverified_issuer as claimed_client;
const MAX_LIFETIME: i64 = 300;
const SKEW: i64 = 60;
const MAX_JWKS_BYTES: usize = 64 * 1024;

/// Verifies `assertion` for `client`; every failure is `invalid_client`.
pub async fn verify(
    state: &AppState,
    client: &Client,
    assertion: &str,
    used_basic: bool,
) -> Result<(), OAuthError> {
    let fail = |why: &str| {
        tracing::info!(client_id = %client.client_id, reason = why, "client assertion rejected");
        OAuthError::invalid_client(used_basic)
    };
    if assertion.len() > 8192 {
        return Err(fail("too long"));
    }
    let header = josekit::jwt::decode_header(assertion).map_err(|_| fail("malformed header"))?;
    let alg = header
        .claim("alg")
        .and_then(Value::as_str)
        .unwrap_or("none")
        .to_owned();
    if !SIGNING_ALGS.contains(&alg.as_str()) {
        return Err(fail("algorithm not allowed"));
    }
    let kid = header
        .claim("kid")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let jwks_bytes = match (&client.jwks, &client.jwks_uri) {
        (Some(inline), _) => inline.clone().into_bytes(),
        (None, Some(uri)) => state
            .fetcher
            .get(crate::fetch::FetchKind::Jwks, uri, MAX_JWKS_BYTES)
            .await
            .map_err(|_| fail("jwks_uri unusable"))?
            .to_vec(),
        (None, None) => return Err(fail("no keys registered")),
    };
    let set = match JwkSet::from_bytes(&jwks_bytes) {
        Ok(set) => set,
        Err(_) => {
            // Never keep a failure: the client may fix its key set at once.
            if let Some(uri) = &client.jwks_uri {
                state.fetcher.forget(uri);
            }
            return Err(fail("bad JWK set"));
        }
    };
    let candidates: Vec<&josekit::jwk::Jwk> = match &kid {
        Some(k) => set.get(k),
        None => set.keys(),
    };
    let payload = candidates
        .into_iter()
        .filter_map(|jwk| verifier(&alg, jwk))
        .find_map(|v| josekit::jwt::decode_with_verifier(assertion, &*v).ok())
        .map(|(payload, _)| payload)
        .ok_or_else(|| fail("signature"))?;

    let now = state.clock.now();
    let id = client.client_id.as_str();
    if payload.issuer() != Some(id) || payload.subject() != Some(id) {
        return Err(fail("iss/sub"));
    }
    let issuer = state.settings.issuer.as_str().to_owned();
    let token_endpoint = state.settings.issuer.endpoint(paths::TOKEN);
    // One audience, and it is us: an array naming another server too is how an assertion
    // made for that server is replayed here, or ours there (the 2025 audience-injection
    // attack on private_key_jwt). A one-element array is still a single value.
    let audience = match payload.claim("aud") {
        Some(Value::String(one)) => Some(one.as_str()),
        Some(Value::Array(list)) if list.len() == 1 => list[0].as_str(),
        _ => None,
    };
    let audience_ok = audience.is_some_and(|a| a == issuer || a == token_endpoint);
    if !audience_ok {
        return Err(fail("aud"));
    }
    let exp = payload
        .claim("exp")
        .and_then(Value::as_i64)
        .ok_or_else(|| fail("no exp"))?;
    if exp <= now - SKEW || exp > now + MAX_LIFETIME + SKEW {
        return Err(fail("exp"));
    }
    if payload
        .claim("iat")
        .and_then(Value::as_i64)
        .is_some_and(|iat| iat > now + SKEW)
    {
        return Err(fail("iat in the future"));
    }
    let jti = payload
        .claim("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty() && j.len() <= 256);
    let jti = jti.ok_or_else(|| fail("no jti"))?;
    if !state.store.remember_assertion(id, jti, exp + SKEW).await? {
        return Err(fail("replayed"));
    }
    Ok(())
}
