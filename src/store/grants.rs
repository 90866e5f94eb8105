//! Grants: every token descends from one, and revoking it ends them all.

use crate::clock::UnixTime;
use crate::domain::{AuditEvent, Grant, GrantKind, GrantState};
// Grants are read with their status in one query; the type lives with `Grant`.
use crate::domain::Consent;
pub use crate::domain::GrantStatus;
use crate::store::audit::Cursor;
use crate::store::changes::Change;
use crate::store::tx::{Conn, Tx, on_conn};
use crate::store::{Store, is_unique_violation, on_pool};

/// Whether a grant's `last_used_at` should be written now: at most once a minute (the
/// account page shows it to the minute, and a write per token costs a round trip).
pub fn last_use_is_stale(last_used_at: Option<UnixTime>, now: UnixTime) -> bool {
    last_used_at.is_none_or(|at| now - at >= 60)
}

/// When a grant `g` (with `p` its parent, LEFT JOINed) stopped: its own revocation or its
/// parent's. A parent that is named but gone (its client deleted it, cascading) reads as
/// revoked at the child's creation: a missing parent must never read as a live one.
macro_rules! revoked_at_sql {
    () => {
        "COALESCE(g.revoked_at, p.revoked_at, CASE WHEN g.parent_id IS NOT NULL AND p.id IS NULL \
         THEN g.created_at END)"
    };
}

/// The status of a grant `g`: revoked (`revoked_at_sql`), client(s), resource, user.
/// `$extra` adds columns, `$from` what comes before `grants g`, `$where` the condition.
macro_rules! status_sql {
    ($extra:literal, $from:literal, $where:literal) => {
        concat!(
            "SELECT ",
            $extra,
            $crate::store::grants::revoked_at_sql!(),
            " AS revoked_at, (c.enabled AND COALESCE(pc.enabled, TRUE)) AS client_enabled, \
                r.enabled AS resource_enabled, CASE WHEN g.kind = 'client_credentials' THEN TRUE \
                WHEN u.id IS NULL THEN g.kind = 'token_exchange' ELSE u.disabled = FALSE END AS \
                user_enabled, g.client_id AS status_client, \
                g.resource AS status_resource, g.subject AS status_subject, \
                g.parent_id AS status_parent, p.client_id AS status_parent_client FROM ",
            $from,
            "grants g JOIN clients c ON c.client_id = g.client_id JOIN resources r ON r.uri = \
                g.resource LEFT JOIN grants p ON p.id = g.parent_id LEFT JOIN clients pc ON \
                pc.client_id = p.client_id LEFT JOIN users u ON u.id = g.subject AND g.kind <> \
                'client_credentials' WHERE ",
            $where
        )
    };
}
pub(crate) use {revoked_at_sql, status_sql};

/// A user's authorization as the account page shows it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UserGrant {
    pub id: String,
    pub client_name: String,
    pub resource_name: Option<String>,
    pub resource: String,
    pub scope: String,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}

/// Which grants an admin listing or a revocation of many covers; every member narrows it.
#[derive(Clone, Debug, Default)]
pub struct GrantFilter {
    /// The grants a user gave, and the tokens exchanged in their name; never a client's
    /// own grant, whose subject is the client.
    pub user: Option<String>,
    pub client_id: Option<String>,
    /// A canonical resource URI.
    pub resource: Option<String>,
}

/// Whose grants a revocation of many ends: one user's, one client's or one resource's
/// (never an empty filter, which would be everyone's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GrantHolder {
    User(String),
    Client(String),
    /// A canonical resource URI.
    Resource(String),
}

impl From<GrantHolder> for GrantFilter {
    fn from(holder: GrantHolder) -> GrantFilter {
        match holder {
            GrantHolder::User(id) => GrantFilter {
                user: Some(id),
                ..Default::default()
            },
            GrantHolder::Client(id) => GrantFilter {
                client_id: Some(id),
                ..Default::default()
            },
            GrantHolder::Resource(uri) => GrantFilter {
                resource: Some(uri),
                ..Default::default()
            },
        }
    }
}

