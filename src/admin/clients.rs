//! Admin-registered clients. Ids and secrets are generated from URL-safe characters; the
//! secret is returned once and stored as a keyed hash.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::admin::resources::catalogue_scopes;
use crate::admin::{
    AdminError, Page, PageQuery, change_event, conflict_on_duplicate, double_option,
};
use crate::crypto::master_key::MasterKey;
use crate::crypto::random;
use crate::domain::{
    Actor, AuditEvent, AuditKind, AuthMethod, Client, GrantType, Registration, ResourceUri,
};
use crate::oauth::client_metadata::{self, ClientMetadata, MetadataError, Origin};
use crate::oauth::resource::canonicalize;
use crate::store::Store;
use crate::store::clients::ClientFilter;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    pub name: String,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[schema(value_type = Vec<GrantType>)]
    pub grant_types: Vec<String>,
    /// Resources the client may get tokens for; empty: any resource open to any client.
    #[serde(default)]
    pub resources: Vec<String>,
    /// Scopes the client may request; absent: whatever each resource accepts.
    pub scopes: Option<Vec<String>>,
    /// Resources this client is the server of (it may introspect their tokens).
    #[serde(default)]
    pub served_resources: Vec<String>,
    /// `client_secret_basic` (default), `client_secret_post`, `none` for a public client
    /// without a secret, or `private_key_jwt` with exactly one of `jwks` and `jwks_uri`.
    #[schema(value_type = Option<AuthMethod>, default = "client_secret_basic")]
    pub token_endpoint_auth_method: Option<String>,
    /// The client's public keys (a JWK Set with a `keys` array), for `private_key_jwt`.
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<Value>,
    /// An https URL where a `private_key_jwt` client publishes its public keys; lets the
    /// client rotate them without an admin.
    pub jwks_uri: Option<String>,
    /// RFC 9449 §5.2 `dpop_bound_access_tokens`: the client is refused a token without a
    /// DPoP proof (`invalid_dpop_proof`).
    #[serde(default)]
    #[schema(default = false)]
    pub dpop_bound_access_tokens: bool,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientChanges {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    #[schema(value_type = Option<Vec<GrantType>>)]
    pub grant_types: Option<Vec<String>>,
    pub resources: Option<Vec<String>>,
    /// null: unrestricted.
    #[serde(default, deserialize_with = "double_option")]
    pub scopes: Option<Option<Vec<String>>>,
    pub served_resources: Option<Vec<String>>,
    pub enabled: Option<bool>,
    /// RFC 9449 §5.2 `dpop_bound_access_tokens`: the client is refused a token without a
    /// DPoP proof (`invalid_dpop_proof`).
    pub dpop_bound_access_tokens: Option<bool>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Client)]
pub struct ClientView {
    /// URL-safe identifier.
    pub client_id: String,
    /// Only in the create and rotate-secret responses: it is never shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub name: String,
    pub token_endpoint_auth_method: AuthMethod,
    /// A `private_key_jwt` client's public keys, when registered as a JWK Set.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<Value>,
    /// Where a `private_key_jwt` client publishes its public keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    /// Resource URIs the client may get tokens for; empty: any resource open to any client.
    #[schema(value_type = Vec<String>)]
    pub resources: Vec<ResourceUri>,
    /// Scopes the client may get; absent: whatever each resource accepts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// Resource URIs this client serves; it may introspect their tokens. Confidential
    /// clients only (422 otherwise).
    #[schema(value_type = Vec<String>)]
    pub served_resources: Vec<ResourceUri>,
    pub enabled: bool,
    /// RFC 9449 §5.2 `dpop_bound_access_tokens`: the client is refused a token without a
    /// DPoP proof (`invalid_dpop_proof`).
    pub dpop_bound_access_tokens: bool,
    /// How the client came to be: registered by an admin, by RFC 7591 dynamic
    /// registration, or named by a client ID metadata document.
    pub registration: Registration,
    /// Unix time, seconds.
    pub created_at: i64,
    /// Unix time, seconds.
    pub updated_at: i64,
    /// In listings and `GET /clients/{client_id}`: the last time the client was seen using
    /// one of its grants, that is the latest grant creation or recorded use (a code or
    /// refresh token redeemed; recorded at most once a minute). A `client_credentials`
    /// grant is recorded when created, not at each token (the token path writes nothing),
    /// so for those clients this is the first token for each resource. Absent: the client
    /// never obtained a grant (`store::clients::last_used!`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<i64>,
}

