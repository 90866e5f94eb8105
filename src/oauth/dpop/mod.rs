//! DPoP at the token endpoint (RFC 9449): a client proves possession of a key with a
//! signed proof per request (§4), and the tokens it gets are bound to that key's
//! thumbprint (§5, §6.1 `cnf.jkt`). The server may demand a nonce it issued (§8), so a
//! proof cannot be made ahead of time.
//!
//! `proof` verifies one proof (header, key, signature, claims), `nonce` makes and checks
//! the stateless nonces, `jkt` is the RFC 7638 thumbprint every binding is keyed by.

pub mod jkt;
pub mod nonce;
pub mod policy;
pub mod proof;

pub use jkt::Jkt;

use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::metadata::paths;
use crate::settings::DpopNonce;
use crate::state::AppState;

/// The algorithms a proof may be signed with (RFC 9449 §5.1 metadata): asymmetric only,
/// so neither `none` nor an HMAC can be talked into.
pub const SIGNING_ALGS: [&str; 5] = crate::crypto::foreign_jwt::ASYMMETRIC_ALGS;

/// The `DPoP` request header as the HTTP layer found it (RFC 9449 §4.3 check 1: at most one).
#[derive(Clone, Copy, Debug)]
pub enum DpopHeader<'a> {
    Absent,
    One(&'a str),
    /// Two or more `DPoP` fields, or one that is not visible ASCII.
    Malformed,
}

/// A proof accepted at the token endpoint.
#[derive(Clone, Debug)]
pub struct Accepted {
    /// The key the issued tokens are bound to.
    pub jkt: Jkt,
    /// The nonce to send back in `DPoP-Nonce` (RFC 9449 §8.2), when nonces are required.
    pub next_nonce: Option<String>,
}

/// Verifies the request's proof for the token endpoint; `None` when it carries none. Every
/// refusal is `invalid_dpop_proof`, or `use_dpop_nonce` with a fresh nonce to retry with.
/// A refused proof writes nothing; an accepted one has its `jti` remembered.
pub async fn at_token(
    state: &AppState,
    header: DpopHeader<'_>,
) -> Result<Option<Accepted>, OAuthError> {
    let raw = match header {
        DpopHeader::Absent => return Ok(None),
        DpopHeader::Malformed => {
            return Err(invalid_proof("send exactly one DPoP header"));
        }
        DpopHeader::One(raw) => raw,
    };
    let now = state.clock.now();
    let endpoint = state.settings.issuer.endpoint(paths::TOKEN);
    let proof = proof::verify(raw, "POST", &endpoint, now).map_err(|e| {
        tracing::info!(reason = e.0, "DPoP proof refused");
        invalid_proof(e.0)
    })?;
    let next_nonce = match state.settings.dpop_nonce {
        DpopNonce::Off => None,
        DpopNonce::Required => {
            let key = state.master_key.dpop_nonce_key();
            match proof.nonce.as_deref().map(|n| nonce::check(key, n, now)) {
                Some(nonce::Freshness::Current) => proof.nonce.clone(),
                Some(nonce::Freshness::Previous) => Some(nonce::issue(key, now)),
                Some(nonce::Freshness::Invalid) | None => {
                    return Err(use_nonce(nonce::issue(key, now)));
                }
            }
        }
    };
    // Last, so a proof refused for anything else is not remembered: the jti table holds
    // only proofs that were accepted, until they could no longer pass the iat window.
    if !state
        .store
        .remember_dpop_proof(proof.jkt.as_str(), &proof.jti, now + proof::MAX_AGE)
        .await?
    {
        return Err(invalid_proof("the proof was already used"));
    }
    Ok(Some(Accepted {
        jkt: proof.jkt,
        next_nonce,
    }))
}

pub fn invalid_proof(d: impl Into<std::borrow::Cow<'static, str>>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidDpopProof, d)
}

/// `use_dpop_nonce` (RFC 9449 §8): the client retries with `nonce` in a new proof.
pub fn use_nonce(nonce: String) -> OAuthError {
    OAuthError {
        dpop_nonce: Some(nonce),
        ..OAuthError::new(
            ErrorCode::UseDpopNonce,
            "the DPoP proof must carry the nonce of the DPoP-Nonce header",
        )
    }
}
