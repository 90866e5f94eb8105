//! OAuth clients (RFC 6749 §2, RFC 7591 §2): how a client authenticates, which grants it
//! may use, where codes may be sent, and how it came to be registered.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::domain::scope::ScopeSet;

/// `token_endpoint_auth_method` (RFC 7591 §2, RFC 7523 §2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// A public client: it names itself and proves nothing.
    None,
    ClientSecretBasic,
    ClientSecretPost,
    /// A JWT signed with the client's key (RFC 7523); no shared secret.
    PrivateKeyJwt,
}

protocol_enum!(AuthMethod, "token_endpoint_auth_method", {
    None => "none",
    ClientSecretBasic => "client_secret_basic",
    ClientSecretPost => "client_secret_post",
    PrivateKeyJwt => "private_key_jwt",
});

impl AuthMethod {
    /// Does the client hold a shared secret that Warden issued (and stores a hash of)?
    pub fn uses_secret(self) -> bool {
        matches!(
            self,
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
        )
    }
}

/// Grant types Warden knows (RFC 6749 §4.1, §4.4, §6; RFC 7523 §2.1; RFC 8628 §3.4; RFC 8693 §2.1). Declared in the
/// order of their names, so a set of them sorts as the stored, space-separated list does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GrantType {
    AuthorizationCode,
    ClientCredentials,
    RefreshToken,
    DeviceCode,
    JwtBearer,
    TokenExchange,
}

protocol_enum!(GrantType, "grant type", {
    AuthorizationCode => "authorization_code",
    ClientCredentials => "client_credentials",
    RefreshToken => "refresh_token",
    DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
    JwtBearer => "urn:ietf:params:oauth:grant-type:jwt-bearer",
    TokenExchange => "urn:ietf:params:oauth:grant-type:token-exchange",
});

impl GrantType {
    /// In the order metadata advertises them.
    pub const ALL: [GrantType; 6] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::DeviceCode,
        GrantType::ClientCredentials,
        GrantType::TokenExchange,
        GrantType::JwtBearer,
    ];

    /// Grants a client may use only with a credential of its own: a public client could be
    /// anyone.
    pub fn needs_credential(self) -> bool {
        matches!(
            self,
            GrantType::ClientCredentials | GrantType::TokenExchange | GrantType::JwtBearer
        )
    }
}

/// The grant types a client may use.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantTypes(BTreeSet<GrantType>);

impl GrantTypes {
    pub fn contains(&self, grant: GrantType) -> bool {
        self.0.contains(&grant)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = GrantType> + '_ {
        self.0.iter().copied()
    }

