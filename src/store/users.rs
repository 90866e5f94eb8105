//! End-user accounts.

use crate::clock::UnixTime;
use crate::domain::{AuditEvent, Role};
use crate::store::audit;
use crate::store::changes::Change;
use crate::store::tx::{Conn, on_conn};
use crate::store::{Store, on_pool};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub disabled: bool,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// What a write to an account found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserWrite {
    Done,
    NotFound,
    /// Refused: it would leave no enabled admin (nothing was written).
    LastAdmin,
}

/// Locks every enabled admin's row and names them. Run first in a transaction that may
/// take an admin away: a concurrent one blocks here until this one ends, then sees its
/// outcome (Postgres re-checks the `WHERE` on rows it waited for; SQLite holds one writer),
/// so two admins demoting each other cannot both succeed.
async fn lock_enabled_admins(c: Conn<'_>) -> Result<Vec<String>, sqlx::Error> {
    const LOCK_ENABLED_ADMINS: &str = "UPDATE users SET role = role WHERE role = 'admin' AND \
        disabled = FALSE RETURNING id";
    on_conn!(c, |c| sqlx::query_scalar(LOCK_ENABLED_ADMINS)
        .fetch_all(c)
        .await)
}

/// Whether an enabled admin other than `user_id` remains, checked under the lock.
async fn another_admin_remains(c: Conn<'_>, user_id: &str) -> Result<bool, sqlx::Error> {
    let admins: Vec<String> = lock_enabled_admins(c).await?;
    Ok(admins.iter().any(|id| id != user_id))
}

macro_rules! select {
    ($tail:literal) => {
        concat!(
            "SELECT id, username, password_hash, disabled, role, created_at, updated_at FROM users ",
            $tail
        )
    };
}

impl Store {
    /// The user named `username`. A name that is an email address matches regardless of
    /// ASCII case (`Bob@corp.example` is `bob@corp.example`, for sign-in, creation and
    /// linking alike); usernames are ASCII, so a non-ASCII address matches no one (no
    /// Unicode folding: the Kelvin sign is not a `k`).
    pub async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>, sqlx::Error> {
        const USER_BY_NAME: &str = select!("WHERE username = $1");
        if !username.contains('@') {
            return on_pool!(self, |pool| sqlx::query_as::<_, UserRow>(USER_BY_NAME)
                .bind(username)
                .fetch_optional(&mut *pool)
                .await);
        }
        if !username.is_ascii() {
            return Ok(None);
        }
        let folded = username.to_ascii_lowercase();
        on_pool!(self, |pool| sqlx::query_as::<_, UserRow>(select!(
            "WHERE lower(username) = $1 AND username LIKE '%@%' ORDER BY created_at LIMIT 1"
        ))
        .bind(folded)
        .fetch_optional(&mut *pool)
        .await)
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<UserRow>, sqlx::Error> {
        const USER_BY_ID: &str = select!("WHERE id = $1");
        on_pool!(self, |pool| sqlx::query_as::<_, UserRow>(USER_BY_ID)
            .bind(id)
            .fetch_optional(&mut *pool)
            .await)
    }

    pub async fn users_page(&self, after: &str, limit: i64) -> Result<Vec<UserRow>, sqlx::Error> {
        const USERS_PAGE: &str = select!("WHERE username > $1 ORDER BY username LIMIT $2");
        on_pool!(self, |pool| sqlx::query_as::<_, UserRow>(USERS_PAGE)
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *pool)
            .await)
    }

    /// Creates an account, with its audit event in the same transaction.
    pub async fn insert_user(&self, u: &UserRow, event: &AuditEvent) -> Result<(), sqlx::Error> {
        let mut tx = self.begin().await?;
        insert_user(tx.conn(), u).await?;
        tx.audit(event.clone()).await?;
        tx.commit().await
    }

