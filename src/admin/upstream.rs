//! Upstream identity providers (admin API and CLI alike) and the identities users have
//! linked. The client secret is sealed under the master key on the way in and never
//! comes back out.

use serde::{Deserialize, Serialize};

use serde_json::{Value, json};

use crate::admin::AdminError;
use crate::admin::change_event;
use crate::crypto::master_key::MasterKey;
use crate::domain::{Actor, AuditEvent, AuditKind};
use crate::domain::{AuthMethod, OnFirstLogin, Provider, ProviderKind};
use crate::store::Store;
use crate::store::upstream::IdentityRow;
use crate::upstream::secret_kid;

pub const KINDS: [ProviderKind; 2] = [ProviderKind::Oidc, ProviderKind::Oauth2];
pub const FIRST_LOGIN_RULES: [OnFirstLogin; 3] = [
    OnFirstLogin::Create,
    OnFirstLogin::LinkByEmail,
    OnFirstLogin::ExistingOnly,
];
/// How Warden authenticates to a provider's token endpoint.
pub const AUTH_METHODS: [AuthMethod; 2] =
    [AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost];

/// A provider as an admin writes it. On update, a missing `client_secret` keeps the
/// stored one.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = UpstreamProviderInput)]
pub struct ProviderInput {
    #[schema(pattern = "^[a-z0-9-]{1,32}$")]
    pub id: String,
    #[schema(value_type = ProviderKind)]
    pub kind: String,
    #[schema(max_length = 64)]
    pub display_name: String,
    /// oidc only: endpoints and keys come from its discovery document.
    #[serde(default)]
    #[schema(format = "uri")]
    pub issuer: Option<String>,
    /// oauth2 only.
    #[serde(default)]
    #[schema(format = "uri")]
    pub authorization_endpoint: Option<String>,
    /// oauth2 only.
    #[serde(default)]
    #[schema(format = "uri")]
    pub token_endpoint: Option<String>,
    /// oauth2 only.
    #[serde(default)]
    #[schema(format = "uri")]
    pub userinfo_endpoint: Option<String>,
    pub client_id: String,
    /// Required on create; stored encrypted, never returned.
    #[serde(default)]
    #[schema(write_only)]
    pub client_secret: Option<String>,
    /// `client_secret_basic` (default) or `client_secret_post`.
    #[serde(default)]
    #[schema(schema_with = auth_methods_schema, default = "client_secret_basic")]
    pub token_auth_method: Option<String>,
    /// Space-separated; default "openid email profile" for oidc.
    #[serde(default)]
    pub scopes: Option<String>,
    /// Default sub (oidc) or id (oauth2).
    #[serde(default)]
    pub subject_claim: Option<String>,
    #[serde(default)]
    #[schema(default = "email")]
    pub email_claim: Option<String>,
    #[serde(default)]
    #[schema(default = "name")]
    pub name_claim: Option<String>,
    /// Treat an email without email_verified as verified.
    #[serde(default)]
    #[schema(default = false)]
    pub trust_email: bool,
    /// Admit only verified emails of these domains; empty admits all.
    #[serde(default)]
    pub allowed_domains: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Option<OnFirstLogin>, default = "create")]
    pub on_first_login: Option<String>,
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// The OpenAPI schema of `token_auth_method`: one of [`AUTH_METHODS`].
fn auth_methods_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(AUTH_METHODS.map(AuthMethod::as_str)))
        .build()
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = UpstreamProvider)]
pub struct ProviderView {
    pub id: String,
    pub kind: ProviderKind,
    pub display_name: String,
    /// oidc only: endpoints and keys come from its discovery document.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = "uri")]
    pub issuer: Option<String>,
    /// oauth2 only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = "uri")]
    pub authorization_endpoint: Option<String>,
    /// oauth2 only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = "uri")]
    pub token_endpoint: Option<String>,
    /// oauth2 only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = "uri")]
    pub userinfo_endpoint: Option<String>,
    pub client_id: String,
    #[schema(schema_with = auth_methods_schema)]
    pub token_auth_method: AuthMethod,
    /// Space-separated.
    pub scopes: String,
    /// The claim (oidc) or user API member (oauth2) that identifies the user.
    pub subject_claim: String,
    pub email_claim: String,
    pub name_claim: String,
    /// Treat an email without email_verified as verified.
    pub trust_email: bool,
    /// Admit only verified emails of these domains; empty admits all.
    pub allowed_domains: Vec<String>,
    pub on_first_login: OnFirstLogin,
    pub enabled: bool,
    /// Where the provider must send browsers back: register this at the provider.
    #[schema(format = "uri")]
    pub redirect_uri: String,
    /// Unix time, seconds.
    pub created_at: i64,
    /// Unix time, seconds.
    pub updated_at: i64,
}