impl ClientView {
    fn used(mut self, last_used_at: Option<i64>) -> ClientView {
        self.last_used_at = last_used_at;
        self
    }
}

impl From<Client> for ClientView {
    fn from(c: Client) -> ClientView {
        ClientView {
            client_secret: None,
            redirect_uris: c
                .redirect_uris
                .iter()
                .map(|u| u.as_str().to_owned())
                .collect(),
            grant_types: c.grant_types.iter().collect(),
            resources: c.resources,
            scopes: c.scopes.map(|s| s.iter().map(str::to_owned).collect()),
            served_resources: c.served_resources,
            client_id: c.client_id,
            name: c.name,
            token_endpoint_auth_method: c.token_endpoint_auth_method,
            // Stored as the JSON text validation accepted, so it parses.
            jwks: c.jwks.as_deref().and_then(|j| serde_json::from_str(j).ok()),
            jwks_uri: c.jwks_uri,
            enabled: c.enabled,
            dpop_bound_access_tokens: c.dpop_bound_access_tokens,
            registration: c.registration,
            created_at: c.created_at,
            updated_at: c.updated_at,
            last_used_at: None,
        }
    }
}

/// Creates the client; the view carries the secret, the only time it exists in clear.
pub async fn create(
    store: &Store,
    master: &MasterKey,
    input: NewClient,
    now: i64,
    actor: &Actor,
) -> Result<ClientView, AdminError> {
    let metadata = ClientMetadata {
        client_name: Some(input.name),
        redirect_uris: Some(input.redirect_uris),
        grant_types: Some(input.grant_types),
        token_endpoint_auth_method: input.token_endpoint_auth_method,
        jwks: input.jwks,
        jwks_uri: input.jwks_uri,
        dpop_bound_access_tokens: Some(input.dpop_bound_access_tokens),
        ..ClientMetadata::default()
    };
    let valid = client_metadata::validate(metadata, Origin::Admin).map_err(invalid)?;
    let secret = valid.auth_method.uses_secret().then(random::token);
    let secret_hash = secret.as_deref().map(|s| master.keyed_hash(s));
    // 128 random bits, URL-safe, and never shaped like an https URL (those name metadata
    // documents).
    let client_id = random::token()[..22].to_owned();
    let mut client = valid.client(client_id, Registration::Admin, secret_hash, now);
    let limits = ClientChanges {
        resources: Some(input.resources),
        scopes: Some(input.scopes),
        served_resources: Some(input.served_resources),
        ..ClientChanges::default()
    };
    apply(store, &mut client, limits).await?;
    // The view has no secret yet: it is added to the answer below, never to the event.
    let event = change_event(
        AuditKind::ClientCreated,
        actor,
        now,
        Value::Null,
        ClientView::from(client.clone()),
    )
    .client(&client.client_id);
    store
        .insert_client(&client, &event)
        .await
        .map_err(|e| conflict_on_duplicate(e, "client id collision; try again".into()))?;
    let mut view = ClientView::from(client);
    view.client_secret = secret;
    Ok(view)
}

/// A metadata refusal as the admin API reports it: under the admin API's field names.
fn invalid(e: MetadataError) -> AdminError {
    let field = match e.field {
        "client_name" => "name",
        "" => "body",
        other => other,
    };
    let message = match e.message.strip_prefix("client_name ") {
        Some("is required") => "must not be empty".to_owned(),
        _ => e.message,
    };
    AdminError::invalid(field, message)
}

pub async fn get(store: &Store, client_id: &str) -> Result<Client, AdminError> {
    store
        .client(client_id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no client {client_id}")))
}

/// The client with its last use, as `GET /clients/{client_id}` shows it.
pub async fn show(store: &Store, client_id: &str) -> Result<ClientView, AdminError> {
    let client = get(store, client_id).await?;
    let last_used_at = store.client_last_used(client_id).await?;
    Ok(ClientView::from(client).used(last_used_at))
}

/// The query of a client listing: a page, optionally only the clients that came to be one
/// way (`?registration=dynamic` lists self-registered clients), last used before or since a
/// time (epoch seconds), or that never obtained a grant (`?never_authorized=true`: the
/// abandoned registrations the clean-up will delete). A client's last use is defined once,
/// in `store::clients` (`last_used!`); a never-used client is not "used before" any time.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ClientQuery {
    /// Page size.
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<i64>,
    /// Cursor from a previous page's `next`.
    pub after: Option<String>,
    /// Only clients that came to be this way (dynamic: self-registered).
    #[param(value_type = Option<Registration>, inline)]
    pub registration: Option<String>,
    // Strings parsed below, so that a bad value is a 422 naming its field (the query
    // extractor's own errors name none).
    /// Only clients last used before this time (Unix seconds); never-used clients are not
    /// included (see `never_authorized`).
    #[param(value_type = Option<i64>, minimum = 0)]
    pub last_used_before: Option<String>,
    /// Only clients used at or after this time (Unix seconds).
    #[param(value_type = Option<i64>, minimum = 0)]
    pub used_since: Option<String>,
    /// `true`: only clients that never obtained a grant (no token, no completed
    /// authorization), such as abandoned dynamic registrations; `false`: only clients that
    /// did.
    #[param(value_type = Option<bool>)]
    pub never_authorized: Option<String>,
}

