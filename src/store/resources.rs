//! MCP resources (protected resources, RFC 9728) registered by admins.

use crate::clock::UnixTime;
use crate::domain::{AuditEvent, CheckOutcome, LastCheck, Resource, ResourceWithGrant, ScopeSet};
use crate::store::audit;
use crate::store::changes::Change;
use crate::store::grants::{GrantsOf, Narrow, narrow_grants};
use crate::store::tx::Conn;
use crate::store::{Store, on_pool};

/// A `resources` row as stored; the store hands out `Resource`s.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ResourceRow {
    pub id: String,
    pub uri: String,
    pub name: String,
    pub description: String,
    /// Space-separated scope names the resource accepts.
    pub scopes: String,
    /// Space-separated subset granted when a request names no scope.
    pub default_scopes: String,
    pub access_token_ttl: Option<i64>,
    /// JSON array of client ids; NULL means any client.
    pub allowed_clients: Option<String>,
    pub enabled: bool,
    pub builtin: bool,
    /// Tokens only with a DPoP proof (RFC 9449).
    pub require_dpop: bool,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    /// The last `resource check` (NULL: never checked). Absent from queries that do not
    /// need it (the token hot path), hence the defaults.
    #[sqlx(default)]
    pub last_check_at: Option<UnixTime>,
    /// `pass` or `fail`.
    #[sqlx(default)]
    pub last_check_outcome: Option<String>,
    /// Space-separated names of the points that failed.
    #[sqlx(default)]
    pub last_check_failed: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ResourceWithGrantRow {
    #[sqlx(flatten)]
    resource: ResourceRow,
    cc_grant: Option<String>,
}

impl TryFrom<ResourceRow> for Resource {
    type Error = sqlx::Error;

