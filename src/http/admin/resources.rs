//! /admin/v1/resources

use actix_web::web;

use super::AdminCaller;
use super::respond::{Reply, created, no_content, ok, page};
use crate::admin::PageQuery;
use crate::admin::resource_check;
use crate::admin::resources::{self, ResourceChanges, ResourceView};
use crate::oauth::resource_check::Prober;
use crate::state::AppState;

pub async fn list(
    _: AdminCaller,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Reply {
    let rows = resources::list(&state.store, &query).await?;
    page(rows, |r| ResourceView::new(r, &state.settings))
}

pub async fn create(
    caller: AdminCaller,
    state: web::Data<AppState>,
    body: web::Json<resources::NewResource>,
) -> Reply {
    let row = resources::create(
        &state.store,
        &state.settings,
        body.into_inner(),
        state.clock.now(),
        &caller.actor(),
    )
    .await?;
    created(ResourceView::new(row, &state.settings))
}

pub async fn get(_: AdminCaller, state: web::Data<AppState>, id: web::Path<String>) -> Reply {
    let row = resources::get(&state.store, &id).await?;
    ok(ResourceView::new(row, &state.settings))
}

pub async fn update(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<ResourceChanges>,
) -> Reply {
    change(&caller, &state, &id, body.into_inner()).await
}

pub async fn disable(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    change(&caller, &state, &id, enabled(false)).await
}

pub async fn enable(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    change(&caller, &state, &id, enabled(true)).await
}

fn enabled(enabled: bool) -> ResourceChanges {
    ResourceChanges {
        enabled: Some(enabled),
        ..Default::default()
    }
}

async fn change(
    caller: &AdminCaller,
    state: &AppState,
    id: &str,
    changes: ResourceChanges,
) -> Reply {
    let row = resources::update(
        &state.store,
        &state.settings,
        id,
        changes,
        state.clock.now(),
        &caller.actor(),
    )
    .await?;
    ok(ResourceView::new(row, &state.settings))
}

pub async fn delete(
    caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Reply {
    let now = state.clock.now();
    resources::delete(&state.store, &state.settings, &id, now, &caller.actor()).await?;
    no_content()
}

/// Probes the MCP server (see `oauth::resource_check`); 200 with the report whatever the
/// outcome, 404 for an unknown id.
pub async fn check(_: AdminCaller, state: web::Data<AppState>, id: web::Path<String>) -> Reply {
    let prober = Prober {
        settings: &state.settings,
        keys: &state.keys,
        fetcher: &state.fetcher,
        clock: state.clock.as_ref(),
    };
    ok(resource_check::check(&state.store, &prober, &id).await?)
}
