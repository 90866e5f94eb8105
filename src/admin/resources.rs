//! MCP resources: each MCP server Warden issues tokens for, with its accepted and default
//! scopes, token lifetime, which clients may use it, and its RFC 9728 metadata document.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::admin::change_event;
use crate::admin::{AdminError, Page, PageQuery, check_text, conflict_on_duplicate, double_option};
use crate::domain::{Actor, AuditKind, LastCheck, Resource};
use crate::oauth::metadata::paths;
use crate::oauth::resource::canonicalize;
use crate::oauth::scope::{ADMIN_SCOPE, OFFLINE_ACCESS, ScopeSet, validate_token};
use crate::settings::Settings;
use crate::store::Store;

/// The path of the admin API's audience under the issuer.
pub const ADMIN_AUDIENCE_PATH: &str = "/admin";

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewResource {
    /// Canonical RFC 8707 resource URI: lowercase scheme and host, no default port, no lone
    /// trailing slash.
    #[schema(format = "uri")]
    pub uri: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Accepted scopes, from the catalogue.
    #[schema(min_items = 1)]
    pub scopes: Vec<String>,
    /// Subset of `scopes`; default: those catalogue scopes with `is_default`.
    pub default_scopes: Option<Vec<String>>,
    /// Seconds; null or absent: the default lifetime.
    #[schema(minimum = 1)]
    pub access_token_ttl: Option<i64>,
    /// Client IDs; absent: any client may use the resource.
    pub allowed_clients: Option<Vec<String>>,
    #[schema(default = true)]
    pub enabled: Option<bool>,
    /// Tokens for it only with a DPoP proof (RFC 9449): a token request without one gets
    /// `invalid_dpop_proof`, and its protected resource metadata says
    /// `dpop_bound_access_tokens_required: true`.
    #[serde(default)]
    #[schema(default = false)]
    pub require_dpop: bool,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceChanges {
    /// Canonical RFC 8707 resource URI: lowercase scheme and host, no default port, no lone
    /// trailing slash.
    #[schema(format = "uri")]
    pub uri: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    #[schema(min_items = 1)]
    pub scopes: Option<Vec<String>>,
    pub default_scopes: Option<Vec<String>>,
    /// Seconds; null: the default lifetime.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(minimum = 1)]
    pub access_token_ttl: Option<Option<i64>>,
    /// Client IDs; null: any client.
    #[serde(default, deserialize_with = "double_option")]
    pub allowed_clients: Option<Option<Vec<String>>>,
    pub enabled: Option<bool>,
    /// Tokens for it only with a DPoP proof (RFC 9449): a token request without one gets
    /// `invalid_dpop_proof`, and its protected resource metadata says
    /// `dpop_bound_access_tokens_required: true`.
    pub require_dpop: Option<bool>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Resource)]
pub struct ResourceView {
    #[schema(format = "uuid")]
    pub id: String,
    /// Canonical RFC 8707 resource URI: lowercase scheme and host, no default port, no lone
    /// trailing slash.
    #[schema(format = "uri")]
    pub uri: String,
    pub name: String,
    pub description: String,
    /// Scopes the resource accepts.
    pub scopes: Vec<String>,
    /// Scopes granted when none are requested.
    pub default_scopes: Vec<String>,
    /// Effective access token lifetime, seconds.
    pub access_token_ttl: i64,
    /// Whether any client may obtain tokens for it.
    pub any_client: bool,
    /// Client IDs allowed; present only when `any_client` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_clients: Option<Vec<String>>,
    pub enabled: bool,
    /// True for the built-in admin resource.
    pub builtin: bool,
    /// Tokens for it only with a DPoP proof (RFC 9449): a token request without one gets
    /// `invalid_dpop_proof`, and its protected resource metadata says
    /// `dpop_bound_access_tokens_required: true`.
    pub require_dpop: bool,
    /// URL of the hosted RFC 9728 protected resource metadata document; put it in
    /// `WWW-Authenticate: Bearer resource_metadata="..."`.
    #[schema(format = "uri")]
    pub resource_metadata: String,
    /// Unix time, seconds.
    pub created_at: i64,
    /// Unix time, seconds.
    pub updated_at: i64,
    /// The last `resource check`; absent when none ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_check: Option<LastCheck>,
}

impl ResourceView {
    pub fn new(row: Resource, settings: &Settings) -> ResourceView {
        ResourceView {
            resource_metadata: settings.issuer.endpoint(&format!(
                "{}/{}",
                paths::RESOURCE_METADATA,
                row.id
            )),
            access_token_ttl: row.access_token_ttl.unwrap_or(settings.access_token_ttl),
            scopes: row.scopes.iter().map(str::to_owned).collect(),
            default_scopes: row.default_scopes.iter().map(str::to_owned).collect(),
            any_client: row.allowed_clients.is_none(),
            allowed_clients: row.allowed_clients,
            id: row.id,
            uri: row.uri,
            name: row.name,
            description: row.description,
            enabled: row.enabled,
            builtin: row.builtin,
            require_dpop: row.require_dpop,
            created_at: row.created_at,
            updated_at: row.updated_at,
            last_check: row.last_check,
        }
    }
}

