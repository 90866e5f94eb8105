//! /admin/v1/keys: the signing keys and their rotation.

use actix_web::error::JsonPayloadError;
use actix_web::web;
use serde::Deserialize;

use super::{AdminCaller, json_rejection};
use super::respond::{Reply, created, items};
use crate::admin::keys;
use crate::state::AppState;

pub async fn list(_: AdminCaller, state: web::Data<AppState>) -> Reply {
    items(keys::list(&state.store, state.clock.now()).await?)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    /// Seconds until the new key signs; absent: `WARDEN_KEY_ACTIVATION_DELAY`.
    pub activate_in: Option<i64>,
}

/// The body is optional: an empty POST rotates with the configured delay. A body that is
/// sent must be a valid `Rotation` (actix's optional `Json` would swallow a bad one and
/// rotate anyway).
pub async fn rotate(caller: AdminCaller, state: web::Data<AppState>, body: web::Bytes) -> Reply {
    let rotation = if body.iter().all(u8::is_ascii_whitespace) {
        Rotation::default()
    } else {
        serde_json::from_slice::<Rotation>(&body)
            .map_err(|e| json_rejection(JsonPayloadError::Deserialize(e)))?
    };
    let now = state.clock.now();
    let key = keys::rotate(
        &state.store,
        &state.master_key,
        state.settings.signing_alg,
        rotation
            .activate_in
            .unwrap_or(state.settings.key_activation_delay),
        now,
        &caller.actor(),
    )
    .await?;
    // This node publishes the key at once; the others at their next key refresh, which
    // the default activation delay outlasts.
    if let Err(e) = keys::reload(&state.store, &state.keys, now).await {
        tracing::warn!(error = format!("{e:#}"), "could not refresh signing keys");
    }
    created(key)
}