impl ProviderView {
    pub fn new(p: Provider, issuer: &crate::settings::Issuer) -> ProviderView {
        ProviderView {
            redirect_uri: issuer.endpoint(&format!("/login/upstream/{}/callback", p.id)),
            id: p.id,
            kind: p.kind,
            display_name: p.display_name,
            issuer: p.issuer,
            authorization_endpoint: p.authorization_endpoint,
            token_endpoint: p.token_endpoint,
            userinfo_endpoint: p.userinfo_endpoint,
            client_id: p.client_id,
            token_auth_method: p.token_auth_method,
            scopes: p.scopes,
            subject_claim: p.subject_claim,
            email_claim: p.email_claim,
            name_claim: p.name_claim,
            trust_email: p.trust_email,
            allowed_domains: p
                .allowed_domains
                .split_ascii_whitespace()
                .map(str::to_owned)
                .collect(),
            on_first_login: p.on_first_login,
            enabled: p.enabled,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

fn endpoint(field: &'static str, value: Option<&str>) -> Result<String, AdminError> {
    let value = value.ok_or_else(|| AdminError::invalid(field, "is required for this kind"))?;
    let parsed = url::Url::parse(value)
        .map_err(|e| AdminError::invalid(field, format!("not a URL ({e})")))?;
    let loopback = crate::net::is_loopback_host(&parsed);
    if parsed.scheme() != "https" && !(parsed.scheme() == "http" && loopback) {
        return Err(AdminError::invalid(field, "must be an https URL"));
    }
    if parsed.fragment().is_some() || !parsed.username().is_empty() || value.len() > 2048 {
        return Err(AdminError::invalid(
            field,
            "must have no fragment or credentials and be at most 2048 bytes",
        ));
    }
    Ok(value.to_owned())
}

/// `value` parsed as one of `allowed`, or a 422 listing them.
fn one_of<T>(field: &'static str, value: String, allowed: &[T]) -> Result<T, AdminError>
where
    T: std::str::FromStr + PartialEq + Copy + std::fmt::Display,
{
    match value.parse::<T>() {
        Ok(v) if allowed.contains(&v) => Ok(v),
        _ => {
            let names: Vec<String> = allowed.iter().map(T::to_string).collect();
            Err(AdminError::invalid(
                field,
                format!("must be one of {}", names.join(", ")),
            ))
        }
    }
}

fn short(field: &'static str, value: String, max: usize) -> Result<String, AdminError> {
    if value.is_empty() || value.len() > max || value.chars().any(char::is_control) {
        return Err(AdminError::invalid(
            field,
            format!("1 to {max} bytes, no control characters"),
        ));
    }
    Ok(value)
}

/// Validates an input into a row; `existing` supplies the secret and creation time.
fn to_row(
    input: ProviderInput,
    keys: &MasterKey,
    existing: Option<&Provider>,
    now: i64,
) -> Result<Provider, AdminError> {
    let id_ok = (1..=32).contains(&input.id.len())
        && input
            .id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !id_ok {
        return Err(AdminError::invalid(
            "id",
            "1 to 32 characters: lowercase letters, digits and '-'",
        ));
    }
    let kind = one_of("kind", input.kind, &KINDS)?;
    let oidc = kind == ProviderKind::Oidc;
    let (issuer, authorization, token, userinfo) = if oidc {
        let issuer = endpoint("issuer", input.issuer.as_deref())?;
        if input.authorization_endpoint.is_some()
            || input.token_endpoint.is_some()
            || input.userinfo_endpoint.is_some()
        {
            return Err(AdminError::invalid(
                "issuer",
                "an OpenID Connect provider's endpoints come from its discovery document; give only the issuer",
            ));
        }
        (Some(issuer), None, None, None)
    } else {
        if input.issuer.is_some() {
            return Err(AdminError::invalid(
                "issuer",
                "only OpenID Connect providers have an issuer",
            ));
        }
        (
            None,
            Some(endpoint(
                "authorization_endpoint",
                input.authorization_endpoint.as_deref(),
            )?),
            Some(endpoint("token_endpoint", input.token_endpoint.as_deref())?),
            Some(endpoint(
                "userinfo_endpoint",
                input.userinfo_endpoint.as_deref(),
            )?),
        )
    };
    let client_secret_sealed = match (input.client_secret, existing) {
        (Some(secret), _) => {
            let secret = short("client_secret", secret, 1024)?;
            keys.seal(&secret_kid(&input.id), secret.as_bytes())?
        }
        (None, Some(e)) => e.client_secret_sealed.clone(),
        (None, None) => return Err(AdminError::invalid("client_secret", "is required")),
    };
    let scopes = input
        .scopes
        .unwrap_or_else(|| if oidc { "openid email profile" } else { "" }.to_owned());
    if oidc && !scopes.split_ascii_whitespace().any(|s| s == "openid") {
        return Err(AdminError::invalid(
            "scopes",
            "an OpenID Connect provider needs the openid scope",
        ));
    }
    if scopes.len() > 1024
        || scopes
            .chars()
            .any(|c| c.is_control() || c == '"' || c == '\\')
    {
        return Err(AdminError::invalid("scopes", "not a valid scope list"));
    }
    let mut domains = Vec::new();
    for d in input.allowed_domains {
        let d = d.trim().to_ascii_lowercase();
        if d == crate::upstream::accounts::ANY_DOMAIN {
            domains.push(d);
            continue;
        }
        let ok = !d.is_empty()
            && d.len() <= 253
            && d.contains('.')
            && d.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if !ok {
            return Err(AdminError::invalid(
                "allowed_domains",
                format!("{d:?} is not a domain"),
            ));
        }
        domains.push(d);
    }
    if domains.len() > 1
        && domains
            .iter()
            .any(|d| d == crate::upstream::accounts::ANY_DOMAIN)
    {
        return Err(AdminError::invalid(
            "allowed_domains",
            "\"*\" (every domain) stands alone",
        ));
    }
    let on_first_login = one_of(
        "on_first_login",
        input
            .on_first_login
            .unwrap_or_else(|| OnFirstLogin::Create.as_str().into()),
        &FIRST_LOGIN_RULES,
    )?;
    if on_first_login != OnFirstLogin::Create && domains.is_empty() {
        return Err(AdminError::invalid(
            "allowed_domains",
            "link-by-email and existing-only link accounts by the provider's email addresses: \
             list the domains it owns (or \"*\" if it vouches for every domain)",
        ));
    }
    let claim = |field, v: Option<String>, default: &str| {
        short(field, v.unwrap_or_else(|| default.to_owned()), 64)
    };
    Ok(Provider {
        subject_claim: claim(
            "subject_claim",
            input.subject_claim,
            if oidc { "sub" } else { "id" },
        )?,
        email_claim: claim("email_claim", input.email_claim, "email")?,
        name_claim: claim("name_claim", input.name_claim, "name")?,
        display_name: short("display_name", input.display_name, 64)?,
        client_id: short("client_id", input.client_id, 512)?,
        token_auth_method: one_of(
            "token_auth_method",
            input
                .token_auth_method
                .unwrap_or_else(|| AuthMethod::ClientSecretBasic.as_str().into()),
            &AUTH_METHODS,
        )?,
        on_first_login,
        id: input.id,
        kind,
        issuer,
        authorization_endpoint: authorization,
        token_endpoint: token,
        userinfo_endpoint: userinfo,
        client_secret_sealed,
        scopes,
        trust_email: input.trust_email,
        allowed_domains: domains.join(" "),
        enabled: input.enabled,
        created_at: existing.map_or(now, |e| e.created_at),
        updated_at: now,
    })
}

/// What the audit log shows of a provider: its settings, never its sealed secret.
fn audited(p: &Provider) -> Value {
    json!({
        "kind": p.kind,
        "display_name": p.display_name,
        "issuer": p.issuer,
        "authorization_endpoint": p.authorization_endpoint,
        "token_endpoint": p.token_endpoint,
        "userinfo_endpoint": p.userinfo_endpoint,
        "client_id": p.client_id,
        "token_auth_method": p.token_auth_method,
        "scopes": p.scopes,
        "subject_claim": p.subject_claim,
        "email_claim": p.email_claim,
        "name_claim": p.name_claim,
        "trust_email": p.trust_email,
        "allowed_domains": p.allowed_domains,
        "on_first_login": p.on_first_login,
        "enabled": p.enabled,
    })
}

fn provider_event(
    kind: AuditKind,
    actor: &Actor,
    now: i64,
    before: Option<&Provider>,
    after: Option<&Provider>,
    id: &str,
) -> AuditEvent {
    let mut event = change_event(kind, actor, now, before.map(audited), after.map(audited))
        .detail("provider", id);
    // A new secret is a change the event names, without the secret.
    if let (Some(b), Some(a)) = (before, after)
        && b.client_secret_sealed != a.client_secret_sealed
    {
        event = event.detail("client_secret", "changed");
    }
    event
}

pub async fn create(
    store: &Store,
    keys: &MasterKey,
    input: ProviderInput,
    now: i64,
    actor: &Actor,
) -> Result<Provider, AdminError> {
    let row = to_row(input, keys, None, now)?;
    let event = provider_event(
        AuditKind::ProviderCreated,
        actor,
        now,
        None,
        Some(&row),
        &row.id,
    );
    if !store.save_upstream_provider(&row, false, &event).await? {
        return Err(AdminError::Conflict(format!(
            "provider {} already exists",
            row.id
        )));
    }
    Ok(row)
}

/// Replaces a provider's configuration (the id in the path wins).
pub async fn replace(
    store: &Store,
    keys: &MasterKey,
    id: &str,
    mut input: ProviderInput,
    now: i64,
    actor: &Actor,
) -> Result<Provider, AdminError> {
    let existing = get(store, id).await?;
    input.id = existing.id.clone();
    let row = to_row(input, keys, Some(&existing), now)?;
    if row.issuer != existing.issuer {
        // A subject is unique only within one issuer: the linked identities would come to
        // mean someone else's accounts at the new one.
        return Err(AdminError::Conflict(format!(
            "provider {id}'s issuer cannot change; add a new provider for the new issuer"
        )));
    }
    let event = provider_event(
        AuditKind::ProviderUpdated,
        actor,
        now,
        Some(&existing),
        Some(&row),
        id,
    );
    store.save_upstream_provider(&row, true, &event).await?;
    Ok(row)
}

pub async fn set_enabled(
    store: &Store,
    id: &str,
    enabled: bool,
    now: i64,
    actor: &Actor,
) -> Result<Provider, AdminError> {
    let mut row = get(store, id).await?;
    let before = row.clone();
    row.enabled = enabled;
    row.updated_at = now;
    let kind = AuditKind::ProviderUpdated;
    let event = provider_event(kind, actor, now, Some(&before), Some(&row), id);
    store.save_upstream_provider(&row, true, &event).await?;
    Ok(row)
}

pub async fn get(store: &Store, id: &str) -> Result<Provider, AdminError> {
    store
        .upstream_provider(id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no provider {id}")))
}

pub async fn list(store: &Store) -> Result<Vec<Provider>, AdminError> {
    Ok(store.upstream_providers(false).await?)
}

/// Deletes a provider and every identity linked through it (the users stay).
pub async fn delete(store: &Store, id: &str, now: i64, actor: &Actor) -> Result<(), AdminError> {
    let before = get(store, id).await?;
    let kind = AuditKind::ProviderDeleted;
    let event =
        provider_event(kind, actor, now, Some(&before), None, id).detail("identities", "unlinked");
    if store.delete_upstream_provider(id, &event).await? {
        Ok(())
    } else {
        Err(AdminError::NotFound(format!("no provider {id}")))
    }
}

pub async fn identities(store: &Store, user: &str) -> Result<Vec<IdentityRow>, AdminError> {
    let user = crate::admin::users::get(store, user).await?;
    Ok(store.identities_of(&user.id).await?)
}

pub async fn unlink(
    store: &Store,
    user: &str,
    provider_id: &str,
    subject: &str,
    now: i64,
    actor: &Actor,
) -> Result<(), AdminError> {
    let user = crate::admin::users::get(store, user).await?;
    let event = AuditEvent::new(AuditKind::IdentityUnlinked, actor.clone(), now)
        .subject(&user.id)
        .details(json!({ "provider": provider_id, "identity": subject }));
    if store
        .unlink_identity(&user.id, provider_id, subject, &event)
        .await?
    {
        Ok(())
    } else {
        Err(AdminError::NotFound(format!(
            "user {} has no {provider_id} identity {subject:?}",
            user.username
        )))
    }
}