    /// Writes `u` and, in the same transaction, ends what the change must end: the user's
    /// sessions, and with `revoke_grants` every grant they gave (with the grants exchanged
    /// from them), so their refresh tokens stop working and their access tokens introspect
    /// inactive. A password change that left them alive would leave whoever knew the old
    /// password holding everything it bought. With `keep_an_admin` (the change takes an
    /// enabled admin away) nothing is written unless another enabled admin remains.
    pub async fn update_user(
        &self,
        u: &UserRow,
        end_sessions: bool,
        revoke_grants: bool,
        keep_an_admin: bool,
        event: &AuditEvent,
    ) -> Result<UserWrite, sqlx::Error> {
        const UPDATE_USER: &str = "UPDATE users SET password_hash = $2, disabled = $3, updated_at = $4, role = $5 \
            WHERE id = $1";
        const END_SESSIONS: &str = "DELETE FROM sessions WHERE user_id = $1";
        const REVOKE_DERIVED: &str = "UPDATE grants SET revoked_at = COALESCE(revoked_at, $2) \
            WHERE parent_id IN (SELECT id FROM grants WHERE subject = $1 AND kind = \
            'authorization_code')";
        const REVOKE_GRANTS: &str = "UPDATE grants SET revoked_at = COALESCE(revoked_at, $2) \
            WHERE subject = $1 AND kind = 'authorization_code'";
        let result = on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            if keep_an_admin && !another_admin_remains(Conn::from(&mut *tx), &u.id).await? {
                return Ok(UserWrite::LastAdmin);
            }
            let updated = sqlx::query(UPDATE_USER)
                .bind(&u.id)
                .bind(&u.password_hash)
                .bind(u.disabled)
                .bind(u.updated_at)
                .bind(u.role.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if end_sessions {
                sqlx::query(END_SESSIONS)
                    .bind(&u.id)
                    .execute(&mut *tx)
                    .await?;
            }
            if revoke_grants {
                sqlx::query(REVOKE_DERIVED)
                    .bind(&u.id)
                    .bind(u.updated_at)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(REVOKE_GRANTS)
                    .bind(&u.id)
                    .bind(u.updated_at)
                    .execute(&mut *tx)
                    .await?;
            }
            if updated {
                audit::insert(Conn::from(&mut *tx), event).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(if updated {
                UserWrite::Done
            } else {
                UserWrite::NotFound
            })
        })?;
        if result == UserWrite::Done {
            self.audited(event);
        }
        self.changed(&[Change::User(u.id.clone())]).await;
        Ok(result)
    }

    /// `event` is written in the transaction. With `keep_an_admin` (the user is an enabled
    /// admin) nothing is deleted unless another enabled admin remains.
    pub async fn delete_user(
        &self,
        id: &str,
        now: UnixTime,
        keep_an_admin: bool,
        event: &AuditEvent,
    ) -> Result<UserWrite, sqlx::Error> {
        const REVOKE_DERIVED: &str = "UPDATE grants SET revoked_at = COALESCE(revoked_at, $2) WHERE \
            parent_id IN (SELECT id FROM grants WHERE subject = $1 AND kind = \
            'authorization_code')";
        const REVOKE_GRANTS: &str = "UPDATE grants SET revoked_at = COALESCE(revoked_at, $2) \
            WHERE subject = $1 AND kind = 'authorization_code'";
        const DELETE_USER: &str = "DELETE FROM users WHERE id = $1";
        let result = on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            if keep_an_admin && !another_admin_remains(Conn::from(&mut *tx), id).await? {
                return Ok(UserWrite::LastAdmin);
            }
            // Grants exchanged from the user's grants too (RFC 8693): their children.
            sqlx::query(REVOKE_DERIVED)
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(REVOKE_GRANTS)
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let deleted = sqlx::query(DELETE_USER)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if deleted == 1 {
                audit::insert(Conn::from(&mut *tx), event).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(if deleted == 1 {
                UserWrite::Done
            } else {
                UserWrite::NotFound
            })
        })?;
        if result == UserWrite::Done {
            self.audited(event);
        }
        self.changed(&[Change::User(id.to_owned())]).await;
        Ok(result)
    }
}

/// Inserts an account on `c` (a transaction's, with the event that explains it).
pub async fn insert_user(c: Conn<'_>, u: &UserRow) -> Result<(), sqlx::Error> {
    const INSERT_USER: &str = "INSERT INTO users (id, username, password_hash, disabled, \
        created_at, updated_at, role) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    on_conn!(c, |c| sqlx::query(INSERT_USER)
        .bind(&u.id)
        .bind(&u.username)
        .bind(&u.password_hash)
        .bind(u.disabled)
        .bind(u.created_at)
        .bind(u.updated_at)
        .bind(u.role.as_str())
        .execute(c)
        .await
        .map(|_| ()))
}
