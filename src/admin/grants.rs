//! Grants as admins see them: who has access to which MCP server with which scopes, since
//! when, last used; and their revocation, one at a time or all of a user's, a client's or
//! a resource's at once. The admin API, the console and the CLI all call these.

use serde::{Deserialize, Serialize};

use crate::admin::{AdminError, Page, PageQuery};
use crate::domain::{Actor, AuditEvent, AuditKind, Grant, GrantKind, GrantState, ScopeSet};
use crate::measure::{self, Revocation};
use crate::oauth::resource::canonicalize;
use crate::store::Store;
use crate::store::audit::Cursor;
use crate::store::grants::{GrantFilter, GrantHolder, GrantListingRow};

/// The query of `GET /admin/v1/grants`. An empty value is no filter (a console's form sends
/// its empty fields).
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GrantQuery {
    /// A user id: the grants the user gave (authorization_code) and the tokens exchanged in
    /// their name.
    pub user: Option<String>,
    /// A client id.
    pub client: Option<String>,
    /// A resource URI, in any form that canonicalizes to the registered one
    /// (`https://host/` matches `https://host`).
    pub resource: Option<String>,
    /// `live` (default): not revoked; `revoked`: revoked, itself or through the grant it
    /// was exchanged from; `all`.
    #[param(value_type = Option<GrantState>, inline)]
    pub status: Option<String>,
    /// Page size.
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<i64>,
    /// The previous page's `next`.
    pub after: Option<String>,
}

/// A grant in a listing. `revoked_at` is when it stopped, by its own revocation or by that
/// of the grant it was exchanged from.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct GrantListing {
    pub id: String,
    pub kind: GrantKind,
    pub client_id: String,
    pub client_name: String,
    /// The user id of a user's grant (authorization_code, token_exchange), the client id
    /// of a client's own (client_credentials).
    pub subject: String,
    /// The user's name, when the subject is a local user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Resource URI.
    pub resource: String,
    /// Absent when no resource is registered at the URI any more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    pub scope: Vec<String>,
    /// The grant this one was exchanged from (RFC 8693).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// Unix time, seconds.
    pub created_at: i64,
    /// Unix time, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<i64>,
    /// When it stopped: its own revocation, or that of the grant it was exchanged from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
}

impl From<GrantListingRow> for GrantListing {
    fn from(g: GrantListingRow) -> GrantListing {
        GrantListing {
            scope: ScopeSet::from_stored(&g.scope)
                .iter()
                .map(str::to_owned)
                .collect(),
            id: g.id,
            kind: g.kind,
            client_id: g.client_id,
            client_name: g.client_name,
            subject: g.subject,
            username: g.username,
            resource: g.resource,
            resource_name: g.resource_name,
            parent_id: g.parent_id,
            created_at: g.created_at,
            last_used_at: g.last_used_at,
            revoked_at: g.revoked_at,
        }
    }
}

/// One grant as stored (the per-client listing and a single revocation answer with it).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Grant)]
pub struct GrantView {
    pub id: String,
    pub kind: GrantKind,
    pub client_id: String,
    pub subject: String,
    /// Resource URI.
    pub resource: String,
    /// Space-separated granted scopes.
    pub scope: String,
    /// Unix time, seconds.
    pub created_at: i64,
    /// Unix time, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
}

impl From<Grant> for GrantView {
    fn from(g: Grant) -> GrantView {
        GrantView {
            id: g.id,
            kind: g.kind,
            client_id: g.client_id,
            subject: g.subject,
            resource: g.resource,
            scope: g.scope,
            created_at: g.created_at,
            revoked_at: g.revoked_at,
        }
    }
}

/// A filter value, or none when absent or empty.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

fn canonical_resource(uri: &str) -> Result<String, AdminError> {
    canonicalize(uri).map_err(|e| AdminError::invalid("resource", e))
}

impl GrantQuery {
    pub fn filter(&self) -> Result<(GrantFilter, GrantState), AdminError> {
        let state = match given(&self.status) {
            None => GrantState::default(),
            Some(s) => s
                .parse::<GrantState>()
                .map_err(|_| AdminError::invalid("status", "must be live, revoked or all"))?,
        };
        let filter = GrantFilter {
            user: given(&self.user).map(str::to_owned),
            client_id: given(&self.client).map(str::to_owned),
            resource: given(&self.resource).map(canonical_resource).transpose()?,
        };
        Ok((filter, state))
    }
}

/// `GET /admin/v1/grants`: a page of grants, newest first (by creation time, then id), with
/// `next` the cursor `{created_at}.{id}` of the last one.
pub async fn list(store: &Store, query: &GrantQuery) -> Result<Page<GrantListing>, AdminError> {
    let limit = PageQuery {
        limit: query.limit,
        after: None,
    }
    .limit()?;
    let (filter, state) = query.filter()?;
    let cursor = match given(&query.after) {
        None => None,
        Some(raw) => Some(Cursor::parse(raw).ok_or_else(|| {
            AdminError::invalid("after", "not a cursor from a previous page's next")
        })?),
    };
    let rows = store
        .grants_page(&filter, state, cursor.as_ref(), limit)
        .await?;
    Ok(Page::of(rows, limit, |g| g.cursor().to_string()).map(GrantListing::from))
}

