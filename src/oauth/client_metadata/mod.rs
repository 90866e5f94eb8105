//! Client metadata (RFC 7591 §2), validated one way for every way a client comes to be:
//! registered by an administrator, registered by itself (RFC 7591 §3), or described by a
//! Client ID Metadata Document (draft-ietf-oauth-client-id-metadata-document §3, §4).
//!
//! What differs by origin is in `rules`, one row per difference; everything else applies
//! to all three.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::clock::UnixTime;
use crate::domain::{
    AuthMethod, Client, GrantType, GrantTypes, RedirectUri, Registration, ScopeSet,
};
use crate::net::is_loopback_host;
use crate::oauth::redirect_uri::check_redirect_uri;

pub const MAX_REDIRECT_URIS: usize = 20;
const MAX_URI_LEN: usize = 2000;
const MAX_NAME_LEN: usize = 200;
/// What a self-registered client without a name is called.
const UNNAMED: &str = "Unnamed application";

/// How the metadata reached us.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The admin API or CLI.
    Admin,
    /// `POST /register` or `PUT /register/{id}` (RFC 7591, RFC 7592).
    Dynamic,
    /// A metadata document fetched from the `client_id` URL.
    Document,
}

/// What an unsupported grant type in the list does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unsupported {
    Reject,
    /// A document is published for every server it may meet, so it may list grants this
    /// one does not offer; they are dropped, not fatal.
    Ignore,
}

/// The rules that differ by origin. Everything not in this table applies to all three.
struct Rules {
    /// `token_endpoint_auth_method` when the metadata names none (RFC 7591 §2 says
    /// `client_secret_basic`; the draft's documents have no secret to use).
    default_auth_method: AuthMethod,
    /// Documents cannot hold a shared secret.
    auth_methods: &'static [AuthMethod],
    /// Machine grants (`client_credentials`, token exchange) are an administrator's to give.
    grant_types: &'static [GrantType],
    unsupported_grants: Unsupported,
    /// Self-registered and document clients exist to sign users in: through a browser
    /// (authorization code) or on another device (RFC 8628).
    needs_user_grant: bool,
    /// A document must name its client (the consent page shows it); an admin client must
    /// have a name for the console; a self-registered one gets `UNNAMED`.
    name_required: bool,
}

const SIGN_IN_GRANTS: &[GrantType] = &[
    GrantType::AuthorizationCode,
    GrantType::RefreshToken,
    GrantType::DeviceCode,
];

const fn rules(origin: Origin) -> Rules {
    match origin {
        Origin::Admin => Rules {
            default_auth_method: AuthMethod::ClientSecretBasic,
            // `private_key_jwt` is what the MCP client-credentials extension recommends for
            // agents (SEP-1046, RFC 7523 §2.2).
            auth_methods: &[
                AuthMethod::ClientSecretBasic,
                AuthMethod::ClientSecretPost,
                AuthMethod::None,
                AuthMethod::PrivateKeyJwt,
            ],
            grant_types: &GrantType::ALL,
            unsupported_grants: Unsupported::Reject,
            needs_user_grant: false,
            name_required: true,
        },
        Origin::Dynamic => Rules {
            default_auth_method: AuthMethod::ClientSecretBasic,
            auth_methods: &[
                AuthMethod::ClientSecretBasic,
                AuthMethod::ClientSecretPost,
                AuthMethod::None,
                AuthMethod::PrivateKeyJwt,
            ],
            grant_types: SIGN_IN_GRANTS,
            unsupported_grants: Unsupported::Reject,
            needs_user_grant: true,
            name_required: false,
        },
        Origin::Document => Rules {
            default_auth_method: AuthMethod::None,
            auth_methods: &[AuthMethod::None, AuthMethod::PrivateKeyJwt],
            grant_types: SIGN_IN_GRANTS,
            unsupported_grants: Unsupported::Ignore,
            needs_user_grant: true,
            name_required: true,
        },
    }
}

/// Client metadata with RFC 7591 §2 names. Unknown members are ignored (§2); `null` is
/// taken as absent.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ClientMetadata {
    pub redirect_uris: Option<Vec<String>>,
    pub token_endpoint_auth_method: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
    pub client_name: Option<String>,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub tos_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub scope: Option<String>,
    pub contacts: Option<Vec<String>>,
    pub jwks: Option<Value>,
    pub jwks_uri: Option<String>,
    pub software_id: Option<String>,
    pub software_version: Option<String>,
    /// OpenID Connect Dynamic Client Registration 1.0 §2: `web` or `native`.
    pub application_type: Option<String>,
    /// RFC 9449 §5.2: the client always sends a DPoP proof, so a token request without
    /// one is not from it. Absent means false.
    pub dpop_bound_access_tokens: Option<bool>,
}

