//! ID-JAG issuance policy (Warden as the enterprise IdP): one row per client, other
//! authorization server and MCP server. Changes are audited in their own transaction.

use crate::clock::UnixTime;
use crate::domain::AuditEvent;
use crate::store::tx::on_conn;
use crate::store::{Store, on_pool};

#[derive(Clone, Debug, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
#[schema(as = IdJagPolicy)]
pub struct IdJagPolicyRow {
    pub id: String,
    /// The Warden client that may ask for ID-JAGs.
    pub client_id: String,
    /// The other authorization server's issuer: the ID-JAG's `aud`.
    pub audience: String,
    /// Its MCP server (canonical): the ID-JAG's `resource`.
    pub resource: String,
    /// The client's id at the other authorization server: the ID-JAG's `client_id`.
    pub remote_client_id: String,
    /// The most the ID-JAG's `scope` may carry, space-delimited (all of it when the request
    /// names none).
    pub scopes: String,
    /// Whether the user's verified email goes in the ID-JAG.
    pub include_email: bool,
    /// Unix time, seconds.
    #[schema(value_type = i64)]
    pub created_at: UnixTime,
}

macro_rules! policy_columns {
    () => {
        "id, client_id, audience, resource, remote_client_id, scopes, include_email, created_at"
    };
}

impl Store {
    /// The policies that let `client_id` ask for ID-JAGs toward `audience`.
    pub async fn id_jag_policies_for(
        &self,
        client_id: &str,
        audience: &str,
    ) -> Result<Vec<IdJagPolicyRow>, sqlx::Error> {
        const FOR: &str = concat!(
            "SELECT ",
            policy_columns!(),
            " FROM id_jag_policies WHERE client_id = $1 AND audience = $2 ORDER BY resource"
        );
        on_pool!(self, |pool| sqlx::query_as::<_, IdJagPolicyRow>(FOR)
            .bind(client_id)
            .bind(audience)
            .fetch_all(&mut *pool)
            .await)
    }

    pub async fn id_jag_policies(&self) -> Result<Vec<IdJagPolicyRow>, sqlx::Error> {
        const ALL: &str = concat!(
            "SELECT ",
            policy_columns!(),
            " FROM id_jag_policies ORDER BY client_id, audience, resource"
        );
        on_pool!(self, |pool| sqlx::query_as::<_, IdJagPolicyRow>(ALL)
            .fetch_all(&mut *pool)
            .await)
    }

    /// Adds a policy, or replaces the one for the same client, audience and resource (its
    /// id stays); returns the stored row. `event` is written in the same transaction.
    pub async fn put_id_jag_policy(
        &self,
        p: &IdJagPolicyRow,
        event: &AuditEvent,
    ) -> Result<IdJagPolicyRow, sqlx::Error> {
        const PUT: &str = concat!(
            "INSERT INTO id_jag_policies (",
            policy_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (client_id, audience, \
             resource) DO UPDATE SET remote_client_id = excluded.remote_client_id, scopes = \
             excluded.scopes, include_email = excluded.include_email RETURNING ",
            policy_columns!()
        );
        let mut tx = self.begin().await?;
        let row = on_conn!(tx.conn(), |c| sqlx::query_as::<_, IdJagPolicyRow>(PUT)
            .bind(&p.id)
            .bind(&p.client_id)
            .bind(&p.audience)
            .bind(&p.resource)
            .bind(&p.remote_client_id)
            .bind(&p.scopes)
            .bind(p.include_email)
            .bind(p.created_at)
            .fetch_one(c)
            .await)?;
        tx.audit(event.clone()).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Deletes policy `id`; false when there was none (and nothing is audited).
    pub async fn delete_id_jag_policy(
        &self,
        id: &str,
        event: &AuditEvent,
    ) -> Result<bool, sqlx::Error> {
        const DELETE: &str = "DELETE FROM id_jag_policies WHERE id = $1";
        let mut tx = self.begin().await?;
        let deleted = on_conn!(tx.conn(), |c| sqlx::query(DELETE)
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
