//! /admin/v1/users

use actix_web::web;

use super::AdminCaller;
use super::openapi::{Conflicting, Guarded, Invalid, JsonBody, Missing};
use super::respond::{Reply, created, no_content, ok, page};
use crate::admin::users::{self, UserChanges, UserView};
use crate::admin::{Page, PageQuery};
use crate::state::AppState;

/// List local users.
#[utoipa::path(
    get,
    path = "/users",
    operation_id = "listUsers",
    params(PageQuery),
    responses(
        (status = 200, description = "One page of results.", body = Page<UserView>),
        Guarded,
        Invalid,
    ),
)]
pub async fn list(
    _: AdminCaller,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Reply {
    page(users::list(&state.store, &query).await?, UserView::from)
}

/// Create a local user.
#[utoipa::path(
    post,
    path = "/users",
    operation_id = "createUser",
    request_body = users::NewUser,
    responses(
        (status = 201, description = "Created.", body = UserView),
        Guarded,
        JsonBody,
        Conflicting,
    ),
)]
pub async fn create(
    caller: AdminCaller,
    state: web::Data<AppState>,
    body: web::Json<users::NewUser>,
) -> Reply {
    let now = state.clock.now();
    let row = users::create(&state.store, body.into_inner(), now, &caller.actor()).await?;
    created(UserView::from(row))
}

/// Get a user.
#[utoipa::path(
    get,
    path = "/users/{id}",
    operation_id = "getUser",
    params(("id" = String, Path, description = "User id, or username.")),
    responses(
        (status = 200, description = "The user.", body = UserView),
        Guarded,
        Missing,
    ),
)]
pub async fn get(_: AdminCaller, state: web::Data<AppState>, id: web::Path<String>) -> Reply {
    ok(UserView::from(users::get(&state.store, &id).await?))
}

/// Set a password, the role, or disable a user. The last enabled admin cannot be demoted or
/// disabled (409).
#[utoipa::path(
    patch,
    path = "/users/{id}",
    operation_id = "updateUser",
    params(("id" = String, Path, description = "User id, or username.")),
    request_body = UserChanges,
    responses(
        (status = 200, description = "The user.", body = UserView),
        Guarded,
        JsonBody,
        Missing,
        Conflicting,
    ),
)]
pub async fn update(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<UserChanges>,
) -> Reply {
    change(&caller, &state, &id, body.into_inner()).await
}

/// Disable a user. The last enabled admin cannot be disabled (409).
#[utoipa::path(
    post,
    path = "/users/{id}/disable",
    operation_id = "disableUser",
    params(("id" = String, Path, description = "User id, or username.")),
    responses(
        (status = 200, description = "The user.", body = UserView),
        Guarded,
        Missing,
        Conflicting,
    ),
)]
pub async fn disable(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    change(&caller, &state, &id, disabled(true)).await
}

/// Enable a user.
#[utoipa::path(
    post,
    path = "/users/{id}/enable",
    operation_id = "enableUser",
    params(("id" = String, Path, description = "User id, or username.")),
    responses(
        (status = 200, description = "The user.", body = UserView),
        Guarded,
        Missing,
    ),
)]
pub async fn enable(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    change(&caller, &state, &id, disabled(false)).await
}

fn disabled(disabled: bool) -> UserChanges {
    UserChanges {
        disabled: Some(disabled),
        ..Default::default()
    }
}

async fn change(caller: &AdminCaller, state: &AppState, id: &str, changes: UserChanges) -> Reply {
    let now = state.clock.now();
    let row = users::update(&state.store, id, changes, now, &caller.actor()).await?;
    ok(UserView::from(row))
}

/// Delete a user and revoke what they authorized. The last enabled admin cannot be deleted
/// (409).
#[utoipa::path(
    delete,
    path = "/users/{id}",
    operation_id = "deleteUser",
    params(("id" = String, Path, description = "User id, or username.")),
    responses(
        (status = 204, description = "Deleted."),
        Guarded,
        Missing,
        Conflicting,
    ),
)]
pub async fn delete(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    users::delete(&state.store, &id, state.clock.now(), &caller.actor()).await?;
    no_content()
}
