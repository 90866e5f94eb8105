//! Workload identity federation (SEP-1933; RFC 7523 §2.1 and §3): a workload sends its
//! platform-issued JWT as `assertion` with no client authentication; the JWT is verified
//! with its issuer's keys (fetched through the safe fetcher), matched against the admin's
//! rules (`aud`, a `sub` pattern, required claims), and the first matching rule names the
//! client it authenticates. The token is then issued as for client credentials.
//!
//! Errors (RFC 7523 §3.1, RFC 6749 §5.2): an oversized or missing assertion is
//! `invalid_request`; a JWT that is malformed, badly signed, expired, replayed or matches no
//! rule is `invalid_grant`; a rule whose client is disabled or no longer workload-only is
//! `invalid_client`; keys that cannot be fetched are `temporarily_unavailable` (503).

use josekit::jwk::JwkSet;
use josekit::jwt::JwtPayload;
use serde_json::Value;

use super::MAX_ASSERTION_BYTES;
use crate::crypto::foreign_jwt::{ASYMMETRIC_ALGS, unverified_issuer, verifier};
use crate::domain::{GrantType, RequiredClaims, SubjectPattern};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::params::Params;
use crate::oauth::token::{TokenContext, TokenResponse, client_credentials};
use crate::state::AppState;
use crate::store::workload::WorkloadRuleRow;

const SKEW: i64 = 60;
const MAX_JWKS_BYTES: usize = 64 * 1024;

/// Is this jwt-bearer request a workload's? It carries no client authentication (a
/// `client_id` alone may name the expected client) and its assertion is not an ID-JAG.
pub fn is_workload_request(authorization: Option<&str>, params: &Params) -> bool {
    let authenticates = authorization.is_some()
        || params.get("client_secret").is_some()
        || params.get("client_assertion").is_some()
        || params.get("client_assertion_type").is_some();
    // An ID-JAG goes to client-authenticated verification, never here.
    let id_jag = params
        .get("assertion")
        .filter(|a| a.len() <= MAX_ASSERTION_BYTES)
        .and_then(super::unverified_typ)
        .is_some_and(|typ| super::id_jag::is_id_jag_typ(&typ));
    !authenticates && !id_jag
}

pub async fn exchange(
    state: &AppState,
    params: &Params,
    ctx: &TokenContext,
) -> Result<TokenResponse, OAuthError> {
    // The same size rule and error as an ID-JAG's (RFC 7523 §3.1: an assertion we will
    // not read is an invalid grant).
    let assertion = super::assertion(params)?;
    let (rule, claims) = verify(state, assertion).await?;
    let refused_client = || OAuthError::invalid_client(false);
    let client = match state.store.client(&rule.client_id).await? {
        Some(c) if c.enabled && c.is_workload_only() => c,
        _ => {
            tracing::info!(rule = %rule.id, "workload rule names a disabled or unfit client");
            return Err(refused_client());
        }
    };
    if params
        .get("client_id")
        .is_some_and(|id| id != client.client_id)
    {
        return Err(refused_client());
    }
    if !client.allows(GrantType::JwtBearer) {
        return Err(OAuthError::unauthorized_client(
            "this client may not use the jwt-bearer grant",
        ));
    }
    if !state.token_limiter.allow(&client.client_id) {
        return Err(OAuthError::new(
            ErrorCode::SlowDown,
            "too many token requests from this client; retry after a second",
        ));
    }
    // RFC 7523 §3: a `jti` is single-use until the assertion expires; namespaced by issuer,
    // which is what makes a `jti` unique.
    if let Some(jti) = claims.jti {
        let key = format!("workload:{}", rule.issuer);
        if !state
            .store
            .remember_assertion(&key, &jti, claims.exp + SKEW)
            .await?
        {
            return Err(OAuthError::invalid_grant("the assertion was used already"));
        }
    }
    client_credentials::issue(state, &client, params, ctx).await
}

/// What the verified assertion says beyond the rule it matched.
struct Verified {
    exp: i64,
    jti: Option<String>,
}

