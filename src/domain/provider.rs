//! Upstream identity providers: the OpenID Connect (OIDC Core 1.0 §3.1) or plain OAuth 2.0
//! servers users may sign in with, and what Warden does with a first sign-in.

use crate::clock::UnixTime;
use crate::domain::AuthMethod;

/// What speaks at the other end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderKind {
    /// OpenID Connect: endpoints from discovery, identity from a verified ID token.
    Oidc,
    /// Plain OAuth 2.0 (GitHub-style): configured endpoints, identity from a user API.
    Oauth2,
}

protocol_enum!(ProviderKind, "provider kind", {
    Oidc => "oidc",
    Oauth2 => "oauth2",
});

/// What a sign-in with an identity Warden has not seen before does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnFirstLogin {
    /// Creates a Warden account for it.
    Create,
    /// Links it to the account with its (verified) email address, else creates one.
    LinkByEmail,
    /// Links it to the account with its email address; never creates one.
    ExistingOnly,
}

protocol_enum!(OnFirstLogin, "first-login rule", {
    Create => "create",
    LinkByEmail => "link-by-email",
    ExistingOnly => "existing-only",
});

/// An upstream identity provider, as stored (the `upstream_providers` row).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Provider {
    pub id: String,
    #[sqlx(try_from = "String")]
    pub kind: ProviderKind,
    pub display_name: String,
    pub issuer: Option<String>,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub client_id: String,
    pub client_secret_sealed: String,
    /// How Warden authenticates to the provider: `client_secret_basic` or `_post`.
    #[sqlx(try_from = "String")]
    pub token_auth_method: AuthMethod,
    pub scopes: String,
    pub subject_claim: String,
    pub email_claim: String,
    pub name_claim: String,
    /// Treat the provider's email as verified when it says nothing (GitHub-style APIs).
    pub trust_email: bool,
    /// Space-separated email domains; empty admits every address.
    pub allowed_domains: String,
    #[sqlx(try_from = "String")]
    pub on_first_login: OnFirstLogin,
    pub enabled: bool,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}
