//! What every request handler can reach: data only (the lookups over it live in
//! `oauth::lookup`). No actix types, so `oauth` can take `&AppState`.

use std::sync::{Arc, RwLock};

use bytes::Bytes;

use crate::clock::Clock;
use crate::crypto::keys::KeySet;
use crate::crypto::master_key::MasterKey;
use crate::fetch::Fetcher;
use crate::oauth::hot::HotCache;
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
    /// Client and resource rows for the token hot path (see `oauth::hot` for the staleness
    /// bound); the store's writes tell it what to forget.
    pub hot: Arc<HotCache>,
    /// Set on SIGTERM: /readyz answers 503 while the node drains.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
    /// Sign-in's password verifications, bounded in threads, queue and memory.
    pub passwords: Arc<crate::crypto::password_pool::PasswordPool>,
    /// Row counts behind the caps on anonymous storage (at most a second old).
    pub pending_rows: Arc<crate::limits::RowCounts>,
    /// Token requests per client per second, on this node.
    pub token_limiter: Arc<crate::ratelimit::RateLimiter>,
    /// The metadata document, serialized; replaced only when the catalogue changes
    /// (`oauth::metadata::refresh`).
    pub metadata: Arc<RwLock<Bytes>>,
    /// The scope hierarchy every token's `scope` is closed under, refreshed with the
    /// metadata (`oauth::scope::implications`).
    pub implications: Arc<RwLock<Arc<crate::oauth::scope::Implications>>>,
}

impl AppState {
    pub async fn new(
        store: Store,
        settings: Settings,
        keys: KeySet,
        master_key: MasterKey,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<AppState> {
        // Every process that serves (or benchmarks) records; the CLI's commands never get here.
        crate::measure::install();
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
            implications: Arc::default(),
        };
        let hot = state.hot.clone();
        state.store.subscribe(move |change| hot.forget(change));
        crate::oauth::metadata::refresh(&state).await?;
        Ok(state)
    }
}
