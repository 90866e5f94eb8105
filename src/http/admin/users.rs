//! /admin/v1/users

use actix_web::web;

use super::AdminCaller;
use super::respond::{Reply, created, no_content, ok, page};
use crate::admin::PageQuery;
use crate::admin::users::{self, UserChanges, UserView};
use crate::state::AppState;

pub async fn list(
    _: AdminCaller,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Reply {
    page(users::list(&state.store, &query).await?, UserView::from)
}

pub async fn create(
    caller: AdminCaller,
    state: web::Data<AppState>,
    body: web::Json<users::NewUser>,
) -> Reply {
    let now = state.clock.now();
    let row = users::create(&state.store, body.into_inner(), now, &caller.actor()).await?;
    created(UserView::from(row))
}

pub async fn get(_: AdminCaller, state: web::Data<AppState>, id: web::Path<String>) -> Reply {
    ok(UserView::from(users::get(&state.store, &id).await?))
}

pub async fn update(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<UserChanges>,
) -> Reply {
    change(&caller, &state, &id, body.into_inner()).await
}

pub async fn disable(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    change(&caller, &state, &id, disabled(true)).await
}

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

pub async fn delete(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    users::delete(&state.store, &id, state.clock.now(), &caller.actor()).await?;
    no_content()
}