pub async fn list(store: &Store, query: &ClientQuery) -> Result<Page<ClientView>, AdminError> {
    let limit = PageQuery {
        limit: query.limit,
        after: None,
    }
    .limit()?;
    let after = query.after.as_deref().unwrap_or("");
    let registration = match query
        .registration
        .as_deref()
        .map(str::parse::<Registration>)
    {
        None => None,
        Some(Ok(r)) => Some(r),
        Some(Err(_)) => {
            return Err(AdminError::invalid(
                "registration",
                "must be admin, dynamic or metadata_document",
            ));
        }
    };
    let filter = ClientFilter {
        registration,
        last_used_before: epoch("last_used_before", query.last_used_before.as_deref())?,
        used_since: epoch("used_since", query.used_since.as_deref())?,
        never_authorized: match query.never_authorized.as_deref() {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => {
                return Err(AdminError::invalid(
                    "never_authorized",
                    "must be true or false",
                ));
            }
        },
    };
    let items = store
        .clients_page_filtered(&filter, after, limit)
        .await?
        .into_iter()
        .map(|(client, last_used_at)| ClientView::from(client).used(last_used_at))
        .collect();
    Ok(Page::of(items, limit, |c: &ClientView| c.client_id.clone()))
}

/// A time filter: epoch seconds, so a whole number, never negative.
fn epoch(field: &'static str, value: Option<&str>) -> Result<Option<i64>, AdminError> {
    value
        .map(|v| match v.parse::<i64>() {
            Ok(t) if t >= 0 => Ok(t),
            _ => Err(AdminError::invalid(
                field,
                "must be a time in epoch seconds (a whole number, not negative)",
            )),
        })
        .transpose()
}

/// Gives a confidential client a new secret, returned in the view this once; the old one
/// stops working at once (the write announces the client's change to every node's cache).
/// Tokens already issued stay valid: revoke the client's grants to end them too.
pub async fn rotate_secret(
    store: &Store,
    master: &MasterKey,
    client_id: &str,
    now: i64,
    actor: &Actor,
) -> Result<ClientView, AdminError> {
    let client = get(store, client_id).await?;
    if !client.token_endpoint_auth_method.uses_secret() {
        return Err(AdminError::Conflict(format!(
            "client {client_id} authenticates with {} and has no secret to rotate",
            client.token_endpoint_auth_method.as_str()
        )));
    }
    let secret = random::token();
    // Names the client and its method; the secret and its hash never enter the event.
    let event = AuditEvent::new(AuditKind::ClientSecretRotated, actor.clone(), now)
        .client(client_id)
        .detail(
            "token_endpoint_auth_method",
            client.token_endpoint_auth_method.as_str(),
        );
    if !store
        .rotate_client_secret(client_id, &master.keyed_hash(&secret), now, &event)
        .await?
    {
        // Deleted (or made public) since it was read.
        return Err(AdminError::NotFound(format!("no client {client_id}")));
    }
    let mut view = ClientView::from(client);
    view.updated_at = now;
    view.client_secret = Some(secret);
    Ok(view)
}

pub async fn update(
    store: &Store,
    client_id: &str,
    changes: ClientChanges,
    now: i64,
    actor: &Actor,
) -> Result<Client, AdminError> {
    let mut row = get(store, client_id).await?;
    let before = ClientView::from(row.clone());
    apply(store, &mut row, changes).await?;
    let mut after = ClientView::from(row.clone());
    after.updated_at = before.updated_at;
    row.updated_at = now;
    let event = change_event(AuditKind::ClientUpdated, actor, now, before, after).client(client_id);
    store
        .update_client(&row, crate::oauth::policy::narrow_stored, &event)
        .await?;
    Ok(row)
}