pub async fn create(
    store: &Store,
    settings: &Settings,
    input: NewResource,
    now: i64,
    actor: &Actor,
) -> Result<Resource, AdminError> {
    let mut row = Resource {
        id: uuid::Uuid::now_v7().to_string(),
        uri: String::new(),
        name: String::new(),
        description: String::new(),
        scopes: ScopeSet::default(),
        default_scopes: ScopeSet::default(),
        access_token_ttl: None,
        allowed_clients: None,
        enabled: input.enabled.unwrap_or(true),
        builtin: false,
        require_dpop: input.require_dpop,
        created_at: now,
        last_check: None,
        updated_at: now,
    };
    let changes = ResourceChanges {
        uri: Some(input.uri),
        name: Some(input.name),
        description: Some(input.description),
        scopes: Some(input.scopes),
        default_scopes: input.default_scopes,
        access_token_ttl: Some(input.access_token_ttl),
        allowed_clients: Some(input.allowed_clients),
        enabled: None,
        require_dpop: None,
    };
    apply(store, settings, &mut row, changes).await?;
    let event = change_event(
        AuditKind::ResourceCreated,
        actor,
        now,
        Value::Null,
        ResourceView::new(row.clone(), settings),
    )
    .resource(&row.uri);
    store.insert_resource(&row, &event).await.map_err(|e| {
        conflict_on_duplicate(e, format!("a resource with URI {} already exists", row.uri))
    })?;
    Ok(row)
}

