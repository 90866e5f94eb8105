//! Pending authorization requests, authorization codes and refresh tokens. One-time things
//! are consumed with a single conditional UPDATE … RETURNING, so two concurrent uses
//! cannot both succeed.

use crate::clock::UnixTime;
use crate::store::tx::{Conn, on_conn};
use crate::store::{Store, on_pool};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AuthorizationRequestRow {
    pub id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub redirect_uri_sent: bool,
    pub state: Option<String>,
    pub scope: String,
    pub resource: String,
    pub code_challenge: String,
    pub prompt: String,
    /// The OIDC scopes (`openid`, and `email` or `profile` with it) when an ID token is
    /// asked for.
    pub openid_scope: Option<String>,
    pub nonce: Option<String>,
    pub user_id: Option<String>,
    pub consent_shown: bool,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub consumed_at: Option<UnixTime>,
    /// RFC 9449 §10 `dpop_jkt`: the key the code will be bound to.
    pub dpop_jkt: Option<String>,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AuthorizationCodeRow {
    pub code_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub redirect_uri_sent: bool,
    pub code_challenge: String,
    pub resource: String,
    pub scope: String,
    pub user_id: String,
    pub openid_scope: Option<String>,
    pub nonce: Option<String>,
    /// When the user last proved who they are (the session's sign-in): OIDC `auth_time`.
    pub auth_time: Option<UnixTime>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub consumed_at: Option<UnixTime>,
    /// RFC 9449 §10: only a DPoP proof with this key may redeem the code.
    pub dpop_jkt: Option<String>,
}

/// What an issuance spends, in the transaction that records it; `record_issue` refuses
/// (`false`) if a concurrent request spent it first.
pub enum Spend<'a> {
    /// The authorization code being redeemed.
    Code {
        code_hash: &'a str,
        client_id: &'a str,
    },
    /// The approved device code being redeemed (RFC 8628 §3.5).
    DeviceCode {
        device_code_hash: &'a str,
        client_id: &'a str,
    },
    /// The refresh token being rotated, with its successor sealed for the grace window.
    Refresh {
        token_hash: &'a str,
        client_id: &'a str,
        successor_sealed: Option<&'a str>,
    },
}

/// An authorization code with its grant and the grant's status, read together.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct CodeForIssue {
    #[sqlx(flatten)]
    pub code: AuthorizationCodeRow,
    pub grant_scope: String,
    pub last_used_at: Option<UnixTime>,
    #[sqlx(flatten)]
    pub status: crate::store::grants::GrantStatus,
}

/// A refresh token, its grant and the grant's status, read together.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RefreshForIssue {
    pub token_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub scope: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub rotated_at: Option<UnixTime>,
    /// The DPoP key thumbprint the token is bound to (RFC 9449 §5), public clients only.
    pub dpop_jkt: Option<String>,
    pub subject: String,
    pub resource: String,
    /// The grant's scope: an admin's narrowing is written there (`grants::narrow_grants`).
    pub grant_scope: String,
    pub last_used_at: Option<UnixTime>,
    #[sqlx(flatten)]
    pub status: crate::store::grants::GrantStatus,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RefreshTokenRow {
    pub token_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub scope: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub rotated_at: Option<UnixTime>,
    /// The DPoP key thumbprint the token is bound to (RFC 9449 §5), public clients only.
    pub dpop_jkt: Option<String>,
}

impl Store {
    pub async fn insert_authorization_request(
        &self,
        r: &AuthorizationRequestRow,
    ) -> Result<(), sqlx::Error> {
        const INSERT_AUTHORIZATION_REQUEST: &str = "INSERT INTO authorization_requests (id, \
            client_id, redirect_uri, redirect_uri_sent, state, scope, resource, code_challenge, \
            prompt, user_id, consent_shown, created_at, expires_at, dpop_jkt, openid_scope, nonce) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";
        on_pool!(self, |pool| sqlx::query(INSERT_AUTHORIZATION_REQUEST)
            .bind(&r.id)
            .bind(&r.client_id)
            .bind(&r.redirect_uri)
            .bind(r.redirect_uri_sent)
            .bind(&r.state)
            .bind(&r.scope)
            .bind(&r.resource)
            .bind(&r.code_challenge)
            .bind(&r.prompt)
            .bind(&r.user_id)
            .bind(r.consent_shown)
            .bind(r.created_at)
            .bind(r.expires_at)
            .bind(&r.dpop_jkt)
            .bind(&r.openid_scope)
            .bind(&r.nonce)
            .execute(&mut *pool)
            .await
            .map(|_| ()))
    }

