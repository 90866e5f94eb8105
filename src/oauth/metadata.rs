//! Authorization server metadata (RFC 8414 §2, §3) and its OpenID Connect Discovery twin.
//!
//! Built at start-up and served from memory; rebuilt only when the scope catalogue changes
//! (checked with the periodic key refresh). Only endpoints and features that exist are
//! listed, and no member is ever `null`.

use serde::Serialize;

use crate::domain::{AuthMethod, GrantType};
use crate::oauth::id_token;
use crate::oauth::scope::ADMIN_SCOPE;
use crate::settings::Settings;

/// Paths of our endpoints, relative to the issuer.
pub mod paths {
    pub const JWKS: &str = "/jwks.json";
    pub const AUTHORIZE: &str = "/authorize";
    pub const TOKEN: &str = "/token";
    pub const INTROSPECT: &str = "/introspect";
    pub const REVOKE: &str = "/revoke";
    pub const RESOURCE_METADATA: &str = "/resource-metadata";
    pub const ADMIN_API: &str = "/admin/v1";
    pub const REGISTER: &str = "/register";
    pub const DEVICE_AUTHORIZATION: &str = "/device_authorization";
    /// The page where a user enters a device's user code (RFC 8628 §3.3).
    pub const DEVICE_VERIFICATION: &str = "/device";
}

/// Client authentication methods of the token, introspection and revocation endpoints.
pub const CLIENT_AUTH_METHODS: [AuthMethod; 2] =
    [AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost];
/// At the token endpoint public clients also authenticate with `none` (plus PKCE), and
/// clients with keys with `private_key_jwt`.
pub const TOKEN_AUTH_METHODS: [AuthMethod; 4] = [
    AuthMethod::ClientSecretBasic,
    AuthMethod::ClientSecretPost,
    AuthMethod::PrivateKeyJwt,
    AuthMethod::None,
];