pub async fn get(store: &Store, id: &str) -> Result<Resource, AdminError> {
    store
        .resource_by_id(id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no resource {id}")))
}

pub async fn list(store: &Store, query: &PageQuery) -> Result<Page<Resource>, AdminError> {
    let limit = query.limit()?;
    let items = store
        .resources_page(query.after.as_deref().unwrap_or(""), limit)
        .await?;
    Ok(Page::of(items, limit, |r| r.id.clone()))
}

pub async fn update(
    store: &Store,
    settings: &Settings,
    id: &str,
    changes: ResourceChanges,
    now: i64,
    actor: &Actor,
) -> Result<Resource, AdminError> {
    let mut row = get(store, id).await?;
    if row.builtin {
        return Err(AdminError::Conflict(
            "the built-in admin resource cannot be changed".into(),
        ));
    }
    let before = ResourceView::new(row.clone(), settings);
    apply(store, settings, &mut row, changes).await?;
    row.updated_at = now;
    let mut after = ResourceView::new(row.clone(), settings);
    // The change itself is what the event records, not the time it was made at.
    after.updated_at = before.updated_at;
    let event =
        change_event(AuditKind::ResourceUpdated, actor, now, before, after).resource(&row.uri);
    store
        .update_resource(&row, crate::oauth::policy::narrow_stored, &event)
        .await
        .map_err(|e| {
            conflict_on_duplicate(e, format!("a resource with URI {} already exists", row.uri))
        })?;
    Ok(row)
}

/// Refuses while clients name the resource: a later resource with the same URI must not
/// inherit their access. Disable it instead, or edit those clients first. Its grants are
/// revoked, for the same reason.
pub async fn delete(
    store: &Store,
    settings: &Settings,
    id: &str,
    now: i64,
    actor: &Actor,
) -> Result<(), AdminError> {
    let row = get(store, id).await?;
    if row.builtin {
        return Err(AdminError::Conflict(
            "the built-in admin resource cannot be deleted".into(),
        ));
    }
    let mut users = Vec::new();
    let mut after = String::new();
    loop {
        let page = store.clients_page(&after, 500).await?;
        for c in &page {
            if c.lists_resource(&row.uri) || c.serves(&row.uri) {
                users.push(c.client_id.clone());
            }
        }
        match page.last() {
            Some(last) if page.len() == 500 => after = last.client_id.clone(),
            _ => break,
        }
    }
    if !users.is_empty() {
        return Err(AdminError::Conflict(format!(
            "clients {} still name this resource; edit them or disable the resource",
            users.join(", ")
        )));
    }
    let uri = row.uri.clone();
    let event = change_event(
        AuditKind::ResourceDeleted,
        actor,
        now,
        ResourceView::new(row, settings),
        Value::Null,
    )
    .resource(uri)
    .detail("grants", "revoked");
    store.delete_resource(id, now, &event).await?;
    Ok(())
}

/// Validates `changes` and writes them into `row`.
async fn apply(
    store: &Store,
    settings: &Settings,
    row: &mut Resource,
    changes: ResourceChanges,
) -> Result<(), AdminError> {
    if let Some(uri) = changes.uri {
        let canonical = canonicalize(&uri).map_err(|m| AdminError::invalid("uri", m))?;
        if canonical == settings.issuer.endpoint(ADMIN_AUDIENCE_PATH) {
            return Err(AdminError::invalid(
                "uri",
                "this URI is reserved for Warden's admin API",
            ));
        }
        row.uri = canonical;
    }
    if let Some(name) = changes.name {
        check_text("name", &name, 200, true)?;
        row.name = name;
    }
    if let Some(description) = changes.description {
        check_text("description", &description, 2000, false)?;
        row.description = description;
    }
    let scopes_changed = changes.scopes.is_some();
    if let Some(scopes) = changes.scopes {
        if scopes.is_empty() {
            return Err(AdminError::invalid(
                "scopes",
                "a resource must accept at least one scope",
            ));
        }
        if scopes.iter().any(|s| s == OFFLINE_ACCESS) {
            // SEP-2207: a resource never asks for it (its metadata and challenges would
            // then make every client request a refresh token).
            return Err(AdminError::invalid(
                "scopes",
                "offline_access asks the authorization server for a refresh token; it is not a scope a resource accepts",
            ));
        }
        let set = catalogue_scopes(store, "scopes", &scopes).await?;
        row.scopes = set;
    }
    let accepted = row.scopes.clone();
    match changes.default_scopes {
        Some(defaults) => {
            let set = catalogue_scopes(store, "default_scopes", &defaults).await?;
            if !set.is_subset(&accepted) {
                return Err(AdminError::invalid(
                    "default_scopes",
                    "must be a subset of scopes",
                ));
            }
            row.default_scopes = set;
        }
        None if scopes_changed => {
            // The catalogue says which scopes a resource grants by default.
            let mut defaults = Vec::new();
            for name in accepted.iter() {
                if store.scope(name).await?.is_some_and(|s| s.is_default) {
                    defaults.push(name.to_owned());
                }
            }
            row.default_scopes = defaults.into_iter().collect();
        }
        None => row.default_scopes = row.default_scopes.intersection(&accepted),
    }
    if let Some(ttl) = changes.access_token_ttl {
        if let Some(seconds) = ttl
            && !(10..=settings.access_token_max_ttl).contains(&seconds)
        {
            return Err(AdminError::invalid(
                "access_token_ttl",
                format!(
                    "must be between 10 and {} seconds",
                    settings.access_token_max_ttl
                ),
            ));
        }
        row.access_token_ttl = ttl;
    }
    if let Some(allowed) = changes.allowed_clients {
        row.allowed_clients = match allowed {
            None => None,
            Some(ids) => {
                for id in &ids {
                    if store.client(id).await?.is_none() {
                        return Err(AdminError::invalid(
                            "allowed_clients",
                            format!("no client {id}"),
                        ));
                    }
                }
                Some(ids)
            }
        };
    }
    if let Some(enabled) = changes.enabled {
        row.enabled = enabled;
    }
    if let Some(require) = changes.require_dpop {
        row.require_dpop = require;
    }
    Ok(())
}

/// Every name must be a valid scope token present in the catalogue.
pub(crate) async fn catalogue_scopes(
    store: &Store,
    field: &'static str,
    names: &[String],
) -> Result<ScopeSet, AdminError> {
    for name in names {
        validate_token(name).map_err(|m| AdminError::invalid(field, m))?;
        if store.scope(name).await?.is_none() {
            return Err(AdminError::invalid(
                field,
                format!("{name} is not in the scope catalogue"),
            ));
        }
    }
    Ok(names.iter().cloned().collect())
}

/// Makes sure the admin API exists as a resource (`{issuer}/admin`, scope `warden:admin`),
/// open only to clients that list it explicitly.
pub async fn ensure_builtin(
    store: &Store,
    settings: &Settings,
    now: i64,
) -> Result<(), sqlx::Error> {
    store
        .upsert_builtin_resource(&Resource {
            id: uuid::Uuid::now_v7().to_string(),
            uri: settings.issuer.endpoint(ADMIN_AUDIENCE_PATH),
            name: "Warden admin API".into(),
            description: "Manage Warden's resources, scopes and clients".into(),
            scopes: ScopeSet::from_stored(ADMIN_SCOPE),
            default_scopes: ScopeSet::from_stored(ADMIN_SCOPE),
            access_token_ttl: None,
            allowed_clients: None,
            enabled: true,
            builtin: true,
            // Admin clients of today send bearer tokens; an operator who wants DPoP on the
            // admin API has no switch for it yet.
            require_dpop: false,
            created_at: now,
            last_check: None,
            updated_at: now,
        })
        .await
}