/// Finds the issuer's rules, verifies the signature and times, and returns the first
/// rule the claims satisfy.
async fn verify(
    state: &AppState,
    assertion: &str,
) -> Result<(WorkloadRuleRow, Verified), OAuthError> {
    let header = josekit::jwt::decode_header(assertion)
        .map_err(|_| OAuthError::invalid_grant("the assertion is not a JWT"))?;
    let alg = header
        .claim("alg")
        .and_then(Value::as_str)
        .unwrap_or("none");
    if !ASYMMETRIC_ALGS.contains(&alg) {
        return Err(OAuthError::invalid_grant(format!(
            "algorithm {} is not accepted",
            crate::oauth::params::excerpt(alg)
        )));
    }
    let issuer = unverified_issuer(assertion)
        .ok_or_else(|| OAuthError::invalid_grant("the assertion has no iss"))?;
    let rules: Vec<WorkloadRuleRow> = state
        .store
        .workload_rules_for(&issuer)
        .await?
        .into_iter()
        .filter(|r| r.algorithms.split(' ').any(|a| a == alg))
        .collect();
    if rules.is_empty() {
        return Err(OAuthError::invalid_grant(
            "the assertion's issuer and algorithm are not trusted for workloads",
        ));
    }
    let kid = header.claim("kid").and_then(Value::as_str);
    let mut payload = None;
    let mut jwks_uris: Vec<&str> = Vec::new();
    for r in &rules {
        if !jwks_uris.contains(&r.jwks_uri.as_str()) {
            jwks_uris.push(&r.jwks_uri);
        }
    }
    for uri in jwks_uris {
        let set = keys(state, uri).await?;
        let candidates = match kid {
            Some(k) => set.get(k),
            None => set.keys(),
        };
        payload = candidates
            .into_iter()
            .filter_map(|jwk| verifier(alg, jwk))
            .find_map(|v| josekit::jwt::decode_with_verifier(assertion, &*v).ok())
            .map(|(p, _)| (p, uri.to_owned()));
        if payload.is_some() {
            break;
        }
    }
    let (payload, verified_by) = payload
        .ok_or_else(|| OAuthError::invalid_grant("the assertion's signature does not verify"))?;
    let times = check_times(state.clock.now(), &payload)?;
    if payload.issuer() != Some(issuer.as_str()) {
        return Err(OAuthError::invalid_grant(
            "the assertion has the wrong issuer",
        ));
    }
    let sub = payload
        .subject()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| OAuthError::invalid_grant("the assertion has no sub"))?;
    let audiences = payload.audience().unwrap_or_default();
    let all = payload.claims_set();
    // Only rules trusting the keys that verified: one rule's JWKS cannot vouch for another's.
    let rule = rules.into_iter().find(|r| {
        r.jwks_uri == verified_by
            && audiences.contains(&r.audience.as_str())
            && SubjectPattern::parse(&r.subject).is_ok_and(|p| p.matches(sub))
            && serde_json::from_str::<RequiredClaims>(&r.claims).is_ok_and(|c| c.satisfied_by(all))
    });
    let Some(rule) = rule else {
        return Err(OAuthError::invalid_grant(
            "the assertion matches no workload rule",
        ));
    };
    Ok((rule, times))
}

async fn keys(state: &AppState, uri: &str) -> Result<JwkSet, OAuthError> {
    let unavailable = |why: String| {
        tracing::warn!(jwks_uri = %uri, reason = %why, "workload issuer keys unavailable");
        OAuthError::new(
            ErrorCode::TemporarilyUnavailable,
            "the workload issuer's keys are unavailable; retry later",
        )
    };
    let bytes = state
        .fetcher
        .get(crate::fetch::FetchKind::Jwks, uri, MAX_JWKS_BYTES)
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    JwkSet::from_bytes(&bytes).map_err(|e| {
        state.fetcher.forget(uri);
        unavailable(format!("malformed JWKS: {e}"))
    })
}

/// `exp` required and not past; `nbf` and `iat`, when present, not in the future (RFC 7523
/// §3 items 4–6), each with a minute of skew; `jti` kept for the replay check.
fn check_times(now: i64, payload: &JwtPayload) -> Result<Verified, OAuthError> {
    let exp = payload
        .claim("exp")
        .and_then(Value::as_i64)
        .ok_or_else(|| OAuthError::invalid_grant("the assertion has no exp"))?;
    if exp <= now - SKEW {
        return Err(OAuthError::invalid_grant("the assertion has expired"));
    }
    for (name, what) in [
        ("nbf", "is not valid yet"),
        ("iat", "was issued in the future"),
    ] {
        if payload
            .claim(name)
            .and_then(Value::as_i64)
            .is_some_and(|t| t > now + SKEW)
        {
            return Err(OAuthError::invalid_grant(format!("the assertion {what}")));
        }
    }
    let jti = match payload.claim("jti") {
        None => None,
        Some(Value::String(j)) if !j.is_empty() && j.len() <= 256 => Some(j.clone()),
        Some(_) => {
            return Err(OAuthError::invalid_grant(
                "the assertion's jti is malformed",
            ));
        }
    };
    Ok(Verified { exp, jti })
}