    pub async fn authorization_request(
        &self,
        id: &str,
    ) -> Result<Option<AuthorizationRequestRow>, sqlx::Error> {
        const AUTHORIZATION_REQUEST: &str = "SELECT id, client_id, redirect_uri, \
            redirect_uri_sent, state, scope, resource, code_challenge, prompt, openid_scope, \
            nonce, user_id, consent_shown, created_at, expires_at, consumed_at, dpop_jkt FROM \
            authorization_requests WHERE id = $1";
        on_pool!(self, |pool| sqlx::query_as::<_, AuthorizationRequestRow>(
            AUTHORIZATION_REQUEST
        )
        .bind(id)
        .fetch_optional(&mut *pool)
        .await)
    }

    /// Binds a pending request to the signed-in user (first user wins) and records that the
    /// consent page was shown; false when it belongs to someone else or is gone.
    pub async fn claim_authorization_request(
        &self,
        id: &str,
        user_id: &str,
        consent_shown: bool,
    ) -> Result<bool, sqlx::Error> {
        const CLAIM_AUTHORIZATION_REQUEST: &str = "UPDATE authorization_requests SET user_id = \
            $2, consent_shown = (consent_shown OR $3) WHERE id = $1 AND (user_id IS NULL OR \
            user_id = $2) AND consumed_at IS NULL";
        on_pool!(self, |pool| sqlx::query(CLAIM_AUTHORIZATION_REQUEST)
            .bind(id)
            .bind(user_id)
            .bind(consent_shown)
            .execute(&mut *pool)
            .await
            .map(|r| r.rows_affected() == 1))
    }

    /// Records an issuance from a user grant in one transaction (one commit): rotates out
    /// the presented refresh token (`rotate`: its hash and client), stores the new one,
    /// and marks the grant used. With `must_rotate`, false (and nothing written) when the
    /// presented token was already rotated by a concurrent request.
    pub async fn record_issue(
        &self,
        grant_id: &str,
        now: UnixTime,
        spend: Option<Spend<'_>>,
        new: Option<&RefreshTokenRow>,
        touch: bool,
    ) -> Result<bool, sqlx::Error> {
        const CONSUME_CODE: &str = "UPDATE authorization_codes SET consumed_at = $3 WHERE \
            code_hash = $1 AND client_id = $2 AND consumed_at IS NULL AND expires_at > $3";
        const ROTATE_REFRESH: &str = "UPDATE refresh_tokens SET rotated_at = $3, successor_sealed \
            = $4 WHERE token_hash = $1 AND client_id = $2 AND rotated_at IS NULL AND expires_at > \
            $3";
        const CONSUME_DEVICE_CODE: &str = "UPDATE device_codes SET consumed_at = $3 WHERE \
            device_code_hash = $1 AND client_id = $2 AND status = 'approved' AND consumed_at IS \
            NULL AND expires_at > $3";
        const NEW_REFRESH: &str = "INSERT INTO refresh_tokens (token_hash, grant_id, \
            client_id, scope, created_at, expires_at, dpop_jkt) VALUES ($1, $2, $3, $4, $5, $6, $7)";
        const TOUCH_GRANT: &str = "UPDATE grants SET last_used_at = $2 WHERE id = $1";
        if spend.is_none() && new.is_none() && !touch {
            return Ok(true);
        }
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let spent = match &spend {
                None => true,
                Some(Spend::Code {
                    code_hash,
                    client_id,
                }) => {
                    sqlx::query(CONSUME_CODE)
                        .bind(code_hash)
                        .bind(client_id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                        == 1
                }
                Some(Spend::DeviceCode {
                    device_code_hash,
                    client_id,
                }) => {
                    sqlx::query(CONSUME_DEVICE_CODE)
                        .bind(device_code_hash)
                        .bind(client_id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                        == 1
                }
                Some(Spend::Refresh {
                    token_hash,
                    client_id,
                    successor_sealed,
                }) => {
                    sqlx::query(ROTATE_REFRESH)
                        .bind(token_hash)
                        .bind(client_id)
                        .bind(now)
                        .bind(successor_sealed)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                        == 1
                }
            };
            if !spent {
                tx.rollback().await?;
                return Ok(false);
            }
            if let Some(t) = new {
                sqlx::query(NEW_REFRESH)
                    .bind(&t.token_hash)
                    .bind(&t.grant_id)
                    .bind(&t.client_id)
                    .bind(&t.scope)
                    .bind(t.created_at)
                    .bind(t.expires_at)
                    .bind(&t.dpop_jkt)
                    .execute(&mut *tx)
                    .await?;
            }
            if touch {
                sqlx::query(TOUCH_GRANT)
                    .bind(grant_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// The sealed successor of a rotated refresh token (see `crypto::successor`).
    pub async fn refresh_successor(&self, token_hash: &str) -> Result<Option<String>, sqlx::Error> {
        on_pool!(self, |pool| sqlx::query_scalar::<_, Option<String>>(
            "SELECT successor_sealed FROM refresh_tokens WHERE token_hash = $1"
        )
        .bind(token_hash)
        .fetch_optional(&mut *pool)
        .await
        .map(Option::flatten))
    }

    /// A code with its grant and the grant's status: the one read of a redemption. The code
    /// is spent later, in `record_issue`, together with what it buys.
    pub async fn authorization_code_for_issue(
        &self,
        code_hash: &str,
    ) -> Result<Option<CodeForIssue>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, CodeForIssue>(crate::store::grants::status_sql!(
                "ac.code_hash, ac.grant_id, ac.client_id, ac.redirect_uri, ac.redirect_uri_sent, \
                ac.code_challenge, ac.resource, ac.scope, ac.user_id, ac.openid_scope, \
                ac.nonce, ac.auth_time, ac.created_at, ac.expires_at, ac.consumed_at, ac.dpop_jkt, \
                g.scope AS grant_scope, g.last_used_at, ",
                "authorization_codes ac CROSS JOIN ",
                "g.id = ac.grant_id AND ac.code_hash = $1"
            ))
            .bind(code_hash)
            .fetch_optional(&mut *pool)
            .await
        })
    }

    pub async fn refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshTokenRow>, sqlx::Error> {
        const REFRESH_TOKEN: &str = "SELECT token_hash, grant_id, client_id, scope, created_at, \
            expires_at, rotated_at, dpop_jkt FROM refresh_tokens WHERE token_hash = $1";
        on_pool!(self, |pool| sqlx::query_as::<_, RefreshTokenRow>(
            REFRESH_TOKEN
        )
        .bind(token_hash)
        .fetch_optional(&mut *pool)
        .await)
    }

    /// A refresh token with its grant and the grant's status: the one read of a refresh.
    pub async fn refresh_token_for_issue(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshForIssue>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, RefreshForIssue>(crate::store::grants::status_sql!(
                "rt.token_hash, rt.grant_id, rt.client_id, rt.scope, rt.created_at, rt.expires_at, \
                rt.rotated_at, rt.dpop_jkt, g.subject, g.resource, g.scope AS grant_scope, g.last_used_at, ",
                "refresh_tokens rt CROSS JOIN ",
                "g.id = rt.grant_id AND rt.token_hash = $1"
            ))
            .bind(token_hash)
            .fetch_optional(&mut *pool)
            .await
        })
    }