impl ClientMetadata {
    /// Reads metadata from a JSON object; a member of the wrong type is an error.
    pub fn from_json(doc: &Value) -> Result<ClientMetadata, MetadataError> {
        if !doc.is_object() {
            return Err(MetadataError::metadata(
                "",
                "the body must be a JSON object",
            ));
        }
        ClientMetadata::deserialize(doc).map_err(|e| MetadataError::metadata("", e.to_string()))
    }
}

/// Which RFC 7591 §3.2.2 error a failure is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetadataErrorKind {
    InvalidRedirectUri,
    InvalidClientMetadata,
}

/// Why metadata was refused, naming the member at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataError {
    pub kind: MetadataErrorKind,
    /// The RFC 7591 member name; empty when the document as a whole is wrong.
    pub field: &'static str,
    pub message: String,
}

impl MetadataError {
    fn metadata(field: &'static str, message: impl Into<String>) -> MetadataError {
        MetadataError {
            kind: MetadataErrorKind::InvalidClientMetadata,
            field,
            message: message.into(),
        }
    }

    fn redirect(message: impl Into<String>) -> MetadataError {
        MetadataError {
            kind: MetadataErrorKind::InvalidRedirectUri,
            field: "redirect_uris",
            message: message.into(),
        }
    }
}

impl std::fmt::Display for MetadataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Metadata that passed: the pieces of a `Client`, and the RFC 7591 §3.2.1 echo.
#[derive(Clone, Debug)]
pub struct ValidMetadata {
    pub name: String,
    pub auth_method: AuthMethod,
    pub redirect_uris: Vec<RedirectUri>,
    pub grant_types: GrantTypes,
    /// An inline JWK Set, as JSON text.
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    /// RFC 9449 §5.2 `dpop_bound_access_tokens`.
    pub dpop_bound_access_tokens: bool,
    /// The registered metadata as RFC 7591 echoes it (never a `null`).
    pub echo: Map<String, Value>,
}

impl ValidMetadata {
    /// The client these pieces describe: no resource or scope limits, enabled.
    pub fn client(
        self,
        client_id: String,
        registration: Registration,
        secret_hash: Option<String>,
        now: UnixTime,
    ) -> Client {
        Client {
            client_id,
            secret_hash,
            name: self.name,
            token_endpoint_auth_method: self.auth_method,
            redirect_uris: self.redirect_uris,
            grant_types: self.grant_types,
            resources: Vec::new(),
            scopes: None,
            served_resources: Vec::new(),
            enabled: true,
            registration,
            jwks: self.jwks,
            jwks_uri: self.jwks_uri,
            registration_token_hash: None,
            metadata: None,
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
            created_at: now,
            updated_at: now,
        }
    }
}

