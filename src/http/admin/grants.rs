//! /admin/v1/grants, /admin/v1/grants/revoke, /admin/v1/grants/{id}/revoke and
//! /admin/v1/clients/{client_id}/grants

use actix_web::web;

use super::AdminCaller;
use super::openapi::{Guarded, Invalid, JsonBody, Missing};
use super::respond::{Items, Reply, items, ok};
use crate::admin::Page;
use crate::admin::grants::{self, GrantListing, GrantQuery, GrantView, RevokeAll};
use crate::state::AppState;

/// List grants, newest first (by creation time, then id), optionally of one user, client or
/// resource.
#[utoipa::path(
    get,
    path = "/grants",
    operation_id = "listGrants",
    params(GrantQuery),
    responses(
        (status = 200, description = "A page of grants.", body = Page<GrantListing>),
        Guarded,
        Invalid,
    ),
)]
pub async fn list(
    _: AdminCaller,
    state: web::Data<AppState>,
    query: web::Query<GrantQuery>,
) -> Reply {
    ok(grants::list(&state.store, &query).await?)
}

/// List a client's grants.
#[utoipa::path(
    get,
    path = "/clients/{client_id}/grants",
    operation_id = "listClientGrants",
    params(("client_id" = String, Path)),
    responses(
        (status = 200, description = "The grants.", body = Items<GrantView>),
        Guarded,
        Missing,
    ),
)]
pub async fn of_client(
    _: AdminCaller,
    state: web::Data<AppState>,
    client_id: web::Path<String>,
) -> Reply {
    items(grants::of_client(&state.store, &client_id).await?)
}

/// Revoke a grant.
///
/// Returns the revoked grant; every access token issued under it then introspects as
/// inactive.
#[utoipa::path(
    post,
    path = "/grants/{id}/revoke",
    operation_id = "revokeGrant",
    params(("id" = String, Path, description = "Grant id.")),
    responses(
        (status = 200, description = "The grant.", body = GrantView),
        Guarded,
        Missing,
    ),
)]
pub async fn revoke(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    ok(grants::revoke(&state.store, &id, state.clock.now(), &caller.actor()).await?)
}

/// Revoke every live grant of one user, client or resource.
///
/// In one transaction, with one `grant.revoked` audit event per grant (`details.via` names
/// the revocation). Each grant's refresh tokens stop working and its access tokens, and
/// those exchanged from it, introspect as inactive. Grants already revoked are skipped;
/// `revoked` counts the ones revoked now.
#[utoipa::path(
    post,
    path = "/grants/revoke",
    operation_id = "revokeAllGrants",
    request_body = RevokeAll,
    responses(
        (status = 200, description = "How many grants were revoked now.", body = Revoked),
        Guarded,
        JsonBody,
        Missing,
    ),
)]
pub async fn revoke_all(
    caller: AdminCaller,
    state: web::Data<AppState>,
    body: web::Json<RevokeAll>,
) -> Reply {
    let now = state.clock.now();
    let revoked = grants::revoke_all(&state.store, &body, now, &caller.actor()).await?;
    ok(Revoked { revoked })
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Revoked {
    /// How many grants were revoked now.
    revoked: u64,
}
