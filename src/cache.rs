//! A bounded, short-lived, in-process cache for what the hot paths read on every request:
//! the client (client authentication), the resource (by URI, and with the client's live
//! client_credentials grant), the status of live grants (introspection), and access tokens
//! whose signature was already verified. A warm client_credentials grant or introspection
//! then needs no database round trip and no signature check.
//!
//! Staleness bound: every change that can disable or revoke something clears the cache of
//! the node that made it at once (admin API, registration management, `/revoke`, the
//! account page, reuse and replay detection) and, on Postgres, of every other node within
//! milliseconds (`NOTIFY warden_cache`, which the CLI sends too). Should a notification be
//! lost (the listener reconnecting, or SQLite changed by the CLI), an entry still expires
//! `WARDEN_CACHE_TTL` seconds after it was read (default 5; `0` turns the cache off).
//! Only live grant statuses are cached, so a refused token is always read again. Refresh
//! and code redemption always read the grant's status from the database.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

use crate::clock::UnixTime;
use crate::oauth::access_token::AccessTokenClaims;
use crate::store::clients::ClientRow;
use crate::store::grants::GrantStatus;
use crate::store::resources::{ResourceRow, ResourceWithGrant};

/// Entries per map; beyond it new entries are not cached until old ones expire.
const CAPACITY: usize = 10_000;

pub struct HotCache {
    ttl: i64,
    clients: Map<String, ClientRow>,
    resources: Map<(String, String), ResourceWithGrant>,
    resources_by_uri: Map<String, ResourceRow>,
    live_grants: Map<String, GrantStatus>,
    /// By signature segment; the whole token is compared on a hit.
    verified: Map<String, (String, AccessTokenClaims)>,
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
            live_grants: Map::new(),
            verified: Map::new(),
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
        self.live_grants.clear();
    }

    pub fn live_grant(&self, grant_id: &str, now: UnixTime) -> Option<GrantStatus> {
        if !self.enabled() {
            return None;
        }
        self.live_grants.get(grant_id, now)
    }

    /// Remembers a grant status, only if it is live.
    pub fn put_grant(&self, grant_id: &str, status: &GrantStatus, now: UnixTime) {
        if self.enabled() && status.is_live() {
            self.live_grants
                .put(grant_id.to_owned(), status.clone(), now + self.ttl, now);
        }
    }

    /// The claims of `token` if its signature was verified before (and it has not expired).
    pub fn verified(&self, token: &str, now: UnixTime) -> Option<AccessTokenClaims> {
        if !self.enabled() {
            return None;
        }
        let signature = token.rsplit_once('.')?.1;
        self.verified
            .get(signature, now)
            .filter(|(t, claims)| t == token && claims.exp > now)
            .map(|(_, claims)| claims)
    }

    pub fn put_verified(&self, token: &str, claims: &AccessTokenClaims, now: UnixTime) {
        if let (true, Some((_, signature))) = (self.enabled(), token.rsplit_once('.')) {
            self.verified.put(
                signature.to_owned(),
                (token.to_owned(), claims.clone()),
                (now + self.ttl).min(claims.exp),
                now,
            );
        }
    }
}