/// Deletes the client and, through its grants, every token it holds.
pub async fn delete(
    store: &Store,
    client_id: &str,
    now: i64,
    actor: &Actor,
) -> Result<(), AdminError> {
    let before = get(store, client_id).await?;
    let event = change_event(
        AuditKind::ClientDeleted,
        actor,
        now,
        ClientView::from(before),
        Value::Null,
    )
    .client(client_id)
    .detail("grants", "revoked");
    if !store.delete_client(client_id, now, &event).await? {
        return Err(AdminError::NotFound(format!("no client {client_id}")));
    }
    Ok(())
}

async fn apply(store: &Store, c: &mut Client, changes: ClientChanges) -> Result<(), AdminError> {
    if changes.name.is_some() || changes.redirect_uris.is_some() || changes.grant_types.is_some() {
        // The client is re-validated whole, by the rules of the way it came to be: an
        // admin's edit of a self-registered client does not give it an admin's grants.
        let origin = match c.registration {
            Registration::Admin => Origin::Admin,
            Registration::Dynamic => Origin::Dynamic,
            Registration::MetadataDocument => Origin::Document,
        };
        let metadata = ClientMetadata {
            client_name: Some(changes.name.unwrap_or_else(|| c.name.clone())),
            redirect_uris: Some(changes.redirect_uris.unwrap_or_else(|| {
                c.redirect_uris
                    .iter()
                    .map(|u| u.as_str().to_owned())
                    .collect()
            })),
            grant_types: Some(changes.grant_types.unwrap_or_else(|| {
                c.grant_types
                    .iter()
                    .map(|g| g.as_str().to_owned())
                    .collect()
            })),
            token_endpoint_auth_method: Some(c.token_endpoint_auth_method.as_str().into()),
            jwks: c.jwks.as_deref().and_then(|j| serde_json::from_str(j).ok()),
            jwks_uri: c.jwks_uri.clone(),
            dpop_bound_access_tokens: Some(c.dpop_bound_access_tokens),
            ..ClientMetadata::default()
        };
        let valid = client_metadata::validate(metadata, origin).map_err(invalid)?;
        c.name = valid.name;
        c.redirect_uris = valid.redirect_uris;
        c.grant_types = valid.grant_types;
    }
    if let Some(resources) = changes.resources {
        c.resources = registered_resources(store, "resources", &resources).await?;
    }
    if let Some(scopes) = changes.scopes {
        c.scopes = match scopes {
            None => None,
            Some(names) => Some(catalogue_scopes(store, "scopes", &names).await?),
        };
    }
    if let Some(served) = changes.served_resources {
        c.served_resources = registered_resources(store, "served_resources", &served).await?;
    }
    // Serving a resource means introspecting its tokens, and introspection authenticates
    // with a client secret (not `private_key_jwt`).
    if c.secret_hash.is_none() && !c.served_resources.is_empty() {
        return Err(AdminError::invalid(
            "served_resources",
            "a resource server needs a client secret (it authenticates with one to introspect)",
        ));
    }
    if let Some(enabled) = changes.enabled {
        c.enabled = enabled;
    }
    if let Some(bound) = changes.dpop_bound_access_tokens {
        c.dpop_bound_access_tokens = bound;
        // RFC 7592 reads answer from the echo: it must say what is enforced. (A document
        // client's next changed document, or a self-registered client's next update, says
        // again what the client itself declares.)
        if let Some(echo) = &c.metadata
            && let Ok(serde_json::Value::Object(mut members)) = serde_json::from_str(echo)
        {
            members.insert("dpop_bound_access_tokens".into(), bound.into());
            c.metadata = Some(serde_json::Value::Object(members).to_string());
        }
    }
    Ok(())
}

/// Canonical URIs of registered resources, or a 422 naming the first that is not.
async fn registered_resources(
    store: &Store,
    field: &'static str,
    uris: &[String],
) -> Result<Vec<ResourceUri>, AdminError> {
    let mut canonical = Vec::with_capacity(uris.len());
    for uri in uris {
        let c = canonicalize(uri).map_err(|m| AdminError::invalid(field, m))?;
        if store.resource_by_uri(&c).await?.is_none() {
            return Err(AdminError::invalid(
                field,
                format!("{c} is not a registered resource"),
            ));
        }
        let c = ResourceUri::new(c);
        if !canonical.contains(&c) {
            canonical.push(c);
        }
    }
    Ok(canonical)
}
