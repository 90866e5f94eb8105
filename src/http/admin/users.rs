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
    _: AdminCaller,
    state: web::Data<AppState>,
    body: web::Json<users::NewUser>,
) -> Reply {
    let row = users::create(&state.store, body.into_inner(), state.clock.now()).await?;
    created(UserView::from(row))
}

pub async fn get(_: AdminCaller, state: web::Data<AppState>, id: web::Path<String>) -> Reply {
    ok(UserView::from(users::get(&state.store, &id).await?))
}

pub async fn update(
    _: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<UserChanges>,
) -> Reply {
    change(&state, &id, body.into_inner()).await
}

pub async fn disable(_: AdminCaller, state: web::Data<AppState>, id: web::Path<String>) -> Reply {
    change(&state, &id, disabled(true)).await
}

pub async fn enable(_: AdminCaller, state: web::Data<AppState>, id: web::Path<String>) -> Reply {
    change(&state, &id, disabled(false)).await
}

fn disabled(disabled: bool) -> UserChanges {
    UserChanges {
        disabled: Some(disabled),
        ..Default::default()
    }
}

async fn change(state: &AppState, id: &str, changes: UserChanges) -> Reply {
    let row = users::update(&state.store, id, changes, state.clock.now()).await?;
    ok(UserView::from(row))
}

pub async fn delete(_: AdminCaller, state: web::Data<AppState>, id: web::Path<String>) -> Reply {
    users::delete(&state.store, &id, state.clock.now()).await?;
    no_content()
}
