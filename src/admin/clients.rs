//! Admin-registered clients. Ids and secrets are generated from URL-safe characters; the
//! secret is returned once and stored as a keyed hash.

use serde::{Deserialize, Serialize};

use crate::admin::resources::catalogue_scopes;
use crate::admin::{AdminError, Page, PageQuery, check_text, conflict_on_duplicate, double_option};
use crate::crypto::master_key::MasterKey;
use crate::crypto::random;
use crate::oauth::policy::uri_list;
use crate::oauth::resource::canonicalize;
use crate::oauth::scope::ScopeSet;
use crate::oauth::token::GrantType;
use crate::store::Store;
use crate::store::clients::ClientRow;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    pub name: String,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    /// Resources the client may get tokens for; empty: any resource open to any client.
    #[serde(default)]
    pub resources: Vec<String>,
    /// Scopes the client may request; absent: whatever each resource accepts.
    pub scopes: Option<Vec<String>>,
    /// Resources this client is the server of (it may introspect their tokens).
    #[serde(default)]
    pub served_resources: Vec<String>,
    /// `client_secret_basic` (default), `client_secret_post`, or `none` for a public client.
    pub token_endpoint_auth_method: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientChanges {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    pub resources: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub scopes: Option<Option<Vec<String>>>,
    pub served_resources: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct ClientView {
    pub client_id: String,
    /// Only in the answer to a create: it is never shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub name: String,
    pub token_endpoint_auth_method: String,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub resources: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    pub served_resources: Vec<String>,
    pub enabled: bool,
    /// How the client came to be: `admin`, `dynamic` or `metadata_document`.
    pub registration: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<ClientRow> for ClientView {
    fn from(row: ClientRow) -> ClientView {
        ClientView {
            client_secret: None,
            redirect_uris: uri_list(&row.redirect_uris),
            grant_types: row
                .grant_types
                .split(' ')
                .filter(|g| !g.is_empty())
                .map(str::to_owned)
                .collect(),
            resources: uri_list(&row.resources),
            scopes: row
                .scopes
                .as_deref()
                .map(|s| ScopeSet::from_stored(s).iter().map(str::to_owned).collect()),
            served_resources: uri_list(&row.served_resources),
            client_id: row.client_id,
            name: row.name,
            token_endpoint_auth_method: row.token_endpoint_auth_method,
            enabled: row.enabled,
            registration: row.registration,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Creates the client; the view carries the secret, the only time it exists in clear.
pub async fn create(
    store: &Store,
    master: &MasterKey,
    input: NewClient,
    now: i64,
) -> Result<ClientView, AdminError> {
    let method = input
        .token_endpoint_auth_method
        .unwrap_or_else(|| "client_secret_basic".to_owned());
    if !matches!(
        method.as_str(),
        "client_secret_basic" | "client_secret_post" | "none"
    ) {
        return Err(AdminError::invalid(
            "token_endpoint_auth_method",
            "must be client_secret_basic, client_secret_post or none",
        ));
    }
    let secret = (method != "none").then(random::token);
    let mut row = ClientRow {
        // 128 random bits, URL-safe, and never shaped like an https URL (those name
        // metadata documents).
        client_id: random::token()[..22].to_owned(),
        secret_hash: secret.as_deref().map(|s| master.keyed_hash(s)),
        name: String::new(),
        token_endpoint_auth_method: method,
        redirect_uris: "[]".into(),
        grant_types: String::new(),
        resources: "[]".into(),
        scopes: None,
        served_resources: "[]".into(),
        enabled: true,
        registration: "admin".into(),
        jwks: None,
        jwks_uri: None,
        registration_token_hash: None,
        metadata: None,
        created_at: now,
        updated_at: now,
    };
    let changes = ClientChanges {
        name: Some(input.name),
        redirect_uris: Some(input.redirect_uris),
        grant_types: Some(input.grant_types),
        resources: Some(input.resources),
        scopes: Some(input.scopes),
        served_resources: Some(input.served_resources),
        enabled: None,
    };
    apply(store, &mut row, changes).await?;
    store
        .insert_client(&row)
        .await
        .map_err(|e| conflict_on_duplicate(e, "client id collision; try again".into()))?;
    let mut view = ClientView::from(row);
    view.client_secret = secret;
    Ok(view)
}

pub async fn get(store: &Store, client_id: &str) -> Result<ClientRow, AdminError> {
    store
        .client(client_id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no client {client_id}")))
}

/// The query of a client listing: a page, optionally only the clients that came to be one
/// way (`?registration=dynamic` lists self-registered clients).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientQuery {
    pub limit: Option<i64>,
    pub after: Option<String>,
    pub registration: Option<String>,
}

pub async fn list(store: &Store, query: &ClientQuery) -> Result<Page<ClientRow>, AdminError> {
    let limit = PageQuery {
        limit: query.limit,
        after: None,
    }
    .limit()?;
    let after = query.after.as_deref().unwrap_or("");
    let items = match query.registration.as_deref() {
        None => store.clients_page(after, limit).await?,
        Some(r @ ("admin" | "dynamic" | "metadata_document")) => {
            store.clients_page_by_registration(r, after, limit).await?
        }
        Some(_) => {
            return Err(AdminError::invalid(
                "registration",
                "must be admin, dynamic or metadata_document",
            ));
        }
    };
    let next = (items.len() as i64 == limit)
        .then(|| items.last().map(|c| c.client_id.clone()))
        .flatten();
    Ok(Page { items, next })
}

pub async fn update(
    store: &Store,
    client_id: &str,
    changes: ClientChanges,
    now: i64,
) -> Result<ClientRow, AdminError> {
    let mut row = get(store, client_id).await?;
    apply(store, &mut row, changes).await?;
    row.updated_at = now;
    store
        .update_client(&row, crate::oauth::policy::narrow_stored)
        .await?;
    Ok(row)
}

/// Deletes the client and, through its grants, every token it holds.
pub async fn delete(store: &Store, client_id: &str, now: i64) -> Result<(), AdminError> {
    if !store.delete_client(client_id, now).await? {
        return Err(AdminError::NotFound(format!("no client {client_id}")));
    }
    Ok(())
}

async fn apply(
    store: &Store,
    row: &mut ClientRow,
    changes: ClientChanges,
) -> Result<(), AdminError> {
    if let Some(name) = changes.name {
        check_text("name", &name, 200, true)?;
        row.name = name;
    }
    if let Some(uris) = changes.redirect_uris {
        for uri in &uris {
            check_redirect_uri(uri).map_err(|m| AdminError::invalid("redirect_uris", m))?;
        }
        row.redirect_uris = to_json(&uris)?;
    }
    if let Some(grants) = changes.grant_types {
        if grants.is_empty() {
            return Err(AdminError::invalid(
                "grant_types",
                "name at least one grant type",
            ));
        }
        for g in &grants {
            if GrantType::parse(g).is_none() {
                let known: Vec<_> = GrantType::ALL.iter().map(|g| g.as_str()).collect();
                return Err(AdminError::invalid(
                    "grant_types",
                    format!("{g:?} is not supported (supported: {})", known.join(", ")),
                ));
            }
        }
        let mut grants = grants;
        grants.sort();
        grants.dedup();
        row.grant_types = grants.join(" ");
    }
    let needs_secret = [
        "client_credentials",
        crate::oauth::token::token_exchange::GRANT_TYPE,
    ];
    if row.secret_hash.is_none()
        && row
            .grant_types
            .split(' ')
            .any(|g| needs_secret.contains(&g))
    {
        return Err(AdminError::invalid(
            "grant_types",
            "client_credentials and token exchange need a confidential client (a public client has no secret)",
        ));
    }
    if row
        .grant_types
        .split(' ')
        .any(|g| g == "authorization_code")
        && row.redirect_uris == "[]"
    {
        return Err(AdminError::invalid(
            "redirect_uris",
            "the authorization_code grant needs at least one redirect URI",
        ));
    }
    if let Some(resources) = changes.resources {
        row.resources = to_json(&registered_resources(store, "resources", &resources).await?)?;
    }
    if let Some(scopes) = changes.scopes {
        row.scopes = match scopes {
            None => None,
            Some(names) => Some(
                catalogue_scopes(store, "scopes", &names)
                    .await?
                    .to_scope_string(),
            ),
        };
    }
    if let Some(served) = changes.served_resources {
        row.served_resources =
            to_json(&registered_resources(store, "served_resources", &served).await?)?;
    }
    // Serving a resource means introspecting its tokens, which needs a credential.
    if row.secret_hash.is_none() && row.served_resources != "[]" {
        return Err(AdminError::invalid(
            "served_resources",
            "a resource server must be a confidential client (it authenticates to introspect)",
        ));
    }
    if let Some(enabled) = changes.enabled {
        row.enabled = enabled;
    }
    Ok(())
}

/// Canonical URIs of registered resources, or a 422 naming the first that is not.
async fn registered_resources(
    store: &Store,
    field: &'static str,
    uris: &[String],
) -> Result<Vec<String>, AdminError> {
    let mut canonical = Vec::with_capacity(uris.len());
    for uri in uris {
        let c = canonicalize(uri).map_err(|m| AdminError::invalid(field, m))?;
        if store.resource_by_uri(&c).await?.is_none() {
            return Err(AdminError::invalid(
                field,
                format!("{c} is not a registered resource"),
            ));
        }
        if !canonical.contains(&c) {
            canonical.push(c);
        }
    }
    Ok(canonical)
}

/// Redirect URIs (OAuth 2.1 §2.3.1, RFC 8252 §7): absolute, no fragment; https, http on a
/// loopback host, or a private-use scheme for native apps; never script-bearing schemes.
pub fn check_redirect_uri(uri: &str) -> Result<(), String> {
    // Metadata documents bring these to the /authorize error page: an excerpt only.
    let quoted = crate::oauth::params::excerpt(uri);
    let parsed =
        url::Url::parse(uri).map_err(|e| format!("{quoted} is not an absolute URI ({e})"))?;
    if uri.contains('#') {
        return Err(format!("{quoted} must not contain a fragment"));
    }
    // `https://app.example@evil.example/cb` goes to evil.example: userinfo only misleads.
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!("{quoted} must not contain user information"));
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" => match parsed.host() {
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Ok(()),
            Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Ok(()),
            Some(url::Host::Domain("localhost")) => Ok(()),
            _ => Err(format!(
                "{quoted}: plain http is allowed only for loopback hosts"
            )),
        },
        "javascript" | "data" | "file" | "vbscript" | "about" | "blob" => {
            Err(format!("{quoted} uses a forbidden scheme"))
        }
        // RFC 8252 §7.1: private-use schemes are reverse domain names, so contain a dot.
        scheme if scheme.contains('.') => Ok(()),
        _ => Err(format!(
            "{quoted}: the scheme is not https, loopback http or a reverse-domain private-use scheme"
        )),
    }
}

fn to_json(list: &[String]) -> Result<String, AdminError> {
    serde_json::to_string(list).map_err(|e| AdminError::Internal(e.into()))
}
