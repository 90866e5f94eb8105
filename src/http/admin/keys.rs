//! /admin/v1/keys: the signing keys and their rotation.

use actix_web::error::JsonPayloadError;
use actix_web::web;
use serde::Deserialize;

use super::openapi::{Guarded, OptionalBody};
use super::respond::{Items, Reply, created, items};
use super::{AdminCaller, json_rejection};
use crate::admin::AdminError;
use crate::admin::keys::{self, KeyView};
use crate::state::AppState;

/// The stored signing keys, oldest activation first, with their status now.
#[utoipa::path(
    get,
    path = "/keys",
    operation_id = "listSigningKeys",
    responses(
        (status = 200, description = "Every stored key.", body = Items<KeyView>),
        Guarded,
    ),
)]
pub async fn list(_: AdminCaller, state: web::Data<AppState>) -> Reply {
    items(keys::list(&state.store, state.clock.now()).await?)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = KeyRotation)]
pub struct Rotation {
    /// Seconds until the new key signs (default `WARDEN_KEY_ACTIVATION_DELAY`). Shorter
    /// than `WARDEN_KEY_REFRESH_INTERVAL` means other nodes, and resource servers that
    /// cache the JWKS, may see tokens signed with a key they do not have yet.
    #[schema(minimum = 0)]
    #[serde(default, deserialize_with = "seconds")]
    pub activate_in: Option<i64>,
}

/// A whole number of seconds, or null. serde's own type error names no field; this one
/// does, in the backticks the 422's `field` is read from.
fn seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(None),
        value => value.as_i64().map(Some).ok_or_else(|| {
            serde::de::Error::custom("`activate_in` must be a whole number of seconds")
        }),
    }
}

/// Add a signing key (the configured algorithm): published at once (on this node
/// immediately, on the others at their next key refresh), signing after `activate_in`
/// seconds. Audited as `key.rotated`.
#[utoipa::path(
    post,
    path = "/keys/rotate",
    operation_id = "rotateSigningKey",
    request_body(content = Option<Rotation>, description = "Optional: an empty body rotates with the configured delay."),
    responses(
        (status = 201, description = "The new key.", body = KeyView),
        Guarded,
        OptionalBody,
    ),
)]
pub async fn rotate(caller: AdminCaller, state: web::Data<AppState>, body: web::Bytes) -> Reply {
    // The body is optional: an empty POST rotates with the configured delay. A body that
    // is sent must be a valid `Rotation` (actix's optional `Json` would swallow a bad one
    // and rotate anyway).
    let rotation = if body.iter().all(u8::is_ascii_whitespace) {
        Rotation::default()
    } else {
        let rejected = |e| json_rejection(JsonPayloadError::Deserialize(e));
        // An object only: serde would take `[]` for a struct of defaults.
        match serde_json::from_slice::<serde_json::Value>(&body).map_err(rejected)? {
            object @ serde_json::Value::Object(_) => {
                serde_json::from_value::<Rotation>(object).map_err(rejected)?
            }
            _ => return Err(AdminError::invalid("body", "must be a JSON object").into()),
        }
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
