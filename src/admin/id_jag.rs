//! ID-JAG issuance policy (draft-ietf-oauth-identity-assertion-authz-grant §4.3, Warden as
//! the enterprise IdP): which client may obtain ID-JAGs for which other authorization
//! server and MCP server, with which scopes at most. Shared by the CLI and the admin API.

use serde::Deserialize;
use serde_json::json;

use crate::admin::AdminError;
use crate::domain::{Actor, AuditEvent, AuditKind};
use crate::oauth::resource::canonicalize;
use crate::oauth::scope::ScopeSet;
use crate::store::Store;
use crate::store::id_jag::IdJagPolicyRow;

/// The longest client id we accept for the other authorization server.
const MAX_REMOTE_CLIENT_ID: usize = 255;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewIdJagPolicy)]
pub struct NewPolicy {
    pub client_id: String,
    pub audience: String,
    pub resource: String,
    #[schema(max_length = 255)]
    pub remote_client_id: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    #[schema(default = false)]
    pub include_email: bool,
}

/// Adds (or replaces) the policy for the client, audience and resource.
pub async fn allow(
    store: &Store,
    input: NewPolicy,
    now: i64,
    actor: &Actor,
) -> Result<IdJagPolicyRow, AdminError> {
    if store.client(&input.client_id).await?.is_none() {
        return Err(AdminError::invalid(
            "client_id",
            format!("no client {}", crate::domain::excerpt(&input.client_id)),
        ));
    }
    // The other AS's issuer is compared byte for byte with what its metadata says, so it is
    // kept as given once it is a plain https (or loopback) URL.
    canonicalize(&input.audience).map_err(|m| AdminError::invalid("audience", m))?;
    let resource = canonicalize(&input.resource).map_err(|m| AdminError::invalid("resource", m))?;
    let remote = input.remote_client_id.trim();
    if remote.is_empty()
        || remote.len() > MAX_REMOTE_CLIENT_ID
        || remote.chars().any(char::is_control)
    {
        return Err(AdminError::invalid(
            "remote_client_id",
            format!("the client id at the other server: 1 to {MAX_REMOTE_CLIENT_ID} characters"),
        ));
    }
    let scopes =
        ScopeSet::parse(&input.scopes.join(" ")).map_err(|m| AdminError::invalid("scopes", m))?;
    let row = IdJagPolicyRow {
        id: uuid::Uuid::now_v7().simple().to_string(),
        client_id: input.client_id,
        audience: input.audience,
        resource,
        remote_client_id: remote.to_owned(),
        scopes: scopes.to_scope_string(),
        include_email: input.include_email,
        created_at: now,
    };
    let event = AuditEvent::new(AuditKind::IdJagPolicySet, actor.clone(), now)
        .client(&row.client_id)
        .resource(&row.resource)
        .details(json!({
            "audience": row.audience,
            "remote_client_id": row.remote_client_id,
            "scopes": row.scopes,
            "include_email": row.include_email,
        }));
    Ok(store.put_id_jag_policy(&row, &event).await?)
}

pub async fn list(store: &Store) -> Result<Vec<IdJagPolicyRow>, AdminError> {
    Ok(store.id_jag_policies().await?)
}

/// Removes policy `id`: ID-JAGs already issued live out their few minutes.
pub async fn deny(store: &Store, id: &str, now: i64, actor: &Actor) -> Result<(), AdminError> {
    let event = AuditEvent::new(AuditKind::IdJagPolicyDeleted, actor.clone(), now)
        .details(json!({ "policy": id }));
    if store.delete_id_jag_policy(id, &event).await? {
        Ok(())
    } else {
        Err(AdminError::NotFound(format!("no ID-JAG policy {id}")))
    }
}
