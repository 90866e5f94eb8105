//! Upstream identity providers, the identities they vouch for, and pending round trips.

use crate::clock::UnixTime;
use crate::domain::{AuditEvent, Provider};
use crate::store::tx::on_conn;
use crate::store::{Store, on_pool};

#[derive(Clone, Debug, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Identity)]
pub struct IdentityRow {
    pub provider_id: String,
    pub subject: String,
    pub user_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    /// Unix time, seconds.
    #[schema(value_type = i64)]
    pub created_at: UnixTime,
    /// Unix time, seconds.
    #[schema(value_type = i64)]
    pub last_login_at: UnixTime,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UpstreamLoginRow {
    pub state_hash: String,
    pub provider_id: String,
    pub browser_hash: String,
    pub nonce: String,
    pub verifier_sealed: String,
    pub request_id: Option<String>,
    pub link_user_id: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// The columns of a `Provider`, around `$before` and `$after`.
macro_rules! provider_sql {
    ($before:literal, $after:literal) => {
        concat!(
            $before,
            " id, kind, display_name, issuer, authorization_endpoint, token_endpoint, \
             userinfo_endpoint, client_id, client_secret_sealed, token_auth_method, scopes, \
             subject_claim, email_claim, name_claim, trust_email, allowed_domains, \
             on_first_login, enabled, created_at, updated_at ",
            $after
        )
    };
}

impl Store {
    pub async fn upstream_provider(&self, id: &str) -> Result<Option<Provider>, sqlx::Error> {
        const UPSTREAM_PROVIDER: &str =
            provider_sql!("SELECT", "FROM upstream_providers WHERE id = $1");
        on_pool!(self, |pool| sqlx::query_as::<_, Provider>(
            UPSTREAM_PROVIDER
        )
        .bind(id)
        .fetch_optional(&mut *pool)
        .await)
    }

    pub async fn upstream_providers(
        &self,
        enabled_only: bool,
    ) -> Result<Vec<Provider>, sqlx::Error> {
        const UPSTREAM_PROVIDERS: &str = provider_sql!(
            "SELECT",
            "FROM upstream_providers WHERE enabled OR NOT $1 ORDER BY display_name, id"
        );
        on_pool!(self, |pool| sqlx::query_as::<_, Provider>(
            UPSTREAM_PROVIDERS
        )
        .bind(enabled_only)
        .fetch_all(&mut *pool)
        .await)
    }

    /// Inserts or replaces a provider; `false` from an insert when the id is taken.
    /// Saves a provider (a new one only unless `replace`), with `event` in the same
    /// transaction when a row was written.
    pub async fn save_upstream_provider(
        &self,
        p: &Provider,
        replace: bool,
        event: &AuditEvent,
    ) -> Result<bool, sqlx::Error> {
        const INSERT_PROVIDER: &str = provider_sql!(
            "INSERT INTO upstream_providers (",
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18, $19, $20) ON CONFLICT (id) DO NOTHING"
        );
        const REPLACE_PROVIDER: &str = provider_sql!(
            "INSERT INTO upstream_providers (",
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18, $19, $20) ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, \
             display_name = excluded.display_name, issuer = excluded.issuer, \
             authorization_endpoint = excluded.authorization_endpoint, \
             token_endpoint = excluded.token_endpoint, \
             userinfo_endpoint = excluded.userinfo_endpoint, \
             client_id = excluded.client_id, client_secret_sealed = excluded.client_secret_sealed, \
             token_auth_method = excluded.token_auth_method, scopes = excluded.scopes, \
             subject_claim = excluded.subject_claim, email_claim = excluded.email_claim, \
             name_claim = excluded.name_claim, trust_email = excluded.trust_email, \
             allowed_domains = excluded.allowed_domains, on_first_login = excluded.on_first_login, \
             enabled = excluded.enabled, updated_at = excluded.updated_at"
        );
        let sql = if replace {
            REPLACE_PROVIDER
        } else {
            INSERT_PROVIDER
        };
        let mut tx = self.begin().await?;
        let saved = on_conn!(tx.conn(), |c| sqlx::query(sql)
            .bind(&p.id)
            .bind(p.kind.as_str())
            .bind(&p.display_name)
            .bind(&p.issuer)
            .bind(&p.authorization_endpoint)
            .bind(&p.token_endpoint)
            .bind(&p.userinfo_endpoint)
            .bind(&p.client_id)
            .bind(&p.client_secret_sealed)
            .bind(p.token_auth_method.as_str())
            .bind(&p.scopes)
            .bind(&p.subject_claim)
            .bind(&p.email_claim)
            .bind(&p.name_claim)
            .bind(p.trust_email)
            .bind(&p.allowed_domains)
            .bind(p.on_first_login.as_str())
            .bind(p.enabled)
            .bind(p.created_at)
            .bind(p.updated_at)
            .execute(c)
            .await
            .map(|r| r.rows_affected() == 1))?;
        if saved {
            tx.audit(event.clone()).await?;
        }
        tx.commit().await?;
        Ok(saved)
    }

