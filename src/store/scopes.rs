//! The scope catalogue.

use serde::Serialize;

use crate::clock::UnixTime;
use crate::domain::AuditEvent;
use crate::store::audit;
use crate::store::tx::{Conn, on_conn};
use crate::store::{Store, on_pool};

#[derive(Clone, Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ScopeRow {
    /// RFC 6749 scope-token.
    pub name: String,
    /// Shown to end users on the consent screen.
    pub description: String,
    /// Granted by default by resources that accept it.
    pub is_default: bool,
    /// Unix time, seconds.
    #[schema(value_type = i64)]
    pub created_at: UnixTime,
}

impl Store {
    pub async fn scopes(&self) -> Result<Vec<ScopeRow>, sqlx::Error> {
        const SCOPES: &str =
            "SELECT name, description, is_default, created_at FROM scopes ORDER BY name";
        on_pool!(self, |pool| sqlx::query_as::<_, ScopeRow>(SCOPES)
            .fetch_all(&mut *pool)
            .await)
    }

    pub async fn scope(&self, name: &str) -> Result<Option<ScopeRow>, sqlx::Error> {
        const SCOPE: &str =
            "SELECT name, description, is_default, created_at FROM scopes WHERE name = $1";
        on_pool!(self, |pool| sqlx::query_as::<_, ScopeRow>(SCOPE)
            .bind(name)
            .fetch_optional(&mut *pool)
            .await)
    }

    /// Every edge of the scope hierarchy, `(scope, implies)`.
    pub async fn scope_implications(&self) -> Result<Vec<(String, String)>, sqlx::Error> {
        const IMPLICATIONS: &str =
            "SELECT scope, implies FROM scope_implications ORDER BY scope, implies";
        on_pool!(self, |pool| sqlx::query_as::<_, (String, String)>(
            IMPLICATIONS
        )
        .fetch_all(&mut *pool)
        .await)
    }

    /// Inserts a scope with what it implies; a duplicate name is a unique violation for
    /// the caller to map. Each write below records its audit event in its own transaction.
    pub async fn insert_scope(
        &self,
        row: &ScopeRow,
        implies: &[String],
        event: &AuditEvent,
    ) -> Result<(), sqlx::Error> {
        const INSERT_SCOPE: &str = "INSERT INTO scopes (name, description, is_default, \
            created_at) VALUES ($1, $2, $3, $4)";
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(INSERT_SCOPE)
                .bind(&row.name)
                .bind(&row.description)
                .bind(row.is_default)
                .bind(row.created_at)
                .execute(&mut *tx)
                .await?;
            replace_implications(Conn::from(&mut *tx), &row.name, implies).await?;
            audit::insert(Conn::from(&mut *tx), event).await?;
            tx.commit().await
        })?;
        self.audited(event);
        Ok(())
    }

    /// Updates a scope; `implies`, when given, replaces what it implies directly.
    pub async fn update_scope(
        &self,
        name: &str,
        description: &str,
        is_default: bool,
        implies: Option<&[String]>,
        event: &AuditEvent,
    ) -> Result<bool, sqlx::Error> {
        const UPDATE_SCOPE: &str =
            "UPDATE scopes SET description = $2, is_default = $3 WHERE name = $1";
        let updated = on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let updated = sqlx::query(UPDATE_SCOPE)
                .bind(name)
                .bind(description)
                .bind(is_default)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if updated {
                if let Some(implies) = implies {
                    replace_implications(Conn::from(&mut *tx), name, implies).await?;
                }
                audit::insert(Conn::from(&mut *tx), event).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(updated)
        })?;
        if updated {
            self.audited(event);
        }
        Ok(updated)
    }

    pub async fn delete_scope(&self, name: &str, event: &AuditEvent) -> Result<bool, sqlx::Error> {
        const DELETE_SCOPE: &str = "DELETE FROM scopes WHERE name = $1";
        let deleted = on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let deleted = sqlx::query(DELETE_SCOPE)
                .bind(name)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if deleted {
                audit::insert(Conn::from(&mut *tx), event).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(deleted)
        })?;
        if deleted {
            self.audited(event);
        }
        Ok(deleted)
    }
}

/// Replaces what `name` implies directly.
async fn replace_implications(
    conn: Conn<'_>,
    name: &str,
    implies: &[String],
) -> Result<(), sqlx::Error> {
    const CLEAR: &str = "DELETE FROM scope_implications WHERE scope = $1";
    const ADD: &str = "INSERT INTO scope_implications (scope, implies) VALUES ($1, $2)";
    on_conn!(conn, |c| {
        sqlx::query(CLEAR).bind(name).execute(&mut *c).await?;
        for implied in implies {
            sqlx::query(ADD)
                .bind(name)
                .bind(implied)
                .execute(&mut *c)
                .await?;
        }
        Ok(())
    })
}