/// The condition of a `GrantFilter` over `grants g`: `$1` user, `$2` client, `$3` resource,
/// each NULL when it does not narrow.
macro_rules! filter_sql {
    () => {
        "($1 IS NULL OR (g.subject = $1 AND g.kind <> 'client_credentials')) AND ($2 IS NULL OR \
         g.client_id = $2) AND ($3 IS NULL OR g.resource = $3)"
    };
}

/// A grant as the admin listing shows it: with its client's and resource's names, its
/// user's name (for a user's grant), and when it stopped (`revoked_at_sql`).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct GrantListingRow {
    pub id: String,
    #[sqlx(try_from = "String")]
    pub kind: GrantKind,
    pub client_id: String,
    pub client_name: String,
    pub subject: String,
    pub username: Option<String>,
    pub resource: String,
    /// None when no resource is registered at the URI any more.
    pub resource_name: Option<String>,
    pub scope: String,
    /// The grant it was exchanged from (RFC 8693).
    pub parent_id: Option<String>,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
    pub revoked_at: Option<UnixTime>,
}

impl GrantListingRow {
    /// Where a page (newest first) that ends with this row ended.
    pub fn cursor(&self) -> Cursor {
        Cursor {
            at: self.created_at,
            id: self.id.clone(),
        }
    }
}

/// What a revocation's `RETURNING` names: the grant and whom it concerned.
#[derive(sqlx::FromRow)]
struct RevokedGrant {
    id: String,
    #[sqlx(try_from = "String")]
    kind: GrantKind,
    client_id: String,
    subject: String,
    resource: String,
}

/// Records, in `tx`, a grant its statement just revoked: `event` filled in with the grant,
/// and the change announced. Grants exchanged from it stop with it (`revoked_at_sql`), and
/// the announcement makes every node forget their cached status too.
async fn record_revoked(
    tx: &mut Tx,
    grant: RevokedGrant,
    event: AuditEvent,
) -> Result<(), sqlx::Error> {
    let mut event = event
        .grant(&grant.id)
        .client(grant.client_id)
        .resource(grant.resource);
    // A client's own grant has the client as its subject: no user to name.
    if grant.kind != GrantKind::ClientCredentials {
        event = event.subject(grant.subject);
    }
    tx.audit(event).await?;
    tx.changed(Change::Grant(grant.id));
    Ok(())
}

/// How a live grant's scope narrows to what its client and resource allow now:
/// `(stored, client_scopes, resource_scopes) -> narrowed` (`oauth::policy::narrow_stored`).
pub type Narrow = fn(&str, Option<&str>, &str) -> String;

/// A live user grant with what its client and resource allow, for `narrow_grants`.
#[derive(sqlx::FromRow)]
pub(crate) struct GrantScopeRow {
    pub id: String,
    pub scope: String,
    pub client_scopes: Option<String>,
    pub resource_scopes: String,
}

/// The live user grants of a client (`$1` = client_id) or of a resource (`$1` = its id).
macro_rules! grant_scopes_sql {
    ($where:literal) => {
        concat!(
            "SELECT g.id, g.scope, c.scopes AS client_scopes, r.scopes AS resource_scopes FROM \
                grants g JOIN clients c ON c.client_id = g.client_id JOIN resources r ON r.uri = \
                g.resource WHERE g.revoked_at IS NULL AND g.kind = 'authorization_code' AND ",
            $where
        )
    };
}

