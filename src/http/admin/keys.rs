//! /admin/v1/keys: the signing keys and their rotation.

use actix_web::error::JsonPayloadError;
use actix_web::web;
use serde::Deserialize;

use super::respond::{Reply, created, items};
use super::{AdminCaller, json_rejection};
use crate::admin::{AdminError, keys};
use crate::state::AppState;

pub async fn list(_: AdminCaller, state: web::Data<AppState>) -> Reply {
    items(keys::list(&state.store, state.clock.now()).await?)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    /// Seconds until the new key signs; absent: `WARDEN_KEY_ACTIVATION_DELAY`.
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

/// The body is optional: an empty POST rotates with the configured delay. A body that is
/// sent must be a valid `Rotation` (actix's optional `Json` would swallow a bad one and
/// rotate anyway).
pub async fn rotate(caller: AdminCaller, state: web::Data<AppState>, body: web::Bytes) -> Reply {
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
