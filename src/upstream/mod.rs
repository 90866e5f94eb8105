//! Sign-in through an upstream identity provider: OpenID Connect (Core 1.0 §3.1, the
//! authorization code flow, with Discovery 1.0) or a plain OAuth 2.0 provider with a
//! user-info endpoint (GitHub style). Warden is the *client* here, through the `oauth2`
//! crate, with PKCE (RFC 7636, S256), `state` bound to the browser, and for OIDC a
//! `nonce` in a verified ID token. The identity found is then mapped to a Warden user
//! (`accounts`), whose own id stays the `sub` of every token Warden issues.

pub mod accounts;
pub mod callback;
pub mod http_client;
pub mod oidc;

use oauth2::basic::{BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenType};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken,
    EndpointNotSet, EndpointSet, ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, StandardRevocableToken, StandardTokenIntrospectionResponse,
    StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde_json::Value;

use crate::crypto::random;
use crate::domain::{AuthMethod, Provider, ProviderKind};
use crate::state::AppState;
use crate::store::upstream::UpstreamLoginRow;

/// How long a browser may spend at the provider before the round trip expires.
pub const LOGIN_TTL: i64 = 600;
const MAX_USERINFO_BYTES: usize = 64 * 1024;

/// Why an upstream sign-in failed; each becomes a page, never a session.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The provider could not be reached or answered garbage (a 502 page).
    #[error("{0}")]
    Unavailable(String),
    /// The user or the provider said no (`error=access_denied` and friends).
    #[error("{0}")]
    Denied(String),
    /// The answer failed validation: bad state, bad ID token, replay.
    #[error("{0}")]
    Invalid(String),
    /// The identity is fine but may not sign in here (domain rule, no account, disabled).
    #[error("{0}")]
    Forbidden(String),
    /// Warden's own database failed.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for UpstreamError {
    fn from(e: sqlx::Error) -> Self {
        UpstreamError::Internal(e.into())
    }
}

/// The ID token travels as an extra field of the token response.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
pub struct IdTokenFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}
impl ExtraTokenFields for IdTokenFields {}

type UpstreamTokenResponse = StandardTokenResponse<IdTokenFields, BasicTokenType>;
type UpstreamClient = Client<
    BasicErrorResponse,
    UpstreamTokenResponse,
    StandardTokenIntrospectionResponse<IdTokenFields, BasicTokenType>,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// The endpoints in use for a provider: configured (OAuth 2.0) or discovered (OIDC).
pub struct Endpoints {
    pub authorization: String,
    pub token: String,
    pub userinfo: Option<String>,
    pub jwks: Option<String>,
    /// The provider promises `iss` in every authorization response (RFC 9207 §3).
    pub iss_required: bool,
}

pub async fn endpoints(state: &AppState, p: &Provider) -> Result<Endpoints, UpstreamError> {
    if p.kind == ProviderKind::Oidc {
        let issuer = p.issuer.as_deref().unwrap_or_default();
        let d = oidc::discover(state, issuer).await?;
        Ok(Endpoints {
            authorization: d.authorization_endpoint,
            token: d.token_endpoint,
            userinfo: d.userinfo_endpoint,
            jwks: Some(d.jwks_uri),
            iss_required: d.authorization_response_iss_parameter_supported,
        })
    } else {
        Ok(Endpoints {
            authorization: p.authorization_endpoint.clone().unwrap_or_default(),
            token: p.token_endpoint.clone().unwrap_or_default(),
            userinfo: p.userinfo_endpoint.clone(),
            jwks: None,
            iss_required: false,
        })
    }
}

pub fn callback_uri(state: &AppState, provider_id: &str) -> String {
    state
        .settings
        .issuer
        .endpoint(&format!("/login/upstream/{provider_id}/callback"))
}