/// Checks `metadata` by the rules of `origin`.
pub fn validate(metadata: ClientMetadata, origin: Origin) -> Result<ValidMetadata, MetadataError> {
    let rules = rules(origin);
    let mut echo = Map::new();

    let name =
        text("client_name", metadata.client_name, MAX_NAME_LEN)?.filter(|n| !n.trim().is_empty());
    let name = match name {
        Some(n) => n,
        None if rules.name_required => {
            return Err(MetadataError::metadata(
                "client_name",
                "client_name is required",
            ));
        }
        None => UNNAMED.to_owned(),
    };
    echo.insert("client_name".into(), name.clone().into());

    // OIDC Registration defaults application_type to web, but RFC 7591 has no such member
    // and the TypeScript MCP SDK omits it while registering a loopback redirect; so the
    // strict web rule applies only when a client says it is a web application.
    let declared_web = match text("application_type", metadata.application_type, 20)?.as_deref() {
        None => None,
        Some("web") => Some(true),
        Some("native") => Some(false),
        Some(_) => {
            return Err(MetadataError::metadata(
                "application_type",
                "application_type must be web or native",
            ));
        }
    };

    let grant_types = grant_types(&rules, metadata.grant_types)?;
    if metadata
        .response_types
        .is_some_and(|r| r.len() != 1 || r[0] != "code")
    {
        return Err(MetadataError::metadata(
            "response_types",
            "response_types must be [\"code\"]",
        ));
    }

    let redirect_uris = redirect_uris(metadata.redirect_uris, declared_web == Some(true))?;
    if grant_types.contains(GrantType::AuthorizationCode) && redirect_uris.is_empty() {
        return Err(MetadataError::redirect(if rules.needs_user_grant {
            "redirect_uris must list at least one URI"
        } else {
            "the authorization_code grant needs at least one redirect URI"
        }));
    }

    let auth_method = match text(
        "token_endpoint_auth_method",
        metadata.token_endpoint_auth_method,
        40,
    )? {
        None => rules.default_auth_method,
        Some(m) => m
            .parse::<AuthMethod>()
            .ok()
            .filter(|m| rules.auth_methods.contains(m))
            .ok_or_else(|| {
                let allowed: Vec<&str> = rules.auth_methods.iter().map(|m| m.as_str()).collect();
                MetadataError::metadata(
                    "token_endpoint_auth_method",
                    format!(
                        "token_endpoint_auth_method {} is not allowed (use {})",
                        crate::oauth::params::excerpt(&m),
                        allowed.join(", ")
                    ),
                )
            })?,
    };
    // A workload client (SEP-1933) has no secret by design: its platform JWT, checked
    // against the admin's workload rules, is its credential, and jwt-bearer its only grant.
    let workload = origin == Origin::Admin && grant_types.iter().eq([GrantType::JwtBearer]);
    if auth_method == AuthMethod::None
        && !workload
        && grant_types.iter().any(GrantType::needs_credential)
    {
        return Err(MetadataError::metadata(
            "grant_types",
            "client_credentials, token exchange and jwt-bearer need a confidential client (a public client has no secret; a workload client has jwt-bearer as its only grant)",
        ));
    }
    let (jwks, jwks_uri) = keys(auth_method, metadata.jwks, metadata.jwks_uri)?;

    if let Some(scope) = text("scope", metadata.scope, 1000)? {
        ScopeSet::parse(&scope).map_err(|e| MetadataError::metadata("scope", e))?;
        echo.insert("scope".into(), scope.into());
    }
    for (field, value) in [
        ("client_uri", metadata.client_uri),
        ("logo_uri", metadata.logo_uri),
        ("tos_uri", metadata.tos_uri),
        ("policy_uri", metadata.policy_uri),
    ] {
        if let Some(v) = text(field, value, MAX_URI_LEN)? {
            if !v.starts_with("https://") {
                return Err(MetadataError::metadata(
                    field,
                    format!("{field} must be an https URL"),
                ));
            }
            echo.insert(field.into(), v.into());
        }
    }
    for (field, value) in [
        ("software_id", metadata.software_id),
        ("software_version", metadata.software_version),
    ] {
        if let Some(v) = text(field, value, 200)? {
            echo.insert(field.into(), v.into());
        }
    }
    if let Some(contacts) = metadata.contacts {
        if contacts.len() > 10 {
            return Err(MetadataError::metadata("contacts", "at most 10 contacts"));
        }
        echo.insert("contacts".into(), contacts.into());
    }
    let web = declared_web.unwrap_or_else(|| {
        redirect_uris.iter().any(|u| {
            url::Url::parse(u.as_str())
                .is_ok_and(|p| p.scheme() == "https" && !is_loopback_host(&p))
        })
    });
    echo.insert(
        "application_type".into(),
        if web { "web" } else { "native" }.into(),
    );
    let uris: Vec<&str> = redirect_uris.iter().map(RedirectUri::as_str).collect();
    echo.insert("redirect_uris".into(), uris.into());
    let grants: Vec<&str> = grant_types.iter().map(GrantType::as_str).collect();
    echo.insert("grant_types".into(), grants.into());
    echo.insert("response_types".into(), vec!["code"].into());
    echo.insert(
        "token_endpoint_auth_method".into(),
        auth_method.as_str().into(),
    );
    if let Some(j) = &jwks {
        echo.insert(
            "jwks".into(),
            serde_json::from_str(j).unwrap_or(Value::Null),
        );
    }
    if let Some(u) = &jwks_uri {
        echo.insert("jwks_uri".into(), u.clone().into());
    }
    let dpop_bound_access_tokens = metadata.dpop_bound_access_tokens.unwrap_or(false);
    echo.insert(
        "dpop_bound_access_tokens".into(),
        dpop_bound_access_tokens.into(),
    );
    Ok(ValidMetadata {
        name,
        auth_method,
        redirect_uris,
        grant_types,
        jwks,
        jwks_uri,
        dpop_bound_access_tokens,
        echo,
    })
}

/// A string member: at most `max` characters, no control characters.
fn text(
    field: &'static str,
    value: Option<String>,
    max: usize,
) -> Result<Option<String>, MetadataError> {
    match value {
        Some(s) if s.chars().count() > max || s.chars().any(char::is_control) => {
            Err(MetadataError::metadata(
                field,
                format!("{field} must be a string of at most {max} characters"),
            ))
        }
        other => Ok(other),
    }
}

