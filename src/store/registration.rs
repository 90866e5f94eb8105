//! What self-registration needs: metadata-document clients, registration tokens, domain
//! trust, remembered assertion ids, and the clean-up of abandoned registrations.

use crate::clock::UnixTime;
use crate::domain::{Actor, AuditEvent, AuditKind, Client};
use crate::store::audit;
use crate::store::changes::Change;
use crate::store::clients::ClientRow;
use crate::store::tx::{Conn, on_conn};
use crate::store::{Store, is_unique_violation, on_pool};

/// The policies a domain may have: `trusted` or `blocked`.
pub const DOMAIN_POLICIES: [&str; 2] = ["trusted", "blocked"];

/// The OpenAPI schema of a policy: one of [`DOMAIN_POLICIES`].
pub fn policy_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(DOMAIN_POLICIES))
        .build()
}

#[derive(Clone, Debug, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct DomainPolicy {
    pub domain: String,
    #[schema(schema_with = policy_schema)]
    pub policy: String,
    /// Unix time, seconds.
    #[schema(value_type = i64)]
    pub created_at: UnixTime,
}

impl Store {
    /// Creates or refreshes the row of a metadata-document client from its latest document;
    /// `event` (the first use) is written in the same transaction.
    pub async fn upsert_document_client(
        &self,
        c: &Client,
        event: Option<&AuditEvent>,
    ) -> Result<(), sqlx::Error> {
        let c = &ClientRow::from(c);
        const UPSERT_DOCUMENT_CLIENT: &str = "INSERT INTO clients (client_id, secret_hash, name, \
            token_endpoint_auth_method, redirect_uris, grant_types, resources, scopes, \
            served_resources, enabled, registration, jwks, jwks_uri, dpop_bound_access_tokens, \
            created_at, updated_at) VALUES ($1, NULL, $2, $3, $4, $5, '[]', NULL, '[]', TRUE, \
            'metadata_document', $6, $7, $9, $8, $8) ON CONFLICT (client_id) DO UPDATE SET name \
            = $2, token_endpoint_auth_method = $3, redirect_uris = $4, grant_types = $5, jwks = \
            $6, jwks_uri = $7, updated_at = $8, dpop_bound_access_tokens = $9 WHERE \
            clients.registration = 'metadata_document'";
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(UPSERT_DOCUMENT_CLIENT)
                .bind(&c.client_id)
                .bind(&c.name)
                .bind(&c.token_endpoint_auth_method)
                .bind(&c.redirect_uris)
                .bind(&c.grant_types)
                .bind(&c.jwks)
                .bind(&c.jwks_uri)
                .bind(c.updated_at)
                .bind(c.dpop_bound_access_tokens)
                .execute(&mut *tx)
                .await?;
            if let Some(event) = event {
                audit::insert(Conn::from(&mut *tx), event).await?;
            }
            tx.commit().await
        })?;
        if let Some(event) = event {
            self.audited(event);
        }
        self.changed(&[Change::Client(c.client_id.clone())]).await;
        Ok(())
    }

    /// RFC 7592 §2.2: the client rewrites its own registration; `event` is written in the
    /// same transaction.
    pub async fn update_registered_client(
        &self,
        c: &Client,
        event: &AuditEvent,
    ) -> Result<(), sqlx::Error> {
        let c = &ClientRow::from(c);
        const UPDATE_REGISTERED_CLIENT: &str = "UPDATE clients SET name = $2, \
            token_endpoint_auth_method = $3, redirect_uris = $4, grant_types = $5, jwks = $6, \
            jwks_uri = $7, metadata = $8, updated_at = $9, dpop_bound_access_tokens = $10 WHERE \
            client_id = $1";
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(UPDATE_REGISTERED_CLIENT)
                .bind(&c.client_id)
                .bind(&c.name)
                .bind(&c.token_endpoint_auth_method)
                .bind(&c.redirect_uris)
                .bind(&c.grant_types)
                .bind(&c.jwks)
                .bind(&c.jwks_uri)
                .bind(&c.metadata)
                .bind(c.updated_at)
                .bind(c.dpop_bound_access_tokens)
                .execute(&mut *tx)
                .await?;
            audit::insert(Conn::from(&mut *tx), event).await?;
            tx.commit().await
        })?;
        self.audited(event);
        self.changed(&[Change::Client(c.client_id.clone())]).await;
        Ok(())
    }

    pub async fn metadata_domains(&self) -> Result<Vec<DomainPolicy>, sqlx::Error> {
        const METADATA_DOMAINS: &str =
            "SELECT domain, policy, created_at FROM metadata_domains ORDER BY domain";
        on_pool!(self, |pool| sqlx::query_as::<_, DomainPolicy>(
            METADATA_DOMAINS
        )
        .fetch_all(&mut *pool)
        .await)
    }

    pub async fn set_metadata_domain(
        &self,
        domain: &str,
        policy: &str,
        now: UnixTime,
        event: &AuditEvent,
    ) -> Result<(), sqlx::Error> {
        const SET_METADATA_DOMAIN: &str = "INSERT INTO metadata_domains (domain, policy, \
            created_at) VALUES ($1, $2, $3) ON CONFLICT (domain) DO UPDATE SET policy = $2";
        let mut tx = self.begin().await?;
        on_conn!(tx.conn(), |c| sqlx::query(SET_METADATA_DOMAIN)
            .bind(domain)
            .bind(policy)
            .bind(now)
            .execute(c)
            .await
            .map(|_| ()))?;
        tx.audit(event.clone()).await?;
        tx.commit().await
    }

    /// `event` is written in the transaction.
    pub async fn delete_metadata_domain(
        &self,
        domain: &str,
        event: &AuditEvent,
    ) -> Result<bool, sqlx::Error> {
        const DELETE_METADATA_DOMAIN: &str = "DELETE FROM metadata_domains WHERE domain = $1";
        let mut tx = self.begin().await?;
        let deleted = on_conn!(tx.conn(), |c| sqlx::query(DELETE_METADATA_DOMAIN)
            .bind(domain)
            .execute(c)
            .await
            .map(|r| r.rows_affected() == 1))?;
        if deleted {
            tx.audit(event.clone()).await?;
        }
        tx.commit().await?;
        Ok(deleted)
    }

    /// Remembers an assertion id until `expires_at`; false when it was seen already.
    pub async fn remember_assertion(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: UnixTime,
    ) -> Result<bool, sqlx::Error> {
        const REMEMBER_ASSERTION: &str =
            "INSERT INTO client_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3)";
        let inserted = on_pool!(self, |pool| sqlx::query(REMEMBER_ASSERTION)
            .bind(client_id)
            .bind(jti)
            .bind(expires_at)
            .execute(&mut *pool)
            .await
            .map(|_| ()));
        match inserted {
            Ok(()) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes dynamically registered clients created before `before` that never got a
    /// grant; returns how many. Also forgets expired assertion ids.
    /// Dynamically registered clients that have never been granted anything.
    pub async fn count_unused_registrations(&self) -> Result<i64, sqlx::Error> {
        const COUNT_UNUSED_REGISTRATIONS: &str = "SELECT COUNT(*) FROM clients WHERE registration \
            = 'dynamic' AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.client_id = \
            clients.client_id)";
        on_pool!(self, |pool| sqlx::query_scalar(COUNT_UNUSED_REGISTRATIONS)
            .fetch_one(&mut *pool)
            .await)
    }

    pub async fn delete_abandoned_registrations(
        &self,
        before: UnixTime,
        now: UnixTime,
    ) -> Result<u64, sqlx::Error> {
        const PURGE_ASSERTIONS: &str = "DELETE FROM client_assertions WHERE expires_at < $1";
        const DELETE_ABANDONED: &str = "DELETE FROM clients WHERE registration = \
            'dynamic' AND created_at < $1 AND NOT EXISTS (SELECT 1 FROM grants g WHERE \
            g.client_id = clients.client_id) RETURNING client_id";
        // Each deletion is audited (actor: Warden itself) in the deleting transaction.
        let (deleted, events) = on_pool!(self, |pool| {
            sqlx::query(PURGE_ASSERTIONS)
                .bind(now)
                .execute(&mut *pool)
                .await?;
            let mut tx = pool.begin().await?;
            let deleted: Vec<String> = sqlx::query_scalar(DELETE_ABANDONED)
                .bind(before)
                .fetch_all(&mut *tx)
                .await?;
            let mut events = Vec::new();
            for client_id in &deleted {
                let event = AuditEvent::new(AuditKind::ClientDeleted, Actor::system(), now)
                    .client(client_id)
                    .detail("reason", "never completed an authorization");
                audit::insert(Conn::from(&mut *tx), &event).await?;
                events.push(event);
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>((deleted, events))
        })?;
        events.iter().for_each(|e| self.audited(e));
        let changes: Vec<Change> = deleted.into_iter().map(Change::Client).collect();
        self.changed(&changes).await;
        Ok(changes.len() as u64)
    }
}