/// Every grant of a client, oldest first (`GET /admin/v1/clients/{client_id}/grants`).
pub async fn of_client(store: &Store, client_id: &str) -> Result<Vec<GrantView>, AdminError> {
    crate::admin::clients::get(store, client_id).await?;
    let grants = store.grants_of_client(client_id).await?;
    Ok(grants.into_iter().map(GrantView::from).collect())
}

/// Revokes one grant (idempotent) and returns it; 404 when there is none.
pub async fn revoke(
    store: &Store,
    id: &str,
    now: i64,
    actor: &Actor,
) -> Result<GrantView, AdminError> {
    let event = AuditEvent::new(AuditKind::GrantRevoked, actor.clone(), now);
    if !store.revoke_grant(id, now, event).await? {
        return Err(AdminError::NotFound(format!("no grant {id}")));
    }
    measure::grants_revoked(Revocation::Admin, 1);
    tracing::info!(grant_id = %id, "grant revoked by an admin");
    store
        .grant(id)
        .await?
        .map(GrantView::from)
        .ok_or_else(|| AdminError::NotFound(format!("no grant {id}")))
}

/// The body of `POST /admin/v1/grants/revoke`: exactly one of the three.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1, max_properties = 1)]
pub struct RevokeAll {
    /// A user id.
    pub user: Option<String>,
    /// A client id.
    pub client: Option<String>,
    /// A resource URI.
    pub resource: Option<String>,
}

impl RevokeAll {
    /// The one holder named, its resource canonical.
    fn holder(&self) -> Result<GrantHolder, AdminError> {
        let named = [
            given(&self.user).map(|id| Ok(GrantHolder::User(id.to_owned()))),
            given(&self.client).map(|id| Ok(GrantHolder::Client(id.to_owned()))),
            given(&self.resource).map(|uri| canonical_resource(uri).map(GrantHolder::Resource)),
        ];
        let mut named = named.into_iter().flatten();
        match (named.next(), named.next()) {
            (Some(holder), None) => holder,
            _ => Err(AdminError::invalid(
                "body",
                "name exactly one of user, client or resource",
            )),
        }
    }
}

/// Revokes every live grant of one user, client or resource, in one transaction, with one
/// `grant.revoked` event per grant (`details.via` says which revocation of many it was part
/// of). What descends from each grant stops as when it is revoked alone: its refresh tokens,
/// the grants exchanged from it, every node's cached status. Grants already revoked are
/// skipped; returns how many were revoked now. 404 when the user, client or resource is
/// not registered (the grants of a deleted one were revoked with it).
pub async fn revoke_all(
    store: &Store,
    target: &RevokeAll,
    now: i64,
    actor: &Actor,
) -> Result<u64, AdminError> {
    let holder = target.holder()?;
    let via = match &holder {
        GrantHolder::User(id) => {
            store
                .user_by_id(id)
                .await?
                .ok_or_else(|| AdminError::NotFound(format!("no user {id}")))?;
            "revoke all for user"
        }
        GrantHolder::Client(id) => {
            crate::admin::clients::get(store, id).await?;
            "revoke all for client"
        }
        GrantHolder::Resource(uri) => {
            store
                .resource_by_uri(uri)
                .await?
                .ok_or_else(|| AdminError::NotFound(format!("no resource {uri}")))?;
            "revoke all for resource"
        }
    };
    let event = AuditEvent::new(AuditKind::GrantRevoked, actor.clone(), now).detail("via", via);
    let revoked = store.revoke_grants(holder, now, &event).await?;
    measure::grants_revoked(Revocation::Admin, revoked);
    tracing::info!(revoked, via, "grants revoked by an admin");
    Ok(revoked)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn field(e: AdminError) -> &'static str {
        match e {
            AdminError::Validation { field, .. } => field,
            other => panic!("not a validation error: {other}"),
        }
    }

    #[test]
    fn a_revocation_of_many_names_exactly_one_holder_its_resource_canonical() {
        let target = |user: &str, client: &str, resource: &str| RevokeAll {
            user: Some(user.to_owned()),
            client: Some(client.to_owned()),
            resource: Some(resource.to_owned()),
        };
        assert_eq!(
            target("", "", "HTTPS://MCP.example.com/").holder().unwrap(),
            GrantHolder::Resource("https://mcp.example.com".into())
        );
        assert_eq!(
            target("u1", "", "").holder().unwrap(),
            GrantHolder::User("u1".into())
        );
        assert_eq!(field(target("", "", "").holder().unwrap_err()), "body");
        assert_eq!(field(RevokeAll::default().holder().unwrap_err()), "body");
        assert_eq!(field(target("u1", "c1", "").holder().unwrap_err()), "body");
        assert_eq!(
            field(target("", "", "mcp.example.com").holder().unwrap_err()),
            "resource"
        );
    }

    #[test]
    fn a_listing_filters_by_state_live_unless_told_otherwise() {
        let query = |status: Option<&str>| GrantQuery {
            status: status.map(str::to_owned),
            ..Default::default()
        };
        assert_eq!(query(None).filter().unwrap().1, GrantState::Live);
        assert_eq!(query(Some("")).filter().unwrap().1, GrantState::Live);
        assert_eq!(query(Some("all")).filter().unwrap().1, GrantState::All);
        assert_eq!(field(query(Some("dead")).filter().unwrap_err()), "status");
    }
}