fn grant_types(rules: &Rules, listed: Option<Vec<String>>) -> Result<GrantTypes, MetadataError> {
    let bad = |m: String| MetadataError::metadata("grant_types", m);
    // RFC 7591 §2: absent means authorization_code.
    let listed = listed.unwrap_or_else(|| vec![GrantType::AuthorizationCode.as_str().into()]);
    let mut grants = Vec::new();
    for name in &listed {
        match name.parse::<GrantType>() {
            Ok(g) if rules.grant_types.contains(&g) => grants.push(g),
            _ if rules.unsupported_grants == Unsupported::Ignore => {}
            Ok(g) if g.needs_credential() => {
                return Err(bad(format!(
                    "{} clients are registered by an administrator, not dynamically",
                    g.as_str()
                )));
            }
            _ => {
                let known: Vec<&str> = rules.grant_types.iter().map(|g| g.as_str()).collect();
                return Err(bad(format!(
                    "grant type {} is not supported (supported: {})",
                    crate::oauth::params::excerpt(name),
                    known.join(", ")
                )));
            }
        }
    }
    let grants: GrantTypes = grants.into_iter().collect();
    if grants.is_empty() && !rules.needs_user_grant {
        return Err(bad("name at least one grant type".into()));
    }
    if rules.needs_user_grant
        && !grants.contains(GrantType::AuthorizationCode)
        && !grants.contains(GrantType::DeviceCode)
    {
        return Err(bad(
            "grant_types must include authorization_code or the device_code grant".into(),
        ));
    }
    Ok(grants)
}

/// Redirect URIs (`oauth::redirect_uri::check_redirect_uri`), at most `MAX_REDIRECT_URIS`;
/// a declared web application may not use loopback or private-use schemes.
fn redirect_uris(
    listed: Option<Vec<String>>,
    web: bool,
) -> Result<Vec<RedirectUri>, MetadataError> {
    let listed = listed.unwrap_or_default();
    if listed.len() > MAX_REDIRECT_URIS {
        return Err(MetadataError::redirect(format!(
            "at most {MAX_REDIRECT_URIS} redirect_uris are allowed"
        )));
    }
    let mut uris: Vec<RedirectUri> = Vec::with_capacity(listed.len());
    for uri in listed {
        if uri.len() > MAX_URI_LEN {
            return Err(MetadataError::redirect(format!(
                "a redirect URI is longer than {MAX_URI_LEN} characters"
            )));
        }
        check_redirect_uri(&uri).map_err(MetadataError::redirect)?;
        if web {
            let public_https =
                url::Url::parse(&uri).is_ok_and(|p| p.scheme() == "https" && !is_loopback_host(&p));
            if !public_https {
                return Err(MetadataError::redirect(format!(
                    "{}: a web application needs https redirect URIs on a public host; register as application_type native for loopback or custom-scheme redirects",
                    crate::oauth::params::excerpt(&uri)
                )));
            }
        }
        uris.push(RedirectUri::new(uri));
    }
    Ok(uris)
}

/// `jwks` and `jwks_uri` (RFC 7591 §2): exactly one of them with `private_key_jwt`, neither
/// otherwise. A JWK Set is an object with a `keys` array (RFC 7517 §5); `jwks_uri` is
/// https (plain http only on loopback, which the fetcher itself allows only with
/// `WARDEN_DEV_ALLOW_LOOPBACK_FETCH`) and never carries user information.
fn keys(
    method: AuthMethod,
    jwks: Option<Value>,
    jwks_uri: Option<String>,
) -> Result<(Option<String>, Option<String>), MetadataError> {
    let jwks_uri = text("jwks_uri", jwks_uri, MAX_URI_LEN)?;
    let jwks = match jwks {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) if v.get("keys").is_some_and(Value::is_array) => {
            Some(v.to_string())
        }
        Some(_) => {
            return Err(MetadataError::metadata(
                "jwks",
                "jwks must be a JWK Set object with a keys array",
            ));
        }
    };
    if method != AuthMethod::PrivateKeyJwt {
        if jwks.is_some() || jwks_uri.is_some() {
            return Err(MetadataError::metadata(
                "jwks",
                "jwks and jwks_uri are only for private_key_jwt",
            ));
        }
        return Ok((None, None));
    }
    if jwks.is_some() == jwks_uri.is_some() {
        return Err(MetadataError::metadata(
            "jwks",
            "private_key_jwt needs exactly one of jwks and jwks_uri",
        ));
    }
    let acceptable = |u: &str| {
        url::Url::parse(u).is_ok_and(|p| {
            p.username().is_empty()
                && p.password().is_none()
                && (p.scheme() == "https" || (p.scheme() == "http" && is_loopback_host(&p)))
        })
    };
    if jwks_uri.as_deref().is_some_and(|u| !acceptable(u)) {
        return Err(MetadataError::metadata(
            "jwks_uri",
            "jwks_uri must be an https URL",
        ));
    }
    Ok((jwks, jwks_uri))
}

#[cfg(test)]
mod tests;
