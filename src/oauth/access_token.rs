//! JWT access tokens (RFC 9068): minted for one audience, verified for introspection,
//! revocation and Warden's own admin API.
//!
//! RFC 9068 §2.2 claims: `iss`, `exp`, `aud`, `sub`, `client_id`, `iat`, `jti`, plus
//! `scope` (§2.2.3) and `gid`, the grant every token descends from, which revocation and
//! introspection look up; `cnf` (RFC 9449 §6.1) when the token is DPoP-bound.

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::crypto::keys::JwtType;
use crate::oauth::dpop::Jkt;
use crate::state::AppState;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub scope: String,
    pub iat: UnixTime,
    pub exp: UnixTime,
    pub jti: String,
    pub gid: String,
    /// RFC 8693 §4.1: who acts on the subject's behalf (nested for chains).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<serde_json::Value>,
    /// RFC 8693 §4.4: who may act for the subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub may_act: Option<serde_json::Value>,
    /// RFC 9449 §6.1: the DPoP key the token is bound to; a resource server must then see a
    /// proof by that key with the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// The confirmation claim (RFC 7800 §3.1) of a DPoP-bound token: `{"jkt": thumbprint}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    pub jkt: String,
}

impl Confirmation {
    pub fn of(jkt: Option<&Jkt>) -> Option<Confirmation> {
        jkt.map(|j| Confirmation {
            jkt: j.as_str().to_owned(),
        })
    }
}

/// Signs a token; returns it with its lifetime in seconds.
pub fn mint(state: &AppState, claims: &AccessTokenClaims) -> anyhow::Result<String> {
    state.keys.sign(claims.iat, JwtType::AccessToken, claims)
}

/// Checks signature (a published key of ours), `typ`, issuer and expiry. Revocation is the
/// caller's business: it needs a database read that not every caller wants.
pub fn verify(state: &AppState, token: &str, now: UnixTime) -> Option<AccessTokenClaims> {
    if token.len() > 8192 {
        return None;
    }
    // A token already verified here: its signature has not changed (keys outlive tokens).
    if let Some(claims) = state.hot.verified(token, now) {
        return Some(claims);
    }
    let (header_b64, _) = token.split_once('.')?;
    let header: Header = serde_json::from_slice(&decode(header_b64)?).ok()?;
    if header.typ != "at+jwt" {
        return None;
    }
    let key = state.keys.published(&header.kid)?;
    if key.alg.as_str() != header.alg {
        return None;
    }
    let payload = key.verify_compact(token)?;
    let claims: AccessTokenClaims = serde_json::from_slice(&payload).ok()?;
    if claims.iss != state.settings.issuer.as_str() || claims.exp <= now {
        return None;
    }
    state.hot.put_verified(token, &claims, now);
    Some(claims)
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    typ: String,
    kid: String,
}

fn decode(b64: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(b64)
        .ok()
}