#[derive(Debug, Serialize)]
pub struct ServerMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub jwks_uri: String,
    pub token_endpoint: String,
    pub introspection_endpoint: String,
    pub revocation_endpoint: String,
    /// RFC 8628 §4.
    pub device_authorization_endpoint: String,
    pub response_types_supported: [&'static str; 1],
    pub response_modes_supported: [&'static str; 1],
    pub code_challenge_methods_supported: [&'static str; 1],
    pub grant_types_supported: Vec<&'static str>,
    pub token_endpoint_auth_methods_supported: [AuthMethod; 4],
    pub token_endpoint_auth_signing_alg_values_supported: [&'static str; 5],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    pub client_id_metadata_document_supported: bool,
    pub introspection_endpoint_auth_methods_supported: [AuthMethod; 2],
    pub revocation_endpoint_auth_methods_supported: [AuthMethod; 2],
    pub scopes_supported: Vec<String>,
    pub authorization_response_iss_parameter_supported: bool,
    pub prompt_values_supported: [&'static str; 3],
    /// RFC 9449 §5.1: the algorithms a DPoP proof may use (asymmetric only).
    pub dpop_signing_alg_values_supported: [&'static str; 5],
    /// OIDC Discovery §3: `sub` is the user's id, the same for every client.
    pub subject_types_supported: [&'static str; 1],
    pub id_token_signing_alg_values_supported: [&'static str; 1],
    pub claims_supported: [&'static str; id_token::CLAIMS.len()],
    /// MCP Enterprise-Managed Authorization: the jwt-bearer grant accepts ID-JAGs.
    pub authorization_grant_profiles_supported: [&'static str; 1],
}

impl ServerMetadata {
    /// `catalogue` is every scope name; the admin scope is not for MCP clients and is left
    /// out (some clients request every advertised scope).
    pub fn build(settings: &Settings, catalogue: Vec<String>) -> ServerMetadata {
        let issuer = &settings.issuer;
        ServerMetadata {
            issuer: issuer.as_str().to_owned(),
            authorization_endpoint: issuer.endpoint(paths::AUTHORIZE),
            jwks_uri: issuer.endpoint(paths::JWKS),
            token_endpoint: issuer.endpoint(paths::TOKEN),
            introspection_endpoint: issuer.endpoint(paths::INTROSPECT),
            revocation_endpoint: issuer.endpoint(paths::REVOKE),
            device_authorization_endpoint: issuer.endpoint(paths::DEVICE_AUTHORIZATION),
            // OAuth 2.1 and MCP: the code flow with PKCE S256 is the only interactive flow.
            response_types_supported: ["code"],
            response_modes_supported: ["query"],
            code_challenge_methods_supported: ["S256"],
            grant_types_supported: GrantType::ALL.iter().map(|g| g.as_str()).collect(),
            token_endpoint_auth_methods_supported: TOKEN_AUTH_METHODS,
            token_endpoint_auth_signing_alg_values_supported:
                crate::oauth::client_assertion::SIGNING_ALGS,
            registration_endpoint: (!matches!(
                settings.registration,
                crate::settings::RegistrationPolicy::Off
            ))
            .then(|| issuer.endpoint(paths::REGISTER)),
            client_id_metadata_document_supported: true,
            introspection_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
            revocation_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
            scopes_supported: scopes_supported(catalogue),
            // RFC 9207: every authorization response carries `iss`.
            authorization_response_iss_parameter_supported: true,
            prompt_values_supported: ["none", "login", "consent"],
            dpop_signing_alg_values_supported: crate::oauth::dpop::SIGNING_ALGS,
            subject_types_supported: ["public"],
            // What this deployment's keys sign with (OIDC Discovery asks for RS256 too;
            // `WARDEN_SIGNING_ALG=RS256` gives it to relying parties that need it).
            id_token_signing_alg_values_supported: [settings.signing_alg.as_str()],
            claims_supported: id_token::CLAIMS,
            authorization_grant_profiles_supported: [
                crate::oauth::token::jwt_bearer::id_jag::GRANT_PROFILE,
            ],
        }
    }
}

/// The catalogue without the admin scope, and the OIDC scopes (OIDC Discovery §3 lists
/// `openid`), each once.
fn scopes_supported(catalogue: Vec<String>) -> Vec<String> {
    let mut scopes: Vec<String> = catalogue.into_iter().filter(|s| s != ADMIN_SCOPE).collect();
    for oidc in id_token::SCOPES {
        if !scopes.iter().any(|s| s == oidc) {
            scopes.push(oidc.to_owned());
        }
    }
    scopes
}

/// Rebuilds the served metadata document from the settings and the scope catalogue,
/// replacing it only when it changed; reloads the scope hierarchy with it.
pub async fn refresh(state: &crate::state::AppState) -> anyhow::Result<()> {
    let implications =
        crate::oauth::scope::Implications::from_edges(state.store.scope_implications().await?);
    *state
        .implications
        .write()
        .unwrap_or_else(|p| p.into_inner()) = std::sync::Arc::new(implications);
    let catalogue = state
        .store
        .scopes()
        .await?
        .into_iter()
        .map(|s| s.name)
        .collect();
    let json = bytes::Bytes::from(serde_json::to_vec(&ServerMetadata::build(
        &state.settings,
        catalogue,
    ))?);
    let mut current = state.metadata.write().unwrap_or_else(|p| p.into_inner());
    if *current != json {
        *current = json;
    }
    Ok(())
}

/// After a change to the scope catalogue (API or console): `scopes_supported` and the
/// hierarchy follow at once on this node, other nodes within a key refresh. A failure is logged; the change
/// stands.
pub async fn catalogue_changed(state: &crate::state::AppState) {
    if let Err(e) = refresh(state).await {
        tracing::warn!(error = format!("{e:#}"), "could not refresh the metadata");
    }
}

/// The served metadata document.
pub fn document(state: &crate::state::AppState) -> bytes::Bytes {
    state
        .metadata
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
}
