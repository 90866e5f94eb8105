//! What every request handler can reach. No actix types, so `oauth` can take `&AppState`.

use std::sync::Arc;

use bytes::Bytes;

use crate::clock::Clock;
use crate::crypto::keys::KeySet;
use crate::crypto::master_key::MasterKey;
use crate::settings::Settings;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub settings: Arc<Settings>,
    pub keys: Arc<KeySet>,
    pub master_key: MasterKey,
    pub clock: Arc<dyn Clock>,
    /// Metadata documents, serialized once at start-up.
    pub metadata_json: Bytes,
}

impl AppState {
    /// Re-reads the signing keys from the database (rotation by another process).
    pub async fn reload_keys(&self) -> anyhow::Result<()> {
        let rows = self.store.signing_keys().await?;
        self.keys.install(rows, self.clock.now())
    }
}
