//! /admin/v1/id-jag-issuers: enterprise IdPs trusted for ID-JAGs.

use actix_web::web;

use super::AdminCaller;
use super::openapi::{Conflicting, Guarded, JsonBody, Missing};
use super::respond::{Items, Reply, created, items, no_content};
use crate::admin::idps::{self, IdpView, LinkView, NewIdp, NewLink};
use crate::state::AppState;

/// Enterprise identity providers whose ID-JAGs the jwt-bearer grant accepts.
#[utoipa::path(
    get,
    path = "/id-jag-issuers",
    operation_id = "listIdJagIssuers",
    responses(
        (status = 200, description = "The identity providers.", body = Items<IdpView>),
        Guarded,
    ),
)]
pub async fn list(_: AdminCaller, state: web::Data<AppState>) -> Reply {
    items(idps::list(&state.store).await?)
}

/// Trust ID-JAGs from an enterprise identity provider.
#[utoipa::path(
    post,
    path = "/id-jag-issuers",
    operation_id = "addIdJagIssuer",
    request_body = NewIdp,
    responses(
        (status = 201, description = "Created.", body = IdpView),
        Guarded,
        JsonBody,
        Conflicting,
    ),
)]
pub async fn add(
    caller: AdminCaller,
    state: web::Data<AppState>,
    body: web::Json<NewIdp>,
) -> Reply {
    let (now, actor) = (state.clock.now(), caller.actor());
    created(idps::add(&state.store, body.into_inner(), now, &actor).await?)
}

/// Stop trusting an identity provider: its subject links go, and the grants its ID-JAGs
/// made are revoked.
#[utoipa::path(
    delete,
    path = "/id-jag-issuers/{id}",
    operation_id = "removeIdJagIssuer",
    params(("id" = String, Path, description = "Identity provider id.")),
    responses(
        (status = 204, description = "Deleted."),
        Guarded,
        Missing,
    ),
)]
pub async fn remove(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    idps::remove(&state.store, &id, state.clock.now(), &caller.actor()).await?;
    no_content()
}

/// Link an identity provider's subject (`sub`) to a Warden user, for users it does not name
/// by a verified email.
#[utoipa::path(
    post,
    path = "/id-jag-issuers/{id}/links",
    operation_id = "linkIdJagSubject",
    params(("id" = String, Path, description = "Identity provider id.")),
    request_body = NewLink,
    responses(
        (status = 201, description = "Created.", body = LinkView),
        Guarded,
        JsonBody,
        Missing,
        Conflicting,
    ),
)]
pub async fn link(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<NewLink>,
) -> Reply {
    let (now, actor) = (state.clock.now(), caller.actor());
    created(idps::link(&state.store, &id, body.into_inner(), now, &actor).await?)
}