fn client(state: &AppState, p: &Provider, e: &Endpoints) -> Result<UpstreamClient, UpstreamError> {
    let secret = state
        .master_key
        .open(&secret_kid(&p.id), &p.client_secret_sealed)
        .map_err(|e| UpstreamError::Internal(e.context("the provider's client secret")))?;
    let secret = String::from_utf8(secret)
        .map_err(|_| UpstreamError::Internal(anyhow::anyhow!("the client secret is not UTF-8")))?;
    let bad =
        |what: &str| UpstreamError::Unavailable(format!("the provider's {what} is not a URL"));
    Ok(Client::new(ClientId::new(p.client_id.clone()))
        .set_client_secret(ClientSecret::new(secret))
        .set_auth_type(if p.token_auth_method == AuthMethod::ClientSecretPost {
            AuthType::RequestBody
        } else {
            AuthType::BasicAuth
        })
        .set_auth_uri(
            AuthUrl::new(e.authorization.clone()).map_err(|_| bad("authorization endpoint"))?,
        )
        .set_token_uri(TokenUrl::new(e.token.clone()).map_err(|_| bad("token endpoint"))?)
        .set_redirect_uri(
            RedirectUrl::new(callback_uri(state, &p.id))
                .map_err(|_| UpstreamError::Internal(anyhow::anyhow!("the issuer is not a URL")))?,
        ))
}

/// The key id bound into a provider's sealed client secret: a secret copied to another
/// provider's row does not open.
pub fn secret_kid(provider_id: &str) -> String {
    format!("upstream:{provider_id}")
}

/// Where to send the browser, and the cookie value that binds the round trip to it.
pub struct Begun {
    pub location: String,
    pub browser_secret: String,
}

/// Starts a round trip: PKCE pair, `state`, `nonce`, one stored row, the provider's URL.
pub async fn begin(
    state: &AppState,
    p: &Provider,
    request_id: Option<String>,
    link_user_id: Option<String>,
) -> Result<Begun, UpstreamError> {
    let e = endpoints(state, p).await?;
    let client = client(state, p, &e)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = random::token();
    let csrf = CsrfToken::new(random::token());
    let mut request = client
        .authorize_url(|| csrf.clone())
        .set_pkce_challenge(challenge)
        .add_scopes(
            p.scopes
                .split_ascii_whitespace()
                .map(|s| Scope::new(s.to_owned())),
        );
    if p.kind == ProviderKind::Oidc {
        request = request.add_extra_param("nonce", nonce.clone());
    }
    let (url, csrf) = request.url();
    let browser_secret = random::token();
    let now = state.clock.now();
    state
        .store
        .insert_upstream_login(&UpstreamLoginRow {
            state_hash: random::sha256_b64(csrf.secret()),
            provider_id: p.id.clone(),
            browser_hash: random::sha256_b64(&browser_secret),
            nonce,
            verifier_sealed: state
                .master_key
                .seal(&secret_kid(&p.id), verifier.secret().as_bytes())?,
            request_id,
            link_user_id,
            created_at: now,
            expires_at: now + LOGIN_TTL,
        })
        .await?;
    Ok(Begun {
        location: url.to_string(),
        browser_secret,
    })
}

/// What the provider vouched for, after every check.
#[derive(Debug, Clone)]
pub struct UpstreamIdentity {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
}

