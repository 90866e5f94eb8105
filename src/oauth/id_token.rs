//! OpenID Connect ID tokens (OIDC Core §2, §3.1.2.1 `nonce`, §3.1.3.3, §3.1.3.6, §5.4).
//!
//! An authorization request whose scope includes `openid` is also an OIDC authentication
//! request: the code exchange then returns an `id_token` beside the access token. The
//! OIDC scopes (`openid`, and `email` or `profile` with it) are set aside before the
//! resource's scopes are resolved: they are about the user, not access to an MCP server,
//! so they never reach a grant, an access token or a resource's metadata. Without
//! `openid`, `email` and `profile` are ordinary scope names a resource may define.
//!
//! Every request still names (or implies) one resource (RFC 8707, as Warden requires for
//! every token): the ID token rides along with an access token, it does not replace one.
//! A refresh does not issue a new ID token (OIDC Core §12.2 allows either).

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::crypto::keys::JwtType;
use crate::oauth::error::OAuthError;
use crate::oauth::scope::ScopeSet;
use crate::state::AppState;

/// OIDC Core §3.1.2.1: the scope that makes a request an OpenID Connect request.
pub const OPENID: &str = "openid";
/// OIDC Core §5.4: the claims each standard scope asks for (only with `openid`).
pub const EMAIL: &str = "email";
pub const PROFILE: &str = "profile";
/// Scopes advertised in the metadata (OIDC Discovery §3 `scopes_supported`).
pub const SCOPES: [&str; 3] = [OPENID, EMAIL, PROFILE];
/// Claims an ID token may carry (OIDC Discovery §3 `claims_supported`).
pub const CLAIMS: [&str; 14] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "azp",
    "email",
    "email_verified",
    "name",
    "preferred_username",
    "jti",
    "gid",
];
/// The longest `nonce` we carry (OIDC sets no limit; a random value needs far less).
pub const MAX_NONCE_LEN: usize = 512;
/// An ID token proves a sign-in to its client now; it is not a session.
pub const ID_TOKEN_TTL: i64 = 600;

/// A requested `scope`, split into the resource's part and the OIDC part.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Split {
    /// What the resource's scopes are resolved from: `None` asks for the resource's
    /// defaults (nothing requested, or only OIDC scopes).
    pub resource: Option<String>,
    /// `openid` and the claim scopes with it; `None` for a plain OAuth request.
    pub oidc: Option<ScopeSet>,
}

/// Splits a `scope` parameter; a malformed one is `invalid_scope`.
pub fn split(requested: Option<&str>) -> Result<Split, OAuthError> {
    let Some(value) = requested else {
        return Ok(Split::default());
    };
    let parsed = ScopeSet::parse(value).map_err(OAuthError::invalid_scope)?;
    if !parsed.contains(OPENID) {
        return Ok(Split {
            resource: Some(value.to_owned()),
            oidc: None,
        });
    }
    let oidc: ScopeSet = SCOPES
        .iter()
        .filter(|s| parsed.contains(s))
        .map(|s| (*s).to_owned())
        .collect();
    let rest: ScopeSet = parsed.difference(&oidc).map(str::to_owned).collect();
    Ok(Split {
        resource: (!rest.is_empty()).then(|| rest.to_scope_string()),
        oidc: Some(oidc),
    })
}

/// The `nonce` of an OIDC request (OIDC Core §3.1.2.1), bounded and free of control
/// characters; ignored on a plain OAuth request, which has no ID token to carry it.
pub fn nonce(oidc: bool, value: Option<&str>) -> Result<Option<String>, String> {
    let Some(value) = value.filter(|_| oidc) else {
        return Ok(None);
    };
    if value.is_empty() {
        return Err("nonce must not be empty".into());
    }
    if value.len() > MAX_NONCE_LEN {
        return Err(format!("nonce is longer than {MAX_NONCE_LEN} bytes"));
    }
    if value.chars().any(char::is_control) {
        return Err("nonce contains a control character".into());
    }
    Ok(Some(value.to_owned()))
}

/// OIDC Core §2 and §5.1 claims. `gid` names the grant the ID token was issued under, so
/// a token exchange that presents it learns whether the grant is still live.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub azp: String,
    pub exp: UnixTime,
    pub iat: UnixTime,
    pub auth_time: UnixTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub jti: String,
    pub gid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
}

/// What the ID token of a code is about.
pub struct Subject<'a> {
    pub user_id: &'a str,
    pub client_id: &'a str,
    pub grant_id: &'a str,
    pub auth_time: UnixTime,
    pub nonce: Option<&'a str>,
    pub scope: &'a ScopeSet,
}