    /// The stored form: names in order, separated by one space.
    pub fn to_space_separated(&self) -> String {
        self.iter()
            .map(GrantType::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Parses the stored form.
    pub fn parse_space_separated(value: &str) -> Result<GrantTypes, super::UnknownValue> {
        value
            .split(' ')
            .filter(|g| !g.is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map(GrantTypes)
    }
}

impl FromIterator<GrantType> for GrantTypes {
    fn from_iter<I: IntoIterator<Item = GrantType>>(iter: I) -> Self {
        GrantTypes(iter.into_iter().collect())
    }
}

/// A registered redirect URI (OAuth 2.1 §2.3.1), compared byte for byte (§4.1.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RedirectUri(String);

impl RedirectUri {
    /// Wraps a URI that the redirect rules (`oauth::redirect_uri`) accepted, or that was
    /// stored after they did.
    pub fn new(uri: String) -> RedirectUri {
        RedirectUri(uri)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A canonical resource URI (RFC 8707 §2), as `oauth::resource::canonicalize` makes it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResourceUri(String);

impl ResourceUri {
    /// Wraps a URI that is canonical already.
    pub fn new(uri: String) -> ResourceUri {
        ResourceUri(uri)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ResourceUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a client came to be; it decides how far Warden trusts its redirect URIs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Registration {
    /// Registered by an administrator: its redirect URIs are vouched for.
    Admin,
    /// Registered by itself (RFC 7591).
    Dynamic,
    /// Described by a Client ID Metadata Document at its `client_id` URL.
    MetadataDocument,
}

protocol_enum!(Registration, "registration", {
    Admin => "admin",
    Dynamic => "dynamic",
    MetadataDocument => "metadata_document",
});

/// A client as the protocol sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Client {
    pub client_id: String,
    /// Keyed hash of the secret; `None` for clients without one.
    pub secret_hash: Option<String>,
    pub name: String,
    pub token_endpoint_auth_method: AuthMethod,
    pub redirect_uris: Vec<RedirectUri>,
    pub grant_types: GrantTypes,
    /// Resources the client may get tokens for; empty = any resource open to any client.
    pub resources: Vec<ResourceUri>,
    /// Scopes the client may request; `None` = whatever the resource accepts.
    pub scopes: Option<ScopeSet>,
    /// Resources this client serves (acts as, introspects for).
    pub served_resources: Vec<ResourceUri>,
    pub enabled: bool,
    pub registration: Registration,
    /// `private_key_jwt` keys: an inline JWK Set (JSON text), or where to fetch one.
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    pub registration_token_hash: Option<String>,
    /// Registered metadata as echoed by RFC 7591/7592 (dynamic clients only), JSON text.
    pub metadata: Option<String>,
    /// RFC 9449 §5.2 `dpop_bound_access_tokens`: every token request needs a DPoP proof.
    pub dpop_bound_access_tokens: bool,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

impl Client {
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(grant)
    }

    /// May the client get tokens for `uri` by its own list (an empty list defers to the
    /// registry)?
    pub fn lists_resource(&self, uri: &str) -> bool {
        self.resources.iter().any(|r| r.as_str() == uri)
    }

    pub fn serves(&self, uri: &str) -> bool {
        self.served_resources.iter().any(|r| r.as_str() == uri)
    }

    /// A workload client (SEP-1933) can authenticate no way but with its platform JWT: an
    /// admin client with no secret, no keys, and jwt-bearer as its only grant, so that
    /// naming it at any endpoint proves nothing and gets nothing.
    pub fn is_workload_only(&self) -> bool {
        self.secret_hash.is_none()
            && self.jwks.is_none()
            && self.jwks_uri.is_none()
            && self.token_endpoint_auth_method == AuthMethod::None
            && self.registration == Registration::Admin
            && self.grant_types.iter().eq([GrantType::JwtBearer])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in [
            AuthMethod::None,
            AuthMethod::ClientSecretBasic,
            AuthMethod::ClientSecretPost,
            AuthMethod::PrivateKeyJwt,
        ] {
            assert_eq!(m.as_str().parse::<AuthMethod>().unwrap(), m);
        }
        for g in GrantType::ALL {
            assert_eq!(g.as_str().parse::<GrantType>().unwrap(), g);
        }
        for r in [
            Registration::Admin,
            Registration::Dynamic,
            Registration::MetadataDocument,
        ] {
            assert_eq!(r.as_str().parse::<Registration>().unwrap(), r);
        }
        assert!("client_secret_jwt".parse::<AuthMethod>().is_err());
        assert!(!AuthMethod::PrivateKeyJwt.uses_secret());
    }

    #[test]
    fn grant_sets_store_sorted_by_name() {
        let set = GrantTypes::parse_space_separated(
            "urn:ietf:params:oauth:grant-type:token-exchange refresh_token client_credentials authorization_code",
        )
        .unwrap();
        let mut names: Vec<&str> = set.iter().map(GrantType::as_str).collect();
        let stored = set.to_space_separated();
        names.sort_unstable();
        assert_eq!(stored, names.join(" "));
        assert!(GrantTypes::parse_space_separated("password").is_err());
        assert!(GrantTypes::parse_space_separated("").unwrap().is_empty());
    }
}