    fn try_from(row: ResourceRow) -> Result<Resource, sqlx::Error> {
        let allowed_clients = match row.allowed_clients.as_deref() {
            None => None,
            Some(json) => Some(
                serde_json::from_str::<Vec<String>>(json)
                    .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            ),
        };
        let last_check = match (row.last_check_at, row.last_check_outcome.as_deref()) {
            (Some(at), Some(outcome)) => Some(LastCheck {
                at,
                outcome: CheckOutcome::parse(outcome).ok_or_else(|| {
                    sqlx::Error::Decode(format!("unknown check outcome {outcome:?}").into())
                })?,
                failed: row
                    .last_check_failed
                    .as_deref()
                    .unwrap_or_default()
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
            }),
            _ => None,
        };
        Ok(Resource {
            last_check,
            scopes: ScopeSet::from_stored(&row.scopes),
            default_scopes: ScopeSet::from_stored(&row.default_scopes),
            allowed_clients,
            id: row.id,
            uri: row.uri,
            name: row.name,
            description: row.description,
            access_token_ttl: row.access_token_ttl,
            enabled: row.enabled,
            builtin: row.builtin,
            require_dpop: row.require_dpop,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

impl From<&Resource> for ResourceRow {
    fn from(r: &Resource) -> ResourceRow {
        ResourceRow {
            id: r.id.clone(),
            uri: r.uri.clone(),
            name: r.name.clone(),
            description: r.description.clone(),
            scopes: r.scopes.to_scope_string(),
            default_scopes: r.default_scopes.to_scope_string(),
            access_token_ttl: r.access_token_ttl,
            // A list of strings always serializes.
            allowed_clients: r
                .allowed_clients
                .as_ref()
                .map(|ids| serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())),
            enabled: r.enabled,
            builtin: r.builtin,
            require_dpop: r.require_dpop,
            created_at: r.created_at,
            updated_at: r.updated_at,
            last_check_at: r.last_check.as_ref().map(|c| c.at),
            last_check_outcome: r.last_check.as_ref().map(|c| c.outcome.as_str().to_owned()),
            last_check_failed: r.last_check.as_ref().map(|c| c.failed.join(" ")),
        }
    }
}

fn resources(rows: Vec<ResourceRow>) -> Result<Vec<Resource>, sqlx::Error> {
    rows.into_iter().map(Resource::try_from).collect()
}

macro_rules! select {
    ($tail:literal) => {
        concat!(
            "SELECT id, uri, name, description, scopes, default_scopes, access_token_ttl, ",
            "allowed_clients, enabled, builtin, require_dpop, created_at, updated_at, ",
            "last_check_at, last_check_outcome, last_check_failed FROM resources ",
            $tail
        )
    };
}

/// Binds `$1`…`$13` of an insert to a resource row's columns, in table order.
macro_rules! bind_resource {
    ($query:expr, $r:expr) => {
        $query
            .bind(&$r.id)
            .bind(&$r.uri)
            .bind(&$r.name)
            .bind(&$r.description)
            .bind(&$r.scopes)
            .bind(&$r.default_scopes)
            .bind($r.access_token_ttl)
            .bind(&$r.allowed_clients)
            .bind($r.enabled)
            .bind($r.builtin)
            .bind($r.created_at)
            .bind($r.updated_at)
            .bind($r.require_dpop)
    };
}

impl Store {
    /// How many live grants name the resource: what deleting or disabling it ends.
    pub async fn live_grants_for_resource(&self, uri: &str) -> Result<i64, sqlx::Error> {
        // Live by the one rule of `revoked_at_sql`: a grant exchanged from a revoked
        // parent is not live either.
        const LIVE_GRANTS: &str = concat!(
            "SELECT COUNT(*) FROM grants g LEFT JOIN grants p ON p.id = g.parent_id \
             WHERE g.resource = $1 AND ",
            crate::store::grants::revoked_at_sql!(),
            " IS NULL"
        );
        on_pool!(self, |pool| sqlx::query_scalar(LIVE_GRANTS)
            .bind(uri)
            .fetch_one(&mut *pool)
            .await)
    }

    pub async fn resource_by_uri(&self, uri: &str) -> Result<Option<Resource>, sqlx::Error> {
        const RESOURCE_BY_URI: &str = select!("WHERE uri = $1");
        let row = on_pool!(self, |pool| sqlx::query_as::<_, ResourceRow>(
            RESOURCE_BY_URI
        )
        .bind(uri)
        .fetch_optional(&mut *pool)
        .await)?;
        row.map(Resource::try_from).transpose()
    }

    /// One round trip for the token hot path: the resource and `client_id`'s live grant.
    pub async fn resource_with_client_grant(
        &self,
        uri: &str,
        client_id: &str,
    ) -> Result<Option<ResourceWithGrant>, sqlx::Error> {
        const RESOURCE_WITH_CLIENT_GRANT: &str = "SELECT r.id, r.uri, r.name, r.description, \
            r.scopes, r.default_scopes, r.access_token_ttl, r.allowed_clients, r.enabled, \
            r.builtin, r.require_dpop, r.created_at, r.updated_at, g.id AS cc_grant FROM \
            resources r LEFT JOIN \
            grants g ON g.resource = r.uri AND g.client_id = $2 AND g.kind = 'client_credentials' \
            AND g.revoked_at IS NULL WHERE r.uri = $1";
        let row = on_pool!(self, |pool| sqlx::query_as::<_, ResourceWithGrantRow>(
            RESOURCE_WITH_CLIENT_GRANT
        )
        .bind(uri)
        .bind(client_id)
        .fetch_optional(&mut *pool)
        .await)?;
        row.map(|r| {
            Ok(ResourceWithGrant {
                resource: r.resource.try_into()?,
                cc_grant: r.cc_grant,
            })
        })
        .transpose()
    }

    pub async fn resource_by_id(&self, id: &str) -> Result<Option<Resource>, sqlx::Error> {
        const RESOURCE_BY_ID: &str = select!("WHERE id = $1");
        let row = on_pool!(self, |pool| sqlx::query_as::<_, ResourceRow>(
            RESOURCE_BY_ID
        )
        .bind(id)
        .fetch_optional(&mut *pool)
        .await)?;
        row.map(Resource::try_from).transpose()
    }

    /// One page, ordered by id (UUIDv7: creation order), starting after `after`.
    pub async fn resources_page(
        &self,
        after: &str,
        limit: i64,
    ) -> Result<Vec<Resource>, sqlx::Error> {
        const RESOURCES_PAGE: &str = select!("WHERE id > $1 ORDER BY id LIMIT $2");
        resources(on_pool!(self, |pool| sqlx::query_as::<_, ResourceRow>(
            RESOURCES_PAGE
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *pool)
        .await)?)
    }

    /// Every resource, in creation order: the registry is small (an admin's list), and the
    /// scope catalogue matches scopes against it in Rust, as scopes are stored as one text.
    pub async fn all_resources(&self) -> Result<Vec<Resource>, sqlx::Error> {
        const ALL_RESOURCES: &str = select!("ORDER BY id");
        resources(on_pool!(self, |pool| sqlx::query_as::<_, ResourceRow>(
            ALL_RESOURCES
        )
        .fetch_all(&mut *pool)
        .await)?)
    }

    /// Resources whose accepted scopes mention `scope` (to refuse deleting it).
    pub async fn resources_using_scope(&self, scope: &str) -> Result<Vec<String>, sqlx::Error> {
        Ok(self
            .all_resources()
            .await?
            .into_iter()
            .filter(|r| r.scopes.contains(scope))
            .map(|r| r.uri)
            .collect())
    }

    /// Registers a resource, with its audit event in the same transaction.
    pub async fn insert_resource(
        &self,
        resource: &Resource,
        event: &AuditEvent,
    ) -> Result<(), sqlx::Error> {
        let r = &ResourceRow::from(resource);
        const INSERT_RESOURCE: &str = "INSERT INTO resources (id, uri, name, description, scopes, \
            default_scopes, access_token_ttl, allowed_clients, enabled, builtin, created_at, \
            updated_at, require_dpop) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
            $13)";
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            bind_resource!(sqlx::query(INSERT_RESOURCE), r)
                .execute(&mut *tx)
                .await?;
            audit::insert(Conn::from(&mut *tx), event).await?;
            tx.commit().await
        })?;
        self.audited(event);
        Ok(())
    }

