//! Enterprise IdPs trusted for ID-JAGs, the links from their subjects to our users, and the
//! `jti`s already presented.

use crate::clock::UnixTime;
use crate::domain::{AuditEvent, EmailRule};
use crate::store::tx::{Conn, on_conn};
use crate::store::{Store, on_pool};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct IdJagIssuerRow {
    pub id: String,
    pub issuer: String,
    pub jwks_uri: String,
    /// Space-separated JWS algorithms accepted.
    pub algorithms: String,
    #[sqlx(try_from = "String")]
    pub email_rule: EmailRule,
    /// An accepted ID-JAG also buys a refresh token (the admin's choice, per IdP).
    pub refresh_tokens: bool,
    pub created_at: UnixTime,
}

/// The consent fingerprint of a grant an IdP's ID-JAG made: not a consent page's, so a
/// later interactive authorization shows the page again, and the grants can be found when
/// the IdP goes.
pub fn fingerprint(issuer: &str) -> String {
    format!("id-jag {issuer}")
}

macro_rules! select {
    ($tail:literal) => {
        concat!(
            "SELECT id, issuer, jwks_uri, algorithms, email_rule, refresh_tokens, created_at FROM \
             id_jag_issuers ",
            $tail
        )
    };
}

impl Store {
    pub async fn id_jag_issuer(&self, issuer: &str) -> Result<Option<IdJagIssuerRow>, sqlx::Error> {
        const BY_ISSUER: &str = select!("WHERE issuer = $1");
        on_pool!(self, |pool| sqlx::query_as::<_, IdJagIssuerRow>(BY_ISSUER)
            .bind(issuer)
            .fetch_optional(&mut *pool)
            .await)
    }

    pub async fn id_jag_issuers(&self) -> Result<Vec<IdJagIssuerRow>, sqlx::Error> {
        const ALL: &str = select!("ORDER BY issuer");
        on_pool!(self, |pool| sqlx::query_as::<_, IdJagIssuerRow>(ALL)
            .fetch_all(&mut *pool)
            .await)
    }

    /// `event` is written in the same transaction.
    pub async fn insert_id_jag_issuer(
        &self,
        t: &IdJagIssuerRow,
        event: &AuditEvent,
    ) -> Result<(), sqlx::Error> {
        const INSERT: &str = "INSERT INTO id_jag_issuers (id, issuer, jwks_uri, algorithms, \
            email_rule, refresh_tokens, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
        let mut tx = self.begin().await?;
        on_conn!(tx.conn(), |c| sqlx::query(INSERT)
            .bind(&t.id)
            .bind(&t.issuer)
            .bind(&t.jwks_uri)
            .bind(&t.algorithms)
            .bind(t.email_rule.as_str())
            .bind(t.refresh_tokens)
            .bind(t.created_at)
            .execute(c)
            .await
            .map(|_| ()))?;
        tx.audit(event.clone()).await?;
        tx.commit().await
    }

    /// Deletes the IdP and its subject links (the cascade), with `event`, and revokes the
    /// grants its ID-JAGs made (their refresh tokens outlive no trust), each with `revoked`.
    pub async fn delete_id_jag_issuer(
        &self,
        id: &str,
        event: &AuditEvent,
        revoked: &AuditEvent,
    ) -> Result<bool, sqlx::Error> {
        const ISSUER: &str = "SELECT issuer FROM id_jag_issuers WHERE id = $1";
        const DELETE_LINKS: &str = "DELETE FROM id_jag_subjects WHERE issuer_id = $1";
        const DELETE: &str = "DELETE FROM id_jag_issuers WHERE id = $1";
        let mut tx = self.begin().await?;
        let issuer: Option<String> = on_conn!(tx.conn(), |c| sqlx::query_scalar(ISSUER)
            .bind(id)
            .fetch_optional(c)
            .await)?;
        if let Some(issuer) = &issuer {
            let now = revoked.at;
            crate::store::grants::revoke_by_fingerprint(
                &mut tx,
                &fingerprint(issuer),
                now,
                revoked,
            )
            .await?;
        }
        on_conn!(tx.conn(), |c| sqlx::query(DELETE_LINKS)
            .bind(id)
            .execute(c)
            .await
            .map(|_| ()))?;
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

    /// Links an IdP's `sub` to a Warden user, with `event`; false (nothing written) when the
    /// subject is linked already.
    pub async fn link_id_jag_subject(
        &self,
        issuer_id: &str,
        subject: &str,
        user_id: &str,
        now: UnixTime,
        event: &AuditEvent,
    ) -> Result<bool, sqlx::Error> {
        const LINK: &str = "INSERT INTO id_jag_subjects (issuer_id, subject, user_id, created_at) \
            VALUES ($1, $2, $3, $4) ON CONFLICT (issuer_id, subject) DO NOTHING";
        let mut tx = self.begin().await?;
        let linked = on_conn!(tx.conn(), |c| sqlx::query(LINK)
            .bind(issuer_id)
            .bind(subject)
            .bind(user_id)
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected() == 1))?;
        if linked {
            tx.audit(event.clone()).await?;
        }
        tx.commit().await?;
        Ok(linked)
    }

    /// The Warden user an IdP's `sub` is linked to.
    pub async fn id_jag_subject(
        &self,
        issuer_id: &str,
        subject: &str,
    ) -> Result<Option<String>, sqlx::Error> {
        const LINKED: &str =
            "SELECT user_id FROM id_jag_subjects WHERE issuer_id = $1 AND subject = $2";
        on_pool!(self, |pool| sqlx::query_scalar(LINKED)
            .bind(issuer_id)
            .bind(subject)
            .fetch_optional(&mut *pool)
            .await)
    }
}

/// Links an IdP's `sub` to a user; a link made meanwhile by a concurrent request stands.
pub async fn link_subject(
    c: Conn<'_>,
    issuer_id: &str,
    subject: &str,
    user_id: &str,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    const LINK: &str = "INSERT INTO id_jag_subjects (issuer_id, subject, user_id, created_at) \
        VALUES ($1, $2, $3, $4) ON CONFLICT (issuer_id, subject) DO NOTHING";
    on_conn!(c, |c| sqlx::query(LINK)
        .bind(issuer_id)
        .bind(subject)
        .bind(user_id)
        .bind(now)
        .execute(c)
        .await
        .map(|_| ()))
}

/// Records `jti` as used until `expires_at`, forgetting expired ones; false when it was
/// already used (a replay). `DO NOTHING` rather than a caught unique violation, which would
/// abort a Postgres transaction.
pub async fn use_jti(
    c: Conn<'_>,
    issuer: &str,
    jti: &str,
    expires_at: UnixTime,
    now: UnixTime,
) -> Result<bool, sqlx::Error> {
    const FORGET: &str = "DELETE FROM id_jag_jtis WHERE expires_at < $1";
    const USE: &str = "INSERT INTO id_jag_jtis (issuer, jti, expires_at) VALUES ($1, $2, $3) \
        ON CONFLICT (issuer, jti) DO NOTHING";
    on_conn!(c, |c| {
        sqlx::query(FORGET).bind(now).execute(&mut *c).await?;
        sqlx::query(USE)
            .bind(issuer)
            .bind(jti)
            .bind(expires_at)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected() == 1)
    })
}
