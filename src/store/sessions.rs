//! Browser sessions and the sign-in throttle.

use crate::clock::UnixTime;
use crate::domain::Role;
use crate::store::tx::{Conn, on_conn};
use crate::store::{Store, on_pool};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SessionRow {
    pub token_hash: String,
    pub user_id: String,
    pub csrf: String,
    pub created_at: UnixTime,
    pub last_seen_at: UnixTime,
    pub expires_at: UnixTime,
    /// When the user last proved their password (or provider sign-in) on this session.
    pub authenticated_at: UnixTime,
}

/// A live session with its (enabled) user's name, in one read.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SessionUser {
    pub token_hash: String,
    pub user_id: String,
    pub username: String,
    pub csrf: String,
    pub created_at: UnixTime,
    pub last_seen_at: UnixTime,
    pub authenticated_at: UnixTime,
    #[sqlx(try_from = "String")]
    pub role: Role,
}

impl Store {
    /// The session if it is neither past its absolute expiry nor idle since `idle_after`.
    pub async fn live_session(
        &self,
        token_hash: &str,
        now: UnixTime,
        idle_after: UnixTime,
    ) -> Result<Option<SessionUser>, sqlx::Error> {
        const LIVE_SESSION: &str = "SELECT s.token_hash, s.user_id, u.username, s.csrf, \
            s.created_at, s.last_seen_at, s.authenticated_at, u.role FROM sessions s JOIN users u ON u.id = s.user_id WHERE \
            s.token_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 AND u.disabled = \
            FALSE";
        on_pool!(self, |pool| sqlx::query_as::<_, SessionUser>(LIVE_SESSION)
            .bind(token_hash)
            .bind(now)
            .bind(idle_after)
            .fetch_optional(&mut *pool)
            .await)
    }

    pub async fn touch_session(&self, token_hash: &str, now: UnixTime) -> Result<(), sqlx::Error> {
        const TOUCH_SESSION: &str = "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1";
        on_pool!(self, |pool| sqlx::query(TOUCH_SESSION)
            .bind(token_hash)
            .bind(now)
            .execute(&mut *pool)
            .await
            .map(|_| ()))
    }

    /// The user proved their password again on this session (the console's re-check
    /// before destructive actions).
    pub async fn reauthenticated(
        &self,
        token_hash: &str,
        now: UnixTime,
    ) -> Result<(), sqlx::Error> {
        const REAUTHENTICATED: &str =
            "UPDATE sessions SET authenticated_at = $2, last_seen_at = $2 WHERE token_hash = $1";
        on_pool!(self, |pool| sqlx::query(REAUTHENTICATED)
            .bind(token_hash)
            .bind(now)
            .execute(&mut *pool)
            .await
            .map(|_| ()))
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), sqlx::Error> {
        const DELETE_SESSION: &str = "DELETE FROM sessions WHERE token_hash = $1";
        on_pool!(self, |pool| sqlx::query(DELETE_SESSION)
            .bind(token_hash)
            .execute(&mut *pool)
            .await
            .map(|_| ()))
    }

    /// Takes one attempt for `key` and returns how many the window now holds (this one
    /// included); a window older than `window_start` begins again. One atomic statement,
    /// so parallel requests can never all see room left: check the result, not a read.
    pub async fn take_attempt(
        &self,
        key: &str,
        now: UnixTime,
        window_start: UnixTime,
    ) -> Result<i64, sqlx::Error> {
        const TAKE_ATTEMPT: &str = "INSERT INTO login_throttle (key, failures, window_start) \
            VALUES ($1, 1, $2) ON CONFLICT (key) DO UPDATE SET failures = CASE WHEN \
            login_throttle.window_start > $3 THEN login_throttle.failures + 1 ELSE 1 END, \
            window_start = CASE WHEN login_throttle.window_start > $3 THEN \
            login_throttle.window_start ELSE $2 END RETURNING failures";
        on_pool!(self, |pool| sqlx::query_scalar(TAKE_ATTEMPT)
            .bind(key)
            .bind(now)
            .bind(window_start)
            .fetch_one(&mut *pool)
            .await)
    }

    /// Hands back an attempt taken by `take_attempt` that turned out not to count.
    pub async fn give_back_attempt(&self, key: &str) -> Result<(), sqlx::Error> {
        const GIVE_BACK_ATTEMPT: &str =
            "UPDATE login_throttle SET failures = failures - 1 WHERE key = $1 AND failures > 0";
        on_pool!(self, |pool| sqlx::query(GIVE_BACK_ATTEMPT)
            .bind(key)
            .execute(&mut *pool)
            .await
            .map(|_| ()))
    }

    /// Forgets counters whose window began before `before`: a window that old has ended.
    pub async fn purge_throttle(&self, before: UnixTime) -> Result<u64, sqlx::Error> {
        const PURGE_THROTTLE: &str = "DELETE FROM login_throttle WHERE window_start < $1";
        on_pool!(self, |pool| sqlx::query(PURGE_THROTTLE)
            .bind(before)
            .execute(&mut *pool)
            .await
            .map(|r| r.rows_affected()))
    }

    pub async fn count_throttle_rows(&self) -> Result<i64, sqlx::Error> {
        const COUNT_THROTTLE_ROWS: &str = "SELECT COUNT(*) FROM login_throttle";
        on_pool!(self, |pool| sqlx::query_scalar(COUNT_THROTTLE_ROWS)
            .fetch_one(&mut *pool)
            .await)
    }

    pub async fn clear_failures(&self, key: &str) -> Result<(), sqlx::Error> {
        const CLEAR_FAILURES: &str = "DELETE FROM login_throttle WHERE key = $1";
        on_pool!(self, |pool| sqlx::query(CLEAR_FAILURES)
            .bind(key)
            .execute(&mut *pool)
            .await
            .map(|_| ()))
    }
}

/// Stores a new session (in the sign-in's transaction, beside its audit event).
pub async fn insert_session(c: Conn<'_>, s: &SessionRow) -> Result<(), sqlx::Error> {
    const INSERT_SESSION: &str = "INSERT INTO sessions (token_hash, user_id, csrf, created_at, \
        last_seen_at, expires_at, authenticated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    on_conn!(c, |c| sqlx::query(INSERT_SESSION)
        .bind(&s.token_hash)
        .bind(&s.user_id)
        .bind(&s.csrf)
        .bind(s.created_at)
        .bind(s.last_seen_at)
        .bind(s.expires_at)
        .bind(s.authenticated_at)
        .execute(c)
        .await
        .map(|_| ()))
}
