//! /admin/v1/upstream-providers and /admin/v1/users/{id}/identities

use actix_web::web;

use super::AdminCaller;
use super::openapi::{Conflicting, Guarded, JsonBody, Missing};
use super::respond::{Items, Reply, created, items, no_content, ok};
use crate::admin::upstream::{self, ProviderInput, ProviderView};
use crate::state::AppState;
use crate::store::upstream::IdentityRow;

fn view(state: &AppState, row: crate::domain::Provider) -> ProviderView {
    ProviderView::new(row, &state.settings.issuer)
}

/// Upstream identity providers users can sign in with.
#[utoipa::path(
    get,
    path = "/upstream-providers",
    operation_id = "listUpstreamProviders",
    responses(
        (status = 200, description = "The providers.", body = Items<ProviderView>),
        Guarded,
    ),
)]
pub async fn list(_: AdminCaller, state: web::Data<AppState>) -> Reply {
    let rows = upstream::list(&state.store).await?;
    items(rows.into_iter().map(|r| view(&state, r)).collect())
}

/// Add an upstream identity provider (OpenID Connect by issuer, or OAuth 2.0 with
/// endpoints). The response names the redirect_uri to register at the provider.
#[utoipa::path(
    post,
    path = "/upstream-providers",
    operation_id = "createUpstreamProvider",
    request_body = ProviderInput,
    responses(
        (status = 201, description = "Created.", body = ProviderView),
        Guarded,
        JsonBody,
        Conflicting,
    ),
)]
pub async fn create(
    caller: AdminCaller,
    state: web::Data<AppState>,
    body: web::Json<ProviderInput>,
) -> Reply {
    let row = upstream::create(
        &state.store,
        &state.master_key,
        body.into_inner(),
        state.clock.now(),
        &caller.actor(),
    )
    .await?;
    created(view(&state, row))
}

/// One provider (never its secret).
#[utoipa::path(
    get,
    path = "/upstream-providers/{id}",
    operation_id = "getUpstreamProvider",
    params(("id" = String, Path, description = "Provider id.")),
    responses(
        (status = 200, description = "The provider.", body = ProviderView),
        Guarded,
        Missing,
    ),
)]
pub async fn get(_: AdminCaller, state: web::Data<AppState>, id: web::Path<String>) -> Reply {
    let row = upstream::get(&state.store, &id).await?;
    ok(view(&state, row))
}

/// Replace a provider's configuration; without client_secret the stored secret is kept.
#[utoipa::path(
    put,
    path = "/upstream-providers/{id}",
    operation_id = "replaceUpstreamProvider",
    params(("id" = String, Path, description = "Provider id.")),
    request_body = ProviderInput,
    responses(
        (status = 200, description = "The provider.", body = ProviderView),
        Guarded,
        JsonBody,
        Missing,
    ),
)]
pub async fn replace(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<ProviderInput>,
) -> Reply {
    let row = upstream::replace(
        &state.store,
        &state.master_key,
        &id,
        body.into_inner(),
        state.clock.now(),
        &caller.actor(),
    )
    .await?;
    ok(view(&state, row))
}

/// Delete a provider and every identity linked through it (users stay).
#[utoipa::path(
    delete,
    path = "/upstream-providers/{id}",
    operation_id = "deleteUpstreamProvider",
    params(("id" = String, Path, description = "Provider id.")),
    responses(
        (status = 204, description = "Deleted."),
        Guarded,
        Missing,
    ),
)]
pub async fn delete(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    upstream::delete(&state.store, &id, state.clock.now(), &caller.actor()).await?;
    no_content()
}

/// Enable a provider's button and callback.
#[utoipa::path(
    post,
    path = "/upstream-providers/{id}/enable",
    operation_id = "enableUpstreamProvider",
    params(("id" = String, Path, description = "Provider id.")),
    responses(
        (status = 200, description = "The provider.", body = ProviderView),
        Guarded,
        Missing,
    ),
)]
pub async fn enable(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    set_enabled(&caller, &state, &id, true).await
}

/// Disable a provider's button and callback.
#[utoipa::path(
    post,
    path = "/upstream-providers/{id}/disable",
    operation_id = "disableUpstreamProvider",
    params(("id" = String, Path, description = "Provider id.")),
    responses(
        (status = 200, description = "The provider.", body = ProviderView),
        Guarded,
        Missing,
    ),
)]
pub async fn disable(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    set_enabled(&caller, &state, &id, false).await
}

async fn set_enabled(caller: &AdminCaller, state: &AppState, id: &str, enabled: bool) -> Reply {
    let now = state.clock.now();
    let row = upstream::set_enabled(&state.store, id, enabled, now, &caller.actor()).await?;
    ok(view(state, row))
}

/// Upstream identities linked to a user.
#[utoipa::path(
    get,
    path = "/users/{id}/identities",
    operation_id = "listUserIdentities",
    params(("id" = String, Path, description = "User id, or username.")),
    responses(
        (status = 200, description = "The identities.", body = Items<IdentityRow>),
        Guarded,
        Missing,
    ),
)]
pub async fn identities(
    _: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    items(upstream::identities(&state.store, &id).await?)
}

/// Unlink an upstream identity from a user.
#[utoipa::path(
    delete,
    path = "/users/{id}/identities/{provider}/{subject}",
    operation_id = "unlinkUserIdentity",
    params(("id" = String, Path, description = "User id, or username."), ("provider" = String, Path, description = "Provider id."), ("subject" = String, Path, description = "The provider's subject, percent-encoded.")),
    responses(
        (status = 204, description = "Unlinked."),
        Guarded,
        Missing,
    ),
)]
pub async fn unlink(
    caller: AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
) -> Reply {
    let (user, provider, subject) = path.into_inner();
    let (now, actor) = (state.clock.now(), caller.actor());
    upstream::unlink(&state.store, &user, &provider, &subject, now, &actor).await?;
    no_content()
}