    /// Replaces every mutable field of resource `r.id`; false when it does not exist.
    /// Writes `r`. A changed URI revokes the grants of the old one in the same transaction:
    /// grants name their resource by URI, and a resource registered later under the old URI
    /// must not inherit them.
    /// Live user grants narrow to the scopes the resource accepts now, in that transaction.
    /// `event` is written in the transaction.
    pub async fn update_resource(
        &self,
        resource: &Resource,
        narrow: Narrow,
        event: &AuditEvent,
    ) -> Result<bool, sqlx::Error> {
        let r = &ResourceRow::from(resource);
        const REVOKE_MOVED: &str = "UPDATE grants SET revoked_at = $3 WHERE revoked_at IS NULL \
            AND resource = (SELECT uri FROM resources WHERE id = $1) AND resource <> $2";
        const UPDATE_RESOURCE: &str = "UPDATE resources SET uri = $2, name = $3, description = \
            $4, scopes = $5, default_scopes = $6, access_token_ttl = $7, allowed_clients = $8, \
            enabled = $9, updated_at = $10, require_dpop = $11 WHERE id = $1";
        const URI: &str = "SELECT uri FROM resources WHERE id = $1";
        let (updated, before) = on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let before: Option<String> = sqlx::query_scalar(URI)
                .bind(&r.id)
                .fetch_optional(&mut *tx)
                .await?;
            sqlx::query(REVOKE_MOVED)
                .bind(&r.id)
                .bind(&r.uri)
                .bind(r.updated_at)
                .execute(&mut *tx)
                .await?;
            let updated = sqlx::query(UPDATE_RESOURCE)
                .bind(&r.id)
                .bind(&r.uri)
                .bind(&r.name)
                .bind(&r.description)
                .bind(&r.scopes)
                .bind(&r.default_scopes)
                .bind(r.access_token_ttl)
                .bind(&r.allowed_clients)
                .bind(r.enabled)
                .bind(r.updated_at)
                .bind(r.require_dpop)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            narrow_grants!(tx, GrantsOf::Resource(&r.id), narrow, r.updated_at);
            if updated {
                audit::insert(Conn::from(&mut *tx), event).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>((updated, before))
        })?;
        if updated {
            self.audited(event);
        }
        let mut changes = vec![Change::Resource(r.uri.clone())];
        changes.extend(before.filter(|uri| *uri != r.uri).map(Change::Resource));
        self.changed(&changes).await;
        Ok(updated)
    }

    /// Deletes a resource and revokes its grants, for the same reason as a URI change;
    /// `event` is written in the transaction.
    pub async fn delete_resource(
        &self,
        id: &str,
        now: UnixTime,
        event: &AuditEvent,
    ) -> Result<bool, sqlx::Error> {
        const REVOKE_DERIVED: &str = "UPDATE grants SET revoked_at = COALESCE(revoked_at, $2) \
            WHERE parent_id IN (SELECT id FROM grants WHERE resource = (SELECT uri FROM resources \
            WHERE id = $1 AND builtin = FALSE))";
        const REVOKE_GRANTS: &str = "UPDATE grants SET revoked_at = $2 WHERE revoked_at IS \
            NULL AND resource = (SELECT uri FROM resources WHERE id = $1 AND builtin = FALSE)";
        const DELETE_RESOURCE: &str = "DELETE FROM resources WHERE id = $1 AND builtin = FALSE";
        const URI: &str = "SELECT uri FROM resources WHERE id = $1 AND builtin = FALSE";
        let uri: Option<String> = on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let Some(uri): Option<String> = sqlx::query_scalar(URI)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
            else {
                return Ok(false);
            };
            // Grants exchanged from them (RFC 8693) first: their children, on other resources.
            sqlx::query(REVOKE_DERIVED)
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(REVOKE_GRANTS)
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let deleted = sqlx::query(DELETE_RESOURCE)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if deleted {
                audit::insert(Conn::from(&mut *tx), event).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(deleted.then_some(uri))
        })?;
        match uri {
            Some(uri) => {
                self.audited(event);
                self.changed(&[Change::Resource(uri)]).await;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Stores the outcome of a `resource check`; false when the resource is gone.
    pub async fn record_resource_check(
        &self,
        id: &str,
        check: &LastCheck,
    ) -> Result<bool, sqlx::Error> {
        const RECORD_CHECK: &str = "UPDATE resources SET last_check_at = $2, \
            last_check_outcome = $3, last_check_failed = $4 WHERE id = $1";
        let failed = check.failed.join(" ");
        on_pool!(self, |pool| sqlx::query(RECORD_CHECK)
            .bind(id)
            .bind(check.at)
            .bind(check.outcome.as_str())
            .bind(&failed)
            .execute(&mut *pool)
            .await
            .map(|r| r.rows_affected() == 1))
    }

    /// Creates or refreshes the built-in admin resource (`{issuer}/admin`). The issuer can
    /// change between runs, so the row is found by `builtin`, not by URI.
    pub async fn upsert_builtin_resource(&self, resource: &Resource) -> Result<(), sqlx::Error> {
        let r = &ResourceRow::from(resource);
        const MOVE_BUILTIN: &str =
            "UPDATE resources SET uri = $1, updated_at = $2 WHERE builtin = TRUE";
        const INSERT_BUILTIN: &str = "INSERT INTO resources (id, uri, name, \
            description, scopes, default_scopes, access_token_ttl, allowed_clients, enabled, \
            builtin, created_at, updated_at, require_dpop) VALUES ($1, $2, $3, $4, $5, $6, $7, \
            $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING";
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let updated = sqlx::query(MOVE_BUILTIN)
                .bind(&r.uri)
                .bind(r.updated_at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if updated == 0 {
                bind_resource!(sqlx::query(INSERT_BUILTIN), r)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        })?;
        self.changed(&[Change::Resource(r.uri.clone())]).await;
        Ok(())
    }
}
