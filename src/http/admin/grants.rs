//! /admin/v1/clients/{client_id}/grants and /admin/v1/grants/{id}/revoke

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use super::{ApiError, admin};
use crate::admin::AdminError;
use crate::domain::{Grant, GrantKind};
use crate::state::AppState;

type Result = std::result::Result<HttpResponse, ApiError>;

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
    state: web::Data<AppState>,
    req: HttpRequest,
    client_id: web::Path<String>,
) -> Result {
    admin(&state, &req).await?;
    crate::admin::clients::get(&state.store, &client_id).await?;
    let grants = state
        .store
        .grants_of_client(&client_id)
        .await
        .map_err(AdminError::from)?;
    let items: Vec<GrantView> = grants.into_iter().map(GrantView::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

pub async fn revoke(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> Result {
    admin(&state, &req).await?;
    let now = state.clock.now();
    if !state
        .store
        .revoke_grant(&id, now)
        .await
        .map_err(AdminError::from)?
    {
        return Err(AdminError::NotFound(format!("no grant {id}")).into());
    }
    let grant = state.store.grant(&id).await.map_err(AdminError::from)?;
    tracing::info!(grant_id = %id, "grant revoked by an admin");
    Ok(HttpResponse::Ok().json(grant.map(GrantView::from)))
}
