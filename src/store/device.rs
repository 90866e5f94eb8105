//! Device authorizations (RFC 8628): stored at `/device_authorization`, found by user code
//! on the verification page, answered there, polled and finally spent at `/token`. Each
//! step is one conditional statement, so a code cannot be answered twice or spent twice.

use crate::clock::UnixTime;
use crate::domain::DeviceStatus;
use crate::store::tx::{Conn, on_conn};
use crate::store::{Store, on_pool};

macro_rules! device_columns {
    () => {
        "id, client_id, resource, scope, status, user_id, grant_id, poll_interval, slowed, \
         created_at, expires_at, consumed_at"
    };
}

/// A device authorization without its hashes (nobody reads them back).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DeviceCodeRow {
    pub id: String,
    pub client_id: String,
    pub resource: String,
    pub scope: String,
    #[sqlx(try_from = "String")]
    pub status: DeviceStatus,
    /// Who entered the user code (and only they may answer).
    pub user_id: Option<String>,
    /// Set with the approval.
    pub grant_id: Option<String>,
    pub poll_interval: i64,
    /// The last poll came sooner than the interval allowed (and grew it).
    pub slowed: bool,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub consumed_at: Option<UnixTime>,
}

/// What `/device_authorization` stores.
pub struct NewDeviceCode<'a> {
    pub id: &'a str,
    pub device_code_hash: &'a str,
    pub user_code_hash: &'a str,
    pub client_id: &'a str,
    pub resource: &'a str,
    pub scope: &'a str,
    pub poll_interval: i64,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// The grant an approved device code issues from, with its status: the one extra read of
/// the poll that redeems it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DeviceGrant {
    pub user_id: String,
    pub grant_scope: String,
    pub last_used_at: Option<UnixTime>,
    #[sqlx(flatten)]
    pub status: crate::domain::GrantStatus,
}

impl Store {
    pub async fn device_grant(&self, grant_id: &str) -> Result<Option<DeviceGrant>, sqlx::Error> {
        on_pool!(self, |pool| sqlx::query_as::<_, DeviceGrant>(
            crate::store::grants::status_sql!(
                "g.subject AS user_id, g.scope AS grant_scope, g.last_used_at, ",
                "",
                "g.id = $1"
            )
        )
        .bind(grant_id)
        .fetch_optional(&mut *pool)
        .await)
    }

    /// Stores a new device authorization; a unique violation means its user code collided
    /// with another one's (the caller draws again).
    pub async fn insert_device_code(&self, new: &NewDeviceCode<'_>) -> Result<(), sqlx::Error> {
        const INSERT_DEVICE_CODE: &str = "INSERT INTO device_codes (id, device_code_hash, \
            user_code_hash, client_id, resource, scope, status, poll_interval, created_at, \
            expires_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9)";
        on_pool!(self, |pool| sqlx::query(INSERT_DEVICE_CODE)
            .bind(new.id)
            .bind(new.device_code_hash)
            .bind(new.user_code_hash)
            .bind(new.client_id)
            .bind(new.resource)
            .bind(new.scope)
            .bind(new.poll_interval)
            .bind(new.created_at)
            .bind(new.expires_at)
            .execute(&mut *pool)
            .await
            .map(|_| ()))
    }

    /// One poll (RFC 8628 §3.4, §3.5): the single statement a poll costs. A poll sooner
    /// than the interval after the last one grows the interval by 5 seconds and is marked
    /// `slowed`; the row comes back as it is after the poll.
    pub async fn poll_device_code(
        &self,
        device_code_hash: &str,
        client_id: &str,
        now: UnixTime,
    ) -> Result<Option<DeviceCodeRow>, sqlx::Error> {
        const POLL_DEVICE_CODE: &str = concat!(
            "UPDATE device_codes SET poll_interval = CASE WHEN last_polled_at IS NOT NULL AND \
             $3 - last_polled_at < poll_interval THEN poll_interval + 5 ELSE poll_interval END, \
             slowed = (last_polled_at IS NOT NULL AND $3 - last_polled_at < poll_interval), \
             last_polled_at = $3 WHERE device_code_hash = $1 AND client_id = $2 RETURNING ",
            device_columns!()
        );
        on_pool!(self, |pool| sqlx::query_as::<_, DeviceCodeRow>(
            POLL_DEVICE_CODE
        )
        .bind(device_code_hash)
        .bind(client_id)
        .bind(now)
        .fetch_optional(&mut *pool)
        .await)
    }

    /// The pending, unexpired authorization whose user code hashes to `user_code_hash`,
    /// claimed for `user_id`: a code another user already entered is not found.
    pub async fn claim_device_code(
        &self,
        user_code_hash: &str,
        user_id: &str,
        now: UnixTime,
    ) -> Result<Option<DeviceCodeRow>, sqlx::Error> {
        const CLAIM_DEVICE_CODE: &str = concat!(
            "UPDATE device_codes SET user_id = $2 WHERE user_code_hash = $1 AND status = \
             'pending' AND expires_at > $3 AND (user_id IS NULL OR user_id = $2) RETURNING ",
            device_columns!()
        );
        on_pool!(self, |pool| sqlx::query_as::<_, DeviceCodeRow>(
            CLAIM_DEVICE_CODE
        )
        .bind(user_code_hash)
        .bind(user_id)
        .bind(now)
        .fetch_optional(&mut *pool)
        .await)
    }

    /// The authorization with handle `id`, whatever its state.
    pub async fn device_code(&self, id: &str) -> Result<Option<DeviceCodeRow>, sqlx::Error> {
        const DEVICE_CODE: &str = concat!(
            "SELECT ",
            device_columns!(),
            " FROM device_codes WHERE id = $1"
        );
        on_pool!(self, |pool| sqlx::query_as::<_, DeviceCodeRow>(DEVICE_CODE)
            .bind(id)
            .fetch_optional(&mut *pool)
            .await)
    }

    /// Device authorizations that have not expired: what the cap on them counts.
    pub async fn count_pending_device_codes(&self, now: UnixTime) -> Result<i64, sqlx::Error> {
        const COUNT_PENDING_DEVICE_CODES: &str =
            "SELECT COUNT(*) FROM device_codes WHERE expires_at >= $1";
        on_pool!(self, |pool| sqlx::query_scalar(COUNT_PENDING_DEVICE_CODES)
            .bind(now)
            .fetch_one(&mut *pool)
            .await)
    }
}

/// Answers the pending authorization `id` for `user_id` (who claimed it): approved with
/// `grant_id`, or denied. False when it was answered, or expired, meanwhile.
pub async fn answer(
    c: Conn<'_>,
    id: &str,
    user_id: &str,
    answer: DeviceStatus,
    grant_id: Option<&str>,
    now: UnixTime,
) -> Result<bool, sqlx::Error> {
    const ANSWER_DEVICE_CODE: &str = "UPDATE device_codes SET status = $3, grant_id = $4 WHERE \
        id = $1 AND user_id = $2 AND status = 'pending' AND expires_at > $5";
    on_conn!(c, |c| sqlx::query(ANSWER_DEVICE_CODE)
        .bind(id)
        .bind(user_id)
        .bind(answer.as_str())
        .bind(grant_id)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected() == 1))
}
