//! OAuth clients.

use crate::clock::UnixTime;
use crate::domain::{
    AuditEvent, Client, GrantTypes, RedirectUri, Registration, ResourceUri, ScopeSet,
};
use crate::store::audit;
use crate::store::changes::Change;
use crate::store::grants::{GrantsOf, Narrow, narrow_grants};
use crate::store::tx::Conn;
use crate::store::{Store, on_pool};

/// A `clients` row as stored; `Client` is what the rest of Warden sees.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ClientRow {
    pub client_id: String,
    /// Keyed hash of the secret; NULL for public clients.
    pub secret_hash: Option<String>,
    pub name: String,
    pub token_endpoint_auth_method: String,
    /// JSON array.
    pub redirect_uris: String,
    /// Space-separated grant type names.
    pub grant_types: String,
    /// JSON array of canonical resource URIs the client may get tokens for; `[]` = any.
    pub resources: String,
    /// Space-separated scopes the client may request; NULL = whatever the resource accepts.
    pub scopes: Option<String>,
    /// JSON array of canonical resource URIs this client serves (acts as, introspects for).
    pub served_resources: String,
    pub enabled: bool,
    /// `admin`, `dynamic` (RFC 7591) or `metadata_document`.
    pub registration: String,
    /// `private_key_jwt` keys: an inline JWK Set, or where to fetch one.
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    pub registration_token_hash: Option<String>,
    /// Registered metadata as echoed by RFC 7591/7592 (dynamic clients only).
    pub metadata: Option<String>,
    /// RFC 9449 §5.2: tokens only with a DPoP proof.
    pub dpop_bound_access_tokens: bool,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// The columns of a `ClientRow`.
macro_rules! columns {
    () => {
        concat!(
            "client_id, secret_hash, name, token_endpoint_auth_method, redirect_uris, \
                grant_types, ",
            "resources, scopes, served_resources, enabled, registration, jwks, jwks_uri, \
                registration_token_hash, metadata, ",
            "dpop_bound_access_tokens, created_at, updated_at"
        )
    };
}

macro_rules! select {
    ($tail:literal) => {
        concat!("SELECT ", columns!(), " FROM clients ", $tail)
    };
}

/// A client's last use: the latest creation or recorded use of any of its grants (a grant
/// is created by the first token or consent, and `last_used_at` is written when a code or
/// refresh token is redeemed, at most once a minute). Grants are never deleted but with
/// their client, so NULL means the client never obtained one. The client_credentials path
/// writes nothing per token, so for it this is the first token per resource.
macro_rules! last_used {
    () => {
        "(SELECT MAX(COALESCE(g.last_used_at, g.created_at)) FROM grants g WHERE g.client_id = \
            clients.client_id)"
    };
}

/// A client with its last use, as listings show it.
#[derive(Debug, sqlx::FromRow)]
struct ClientUseRow {
    #[sqlx(flatten)]
    client: ClientRow,
    last_used_at: Option<UnixTime>,
}

/// What a client listing may filter on; `None` leaves a criterion out.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClientFilter {
    pub registration: Option<Registration>,
    /// Last used strictly before this time (never-used clients excluded).
    pub last_used_before: Option<UnixTime>,
    /// Last used at or after this time.
    pub used_since: Option<UnixTime>,
    /// `Some(true)`: never obtained a grant; `Some(false)`: did.
    pub never_authorized: Option<bool>,
}

