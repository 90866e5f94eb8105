//! The hot-path cache: what the token, introspection and exchange paths read on every
//! request (the client, the resource by URI and with the client's live client_credentials
//! grant, the status of live grants, and access tokens whose signature was verified), so a
//! warm client_credentials grant or introspection needs no database round trip and no
//! signature check.
//!
//! Staleness bound: every store write that can disable, revoke or rewrite one of these
//! announces the entity it changed (`store::changes`), and `forget` drops exactly the
//! entries that depend on it: on this node before the write's response is sent, on other
//! nodes within milliseconds (Postgres `NOTIFY`). Should a notification be lost (the
//! listener reconnecting, or SQLite changed by the CLI), an entry still expires
//! `WARDEN_CACHE_TTL` seconds after it was read (default 5; `0` turns the cache off).
//! Only live grant statuses are cached, so a refused token is always read again. Refresh
//! and code redemption always read the grant's status from the database.

use crate::cache::TtlMap;
use crate::clock::UnixTime;
use crate::domain::Client;
use crate::domain::{Resource, ResourceWithGrant};
use crate::measure::{self, CacheKind};
use crate::oauth::access_token::AccessTokenClaims;
use crate::store::changes::Change;
use crate::store::grants::GrantStatus;

/// Entries per map; beyond it new entries are not cached until old ones expire.
const CAPACITY: usize = 10_000;

pub struct HotCache {
    ttl: i64,
    clients: TtlMap<String, Client>,
    /// By (resource URI, client_id).
    resources: TtlMap<(String, String), ResourceWithGrant>,
    resources_by_uri: TtlMap<String, Resource>,
    live_grants: TtlMap<String, GrantStatus>,
    /// By signature segment; the whole token is compared on a hit.
    verified: TtlMap<String, (String, AccessTokenClaims)>,
}

impl HotCache {
    pub fn new(ttl: i64) -> HotCache {
        HotCache {
            ttl,
            clients: TtlMap::new(CAPACITY),
            resources: TtlMap::new(CAPACITY),
            resources_by_uri: TtlMap::new(CAPACITY),
            live_grants: TtlMap::new(CAPACITY),
            verified: TtlMap::new(CAPACITY),
        }
    }

    pub fn enabled(&self) -> bool {
        self.ttl > 0
    }

    /// Forgets what `change` made stale. Signature checks stay: a token's signature does not
    /// change, and whether its grant is live is asked separately.
    pub fn forget(&self, change: &Change) {
        match change {
            Change::Client(id) => {
                self.clients.remove(id.as_str());
                self.resources.forget_where(|(_, client), _| client == id);
                self.live_grants.forget_where(|_, s| {
                    s.status_client == *id || s.status_parent_client.as_ref() == Some(id)
                });
            }
            Change::Resource(uri) => {
                self.resources_by_uri.remove(uri.as_str());
                self.resources
                    .forget_where(|(resource, _), _| resource == uri);
                self.live_grants
                    .forget_where(|_, s| s.status_resource == *uri);
            }
            Change::Grant(id) => {
                self.live_grants.remove(id.as_str());
                self.live_grants
                    .forget_where(|_, s| s.status_parent.as_ref() == Some(id));
                self.resources
                    .forget_where(|_, found| found.cc_grant.as_ref() == Some(id));
            }
            Change::User(id) => {
                self.live_grants
                    .forget_where(|_, s| s.status_subject == *id);
            }
            Change::Everything => {
                self.clients.clear();
                self.resources.clear();
                self.resources_by_uri.clear();
                self.live_grants.clear();
            }
        }
    }

    pub fn client(&self, client_id: &str, now: UnixTime) -> Option<Client> {
        if !self.enabled() {
            return None;
        }
        counted(CacheKind::Client, self.clients.get(client_id, now))
    }