/// Which grants a narrowing looks at.
#[derive(Clone, Copy)]
pub(crate) enum GrantsOf<'a> {
    Client(&'a str),
    Resource(&'a str),
}

/// Narrows the live user grants of a client or resource that was just changed, inside the
/// transaction `$tx` that changed it: a grant whose scope shrinks is rewritten, one left
/// with nothing is revoked (its refresh tokens die, its access tokens introspect inactive).
/// Refresh tokens are narrowed by their grant at use (`refresh_token_for_issue`).
macro_rules! narrow_grants {
    ($tx:expr, $of:expr, $narrow:expr, $now:expr) => {{
        let rows = match $of {
            $crate::store::grants::GrantsOf::Client(id) => {
                sqlx::query_as::<_, $crate::store::grants::GrantScopeRow>(
                    $crate::store::grants::grant_scopes_sql!("g.client_id = $1"),
                )
                .bind(id)
                .fetch_all(&mut *$tx)
                .await?
            }
            $crate::store::grants::GrantsOf::Resource(id) => {
                sqlx::query_as::<_, $crate::store::grants::GrantScopeRow>(
                    $crate::store::grants::grant_scopes_sql!("r.id = $1"),
                )
                .bind(id)
                .fetch_all(&mut *$tx)
                .await?
            }
        };
        for row in rows {
            let narrowed = ($narrow)(
                &row.scope,
                row.client_scopes.as_deref(),
                &row.resource_scopes,
            );
            if narrowed == row.scope {
                continue;
            }
            if narrowed.is_empty() {
                sqlx::query(
                    "UPDATE grants SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
                )
                .bind(&row.id)
                .bind($now)
                .execute(&mut *$tx)
                .await?;
            } else {
                sqlx::query("UPDATE grants SET scope = $2 WHERE id = $1")
                    .bind(&row.id)
                    .bind(&narrowed)
                    .execute(&mut *$tx)
                    .await?;
            }
        }
    }};
}
pub(crate) use {grant_scopes_sql, narrow_grants};

/// `SELECT` of a `Grant`, then `$tail`.
macro_rules! select {
    ($tail:literal) => {
        concat!(
            "SELECT id, kind, client_id, subject, resource, scope, created_at, revoked_at, \
             consent_fingerprint FROM grants ",
            $tail
        )
    };
}

impl Store {
    /// The live client_credentials grant of (client, resource), created on first use.
    /// Tokens share it, so the common case is one indexed read and no write.
    pub async fn client_credentials_grant(
        &self,
        client_id: &str,
        resource: &str,
        now: UnixTime,
    ) -> Result<String, sqlx::Error> {
        const CLIENT_CREDENTIALS_GRANT: &str = "INSERT INTO grants (id, kind, client_id, subject, \
            resource, scope, created_at) VALUES ($1, 'client_credentials', $2, $2, $3, '', $4)";
        const FIND: &str = "SELECT id FROM grants WHERE client_id = $1 AND resource = $2 AND kind \
            = 'client_credentials' AND revoked_at IS NULL";
        for _ in 0..2 {
            let found: Option<String> = on_pool!(self, |pool| sqlx::query_scalar(FIND)
                .bind(client_id)
                .bind(resource)
                .fetch_optional(&mut *pool)
                .await)?;
            if let Some(id) = found {
                return Ok(id);
            }
            let id = uuid::Uuid::now_v7().to_string();
            let inserted = on_pool!(self, |pool| sqlx::query(CLIENT_CREDENTIALS_GRANT)
                .bind(&id)
                .bind(client_id)
                .bind(resource)
                .bind(now)
                .execute(&mut *pool)
                .await
                .map(|_| ()));
            match inserted {
                Ok(_) => return Ok(id),
                // Another request created it first: read theirs.
                Err(e) if is_unique_violation(&e) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(sqlx::Error::RowNotFound)
    }

    pub async fn grant_status(&self, grant_id: &str) -> Result<Option<GrantStatus>, sqlx::Error> {
        on_pool!(self, |pool| sqlx::query_as::<_, GrantStatus>(status_sql!(
            "",
            "",
            "g.id = $1"
        ))
        .bind(grant_id)
        .fetch_optional(&mut *pool)
        .await)
    }

    /// The grant a refresh or a code redemption issues from, with its status: one read.
    pub async fn grant(&self, grant_id: &str) -> Result<Option<Grant>, sqlx::Error> {
        const GRANT: &str = select!("WHERE id = $1");
        on_pool!(self, |pool| sqlx::query_as::<_, Grant>(GRANT)
            .bind(grant_id)
            .fetch_optional(&mut *pool)
            .await)
    }

    pub async fn grants_of_client(&self, client_id: &str) -> Result<Vec<Grant>, sqlx::Error> {
        const GRANTS_OF_CLIENT: &str = select!("WHERE client_id = $1 ORDER BY id");
        on_pool!(self, |pool| sqlx::query_as::<_, Grant>(GRANTS_OF_CLIENT)
            .bind(client_id)
            .fetch_all(&mut *pool)
            .await)
    }

    /// The live grant a user gave a client for a resource: the remembered consent.
    pub async fn live_user_grant(
        &self,
        client_id: &str,
        user_id: &str,
        resource: &str,
    ) -> Result<Option<Grant>, sqlx::Error> {
        const LIVE_USER_GRANT: &str = select!(
            "WHERE client_id = $1 AND subject = $2 AND resource = $3 \
             AND kind = 'authorization_code' AND revoked_at IS NULL"
        );
        on_pool!(self, |pool| sqlx::query_as::<_, Grant>(LIVE_USER_GRANT)
            .bind(client_id)
            .bind(user_id)
            .bind(resource)
            .fetch_optional(&mut *pool)
            .await)
    }

    pub async fn user_grants(&self, user_id: &str) -> Result<Vec<UserGrant>, sqlx::Error> {
        const USER_GRANTS: &str = "SELECT g.id, c.name AS client_name, r.name AS resource_name, \
            g.resource, g.scope, g.created_at, g.last_used_at FROM grants g JOIN clients c ON \
            c.client_id = g.client_id LEFT JOIN resources r ON r.uri = g.resource WHERE g.subject \
            = $1 AND g.kind = 'authorization_code' AND g.revoked_at IS NULL ORDER BY g.created_at \
            DESC, g.id";
        on_pool!(self, |pool| sqlx::query_as::<_, UserGrant>(USER_GRANTS)
            .bind(user_id)
            .fetch_all(&mut *pool)
            .await)
    }

    /// Revokes a grant of this user only, recording `event` (filled in with the grant) in
    /// the same transaction; false when it is not theirs or already revoked.
    pub async fn revoke_user_grant(
        &self,
        grant_id: &str,
        user_id: &str,
        now: UnixTime,
        event: AuditEvent,
    ) -> Result<bool, sqlx::Error> {
        self.revoke_live(grant_id, Some(user_id), now, event).await
    }

    /// The root of an exchange chain: the grant's parent, or the grant itself.
    pub async fn grant_root(&self, grant_id: &str) -> Result<Option<String>, sqlx::Error> {
        const GRANT_ROOT: &str = "SELECT COALESCE(parent_id, id) FROM grants WHERE id = $1";
        on_pool!(self, |pool| sqlx::query_scalar(GRANT_ROOT)
            .bind(grant_id)
            .fetch_optional(&mut *pool)
            .await)
    }

    /// Marks a grant revoked (idempotent); true when it exists. Only a grant that was live
    /// until now records `event` (filled in with the grant's client, user and resource), in
    /// the same transaction: revoking twice is one event.
    pub async fn revoke_grant(
        &self,
        grant_id: &str,
        now: UnixTime,
        event: AuditEvent,
    ) -> Result<bool, sqlx::Error> {
        const GRANT_EXISTS: &str = "SELECT COUNT(*) FROM grants WHERE id = $1";
        if self.revoke_live(grant_id, None, now, event).await? {
            return Ok(true);
        }
        let count: i64 = on_pool!(self, |pool| sqlx::query_scalar(GRANT_EXISTS)
            .bind(grant_id)
            .fetch_one(&mut *pool)
            .await)?;
        Ok(count > 0)
    }

    /// Revokes a live grant (of `user_id` only, and only one they gave by consent, when
    /// given) with its audit event; false when there was none.
    async fn revoke_live(
        &self,
        grant_id: &str,
        user_id: Option<&str>,
        now: UnixTime,
        event: AuditEvent,
    ) -> Result<bool, sqlx::Error> {
        const REVOKE_LIVE: &str = "UPDATE grants SET revoked_at = $2 WHERE id = $1 AND \
            revoked_at IS NULL AND ($3 IS NULL OR (subject = $3 AND kind = 'authorization_code')) \
            RETURNING id, kind, client_id, subject, resource";
        let mut tx = self.begin().await?;
        let revoked = on_conn!(tx.conn(), |c| {
            sqlx::query_as::<_, RevokedGrant>(REVOKE_LIVE)
                .bind(grant_id)
                .bind(now)
                .bind(user_id)
                .fetch_optional(c)
                .await
        })?;
        let Some(revoked) = revoked else {
            return Ok(false);
        };
        record_revoked(&mut tx, revoked, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Revokes every grant of `holder` that is still in force, in one transaction: each
    /// recorded as `revoke_grant` records one, with its own copy of `event`. Grants already
    /// revoked (themselves or through their parent) are left as they are. Returns how many
    /// were revoked now.
    pub async fn revoke_grants(
        &self,
        holder: GrantHolder,
        now: UnixTime,
        event: &AuditEvent,
    ) -> Result<u64, sqlx::Error> {
        // `revoked_at IS NULL` again on the row itself: a concurrent revocation of the same
        // grant is re-checked against the row it committed, so the grant is counted once.
        const REVOKE_GRANTS: &str = concat!(
            "UPDATE grants SET revoked_at = $4 WHERE revoked_at IS NULL AND id IN (SELECT g.id \
             FROM grants g LEFT JOIN grants p ON p.id = g.parent_id WHERE ",
            filter_sql!(),
            " AND ",
            revoked_at_sql!(),
            " IS NULL) RETURNING id, kind, client_id, subject, resource"
        );
        let filter = GrantFilter::from(holder);
        let mut tx = self.begin().await?;
        let revoked = on_conn!(tx.conn(), |c| {
            sqlx::query_as::<_, RevokedGrant>(REVOKE_GRANTS)
                .bind(&filter.user)
                .bind(&filter.client_id)
                .bind(&filter.resource)
                .bind(now)
                .fetch_all(c)
                .await
        })?;
        let count = revoked.len() as u64;
        for grant in revoked {
            let event = AuditEvent {
                id: uuid::Uuid::now_v7().to_string(),
                ..event.clone()
            };
            record_revoked(&mut tx, grant, event).await?;
        }
        tx.commit().await?;
        Ok(count)
    }

    /// A page of the grants `filter` covers in `state`, newest first (`created_at`, then
    /// id: ids are UUID v7, so the later of one second's grants comes first), after
    /// `cursor`.
    pub async fn grants_page(
        &self,
        filter: &GrantFilter,
        state: GrantState,
        cursor: Option<&Cursor>,
        limit: i64,
    ) -> Result<Vec<GrantListingRow>, sqlx::Error> {
        const GRANTS_PAGE: &str = concat!(
            "SELECT g.id, g.kind, g.client_id, c.name AS client_name, g.subject, u.username, \
             g.resource, r.name AS resource_name, g.scope, g.parent_id, g.created_at, \
             g.last_used_at, ",
            revoked_at_sql!(),
            " AS revoked_at FROM grants g JOIN clients c ON c.client_id = g.client_id LEFT JOIN \
             resources r ON r.uri = g.resource LEFT JOIN grants p ON p.id = g.parent_id LEFT \
             JOIN users u ON u.id = g.subject AND g.kind <> 'client_credentials' WHERE ",
            filter_sql!(),
            " AND (($4 AND ",
            revoked_at_sql!(),
            " IS NULL) OR ($5 AND ",
            revoked_at_sql!(),
            " IS NOT NULL)) AND ($6 IS NULL OR g.created_at < $6 OR (g.created_at = $6 AND \
             g.id < $7)) ORDER BY g.created_at DESC, g.id DESC LIMIT $8"
        );
        on_pool!(self, |pool| sqlx::query_as::<_, GrantListingRow>(
            GRANTS_PAGE
        )
        .bind(&filter.user)
        .bind(&filter.client_id)
        .bind(&filter.resource)
        .bind(state.shows_live())
        .bind(state.shows_revoked())
        .bind(cursor.map(|c| c.at))
        .bind(cursor.map(|c| c.id.as_str()))
        .bind(limit)
        .fetch_all(&mut *pool)
        .await)
    }
}

/// Records a user's consent: the live grant of (client, user, resource) takes the consent's
/// scope and fingerprint, or a new grant starts. Returns the grant's id. Two approvals
/// racing to start the same grant: the loser's insert violates the live-grant unique index.
pub async fn record_consent(
    c: Conn<'_>,
    client_id: &str,
    user_id: &str,
    resource: &str,
    consent: &Consent,
    now: UnixTime,
) -> Result<String, sqlx::Error> {
    const LIVE_GRANT: &str = "SELECT id FROM grants WHERE client_id = $1 AND subject = $2 \
        AND resource = $3 AND kind = 'authorization_code' AND revoked_at IS NULL";
    const RENEW_GRANT: &str =
        "UPDATE grants SET scope = $2, consent_fingerprint = $3 WHERE id = $1";
    const NEW_GRANT: &str = "INSERT INTO grants (id, kind, client_id, subject, resource, scope, \
        created_at, consent_fingerprint) VALUES ($1, 'authorization_code', $2, $3, $4, $5, $6, $7)";
    on_conn!(c, |c| {
        let live: Option<String> = sqlx::query_scalar(LIVE_GRANT)
            .bind(client_id)
            .bind(user_id)
            .bind(resource)
            .fetch_optional(&mut *c)
            .await?;
        match live {
            Some(grant_id) => {
                sqlx::query(RENEW_GRANT)
                    .bind(&grant_id)
                    .bind(consent.scope.to_scope_string())
                    .bind(&consent.fingerprint)
                    .execute(&mut *c)
                    .await?;
                Ok(grant_id)
            }
            None => {
                let grant_id = uuid::Uuid::now_v7().to_string();
                sqlx::query(NEW_GRANT)
                    .bind(&grant_id)
                    .bind(client_id)
                    .bind(user_id)
                    .bind(resource)
                    .bind(consent.scope.to_scope_string())
                    .bind(now)
                    .bind(&consent.fingerprint)
                    .execute(&mut *c)
                    .await?;
                Ok(grant_id)
            }
        }
    })
}

/// Revokes, inside `tx`, every live grant recorded under `fingerprint` (the grants an
/// ID-JAG IdP's decisions made, when the admin stops trusting it), each with its own copy
/// of `event`. Grants exchanged from them fall with them (`revoked_at_sql`).
pub(crate) async fn revoke_by_fingerprint(
    tx: &mut Tx,
    fingerprint: &str,
    now: UnixTime,
    event: &AuditEvent,
) -> Result<u64, sqlx::Error> {
    const REVOKE: &str = "UPDATE grants SET revoked_at = $2 WHERE revoked_at IS NULL AND \
        consent_fingerprint = $1 RETURNING id, kind, client_id, subject, resource";
    let revoked = on_conn!(tx.conn(), |c| sqlx::query_as::<_, RevokedGrant>(REVOKE)
        .bind(fingerprint)
        .bind(now)
        .fetch_all(c)
        .await)?;
    let count = revoked.len() as u64;
    for grant in revoked {
        let event = AuditEvent {
            id: uuid::Uuid::now_v7().to_string(),
            ..event.clone()
        };
        record_revoked(tx, grant, event).await?;
    }
    Ok(count)
}
