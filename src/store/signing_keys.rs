//! The `signing_keys` table: public JWK in clear, private JWK sealed (see `crypto`).

use crate::clock::UnixTime;
use crate::domain::AuditEvent;
use crate::store::audit;
use crate::store::tx::Conn;
use crate::store::{Store, on_pool};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SigningKeyRow {
    pub kid: String,
    pub alg: String,
    pub public_jwk: String,
    pub private_jwe: String,
    pub created_at: UnixTime,
    pub activate_at: UnixTime,
}

const SELECT_ALL: &str =
    "SELECT kid, alg, public_jwk, private_jwe, created_at, activate_at FROM signing_keys";

// `initial` is UNIQUE: when several processes bootstrap an empty database at once,
// exactly one insert wins and the others load the winner's key.
const INSERT: &str = "INSERT INTO signing_keys (kid, alg, public_jwk, private_jwe, created_at, \
    activate_at, initial) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING";

impl Store {
    pub async fn signing_keys(&self) -> Result<Vec<SigningKeyRow>, sqlx::Error> {
        on_pool!(self, |pool| sqlx::query_as::<_, SigningKeyRow>(SELECT_ALL)
            .fetch_all(&mut *pool)
            .await)
    }

    /// Stores the first key unless another process already did; true when ours was stored.
    pub async fn insert_initial_signing_key(
        &self,
        key: &SigningKeyRow,
    ) -> Result<bool, sqlx::Error> {
        self.insert_signing_key(key, Some(1)).await
    }

    /// Stores a rotated-in key (it starts signing at its `activate_at`), with the rotation's
    /// audit event in the same transaction.
    pub async fn insert_rotated_signing_key(
        &self,
        key: &SigningKeyRow,
        event: &AuditEvent,
    ) -> Result<bool, sqlx::Error> {
        let inserted = on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(INSERT)
                .bind(&key.kid)
                .bind(&key.alg)
                .bind(&key.public_jwk)
                .bind(&key.private_jwe)
                .bind(key.created_at)
                .bind(key.activate_at)
                .bind(None::<i64>)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if inserted {
                audit::insert(Conn::from(&mut *tx), event).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(inserted)
        })?;
        if inserted {
            self.audited(event);
        }
        Ok(inserted)
    }

    async fn insert_signing_key(
        &self,
        key: &SigningKeyRow,
        initial: Option<i64>,
    ) -> Result<bool, sqlx::Error> {
        let result = on_pool!(self, |pool| sqlx::query(INSERT)
            .bind(&key.kid)
            .bind(&key.alg)
            .bind(&key.public_jwk)
            .bind(&key.private_jwe)
            .bind(key.created_at)
            .bind(key.activate_at)
            .bind(initial)
            .execute(&mut *pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(result == 1)
    }
}