fn decode(e: impl std::error::Error + Send + Sync + 'static) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

fn uris<T: serde::de::DeserializeOwned>(json: &str) -> Result<Vec<T>, sqlx::Error> {
    serde_json::from_str(json).map_err(decode)
}

fn to_json<T: serde::Serialize>(list: &[T]) -> String {
    // A list of strings always serializes.
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

impl TryFrom<ClientRow> for Client {
    type Error = sqlx::Error;

    fn try_from(row: ClientRow) -> Result<Client, sqlx::Error> {
        Ok(Client {
            token_endpoint_auth_method: row.token_endpoint_auth_method.parse().map_err(decode)?,
            redirect_uris: uris::<RedirectUri>(&row.redirect_uris)?,
            grant_types: GrantTypes::parse_space_separated(&row.grant_types).map_err(decode)?,
            resources: uris::<ResourceUri>(&row.resources)?,
            scopes: row.scopes.as_deref().map(ScopeSet::from_stored),
            served_resources: uris::<ResourceUri>(&row.served_resources)?,
            registration: row.registration.parse().map_err(decode)?,
            client_id: row.client_id,
            secret_hash: row.secret_hash,
            name: row.name,
            enabled: row.enabled,
            jwks: row.jwks,
            jwks_uri: row.jwks_uri,
            registration_token_hash: row.registration_token_hash,
            metadata: row.metadata,
            dpop_bound_access_tokens: row.dpop_bound_access_tokens,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

impl From<&Client> for ClientRow {
    fn from(c: &Client) -> ClientRow {
        ClientRow {
            client_id: c.client_id.clone(),
            secret_hash: c.secret_hash.clone(),
            name: c.name.clone(),
            token_endpoint_auth_method: c.token_endpoint_auth_method.as_str().to_owned(),
            redirect_uris: to_json(&c.redirect_uris),
            grant_types: c.grant_types.to_space_separated(),
            resources: to_json(&c.resources),
            scopes: c.scopes.as_ref().map(ScopeSet::to_scope_string),
            served_resources: to_json(&c.served_resources),
            enabled: c.enabled,
            registration: c.registration.as_str().to_owned(),
            jwks: c.jwks.clone(),
            jwks_uri: c.jwks_uri.clone(),
            registration_token_hash: c.registration_token_hash.clone(),
            metadata: c.metadata.clone(),
            dpop_bound_access_tokens: c.dpop_bound_access_tokens,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

fn clients(rows: Vec<ClientRow>) -> Result<Vec<Client>, sqlx::Error> {
    rows.into_iter().map(Client::try_from).collect()
}

impl Store {
    pub async fn client(&self, client_id: &str) -> Result<Option<Client>, sqlx::Error> {
        const CLIENT: &str = select!("WHERE client_id = $1");
        let row = on_pool!(self, |pool| sqlx::query_as::<_, ClientRow>(CLIENT)
            .bind(client_id)
            .fetch_optional(&mut *pool)
            .await)?;
        row.map(Client::try_from).transpose()
    }

    pub async fn clients_page(&self, after: &str, limit: i64) -> Result<Vec<Client>, sqlx::Error> {
        const CLIENTS_PAGE: &str = select!("WHERE client_id > $1 ORDER BY client_id LIMIT $2");
        clients(on_pool!(self, |pool| sqlx::query_as::<_, ClientRow>(
            CLIENTS_PAGE
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *pool)
        .await)?)
    }

    /// A page of the clients that pass `filter`, each with its last use. One statement for
    /// every combination: a criterion left out is a NULL parameter, so nothing is built at
    /// run time.
    pub async fn clients_page_filtered(
        &self,
        filter: &ClientFilter,
        after: &str,
        limit: i64,
    ) -> Result<Vec<(Client, Option<UnixTime>)>, sqlx::Error> {
        const CLIENTS_PAGE_FILTERED: &str = concat!(
            "SELECT ",
            columns!(),
            ", last_used_at FROM (SELECT ",
            columns!(),
            ", ",
            last_used!(),
            " AS last_used_at FROM clients WHERE client_id > $1 AND ($2 IS NULL OR \
                registration = $2)) c WHERE ($3 IS NULL OR last_used_at < $3) AND ($4 IS NULL \
                OR last_used_at >= $4) AND ($5 IS NULL OR (last_used_at IS NULL) = $5) ORDER BY \
                client_id LIMIT $6"
        );
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, ClientUseRow>(
            CLIENTS_PAGE_FILTERED
        )
        .bind(after)
        .bind(filter.registration.map(Registration::as_str))
        .bind(filter.last_used_before)
        .bind(filter.used_since)
        .bind(filter.never_authorized)
        .bind(limit)
        .fetch_all(&mut *pool)
        .await)?;
        rows.into_iter()
            .map(|r| Ok((Client::try_from(r.client)?, r.last_used_at)))
            .collect()
    }

    /// When client `client_id` was last used (see `last_used!`); `None` if never.
    pub async fn client_last_used(&self, client_id: &str) -> Result<Option<UnixTime>, sqlx::Error> {
        const CLIENT_LAST_USED: &str = concat!(
            "SELECT ",
            last_used!(),
            " FROM clients WHERE client_id = $1"
        );
        let found: Option<Option<UnixTime>> =
            on_pool!(self, |pool| sqlx::query_scalar(CLIENT_LAST_USED)
                .bind(client_id)
                .fetch_optional(&mut *pool)
                .await)?;
        Ok(found.flatten())
    }

    /// Replaces the secret of a client that has one (`secret_hash` the new keyed hash), with
    /// `event` in the same transaction; false when there is no such confidential client.
    /// Announces the change, so no node goes on accepting the old secret from its cache.
    pub async fn rotate_client_secret(
        &self,
        client_id: &str,
        secret_hash: &str,
        now: UnixTime,
        event: &AuditEvent,
    ) -> Result<bool, sqlx::Error> {
        const ROTATE_SECRET: &str = "UPDATE clients SET secret_hash = $2, updated_at = $3 WHERE \
            client_id = $1 AND secret_hash IS NOT NULL";
        let rotated = on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let rotated = sqlx::query(ROTATE_SECRET)
                .bind(client_id)
                .bind(secret_hash)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if rotated {
                audit::insert(Conn::from(&mut *tx), event).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(rotated)
        })?;
        if rotated {
            self.audited(event);
            self.changed(&[Change::Client(client_id.to_owned())]).await;
        }
        Ok(rotated)
    }

    /// Registers a client, with its audit event in the same transaction.
    pub async fn insert_client(&self, c: &Client, event: &AuditEvent) -> Result<(), sqlx::Error> {
        let c = &ClientRow::from(c);
        const INSERT_CLIENT: &str = "INSERT INTO clients (client_id, secret_hash, name, \
            token_endpoint_auth_method, redirect_uris, grant_types, resources, scopes, \
            served_resources, enabled, registration, jwks, jwks_uri, registration_token_hash, \
            metadata, dpop_bound_access_tokens, created_at, updated_at) VALUES ($1, $2, $3, $4, \
            $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)";
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(INSERT_CLIENT)
                .bind(&c.client_id)
                .bind(&c.secret_hash)
                .bind(&c.name)
                .bind(&c.token_endpoint_auth_method)
                .bind(&c.redirect_uris)
                .bind(&c.grant_types)
                .bind(&c.resources)
                .bind(&c.scopes)
                .bind(&c.served_resources)
                .bind(c.enabled)
                .bind(&c.registration)
                .bind(&c.jwks)
                .bind(&c.jwks_uri)
                .bind(&c.registration_token_hash)
                .bind(&c.metadata)
                .bind(c.dpop_bound_access_tokens)
                .bind(c.created_at)
                .bind(c.updated_at)
                .execute(&mut *tx)
                .await?;
            audit::insert(Conn::from(&mut *tx), event).await?;
            tx.commit().await
        })?;
        self.audited(event);
        Ok(())
    }

    /// Replaces every mutable field of client `c.client_id` (not its secret; the RFC 7591 echo
    /// too, which must say what is enforced), and narrows its live user grants to the scopes
    /// it may have now, in the same transaction. `event` is written in the transaction.
    pub async fn update_client(
        &self,
        c: &Client,
        narrow: Narrow,
        event: &AuditEvent,
    ) -> Result<bool, sqlx::Error> {
        let c = &ClientRow::from(c);
        const UPDATE_CLIENT: &str = "UPDATE clients SET name = $2, token_endpoint_auth_method = \
            $3, redirect_uris = $4, grant_types = $5, resources = $6, scopes = $7, \
            served_resources = $8, enabled = $9, updated_at = $10, dpop_bound_access_tokens = $11, \
            metadata = $12 WHERE client_id = $1";
        let result = on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let updated = sqlx::query(UPDATE_CLIENT)
                .bind(&c.client_id)
                .bind(&c.name)
                .bind(&c.token_endpoint_auth_method)
                .bind(&c.redirect_uris)
                .bind(&c.grant_types)
                .bind(&c.resources)
                .bind(&c.scopes)
                .bind(&c.served_resources)
                .bind(c.enabled)
                .bind(c.updated_at)
                .bind(c.dpop_bound_access_tokens)
                .bind(&c.metadata)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            narrow_grants!(tx, GrantsOf::Client(&c.client_id), narrow, c.updated_at);
            if updated {
                audit::insert(Conn::from(&mut *tx), event).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(updated)
        })?;
        if result {
            self.audited(event);
        }
        self.changed(&[Change::Client(c.client_id.clone())]).await;
        Ok(result)
    }

    /// Deletes a client; its grants go with it (ON DELETE CASCADE), so its tokens die. Grants
    /// exchanged from them (RFC 8693) belong to other clients and stay as rows, so they are
    /// revoked first, in the same transaction: a token derived from a deleted client's
    /// grant must not outlive it.
    /// `event` is written in the transaction.
    pub async fn delete_client(
        &self,
        client_id: &str,
        now: UnixTime,
        event: &AuditEvent,
    ) -> Result<bool, sqlx::Error> {
        const REVOKE_DERIVED: &str = "UPDATE grants SET revoked_at = COALESCE(revoked_at, $2) \
            WHERE parent_id IN (SELECT id FROM grants WHERE client_id = $1)";
        const DELETE_CLIENT: &str = "DELETE FROM clients WHERE client_id = $1";
        let result = on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(REVOKE_DERIVED)
                .bind(client_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let deleted = sqlx::query(DELETE_CLIENT)
                .bind(client_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if deleted {
                audit::insert(Conn::from(&mut *tx), event).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(deleted)
        })?;
        if result {
            self.audited(event);
        }
        self.changed(&[Change::Client(client_id.to_owned())]).await;
        Ok(result)
    }
}