    /// Deletes a provider with its identities and pending logins.
    /// `event` is written in the transaction.
    pub async fn delete_upstream_provider(
        &self,
        id: &str,
        event: &AuditEvent,
    ) -> Result<bool, sqlx::Error> {
        const DELETE_UPSTREAM_PROVIDER: &str = "DELETE FROM upstream_providers WHERE id = $1";
        let mut tx = self.begin().await?;
        let deleted = on_conn!(tx.conn(), |c| sqlx::query(DELETE_UPSTREAM_PROVIDER)
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

    pub async fn insert_upstream_login(&self, l: &UpstreamLoginRow) -> Result<(), sqlx::Error> {
        const INSERT_UPSTREAM_LOGIN: &str = "INSERT INTO upstream_logins (state_hash, \
            provider_id, browser_hash, nonce, verifier_sealed, request_id, link_user_id, \
            created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
        on_pool!(self, |pool| sqlx::query(INSERT_UPSTREAM_LOGIN)
            .bind(&l.state_hash)
            .bind(&l.provider_id)
            .bind(&l.browser_hash)
            .bind(&l.nonce)
            .bind(&l.verifier_sealed)
            .bind(&l.request_id)
            .bind(&l.link_user_id)
            .bind(l.created_at)
            .bind(l.expires_at)
            .execute(&mut *pool)
            .await
            .map(|_| ()))
    }

    /// Takes a pending login out of the table: whoever deletes the row owns it, so a
    /// replayed callback finds nothing.
    /// Spends the round trip `state_hash` if it was started by this browser for this
    /// provider; a callback from anywhere else spends nothing.
    pub async fn take_upstream_login(
        &self,
        state_hash: &str,
        browser_hash: &str,
        provider_id: &str,
        now: UnixTime,
    ) -> Result<Option<UpstreamLoginRow>, sqlx::Error> {
        const TAKE_UPSTREAM_LOGIN: &str = "DELETE FROM upstream_logins WHERE state_hash = $1 AND \
            browser_hash = $2 AND provider_id = $3 AND expires_at > $4 RETURNING state_hash, \
            provider_id, browser_hash, nonce, verifier_sealed, request_id, link_user_id, \
            created_at, expires_at";
        on_pool!(self, |pool| sqlx::query_as::<_, UpstreamLoginRow>(
            TAKE_UPSTREAM_LOGIN
        )
        .bind(state_hash)
        .bind(browser_hash)
        .bind(provider_id)
        .bind(now)
        .fetch_optional(&mut *pool)
        .await)
    }

    /// Whether a live round trip `state_hash` exists (started in some browser).
    pub async fn upstream_login_exists(
        &self,
        state_hash: &str,
        now: UnixTime,
    ) -> Result<bool, sqlx::Error> {
        const UPSTREAM_LOGIN_EXISTS: &str =
            "SELECT COUNT(*) FROM upstream_logins WHERE state_hash = $1 AND expires_at > $2";
        on_pool!(self, |pool| sqlx::query_scalar::<_, i64>(
            UPSTREAM_LOGIN_EXISTS
        )
        .bind(state_hash)
        .bind(now)
        .fetch_one(&mut *pool)
        .await
        .map(|n| n > 0))
    }

    pub async fn identity(
        &self,
        provider_id: &str,
        subject: &str,
    ) -> Result<Option<IdentityRow>, sqlx::Error> {
        const IDENTITY: &str = "SELECT provider_id, subject, user_id, email, name, created_at, \
            last_login_at FROM user_identities WHERE provider_id = $1 AND subject = $2";
        on_pool!(self, |pool| sqlx::query_as::<_, IdentityRow>(IDENTITY)
            .bind(provider_id)
            .bind(subject)
            .fetch_optional(&mut *pool)
            .await)
    }

    pub async fn identities_of(&self, user_id: &str) -> Result<Vec<IdentityRow>, sqlx::Error> {
        const IDENTITIES_OF: &str = "SELECT provider_id, subject, user_id, email, name, \
            created_at, last_login_at FROM user_identities WHERE user_id = $1 ORDER BY \
            provider_id, subject";
        on_pool!(self, |pool| sqlx::query_as::<_, IdentityRow>(IDENTITIES_OF)
            .bind(user_id)
            .fetch_all(&mut *pool)
            .await)
    }

    /// Links an identity to a user; `false` when the identity already belongs to someone.
    pub async fn link_identity(&self, i: &IdentityRow) -> Result<bool, sqlx::Error> {
        const LINK_IDENTITY: &str = "INSERT INTO user_identities (provider_id, subject, user_id, \
            email, name, created_at, last_login_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON \
            CONFLICT (provider_id, subject) DO NOTHING";
        on_pool!(self, |pool| sqlx::query(LINK_IDENTITY)
            .bind(&i.provider_id)
            .bind(&i.subject)
            .bind(&i.user_id)
            .bind(&i.email)
            .bind(&i.name)
            .bind(i.created_at)
            .bind(i.last_login_at)
            .execute(&mut *pool)
            .await
            .map(|r| r.rows_affected() == 1))
    }

    /// Creates a user and links its first identity in one transaction, so a failed link
    /// leaves no orphan account.
    pub async fn create_user_with_identity(
        &self,
        user: &crate::store::users::UserRow,
        i: &IdentityRow,
    ) -> Result<(), sqlx::Error> {
        const INSERT_USER: &str = "INSERT INTO users (id, username, password_hash, \
            disabled, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)";
        const INSERT_IDENTITY: &str = "INSERT INTO user_identities (provider_id, \
            subject, user_id, email, name, created_at, last_login_at) VALUES ($1, $2, $3, $4, $5, \
            $6, $7)";
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(INSERT_USER)
                .bind(&user.id)
                .bind(&user.username)
                .bind(&user.password_hash)
                .bind(user.disabled)
                .bind(user.created_at)
                .bind(user.updated_at)
                .execute(&mut *tx)
                .await?;
            sqlx::query(INSERT_IDENTITY)
                .bind(&i.provider_id)
                .bind(&i.subject)
                .bind(&i.user_id)
                .bind(&i.email)
                .bind(&i.name)
                .bind(i.created_at)
                .bind(i.last_login_at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        })
    }

    pub async fn touch_identity(
        &self,
        provider_id: &str,
        subject: &str,
        email: Option<&str>,
        name: Option<&str>,
        now: UnixTime,
    ) -> Result<(), sqlx::Error> {
        const TOUCH_IDENTITY: &str = "UPDATE user_identities SET email = $3, name = $4, \
            last_login_at = $5 WHERE provider_id = $1 AND subject = $2";
        on_pool!(self, |pool| sqlx::query(TOUCH_IDENTITY)
            .bind(provider_id)
            .bind(subject)
            .bind(email)
            .bind(name)
            .bind(now)
            .execute(&mut *pool)
            .await
            .map(|_| ()))
    }

    pub async fn unlink_identity(
        &self,
        user_id: &str,
        provider_id: &str,
        subject: &str,
        event: &AuditEvent,
    ) -> Result<bool, sqlx::Error> {
        const UNLINK_IDENTITY: &str =
            "DELETE FROM user_identities WHERE user_id = $1 AND provider_id = $2 AND subject = $3";
        let mut tx = self.begin().await?;
        let unlinked = on_conn!(tx.conn(), |c| sqlx::query(UNLINK_IDENTITY)
            .bind(user_id)
            .bind(provider_id)
            .bind(subject)
            .execute(c)
            .await
            .map(|r| r.rows_affected() == 1))?;
        if unlinked {
            tx.audit(event.clone()).await?;
        }
        tx.commit().await?;
        Ok(unlinked)
    }
}
