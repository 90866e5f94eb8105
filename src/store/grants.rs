//! Grants: every token descends from one, and revoking it ends them all.

use crate::clock::UnixTime;
use crate::store::{Store, is_unique_violation, on_pool};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct GrantRow {
    pub id: String,
    pub kind: String,
    pub client_id: String,
    pub subject: String,
    pub resource: String,
    pub scope: String,
    pub created_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
}

/// What introspection needs to know about a token's grant, in one read.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct GrantStatus {
    pub revoked_at: Option<UnixTime>,
    pub client_enabled: bool,
    pub resource_enabled: bool,
}

const SELECT: &str =
    "SELECT id, kind, client_id, subject, resource, scope, created_at, revoked_at FROM grants";

impl Store {
    /// The live client_credentials grant of (client, resource), created on first use.
    /// Tokens share it, so the common case is one indexed read and no write.
    pub async fn client_credentials_grant(
        &self,
        client_id: &str,
        resource: &str,
        now: UnixTime,
    ) -> Result<String, sqlx::Error> {
        const FIND: &str = "SELECT id FROM grants WHERE client_id = $1 AND resource = $2 \
             AND kind = 'client_credentials' AND revoked_at IS NULL";
        for _ in 0..2 {
            let found: Option<String> = on_pool!(self, pool => sqlx::query_scalar(FIND)
                .bind(client_id).bind(resource).fetch_optional(pool).await)?;
            if let Some(id) = found {
                return Ok(id);
            }
            let id = uuid::Uuid::now_v7().to_string();
            let inserted = on_pool!(self, pool => sqlx::query(
                "INSERT INTO grants (id, kind, client_id, subject, resource, scope, created_at) \
                 VALUES ($1, 'client_credentials', $2, $2, $3, '', $4)")
                .bind(&id).bind(client_id).bind(resource).bind(now).execute(pool).await.map(|_| ()));
            match inserted {
                Ok(_) => return Ok(id),
                // Another request created it first: read theirs.
                Err(e) if is_unique_violation(&e) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(sqlx::Error::RowNotFound)
    }

    pub async fn grant_status(&self, grant_id: &str) -> Result<Option<GrantStatus>, sqlx::Error> {
        on_pool!(self, pool => sqlx::query_as::<_, GrantStatus>(
            "SELECT g.revoked_at, c.enabled AS client_enabled, r.enabled AS resource_enabled \
             FROM grants g JOIN clients c ON c.client_id = g.client_id \
             JOIN resources r ON r.uri = g.resource WHERE g.id = $1")
            .bind(grant_id).fetch_optional(pool).await)
    }

    pub async fn grant(&self, grant_id: &str) -> Result<Option<GrantRow>, sqlx::Error> {
        on_pool!(self, pool => sqlx::query_as::<_, GrantRow>(sqlx::AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
            .bind(grant_id).fetch_optional(pool).await)
    }

    pub async fn grants_of_client(&self, client_id: &str) -> Result<Vec<GrantRow>, sqlx::Error> {
        on_pool!(self, pool => sqlx::query_as::<_, GrantRow>(sqlx::AssertSqlSafe(format!("{SELECT} WHERE client_id = $1 ORDER BY id")))
            .bind(client_id).fetch_all(pool).await)
    }

    /// Marks a grant revoked (idempotent); true when it exists.
    pub async fn revoke_grant(&self, grant_id: &str, now: UnixTime) -> Result<bool, sqlx::Error> {
        on_pool!(self, pool => sqlx::query(
            "UPDATE grants SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1")
            .bind(grant_id).bind(now).execute(pool).await.map(|r| r.rows_affected() == 1))
    }
}
