//! What every request handler can reach. No actix types, so `oauth` can take `&AppState`.

use std::sync::{Arc, RwLock};

use bytes::Bytes;

use crate::cache::HotCache;
use crate::clock::Clock;
use crate::crypto::keys::KeySet;
use crate::crypto::master_key::MasterKey;
use crate::fetch::Fetcher;
use crate::oauth::metadata::ServerMetadata;
use crate::settings::Settings;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub settings: Arc<Settings>,
    pub keys: Arc<KeySet>,
    pub master_key: MasterKey,
    pub clock: Arc<dyn Clock>,
    /// Every outbound fetch goes through this (SSRF rules, caching).
    pub fetcher: Arc<Fetcher>,
    /// Client and resource rows for the token hot path (see `cache` for the staleness bound).
    pub hot: Arc<HotCache>,
    /// Set on SIGTERM: /readyz answers 503 while the node drains.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
    /// Sign-in's password verifications, bounded in threads, queue and memory.
    pub passwords: Arc<crate::crypto::password_pool::PasswordPool>,
    /// Row counts behind the caps on anonymous storage (at most a second old).
    pub pending_rows: Arc<crate::limits::RowCounts>,
    /// Token requests per client per second, on this node.
    pub token_limiter: Arc<crate::ratelimit::RateLimiter>,
    /// The metadata document, serialized; replaced only when the catalogue changes.
    metadata: Arc<RwLock<Bytes>>,
}

impl AppState {
    pub async fn new(
        store: Store,
        settings: Settings,
        keys: KeySet,
        master_key: MasterKey,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<AppState> {
        let fetcher = Arc::new(Fetcher::new(
            settings.dev_allow_loopback_fetch,
            settings.egress_proxy.clone(),
            clock.clone(),
        ));
        let passwords = Arc::new(crate::crypto::password_pool::PasswordPool::start(
            settings.limits.hash_concurrency,
            settings.limits.hash_queue,
        )?);
        let state = AppState {
            passwords,
            pending_rows: Arc::new(crate::limits::RowCounts::default()),
            fetcher,
            hot: Arc::new(HotCache::new(settings.cache_ttl)),
            draining: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            token_limiter: Arc::new(crate::ratelimit::RateLimiter::new(
                settings.token_rate_limit,
            )),
            store,
            settings: Arc::new(settings),
            keys: Arc::new(keys),
            master_key,
            clock,
            metadata: Arc::new(RwLock::new(Bytes::new())),
        };
        state.refresh_metadata().await?;
        Ok(state)
    }

    pub fn metadata_json(&self) -> Bytes {
        self.metadata
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Rebuilds the metadata document from the settings and the scope catalogue.
    pub async fn refresh_metadata(&self) -> anyhow::Result<()> {
        let catalogue = self
            .store
            .scopes()
            .await?
            .into_iter()
            .map(|s| s.name)
            .collect();
        let json = Bytes::from(serde_json::to_vec(&ServerMetadata::build(
            &self.settings,
            catalogue,
        ))?);
        let mut current = self.metadata.write().unwrap_or_else(|p| p.into_inner());
        if *current != json {
            *current = json;
        }
        Ok(())
    }

    pub fn fetcher_allows_loopback(&self) -> bool {
        self.settings.dev_allow_loopback_fetch
    }

    /// The client named `client_id`: from the database, or, for an https URL, from its
    /// metadata document (fetched, validated, and stored). `Err` carries a message for the
    /// user or developer; `Ok(None)` means no such client.
    pub async fn client(
        &self,
        client_id: &str,
    ) -> Result<Option<crate::store::clients::ClientRow>, ClientLookupError> {
        if crate::oauth::cimd::is_document_url(client_id) {
            return crate::oauth::cimd::resolve(self, client_id)
                .await
                .map(Some)
                .map_err(ClientLookupError::Document);
        }
        self.stored_client(client_id)
            .await
            .map_err(|e| ClientLookupError::Database(e.into()))
    }

    /// A stored client, never fetched (for requests that already resolved it), through the
    /// hot-path cache.
    pub async fn stored_client(
        &self,
        client_id: &str,
    ) -> Result<Option<crate::store::clients::ClientRow>, sqlx::Error> {
        let now = self.clock.now();
        if let Some(hit) = self.hot.client(client_id, now) {
            return Ok(Some(hit));
        }
        let found = self.store.client(client_id).await?;
        if let Some(client) = &found {
            self.hot.put_client(client, now);
        }
        Ok(found)
    }

    /// A resource by its canonical URI, through the hot-path cache.
    pub async fn resource(
        &self,
        uri: &str,
    ) -> Result<Option<crate::store::resources::ResourceRow>, sqlx::Error> {
        let now = self.clock.now();
        if let Some(hit) = self.hot.resource_by_uri(uri, now) {
            return Ok(Some(hit));
        }
        let found = self.store.resource_by_uri(uri).await?;
        if let Some(resource) = &found {
            self.hot.put_resource_by_uri(resource, now);
        }
        Ok(found)
    }

    /// Whether grant `grant_id` is live (revocation, client, resource, user), through the
    /// hot-path cache, which holds live statuses only.
    pub async fn grant_is_live(&self, grant_id: &str) -> Result<bool, sqlx::Error> {
        let now = self.clock.now();
        if self.hot.live_grant(grant_id, now).is_some() {
            return Ok(true);
        }
        Ok(match self.store.grant_status(grant_id).await? {
            Some(status) => {
                self.hot.put_grant(grant_id, &status, now);
                status.is_live()
            }
            None => false,
        })
    }

    /// After anything that may disable or revoke: forget the hot-path cache here, and tell
    /// the other nodes (Postgres NOTIFY) to do the same.
    pub async fn forget_cached(&self) {
        self.hot.clear();
        if let Err(e) = self.store.notify_changed().await {
            tracing::warn!(error = %e, "could not notify other nodes of a change");
        }
    }

    /// Re-reads the signing keys from the database (rotation by another process).
    pub async fn reload_keys(&self) -> anyhow::Result<()> {
        let rows = self.store.signing_keys().await?;
        self.keys.install(rows, self.clock.now())
    }
}

#[derive(Debug)]
pub enum ClientLookupError {
    /// The metadata document could not be used; the message says why.
    Document(String),
    Database(anyhow::Error),
}