/// The claims of the ID token for a code (OIDC Core §3.1.3.3), read before the code is
/// spent so that a failed read spends nothing.
pub async fn claims(state: &AppState, subject: &Subject<'_>) -> Result<IdTokenClaims, OAuthError> {
    let now = state.clock.now();
    let mut claims = IdTokenClaims {
        iss: state.settings.issuer.as_str().to_owned(),
        sub: subject.user_id.to_owned(),
        aud: subject.client_id.to_owned(),
        azp: subject.client_id.to_owned(),
        exp: now + ID_TOKEN_TTL,
        iat: now,
        auth_time: subject.auth_time,
        nonce: subject.nonce.map(str::to_owned),
        jti: uuid::Uuid::now_v7().simple().to_string(),
        gid: subject.grant_id.to_owned(),
        email: None,
        email_verified: None,
        name: None,
        preferred_username: None,
    };
    add_user_claims(state, subject, &mut claims).await?;
    Ok(claims)
}

/// Signs an ID token with the active key.
pub fn sign(state: &AppState, claims: &IdTokenClaims) -> Result<String, OAuthError> {
    Ok(state.keys.sign(claims.iat, JwtType::IdToken, claims)?)
}

/// `email` and `profile` (OIDC Core §5.4), when asked for and known: the email and name
/// an upstream provider last vouched for (verified when the admin trusts that provider's
/// emails); the username as `preferred_username`. A local username that looks like an
/// address is not an email anyone verified, so it is never sent as one.
async fn add_user_claims(
    state: &AppState,
    subject: &Subject<'_>,
    claims: &mut IdTokenClaims,
) -> Result<(), OAuthError> {
    let wants_email = subject.scope.contains(EMAIL);
    let wants_profile = subject.scope.contains(PROFILE);
    if !wants_email && !wants_profile {
        return Ok(());
    }
    let mut identities = state.store.identities_of(subject.user_id).await?;
    identities.sort_by_key(|i| std::cmp::Reverse(i.last_login_at));
    if wants_email && let Some(identity) = identities.iter().find(|i| i.email.is_some()) {
        let trusted = state
            .store
            .upstream_provider(&identity.provider_id)
            .await?
            .is_some_and(|p| p.trust_email);
        claims.email = identity.email.clone();
        claims.email_verified = Some(trusted);
    }
    if wants_profile {
        claims.name = identities.iter().find_map(|i| i.name.clone());
        claims.preferred_username = state
            .store
            .user_by_id(subject.user_id)
            .await?
            .map(|u| u.username);
    }
    Ok(())
}

/// One of our ID tokens, unexpired (for token exchange, which presents it back as a
/// subject token): a published key of ours, `typ` JWT, our issuer. Revocation (its grant)
/// is the caller's business.
pub fn verify(state: &AppState, token: &str, now: UnixTime) -> Option<IdTokenClaims> {
    use base64::Engine;
    #[derive(Deserialize)]
    struct Header {
        alg: String,
        typ: String,
        kid: String,
    }
    if token.len() > 8192 {
        return None;
    }
    let (header_b64, _) = token.split_once('.')?;
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header_b64)
        .ok()?;
    let header: Header = serde_json::from_slice(&header).ok()?;
    if header.typ != JwtType::IdToken.as_str() {
        return None;
    }
    let key = state.keys.published(&header.kid)?;
    if key.alg.as_str() != header.alg {
        return None;
    }
    let claims: IdTokenClaims = serde_json::from_slice(&key.verify_compact(token)?).ok()?;
    (claims.iss == state.settings.issuer.as_str() && claims.exp > now).then_some(claims)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn oidc_scopes_are_set_aside_only_with_openid() {
        let split = split(Some("openid email mcp:read")).unwrap();
        assert_eq!(split.resource.as_deref(), Some("mcp:read"));
        assert_eq!(split.oidc.unwrap().to_scope_string(), "email openid");

        let only = super::split(Some("openid profile")).unwrap();
        assert_eq!(
            only.resource, None,
            "only OIDC scopes: the resource's defaults"
        );

        let plain = super::split(Some("email mcp:read")).unwrap();
        assert_eq!(plain.resource.as_deref(), Some("email mcp:read"));
        assert!(plain.oidc.is_none());
        assert_eq!(super::split(None).unwrap(), Split::default());
        assert!(super::split(Some("openid \"bad")).is_err());
    }

    #[test]
    fn nonces_are_bounded_and_plain() {
        assert_eq!(
            nonce(true, Some("n-0S6_WzA2Mj")).unwrap().unwrap(),
            "n-0S6_WzA2Mj"
        );
        assert_eq!(nonce(false, Some("ignored")).unwrap(), None);
        assert!(nonce(true, Some("")).is_err());
        assert!(nonce(true, Some(&"n".repeat(MAX_NONCE_LEN + 1))).is_err());
        assert!(nonce(true, Some("a\nb")).is_err());
        assert!(nonce(true, Some(&"n".repeat(MAX_NONCE_LEN))).is_ok());
    }
}
