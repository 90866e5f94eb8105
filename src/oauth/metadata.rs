//! Authorization server metadata (RFC 8414 §2, §3) and its OpenID Connect Discovery twin.
//!
//! Built once at start-up and served from memory. Only endpoints and features that exist
//! are listed, and no member is ever `null`.

use serde::Serialize;

use crate::settings::Settings;

/// Paths of our endpoints, relative to the issuer.
pub mod paths {
    pub const JWKS: &str = "/jwks.json";
}

#[derive(Debug, Serialize)]
pub struct ServerMetadata {
    pub issuer: String,
    pub jwks_uri: String,
    pub response_types_supported: [&'static str; 1],
    pub code_challenge_methods_supported: [&'static str; 1],
}

impl ServerMetadata {
    pub fn build(settings: &Settings) -> ServerMetadata {
        let issuer = &settings.issuer;
        ServerMetadata {
            issuer: issuer.as_str().to_owned(),
            jwks_uri: issuer.endpoint(paths::JWKS),
            // OAuth 2.1 and MCP: the code flow with PKCE S256 is the only interactive flow.
            response_types_supported: ["code"],
            code_challenge_methods_supported: ["S256"],
        }
    }
}
