//! Transactions over either backend. A flow that changes more than one row takes one with
//! `Store::begin()`, runs the aggregate modules' statements on `tx.conn()` (each statement
//! is written once, as a function over a `Conn`), and commits. Dropping a `Tx` without
//! committing rolls it back. Changes the flow records with `tx.changed(...)` are announced
//! in the transaction (Postgres `NOTIFY` is delivered at commit, so other nodes never hear
//! of a change that was rolled back) and applied to this node's caches after the commit.

use sqlx::{PgConnection, Postgres, Sqlite, SqliteConnection, Transaction};

use crate::domain::AuditEvent;
use crate::store::changes::Change;
use crate::store::{Db, Store, pool_metrics};

/// One connection of either backend: a pooled one, or the one a transaction holds.
pub enum Conn<'a> {
    Postgres(&'a mut PgConnection),
    Sqlite(&'a mut SqliteConnection),
}

impl<'a> From<&'a mut PgConnection> for Conn<'a> {
    fn from(c: &'a mut PgConnection) -> Self {
        Conn::Postgres(c)
    }
}

impl<'a> From<&'a mut SqliteConnection> for Conn<'a> {
    fn from(c: &'a mut SqliteConnection) -> Self {
        Conn::Sqlite(c)
    }
}

/// Runs `$body` with `$c` bound to the connection inside a `Conn`, once per backend.
macro_rules! on_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::store::tx::Conn::Postgres($c) => $body,
            $crate::store::tx::Conn::Sqlite($c) => $body,
        }
    };
}
pub(crate) use on_conn;

enum Inner {
    Postgres(Transaction<'static, Postgres>),
    Sqlite(Transaction<'static, Sqlite>),
}

/// An open transaction; see the module header.
pub struct Tx {
    inner: Inner,
    store: Store,
    changes: Vec<Change>,
    /// Events written in this transaction, logged after the commit (`WARDEN_AUDIT_LOG`).
    audited: Vec<AuditEvent>,
    /// Open from `begin` until the commit or the rollback (`store::db_span`).
    _span: tracing::Span,
}

impl Store {
    /// Begins a transaction on a connection taken like every other (its wait timed, failing
    /// fast during an outage).
    #[track_caller]
    pub fn begin(&self) -> impl Future<Output = Result<Tx, sqlx::Error>> + '_ {
        // The caller's file names the flow (`code.namespace`): `module_path!` here would
        // name this module for every transaction.
        let caller = std::panic::Location::caller().file();
        let span = super::db_span(&self.db, "transaction", caller);
        self.begin_in(span)
    }

    async fn begin_in(&self, span: tracing::Span) -> Result<Tx, sqlx::Error> {
        let inner = match &self.db {
            Db::Postgres(p) => {
                let conn = pool_metrics::acquire(p, &self.health).await?;
                Inner::Postgres(Transaction::begin(conn, None).await?)
            }
            Db::Sqlite(p) => {
                let conn = pool_metrics::acquire(p, &self.health).await?;
                Inner::Sqlite(Transaction::begin(conn, None).await?)
            }
        };
        Ok(Tx {
            inner,
            store: self.clone(),
            changes: Vec::new(),
            audited: Vec::new(),
            _span: span,
        })
    }
}

impl Tx {
    /// The transaction's connection, for the aggregate modules' statements.
    pub fn conn(&mut self) -> Conn<'_> {
        match &mut self.inner {
            Inner::Postgres(tx) => Conn::Postgres(tx),
            Inner::Sqlite(tx) => Conn::Sqlite(tx),
        }
    }

    /// Records that `change` happens if this transaction commits.
    pub fn changed(&mut self, change: Change) {
        if !self.changes.contains(&change) {
            self.changes.push(change);
        }
    }

    /// Records `event` in the audit log, in this transaction: it exists if the change does.
    pub async fn audit(&mut self, event: AuditEvent) -> Result<(), sqlx::Error> {
        crate::store::audit::insert(self.conn(), &event).await?;
        self.audited.push(event);
        Ok(())
    }

    /// Commits, then forgets what the changes made stale on this node. Other nodes hear of
    /// them through the `NOTIFY`s sent inside the transaction.
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        let changes = std::mem::take(&mut self.changes);
        if let Inner::Postgres(tx) = &mut self.inner {
            crate::store::changes::notify(tx, &changes).await?;
        }
        match self.inner {
            Inner::Postgres(tx) => tx.commit().await?,
            Inner::Sqlite(tx) => tx.commit().await?,
        }
        for change in &changes {
            self.store.changes.apply(change);
        }
        if self.store.logs_audit_events() {
            self.audited.iter().for_each(crate::store::audit::log);
        }
        Ok(())
    }
}
