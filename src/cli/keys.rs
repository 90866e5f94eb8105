//! `warden keys list|rotate`.

use serde::Serialize;
use serde_json::json;

use crate::clock::{Clock, SystemClock};
use crate::crypto::keys;
use crate::domain::{Actor, AuditEvent, AuditKind};
use crate::settings::Settings;
use crate::startup::{load_master_key, open_database};

#[derive(Serialize)]
struct KeyView {
    kid: String,
    alg: String,
    created_at: i64,
    activate_at: i64,
    status: &'static str,
}

pub async fn list(settings: &Settings) -> anyhow::Result<()> {
    let store = open_database(settings).await?;
    let now = SystemClock.now();
    let mut rows = store.signing_keys().await?;
    rows.sort_by_key(|r| r.activate_at);
    let signing = rows
        .iter()
        .rev()
        .find(|r| r.activate_at <= now)
        .map(|r| r.kid.clone());
    let views: Vec<KeyView> = rows
        .into_iter()
        .map(|r| KeyView {
            status: if Some(&r.kid) == signing.as_ref() {
                "signing"
            } else if r.activate_at > now {
                "published"
            } else {
                "retired"
            },
            kid: r.kid,
            alg: r.alg,
            created_at: r.created_at,
            activate_at: r.activate_at,
        })
        .collect();
    super::print_json(&views)
}

/// Adds a key that is published at once and signs after `activate_in` seconds (by default
/// `WARDEN_KEY_ACTIVATION_DELAY`, which every running node's refresh interval fits inside).
pub async fn rotate(settings: &Settings, activate_in: Option<i64>) -> anyhow::Result<()> {
    let delay = activate_in.unwrap_or(settings.key_activation_delay);
    anyhow::ensure!(delay >= 0, "--activate-in must not be negative");
    let store = open_database(settings).await?;
    let master = load_master_key(settings, &store).await?;
    let alg = settings.signing_alg;
    let sealer = master.clone();
    let key = tokio::task::spawn_blocking(move || keys::generate(alg, &sealer)).await??;
    let now = SystemClock.now();
    // The key's id and dates; never its private part.
    let event = AuditEvent::new(AuditKind::KeyRotated, Actor::cli(), now).details(json!({
        "kid": key.kid,
        "alg": alg.as_str(),
        "activate_at": now + delay,
    }));
    store
        .insert_rotated_signing_key(&key.row(now, now + delay), &event)
        .await?;
    super::print_json(&KeyView {
        kid: key.kid,
        alg: alg.as_str().to_owned(),
        created_at: now,
        activate_at: now + delay,
        status: "published",
    })
}
