//! The first admin account: whether one exists, the one-time setup links `warden serve`
//! prints while none does, and creating the account with a link in one transaction.

use crate::clock::UnixTime;
use crate::domain::AuditEvent;
use crate::store::tx::on_conn;
use crate::store::users::UserRow;
use crate::store::{Store, on_pool};

const COUNT_ADMINS: &str = "SELECT COUNT(*) FROM users WHERE role = 'admin'";

impl Store {
    /// Is there an admin account (enabled or not)? A disabled admin still means setup is
    /// over: enabling them is the CLI's job, not an anonymous link's.
    pub async fn any_admin(&self) -> Result<bool, sqlx::Error> {
        let n: i64 = on_pool!(self, |pool| sqlx::query_scalar(COUNT_ADMINS)
            .fetch_one(&mut *pool)
            .await)?;
        Ok(n > 0)
    }

    /// Stores a setup link's token hash until `expires_at`, and drops expired ones.
    pub async fn insert_setup_token(
        &self,
        token_hash: &str,
        now: UnixTime,
        expires_at: UnixTime,
    ) -> Result<(), sqlx::Error> {
        const PURGE: &str = "DELETE FROM admin_setup_tokens WHERE expires_at <= $1";
        const INSERT: &str = "INSERT INTO admin_setup_tokens (token_hash, created_at, \
            expires_at) VALUES ($1, $2, $3)";
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(PURGE).bind(now).execute(&mut *tx).await?;
            sqlx::query(INSERT)
                .bind(token_hash)
                .bind(now)
                .bind(expires_at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        })
    }

    /// Is this an unexpired setup link, while no admin exists?
    pub async fn setup_token_live(
        &self,
        token_hash: &str,
        now: UnixTime,
    ) -> Result<bool, sqlx::Error> {
        const LIVE: &str = "SELECT COUNT(*) FROM admin_setup_tokens WHERE token_hash = $1 AND \
            expires_at > $2 AND NOT EXISTS (SELECT 1 FROM users WHERE role = 'admin')";
        let n: i64 = on_pool!(self, |pool| sqlx::query_scalar(LIVE)
            .bind(token_hash)
            .bind(now)
            .fetch_one(&mut *pool)
            .await)?;
        Ok(n > 0)
    }

    /// Spends the link and creates the first admin, or does nothing (and answers false)
    /// when the link is unknown, expired or spent, or an admin already exists. Every link
    /// dies with it: once there is an admin, admins make admins.
    pub async fn create_first_admin(
        &self,
        token_hash: &str,
        user: &UserRow,
        event: &AuditEvent,
    ) -> Result<bool, sqlx::Error> {
        const SPEND: &str =
            "DELETE FROM admin_setup_tokens WHERE token_hash = $1 AND expires_at > $2";
        const SPEND_ALL: &str = "DELETE FROM admin_setup_tokens";
        let mut tx = self.begin().await?;
        let spent = on_conn!(tx.conn(), |c| sqlx::query(SPEND)
            .bind(token_hash)
            .bind(user.created_at)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        // Spending every link before counting admins serializes two setups racing with two
        // different links: the second blocks on the first's rows, then finds its own gone.
        on_conn!(tx.conn(), |c| sqlx::query(SPEND_ALL)
            .execute(c)
            .await
            .map(|_| ()))?;
        let admins: i64 = on_conn!(tx.conn(), |c| sqlx::query_scalar(COUNT_ADMINS)
            .fetch_one(c)
            .await)?;
        if spent != 1 || admins > 0 {
            return Ok(false);
        }
        crate::store::users::insert_user(tx.conn(), user).await?;
        tx.audit(event.clone()).await?;
        tx.commit().await?;
        Ok(true)
    }
}