    /// Pending authorization requests that have not expired.
    pub async fn count_pending_authorizations(&self, now: UnixTime) -> Result<i64, sqlx::Error> {
        const COUNT_PENDING_AUTHORIZATIONS: &str =
            "SELECT COUNT(*) FROM authorization_requests WHERE expires_at >= $1";
        on_pool!(self, |pool| sqlx::query_scalar(
            COUNT_PENDING_AUTHORIZATIONS
        )
        .bind(now)
        .fetch_one(&mut *pool)
        .await)
    }

    /// Remembers a DPoP proof's `jti` for its key until `expires_at`; false when it was
    /// seen already (a replay, RFC 9449 §11.1).
    pub async fn remember_dpop_proof(
        &self,
        jkt: &str,
        jti: &str,
        expires_at: UnixTime,
    ) -> Result<bool, sqlx::Error> {
        const REMEMBER_DPOP_PROOF: &str = "INSERT INTO dpop_proofs (jkt, jti, expires_at) \
            VALUES ($1, $2, $3) ON CONFLICT (jkt, jti) DO NOTHING";
        on_pool!(self, |pool| sqlx::query(REMEMBER_DPOP_PROOF)
            .bind(jkt)
            .bind(jti)
            .bind(expires_at)
            .execute(&mut *pool)
            .await
            .map(|r| r.rows_affected() == 1))
    }