/// Redeems the code (PKCE verifier, client authentication) and reads the identity: from
/// the verified ID token for OIDC, from the user-info endpoint for OAuth 2.0. `iss` is the
/// callback's `iss` parameter (RFC 9207 §2.4): when present it must be the provider we
/// sent the browser to, and a provider that promises it must send it.
pub async fn finish(
    state: &AppState,
    p: &Provider,
    pending: &UpstreamLoginRow,
    code: &str,
    iss: Option<&str>,
) -> Result<UpstreamIdentity, UpstreamError> {
    let e = endpoints(state, p).await?;
    callback::check_issuer(iss, p.issuer.as_deref(), e.iss_required)?;
    let client = client(state, p, &e)?;
    let verifier = state
        .master_key
        .open(&secret_kid(&p.id), &pending.verifier_sealed)
        .ok()
        .and_then(|v| String::from_utf8(v).ok())
        .ok_or_else(|| UpstreamError::Invalid("the sign-in could not be resumed".into()))?;
    let http = |request| http_client::send(&state.fetcher, request);
    let response = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&http)
        .await
        .map_err(token_error)?;
    let claims = if p.kind == ProviderKind::Oidc {
        let id_token =
            response.extra_fields().id_token.as_deref().ok_or_else(|| {
                UpstreamError::Invalid("the provider returned no ID token".into())
            })?;
        let jwks = e.jwks.as_deref().unwrap_or_default();
        let mut claims = oidc::verify_id_token(state, p, jwks, id_token, &pending.nonce).await?;
        // Some providers keep email and name out of the ID token: ask user-info, whose
        // `sub` must be the ID token's (Core §5.3.2).
        if claims.get(&p.email_claim).is_none()
            && let Some(url) = &e.userinfo
        {
            let info = userinfo(state, url, response.access_token().secret()).await?;
            if info.get("sub") == claims.get("sub") {
                for (k, v) in info.as_object().into_iter().flatten() {
                    claims.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
        Value::Object(claims)
    } else {
        let url = e.userinfo.as_deref().ok_or_else(|| {
            UpstreamError::Unavailable("the provider has no user-info endpoint".into())
        })?;
        userinfo(state, url, response.access_token().secret()).await?
    };
    identity_from(p, &claims)
}

fn token_error<E: std::error::Error + 'static>(
    e: oauth2::RequestTokenError<E, BasicErrorResponse>,
) -> UpstreamError {
    match e {
        oauth2::RequestTokenError::ServerResponse(r) => UpstreamError::Denied(format!(
            "the provider refused the sign-in code ({})",
            r.error()
        )),
        oauth2::RequestTokenError::Parse(_, _) => {
            UpstreamError::Unavailable("the provider's token response is malformed".into())
        }
        other => {
            UpstreamError::Unavailable(format!("the provider's token endpoint failed: {other}"))
        }
    }
}

async fn userinfo(state: &AppState, url: &str, access_token: &str) -> Result<Value, UpstreamError> {
    let mut request = reqwest::Request::new(
        reqwest::Method::GET,
        url::Url::parse(url).map_err(|_| {
            UpstreamError::Unavailable("the user-info endpoint is not a URL".into())
        })?,
    );
    let bearer = reqwest::header::HeaderValue::from_str(&format!("Bearer {access_token}"))
        .map_err(|_| {
            UpstreamError::Unavailable("the provider's access token is malformed".into())
        })?;
    request.headers_mut().insert("authorization", bearer);
    let got = state
        .fetcher
        .send(
            crate::fetch::FetchKind::Upstream,
            request,
            MAX_USERINFO_BYTES,
        )
        .await
        .map_err(|e| UpstreamError::Unavailable(format!("the user-info endpoint failed: {e}")))?;
    if got.status != 200 {
        return Err(UpstreamError::Unavailable(format!(
            "the user-info endpoint answered {}",
            got.status
        )));
    }
    let value: Value = serde_json::from_slice(&got.body)
        .map_err(|_| UpstreamError::Unavailable("the user-info response is not JSON".into()))?;
    if !value.is_object() {
        return Err(UpstreamError::Unavailable(
            "the user-info response is not an object".into(),
        ));
    }
    Ok(value)
}

/// Reads subject, email and name through the provider's claim mapping.
fn identity_from(p: &Provider, claims: &Value) -> Result<UpstreamIdentity, UpstreamError> {
    let text = |name: &str| match claims.get(name) {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 512 => Some(s.clone()),
        // GitHub's user ids are numbers.
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let subject = text(&p.subject_claim).ok_or_else(|| {
        UpstreamError::Invalid(format!(
            "the provider's answer has no {:?} claim",
            p.subject_claim
        ))
    })?;
    // ASCII case only: Unicode lowercasing turns the Kelvin sign into a `k`.
    let email = text(&p.email_claim).map(|e| e.to_ascii_lowercase());
    let email_verified = match claims.get("email_verified") {
        Some(Value::Bool(b)) => *b,
        // Some providers send the string "true".
        Some(Value::String(s)) => s == "true",
        _ => p.trust_email,
    };
    Ok(UpstreamIdentity {
        subject,
        email,
        email_verified,
        name: text(&p.name_claim),
    })
}
