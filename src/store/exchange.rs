//! Token exchange policy (downstream links between resources, trusted external issuers)
//! and the grants of exchanged tokens (their audit is `store::audit`).

use crate::clock::UnixTime;
use crate::domain::{AuditEvent, SubjectMode};
use crate::store::audit;
use crate::store::tx::{Conn, on_conn};
use crate::store::{Store, on_pool};

/// May a token for `source` be exchanged for one for `target`, and how scopes map.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DownstreamRow {
    pub source: String,
    pub target: String,
    /// JSON object: source scope -> list of target scopes.
    pub scope_map: String,
    /// JSON array of client ids allowed to impersonate (no `act`) for this target.
    pub impersonators: String,
    pub created_at: UnixTime,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TrustedIssuerRow {
    pub id: String,
    pub issuer: String,
    pub jwks_uri: String,
    /// Space-separated JWS algorithms accepted.
    pub algorithms: String,
    /// The `aud` its tokens must carry: the URI of the Warden resource they count as.
    pub audience: String,
    #[sqlx(try_from = "String")]
    pub subject_mode: SubjectMode,
    pub created_at: UnixTime,
}

impl Store {
    pub async fn downstream(
        &self,
        source: &str,
        target: &str,
    ) -> Result<Option<DownstreamRow>, sqlx::Error> {
        const DOWNSTREAM: &str = "SELECT source, target, scope_map, impersonators, created_at \
            FROM resource_downstreams WHERE source = $1 AND target = $2";
        on_pool!(self, |pool| sqlx::query_as::<_, DownstreamRow>(DOWNSTREAM)
            .bind(source)
            .bind(target)
            .fetch_optional(&mut *pool)
            .await)
    }

    pub async fn downstreams_of(&self, source: &str) -> Result<Vec<DownstreamRow>, sqlx::Error> {
        const DOWNSTREAMS_OF: &str = "SELECT source, target, scope_map, impersonators, created_at \
            FROM resource_downstreams WHERE source = $1 ORDER BY target";
        on_pool!(self, |pool| sqlx::query_as::<_, DownstreamRow>(
            DOWNSTREAMS_OF
        )
        .bind(source)
        .fetch_all(&mut *pool)
        .await)
    }

    /// Replaces every downstream link of `source` in one transaction, with `event`.
    pub async fn replace_downstreams(
        &self,
        source: &str,
        links: &[DownstreamRow],
        event: &AuditEvent,
    ) -> Result<(), sqlx::Error> {
        const DELETE_DOWNSTREAMS: &str = "DELETE FROM resource_downstreams WHERE source = $1";
        const INSERT_DOWNSTREAM: &str = "INSERT INTO resource_downstreams (source, target, \
            scope_map, impersonators, created_at) VALUES ($1, $2, $3, $4, $5)";
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(DELETE_DOWNSTREAMS)
                .bind(source)
                .execute(&mut *tx)
                .await?;
            for l in links {
                sqlx::query(INSERT_DOWNSTREAM)
                    .bind(&l.source)
                    .bind(&l.target)
                    .bind(&l.scope_map)
                    .bind(&l.impersonators)
                    .bind(l.created_at)
                    .execute(&mut *tx)
                    .await?;
            }
            audit::insert(Conn::from(&mut *tx), event).await?;
            tx.commit().await
        })?;
        self.audited(event);
        Ok(())
    }

    pub async fn trusted_issuer(
        &self,
        issuer: &str,
    ) -> Result<Option<TrustedIssuerRow>, sqlx::Error> {
        const TRUSTED_ISSUER: &str = "SELECT id, issuer, jwks_uri, algorithms, audience, \
            subject_mode, created_at FROM trusted_issuers WHERE issuer = $1";
        on_pool!(self, |pool| sqlx::query_as::<_, TrustedIssuerRow>(
            TRUSTED_ISSUER
        )
        .bind(issuer)
        .fetch_optional(&mut *pool)
        .await)
    }

    pub async fn trusted_issuers(&self) -> Result<Vec<TrustedIssuerRow>, sqlx::Error> {
        const TRUSTED_ISSUERS: &str = "SELECT id, issuer, jwks_uri, algorithms, audience, \
            subject_mode, created_at FROM trusted_issuers ORDER BY issuer";
        on_pool!(self, |pool| sqlx::query_as::<_, TrustedIssuerRow>(
            TRUSTED_ISSUERS
        )
        .fetch_all(&mut *pool)
        .await)
    }

    /// `event` is written in the same transaction (so are the deletion's below).
    pub async fn insert_trusted_issuer(
        &self,
        t: &TrustedIssuerRow,
        event: &AuditEvent,
    ) -> Result<(), sqlx::Error> {
        const INSERT_TRUSTED_ISSUER: &str = "INSERT INTO trusted_issuers (id, issuer, jwks_uri, \
            algorithms, audience, subject_mode, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
        let mut tx = self.begin().await?;
        on_conn!(tx.conn(), |c| sqlx::query(INSERT_TRUSTED_ISSUER)
            .bind(&t.id)
            .bind(&t.issuer)
            .bind(&t.jwks_uri)
            .bind(&t.algorithms)
            .bind(&t.audience)
            .bind(t.subject_mode.as_str())
            .bind(t.created_at)
            .execute(c)
            .await
            .map(|_| ()))?;
        tx.audit(event.clone()).await?;
        tx.commit().await
    }

    pub async fn delete_trusted_issuer(
        &self,
        id: &str,
        event: &AuditEvent,
    ) -> Result<bool, sqlx::Error> {
        const DELETE_TRUSTED_ISSUER: &str = "DELETE FROM trusted_issuers WHERE id = $1";
        let mut tx = self.begin().await?;
        let deleted = on_conn!(tx.conn(), |c| sqlx::query(DELETE_TRUSTED_ISSUER)
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

/// The grant an exchanged token descends from: the caller's own, child of the subject
/// token's grant root (`parent`), so revoking the user's grant ends it too. Returns its id.
pub async fn insert_grant(
    c: Conn<'_>,
    client_id: &str,
    subject: &str,
    resource: &str,
    scope: &str,
    parent: Option<&str>,
    now: UnixTime,
) -> Result<String, sqlx::Error> {
    const INSERT_GRANT: &str = "INSERT INTO grants (id, kind, client_id, subject, resource, \
        scope, parent_id, created_at) VALUES ($1, 'token_exchange', $2, $3, $4, $5, $6, $7)";
    let id = uuid::Uuid::now_v7().to_string();
    on_conn!(c, |c| sqlx::query(INSERT_GRANT)
        .bind(&id)
        .bind(client_id)
        .bind(subject)
        .bind(resource)
        .bind(scope)
        .bind(parent)
        .bind(now)
        .execute(c)
        .await
        .map(|_| ()))?;
    Ok(id)
}
