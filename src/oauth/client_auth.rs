//! Client authentication at the token, introspection and revocation endpoints
//! (RFC 6749 §2.3.1: `client_secret_basic` and `client_secret_post`; RFC 7523 §2.2
//! `private_key_jwt`; `none` for public clients).
//!
//! Basic credentials are form-urlencoded before base64 (§2.3.1), so we decode them; raw
//! credentials decode to themselves because ids and secrets are URL-safe. A body
//! `client_id` beside Basic credentials must name the same client.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use subtle::ConstantTimeEq;

use crate::domain::{AuthMethod, Client};
use crate::oauth::client_assertion::{self, ASSERTION_TYPE, claimed_client};
use crate::oauth::error::OAuthError;
use crate::oauth::lookup::ClientLookupError;
use crate::oauth::params::Params;
use crate::state::AppState;

/// Length of the secrets Warden generates (32 random bytes, base64url).
pub const SECRET_LEN: usize = 43;

/// What the request offered to identify the client.
#[derive(Debug, Default)]
pub struct Credentials {
    pub client_id: Option<String>,
    pub secret: Option<String>,
    /// A `private_key_jwt` assertion (RFC 7523).
    pub assertion: Option<String>,
    pub used_basic: bool,
}

/// Collects credentials from an `Authorization` header value and the form.
pub fn credentials(
    authorization: Option<&str>,
    params: &Params,
) -> Result<Credentials, OAuthError> {
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
    let assertion = match (
        params.get("client_assertion_type"),
        params.get("client_assertion"),
    ) {
        (None, None) => None,
        (Some(ASSERTION_TYPE), Some(a)) => Some(a.to_owned()),
        (Some(ASSERTION_TYPE), None) => {
            return Err(OAuthError::invalid_request("client_assertion is missing"));
        }
        (Some(_), _) => {
            return Err(OAuthError::invalid_request(
                "client_assertion_type is not supported",
            ));
        }
        (None, Some(_)) => {
            return Err(OAuthError::invalid_request(
                "client_assertion_type is missing",
            ));
        }
    };
    if let Some(a) = &assertion {
        if authorization.is_some() || body_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not two",
            ));
        }
        // RFC 7523 §3: the client is the assertion's issuer; a body client_id must agree.
        let claimed = claimed_client(a);
        if body_id.is_some() && body_id != claimed.as_deref() {
            return Err(OAuthError::invalid_request(
                "client_id differs from the assertion's issuer",
            ));
        }
        return Ok(Credentials {
            client_id: claimed,
            secret: None,
            assertion,
            used_basic: false,
        });
    }
    let Some(header) = authorization else {
        return Ok(Credentials {
            client_id: body_id.map(str::to_owned),
            secret: body_secret.map(str::to_owned),
            assertion: None,
            used_basic: false,
        });
    };
    let (id, secret) = parse_basic(header)?;
    if body_secret.is_some() {
        return Err(OAuthError::invalid_request(
            "use one client authentication method, not two",
        ));
    }
    if body_id.is_some_and(|b| b != id) {
        return Err(OAuthError::invalid_request(
            "client_id in the body differs from the Basic credentials",
        ));
    }
    Ok(Credentials {
        client_id: Some(id),
        secret: Some(secret),
        assertion: None,
        used_basic: true,
    })
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`.
pub fn parse_basic(header: &str) -> Result<(String, String), OAuthError> {
    let malformed = || OAuthError::invalid_request("malformed Basic credentials");
    let (scheme, encoded) = header.trim().split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") || encoded.len() > 4096 {
        return Err(malformed());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let id = form_decode(id);
    if id.is_empty() {
        return Err(malformed());
    }
    Ok((id, form_decode(secret)))
}

fn form_decode(value: &str) -> String {
    url::form_urlencoded::parse(format!("v={value}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[derive(Debug)]
pub struct AuthenticatedClient {
    pub client: Client,
    /// How the client proved itself on this request; `None` when it merely named itself.
    pub method: AuthMethod,
}

impl AuthenticatedClient {
    /// Did the client prove who it is (a secret or a signed assertion)? A public client
    /// could be anyone.
    pub fn is_confidential(&self) -> bool {
        self.method != AuthMethod::None
    }
}

/// Finds and checks the client. Confidential clients must present their secret (by either
/// secret method); public clients must not present one.
pub async fn authenticate(
    state: &AppState,
    creds: Credentials,
) -> Result<AuthenticatedClient, OAuthError> {
    let failed = || OAuthError::invalid_client(creds.used_basic);
    let Some(client_id) = creds.client_id.filter(|id| id.len() <= 2048) else {
        return Err(failed());
    };
    let client = match crate::oauth::lookup::client(state, &client_id).await {
        Ok(Some(c)) if c.enabled => c,
        Ok(_) => return Err(failed()),
        Err(ClientLookupError::Document(why)) => {
            tracing::info!(client_id = %client_id, reason = %why, "metadata-document client refused");
            return Err(failed());
        }
        Err(ClientLookupError::Database(e)) => return Err(e.into()),
    };
    if client.token_endpoint_auth_method == AuthMethod::PrivateKeyJwt {
        let Some(assertion) = creds.assertion else {
            return Err(failed());
        };
        client_assertion::verify(state, &client, &assertion, creds.used_basic).await?;
        return Ok(AuthenticatedClient {
            client,
            method: AuthMethod::PrivateKeyJwt,
        });
    }
    if creds.assertion.is_some() {
        return Err(failed());
    }
    let method = match (&client.secret_hash, creds.secret) {
        (Some(expected), Some(secret)) => {
            if secret.len() != SECRET_LEN {
                return Err(failed());
            }
            let actual = state.master_key.keyed_hash(&secret);
            if !bool::from(actual.as_bytes().ct_eq(expected.as_bytes())) {
                return Err(failed());
            }
            if creds.used_basic {
                AuthMethod::ClientSecretBasic
            } else {
                AuthMethod::ClientSecretPost
            }
        }
        (None, None) => AuthMethod::None,
        _ => return Err(failed()),
    };
    Ok(AuthenticatedClient { client, method })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn basic(raw: &str) -> String {
        format!("Basic {}", STANDARD.encode(raw))
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        assert_eq!(
            parse_basic(&basic("a%3Ab:s%2Bx")).unwrap(),
            ("a:b".into(), "s+x".into())
        );
        assert_eq!(
            parse_basic(&basic("abc:def-_")).unwrap(),
            ("abc".into(), "def-_".into())
        );
        assert_eq!(
            parse_basic(&format!("basic  {}", STANDARD.encode("a:b")))
                .unwrap()
                .0,
            "a"
        );
    }

    #[test]
    fn malformed_basic_headers_are_invalid_requests() {
        for bad in [
            "Basic",
            "Bearer abc",
            "Basic !!!",
            &basic("no-colon"),
            &basic(":secret"),
        ] {
            assert!(
                parse_basic(bad)
                    .is_err_and(|e| e.code == crate::oauth::error::ErrorCode::InvalidRequest),
                "{bad}"
            );
        }
    }

    #[test]
    fn basic_and_body_must_agree() {
        let params = Params::parse(b"client_id=other").unwrap();
        assert!(credentials(Some(&basic("me:s")), &params).is_err());
        let params = Params::parse(b"client_id=me").unwrap();
        assert!(
            credentials(Some(&basic("me:s")), &params)
                .unwrap()
                .used_basic
        );
        let params = Params::parse(b"client_secret=s").unwrap();
        assert!(credentials(Some(&basic("me:s")), &params).is_err());
    }
}
