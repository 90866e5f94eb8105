//! Workload identity rules (SEP-1933): which workload JWTs stand for which client.

use crate::clock::UnixTime;
use crate::domain::AuditEvent;
use crate::store::Store;
use crate::store::on_pool;
use crate::store::tx::on_conn;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct WorkloadRuleRow {
    pub id: String,
    pub issuer: String,
    pub jwks_uri: String,
    /// Space-separated JWS algorithms accepted.
    pub algorithms: String,
    /// The `aud` the workload JWT must carry.
    pub audience: String,
    /// A `SubjectPattern`: exact or glob.
    pub subject: String,
    /// JSON object of claims that must be equal (`RequiredClaims`).
    pub claims: String,
    pub client_id: String,
    pub created_at: UnixTime,
}

const RULES_FOR: &str = "SELECT id, issuer, jwks_uri, algorithms, audience, subject, claims, \
    client_id, created_at FROM workload_rules WHERE issuer = $1 ORDER BY created_at, id";
const RULES: &str = "SELECT id, issuer, jwks_uri, algorithms, audience, subject, claims, \
    client_id, created_at FROM workload_rules ORDER BY issuer, created_at, id";
const INSERT_RULE: &str = "INSERT INTO workload_rules (id, issuer, jwks_uri, algorithms, \
    audience, subject, claims, client_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

impl Store {
    /// Rules for one issuer, oldest first: the first that matches decides.
    pub async fn workload_rules_for(
        &self,
        issuer: &str,
    ) -> Result<Vec<WorkloadRuleRow>, sqlx::Error> {
        on_pool!(self, |pool| sqlx::query_as::<_, WorkloadRuleRow>(RULES_FOR)
            .bind(issuer)
            .fetch_all(&mut *pool)
            .await)
    }

    pub async fn workload_rules(&self) -> Result<Vec<WorkloadRuleRow>, sqlx::Error> {
        on_pool!(self, |pool| sqlx::query_as::<_, WorkloadRuleRow>(RULES)
            .fetch_all(&mut *pool)
            .await)
    }

    /// The rule and `event` in one transaction.
    pub async fn insert_workload_rule(
        &self,
        r: &WorkloadRuleRow,
        event: &AuditEvent,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.begin().await?;
        on_conn!(tx.conn(), |c| sqlx::query(INSERT_RULE)
            .bind(&r.id)
            .bind(&r.issuer)
            .bind(&r.jwks_uri)
            .bind(&r.algorithms)
            .bind(&r.audience)
            .bind(&r.subject)
            .bind(&r.claims)
            .bind(&r.client_id)
            .bind(r.created_at)
            .execute(c)
            .await
            .map(|_| ()))?;
        tx.audit(event.clone()).await?;
        tx.commit().await
    }

    pub async fn delete_workload_rule(
        &self,
        id: &str,
        event: &AuditEvent,
    ) -> Result<bool, sqlx::Error> {
        const DELETE_WORKLOAD_RULE: &str = "DELETE FROM workload_rules WHERE id = $1";
        let mut tx = self.begin().await?;
        let deleted = on_conn!(tx.conn(), |c| sqlx::query(DELETE_WORKLOAD_RULE)
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected() == 1))?;
        if deleted {
            tx.audit(event.clone()).await?;
        }
        tx.commit().await?;
        Ok(deleted)
    }
}