    /// Deletes what can no longer be used: expired requests, codes, refresh tokens,
    /// sessions and DPoP proof ids.
    pub async fn purge_expired(&self, now: UnixTime) -> Result<(), sqlx::Error> {
        const REQUESTS: &str = "DELETE FROM authorization_requests WHERE expires_at < $1";
        const CODES: &str = "DELETE FROM authorization_codes WHERE expires_at < $1";
        const UPSTREAM_LOGINS: &str = "DELETE FROM upstream_logins WHERE expires_at < $1";
        const REFRESH_TOKENS: &str = "DELETE FROM refresh_tokens WHERE expires_at < $1";
        const SESSIONS: &str = "DELETE FROM sessions WHERE expires_at < $1";
        const DPOP_PROOFS: &str = "DELETE FROM dpop_proofs WHERE expires_at < $1";
        const DEVICE_CODES: &str = "DELETE FROM device_codes WHERE expires_at < $1";
        on_pool!(self, |pool| {
            sqlx::query(REQUESTS).bind(now).execute(&mut *pool).await?;
            // Spent codes stay an hour past expiry, so a replay is still recognised.
            sqlx::query(CODES)
                .bind(now - 3600)
                .execute(&mut *pool)
                .await?;
            sqlx::query(DEVICE_CODES)
                .bind(now - 3600)
                .execute(&mut *pool)
                .await?;
            sqlx::query(UPSTREAM_LOGINS)
                .bind(now)
                .execute(&mut *pool)
                .await?;
            sqlx::query(REFRESH_TOKENS)
                .bind(now)
                .execute(&mut *pool)
                .await?;
            sqlx::query(SESSIONS).bind(now).execute(&mut *pool).await?;
            sqlx::query(DPOP_PROOFS)
                .bind(now)
                .execute(&mut *pool)
                .await
                .map(|_| ())
        })
    }
}

/// Binds a pending request to the user who approves it and consumes it, unless it was
/// consumed, expired or bound to someone else: false then. The first step of an approval.
pub async fn claim_request(
    c: Conn<'_>,
    id: &str,
    user_id: &str,
    now: UnixTime,
) -> Result<bool, sqlx::Error> {
    const CLAIM_REQUEST: &str = "UPDATE authorization_requests SET user_id = $2, \
        consumed_at = $3 WHERE id = $1 AND (user_id IS NULL OR user_id = $2) \
        AND consumed_at IS NULL AND expires_at > $3";
    on_conn!(c, |c| sqlx::query(CLAIM_REQUEST)
        .bind(id)
        .bind(user_id)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// Issues authorization code `code` under grant `grant_id`.
pub async fn insert_code(
    c: Conn<'_>,
    code: &AuthorizationCodeRow,
    grant_id: &str,
) -> Result<(), sqlx::Error> {
    const INSERT_CODE: &str = "INSERT INTO authorization_codes (code_hash, grant_id, \
        client_id, redirect_uri, redirect_uri_sent, code_challenge, resource, scope, user_id, \
        created_at, expires_at, dpop_jkt, openid_scope, nonce, auth_time) VALUES ($1, $2, $3, $4, \
        $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";
    on_conn!(c, |c| sqlx::query(INSERT_CODE)
        .bind(&code.code_hash)
        .bind(grant_id)
        .bind(&code.client_id)
        .bind(&code.redirect_uri)
        .bind(code.redirect_uri_sent)
        .bind(&code.code_challenge)
        .bind(&code.resource)
        .bind(&code.scope)
        .bind(&code.user_id)
        .bind(code.created_at)
        .bind(code.expires_at)
        .bind(&code.dpop_jkt)
        .bind(&code.openid_scope)
        .bind(&code.nonce)
        .bind(code.auth_time)
        .execute(c)
        .await
        .map(|_| ()))
}

/// Uses up the request `user_id` answered (a refusal: no code follows).
pub async fn consume_request(
    c: Conn<'_>,
    id: &str,
    user_id: &str,
    now: UnixTime,
) -> Result<bool, sqlx::Error> {
    const CONSUME_REQUEST: &str = "UPDATE authorization_requests SET consumed_at = $3 WHERE \
        id = $1 AND user_id = $2 AND consumed_at IS NULL AND expires_at > $3";
    on_conn!(c, |c| sqlx::query(CONSUME_REQUEST)
        .bind(id)
        .bind(user_id)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// Stores a new refresh token inside the caller's transaction (a grant that issues its
/// first refresh token as it is recorded: the jwt-bearer ID-JAG grant).
pub async fn insert_refresh_token(c: Conn<'_>, t: &RefreshTokenRow) -> Result<(), sqlx::Error> {
    const NEW_REFRESH: &str = "INSERT INTO refresh_tokens (token_hash, grant_id, client_id, \
        scope, created_at, expires_at, dpop_jkt) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    on_conn!(c, |c| sqlx::query(NEW_REFRESH)
        .bind(&t.token_hash)
        .bind(&t.grant_id)
        .bind(&t.client_id)
        .bind(&t.scope)
        .bind(t.created_at)
        .bind(t.expires_at)
        .bind(&t.dpop_jkt)
        .execute(c)
        .await
        .map(|_| ()))
}
