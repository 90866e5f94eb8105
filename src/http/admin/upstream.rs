//! /admin/v1/upstream-providers and /admin/v1/users/{id}/identities

use actix_web::web;

use super::AdminCaller;
use super::respond::{Reply, created, items, no_content, ok};
use crate::admin::upstream::{self, ProviderInput, ProviderView};
use crate::state::AppState;

fn view(state: &AppState, row: crate::domain::Provider) -> ProviderView {
    ProviderView::new(row, &state.settings.issuer)
}

pub async fn list(_: AdminCaller, state: web::Data<AppState>) -> Reply {
    let rows = upstream::list(&state.store).await?;
    items(rows.into_iter().map(|r| view(&state, r)).collect())
}

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

pub async fn get(_: AdminCaller, state: web::Data<AppState>, id: web::Path<String>) -> Reply {
    let row = upstream::get(&state.store, &id).await?;
    ok(view(&state, row))
}

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

pub async fn delete(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    upstream::delete(&state.store, &id, state.clock.now(), &caller.actor()).await?;
    no_content()
}

pub async fn enable(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    set_enabled(&caller, &state, &id, true).await
}

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

pub async fn identities(
    _: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    items(upstream::identities(&state.store, &id).await?)
}

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