    pub fn put_client(&self, client: &Client, now: UnixTime) {
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
        counted(
            CacheKind::Resource,
            self.resources
                .get(&(uri.to_owned(), client_id.to_owned()), now),
        )
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

    pub fn resource_by_uri(&self, uri: &str, now: UnixTime) -> Option<Resource> {
        if !self.enabled() {
            return None;
        }
        counted(
            CacheKind::ResourceByUri,
            self.resources_by_uri.get(uri, now),
        )
    }

    pub fn put_resource_by_uri(&self, resource: &Resource, now: UnixTime) {
        if self.enabled() {
            self.resources_by_uri
                .put(resource.uri.clone(), resource.clone(), now + self.ttl, now);
        }
    }

    pub fn live_grant(&self, grant_id: &str, now: UnixTime) -> Option<GrantStatus> {
        if !self.enabled() {
            return None;
        }
        counted(CacheKind::Grant, self.live_grants.get(grant_id, now))
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
        counted(
            CacheKind::VerifiedToken,
            self.verified
                .get(signature, now)
                .filter(|(t, claims)| t == token && claims.exp > now)
                .map(|(_, claims)| claims),
        )
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

/// Counts a lookup of an enabled cache as a hit or a miss.
fn counted<T>(kind: CacheKind, found: Option<T>) -> Option<T> {
    measure::cache(kind, found.is_some());
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(
        client: &str,
        resource: &str,
        subject: &str,
        parent: Option<(&str, &str)>,
    ) -> GrantStatus {
        GrantStatus {
            revoked_at: None,
            client_enabled: true,
            resource_enabled: true,
            user_enabled: true,
            status_client: client.into(),
            status_resource: resource.into(),
            status_subject: subject.into(),
            status_parent: parent.map(|(id, _)| id.into()),
            status_parent_client: parent.map(|(_, client)| client.into()),
        }
    }

    fn resource(uri: &str) -> Resource {
        Resource {
            id: format!("id-{uri}"),
            uri: uri.into(),
            name: String::new(),
            description: String::new(),
            scopes: Default::default(),
            default_scopes: Default::default(),
            access_token_ttl: None,
            allowed_clients: None,
            enabled: true,
            builtin: false,
            require_dpop: false,
            created_at: 0,
            last_check: None,
            updated_at: 0,
        }
    }

    /// A user grant g1 (alice, client app, resource mcp), a grant g2 exchanged from it by
    /// client server for resource api, and bob's grant g3 through another client.
    fn warm() -> HotCache {
        let hot = HotCache::new(60);
        hot.put_grant("g1", &status("app", "mcp", "alice", None), 0);
        hot.put_grant(
            "g2",
            &status("server", "api", "alice", Some(("g1", "app"))),
            0,
        );
        hot.put_grant("g3", &status("other", "mcp2", "bob", None), 0);
        hot.put_resource_by_uri(&resource("mcp"), 0);
        hot.put_resource_by_uri(&resource("api"), 0);
        let cc = ResourceWithGrant {
            resource: resource("api"),
            cc_grant: Some("g4".into()),
        };
        hot.put_resource("api", "server", &cc, 0);
        hot
    }

    fn live(hot: &HotCache) -> Vec<&'static str> {
        ["g1", "g2", "g3"]
            .into_iter()
            .filter(|g| hot.live_grant(g, 1).is_some())
            .collect()
    }

    #[test]
    fn a_change_forgets_what_depends_on_it_and_nothing_else() {
        let hot = warm();
        hot.forget(&Change::Grant("g1".into()));
        assert_eq!(
            live(&hot),
            ["g3"],
            "revoking g1 ends the grant exchanged from it"
        );

        let hot = warm();
        hot.forget(&Change::Client("app".into()));
        assert_eq!(
            live(&hot),
            ["g3"],
            "the client of g1 is also g2's parent's client"
        );

        let hot = warm();
        hot.forget(&Change::User("alice".into()));
        assert_eq!(live(&hot), ["g3"]);

        let hot = warm();
        hot.forget(&Change::Resource("api".into()));
        assert_eq!(live(&hot), ["g1", "g3"]);
        assert!(hot.resource_by_uri("api", 1).is_none());
        assert!(hot.resource_by_uri("mcp", 1).is_some());
        assert!(hot.resource("api", "server", 1).is_none());

        let hot = warm();
        hot.forget(&Change::Grant("g4".into()));
        assert!(
            hot.resource("api", "server", 1).is_none(),
            "a revoked client_credentials grant is not handed out again"
        );
        assert_eq!(live(&hot), ["g1", "g2", "g3"]);

        let hot = warm();
        hot.forget(&Change::Client("unrelated".into()));
        assert_eq!(live(&hot), ["g1", "g2", "g3"]);
        hot.forget(&Change::Everything);
        assert!(live(&hot).is_empty());
    }
}
