//! Signing keys as admins see them: the list with each key's part in the rotation, and the
//! rotation itself (a key published now that signs from `activate_at`; RFC 7517 §5 for the
//! published set). The admin API and `warden keys` both call these.

use serde::Serialize;
use serde_json::json;

use crate::admin::AdminError;
use crate::clock::UnixTime;
use crate::crypto::keys::{self, KeySet, SigningAlg};
use crate::crypto::master_key::MasterKey;
use crate::domain::{Actor, AuditEvent, AuditKind};
use crate::store::Store;
use crate::store::signing_keys::SigningKeyRow;

/// A key's part in the rotation at a given time. `signing`: the most recently activated
/// key, which signs new tokens; `published`: in the JWKS, signing from `activate_at`;
/// `retired`: replaced by a newer active key, published until every token it signed has
/// expired (then it leaves the JWKS but stays listed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// The most recently activated key: it signs every new token.
    Signing,
    /// Stored and published, not yet signing (`activate_at` is still ahead).
    Published,
    /// Replaced by a newer active key; published until its tokens have expired.
    Retired,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = SigningKey)]
pub struct KeyView {
    pub kid: String,
    pub alg: String,
    /// Unix time, seconds.
    #[schema(value_type = i64)]
    pub created_at: UnixTime,
    /// When the key starts signing (Unix time, seconds).
    #[schema(value_type = i64)]
    pub activate_at: UnixTime,
    pub status: KeyStatus,
}

/// Every stored key, oldest activation first, with its status at `now`.
pub async fn list(store: &Store, now: UnixTime) -> Result<Vec<KeyView>, AdminError> {
    let mut rows = store.signing_keys().await?;
    // The order `KeySet::install` uses, so both agree on which key signs.
    rows.sort_by(|a, b| (a.activate_at, &a.kid).cmp(&(b.activate_at, &b.kid)));
    let signing = rows
        .iter()
        .rev()
        .find(|r| r.activate_at <= now)
        .map(|r| r.kid.clone());
    Ok(rows
        .into_iter()
        .map(|r| {
            let status = if Some(&r.kid) == signing.as_ref() {
                KeyStatus::Signing
            } else if r.activate_at > now {
                KeyStatus::Published
            } else {
                KeyStatus::Retired
            };
            view(r, status)
        })
        .collect())
}

fn view(row: SigningKeyRow, status: KeyStatus) -> KeyView {
    KeyView {
        kid: row.kid,
        alg: row.alg,
        created_at: row.created_at,
        activate_at: row.activate_at,
        status,
    }
}

/// Adds a key of `alg` that is published at once and signs `activate_in` seconds from
/// `now`. Generation (up to a second for RSA) runs off the async workers; the key and its
/// audit event (id and dates, never the private part) are stored in one transaction.
pub async fn rotate(
    store: &Store,
    master: &MasterKey,
    alg: SigningAlg,
    activate_in: i64,
    now: UnixTime,
    actor: &Actor,
) -> Result<KeyView, AdminError> {
    if activate_in < 0 {
        return Err(AdminError::invalid(
            "activate_in",
            "must not be negative (seconds until the new key signs)",
        ));
    }
    let sealer = master.clone();
    let key = tokio::task::spawn_blocking(move || keys::generate(alg, &sealer))
        .await
        .map_err(anyhow::Error::from)??;
    let activate_at = now.saturating_add(activate_in);
    let event = AuditEvent::new(AuditKind::KeyRotated, actor.clone(), now).details(json!({
        "kid": key.kid,
        "alg": alg.as_str(),
        "activate_at": activate_at,
    }));
    let row = key.row(now, activate_at);
    if !store.insert_rotated_signing_key(&row, &event).await? {
        // A fresh UUID v7 never collides; if it did, nothing was stored.
        return Err(AdminError::Conflict("key id collision; try again".into()));
    }
    // With no delay the new key is the newest active one: it signs from now on.
    let status = if activate_in == 0 {
        KeyStatus::Signing
    } else {
        KeyStatus::Published
    };
    Ok(view(row, status))
}

/// Re-reads the stored keys into this process's set (what the key refresh does on every
/// node each `WARDEN_KEY_REFRESH_INTERVAL`).
pub async fn reload(store: &Store, keys: &KeySet, now: UnixTime) -> anyhow::Result<()> {
    keys.install(store.signing_keys().await?, now)
}
