//! `warden keys list|rotate`: `admin::keys` on the database directly, as the CLI.

use crate::admin::keys;
use crate::clock::{Clock, SystemClock};
use crate::domain::Actor;
use crate::settings::Settings;
use crate::startup::{load_master_key, open_database};

pub async fn list(settings: &Settings) -> anyhow::Result<()> {
    let store = open_database(settings).await?;
    super::print_json(&keys::list(&store, SystemClock.now()).await?)
}

/// Adds a key that is published at once and signs after `activate_in` seconds (by default
/// `WARDEN_KEY_ACTIVATION_DELAY`, which every running node's refresh interval fits inside).
pub async fn rotate(settings: &Settings, activate_in: Option<i64>) -> anyhow::Result<()> {
    let delay = activate_in.unwrap_or(settings.key_activation_delay);
    let store = open_database(settings).await?;
    let master = load_master_key(settings, &store).await?;
    let key = keys::rotate(
        &store,
        &master,
        settings.signing_alg,
        delay,
        SystemClock.now(),
        &Actor::cli(),
    )
    .await?;
    super::print_json(&key)
}
