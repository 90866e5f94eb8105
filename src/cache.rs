//! A bounded, short-lived, in-process cache for the rows every token request reads: the
//! client (for client authentication), the resource (by URI), and the resource with the
//! client's live client_credentials grant. It saves one or two database round trips per
//! request.
//!
//! Staleness bound: an entry lives `WARDEN_CACHE_TTL` seconds (default 5; `0` turns the
//! cache off). A change made through this process's admin API, registration management
//! endpoint or `/revoke` clears the cache at once; a change made on another node or by the
//! CLI is seen within the TTL. So a disabled client or a revoked client_credentials grant
//! gets no new token after at most that many seconds. Grant status for introspection and
//! refresh is never cached: revocation is seen there at once.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

use crate::clock::UnixTime;
use crate::store::clients::ClientRow;
use crate::store::resources::{ResourceRow, ResourceWithGrant};

/// Entries per map; beyond it new entries are not cached until old ones expire.
const CAPACITY: usize = 10_000;

pub struct HotCache {
    ttl: i64,
    clients: Map<String, ClientRow>,
    resources: Map<(String, String), ResourceWithGrant>,
    resources_by_uri: Map<String, ResourceRow>,
}

struct Map<K, V>(Mutex<HashMap<K, (UnixTime, V)>>);

impl<K: Eq + Hash, V: Clone> Map<K, V> {
    fn new() -> Self {
        Map(Mutex::new(HashMap::new()))
    }

    fn get<Q>(&self, key: &Q, now: UnixTime) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .filter(|(expires, _)| *expires > now)
            .map(|(_, v)| v.clone())
    }

    fn put(&self, key: K, value: V, expires: UnixTime, now: UnixTime) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= CAPACITY {
            map.retain(|_, (e, _)| *e > now);
            if map.len() >= CAPACITY {
                return;
            }
        }
        map.insert(key, (expires, value));
    }

    fn clear(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

impl HotCache {
    pub fn new(ttl: i64) -> HotCache {
        HotCache {
            ttl,
            clients: Map::new(),
            resources: Map::new(),
            resources_by_uri: Map::new(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.ttl > 0
    }

    pub fn client(&self, client_id: &str, now: UnixTime) -> Option<ClientRow> {
        if !self.enabled() {
            return None;
        }
        self.clients.get(client_id, now)
    }

    pub fn put_client(&self, client: &ClientRow, now: UnixTime) {
        if self.enabled() {
            self.clients.put(
                client.client_id.clone(),
                client.clone(),
                now + self.ttl,
                now,
            );
        }
    }

    pub fn resource(&self, uri: &str, client_id: &str, now: UnixTime) -> Option<ResourceWithGrant> {
        if !self.enabled() {
            return None;
        }
        // The tuple key needs owned strings; the two small allocations are far cheaper than
        // the round trip they save.
        self.resources
            .get(&(uri.to_owned(), client_id.to_owned()), now)
    }

    pub fn put_resource(
        &self,
        uri: &str,
        client_id: &str,
        found: &ResourceWithGrant,
        now: UnixTime,
    ) {
        if self.enabled() {
            self.resources.put(
                (uri.to_owned(), client_id.to_owned()),
                found.clone(),
                now + self.ttl,
                now,
            );
        }
    }

    pub fn resource_by_uri(&self, uri: &str, now: UnixTime) -> Option<ResourceRow> {
        if !self.enabled() {
            return None;
        }
        self.resources_by_uri.get(uri, now)
    }

    pub fn put_resource_by_uri(&self, resource: &ResourceRow, now: UnixTime) {
        if self.enabled() {
            self.resources_by_uri
                .put(resource.uri.clone(), resource.clone(), now + self.ttl, now);
        }
    }

    /// Forgets everything: after any change to clients, resources or grants.
    pub fn clear(&self) {
        self.clients.clear();
        self.resources.clear();
        self.resources_by_uri.clear();
    }
}
