//! /admin/v1/clients/{client_id}/grants and /admin/v1/grants/{id}/revoke

use actix_web::web;
use serde::Serialize;

use super::AdminCaller;
use super::respond::{Reply, items, ok};
use crate::admin::AdminError;
use crate::domain::{AuditEvent, AuditKind, Grant, GrantKind};
use crate::state::AppState;

#[derive(Serialize)]
struct GrantView {
    id: String,
    kind: GrantKind,
    client_id: String,
    subject: String,
    resource: String,
    scope: String,
    created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    revoked_at: Option<i64>,
}

impl From<Grant> for GrantView {
    fn from(g: Grant) -> GrantView {
        GrantView {
            id: g.id,
            kind: g.kind,
            client_id: g.client_id,
            subject: g.subject,
            resource: g.resource,
            scope: g.scope,
            created_at: g.created_at,
            revoked_at: g.revoked_at,
        }
    }
}

pub async fn of_client(
    _: AdminCaller,
    state: web::Data<AppState>,
    client_id: web::Path<String>,
) -> Reply {
    crate::admin::clients::get(&state.store, &client_id).await?;
    let grants = state
        .store
        .grants_of_client(&client_id)
        .await
        .map_err(AdminError::from)?;
    items(grants.into_iter().map(GrantView::from).collect())
}

pub async fn revoke(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    let now = state.clock.now();
    let event = AuditEvent::new(AuditKind::GrantRevoked, caller.actor(), now);
    if !state
        .store
        .revoke_grant(&id, now, event)
        .await
        .map_err(AdminError::from)?
    {
        return Err(AdminError::NotFound(format!("no grant {id}")).into());
    }
    let grant = state.store.grant(&id).await.map_err(AdminError::from)?;
    tracing::info!(grant_id = %id, "grant revoked by an admin");
    ok(grant.map(GrantView::from))
}
