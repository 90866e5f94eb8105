//! The scope catalogue.

use serde::Serialize;

use crate::clock::UnixTime;
use crate::store::{Store, on_pool};

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct ScopeRow {
    pub name: String,
    pub description: String,
    pub is_default: bool,
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

    /// Inserts a scope; a duplicate name is a unique violation for the caller to map.
    pub async fn insert_scope(&self, row: &ScopeRow) -> Result<(), sqlx::Error> {
        const INSERT_SCOPE: &str = "INSERT INTO scopes (name, description, is_default, \
            created_at) VALUES ($1, $2, $3, $4)";
        on_pool!(self, |pool| sqlx::query(INSERT_SCOPE)
            .bind(&row.name)
            .bind(&row.description)
            .bind(row.is_default)
            .bind(row.created_at)
            .execute(&mut *pool)
            .await
            .map(|_| ()))
    }

    pub async fn update_scope(
        &self,
        name: &str,
        description: &str,
        is_default: bool,
    ) -> Result<bool, sqlx::Error> {
        const UPDATE_SCOPE: &str =
            "UPDATE scopes SET description = $2, is_default = $3 WHERE name = $1";
        on_pool!(self, |pool| sqlx::query(UPDATE_SCOPE)
            .bind(name)
            .bind(description)
            .bind(is_default)
            .execute(&mut *pool)
            .await
            .map(|r| r.rows_affected() == 1))
    }

    pub async fn delete_scope(&self, name: &str) -> Result<bool, sqlx::Error> {
        const DELETE_SCOPE: &str = "DELETE FROM scopes WHERE name = $1";
        on_pool!(self, |pool| sqlx::query(DELETE_SCOPE)
            .bind(name)
            .execute(&mut *pool)
            .await
            .map(|r| r.rows_affected() == 1))
    }
}
