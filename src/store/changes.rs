//! Cache invalidation, emitted by the writes that need it. Every store write that can
//! disable, revoke or rewrite something a node may hold in memory announces one `Change`
//! per entity it changed: to this process's subscribers (the hot-path cache) at once, and
//! on Postgres to every node as `NOTIFY warden_cache, '<kind>:<key>'`. Nothing else clears
//! caches; a node whose listener reconnects forgets everything (`Change::Everything`),
//! since notifications may have been missed meanwhile.

use std::sync::{Arc, RwLock};

use crate::store::{Db, Store};

/// The channel on which nodes tell each other what changed.
pub const CHANNEL: &str = "warden_cache";

/// An entity whose cached copies are stale.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Change {
    /// A client, by `client_id`: its row, and the grants it holds or that were exchanged
    /// from its grants.
    Client(String),
    /// A resource, by canonical URI.
    Resource(String),
    /// A grant, by id, and the grants exchanged from it.
    Grant(String),
    /// A user, by id: the grants they gave.
    User(String),
    /// Anything: only when notifications may have been lost.
    Everything,
}

impl Change {
    fn payload(&self) -> String {
        match self {
            Change::Client(id) => format!("client:{id}"),
            Change::Resource(uri) => format!("resource:{uri}"),
            Change::Grant(id) => format!("grant:{id}"),
            Change::User(id) => format!("user:{id}"),
            Change::Everything => "everything:".to_owned(),
        }
    }

    /// The change a notification names; an unknown or empty payload (an older node's
    /// `NOTIFY` carried none) means everything.
    pub fn from_payload(payload: &str) -> Change {
        let Some((kind, key)) = payload.split_once(':') else {
            return Change::Everything;
        };
        let key = key.to_owned();
        match kind {
            "client" => Change::Client(key),
            "resource" => Change::Resource(key),
            "grant" => Change::Grant(key),
            "user" => Change::User(key),
            _ => Change::Everything,
        }
    }
}

type Subscriber = Box<dyn Fn(&Change) + Send + Sync>;

/// This process's subscribers to changes.
#[derive(Default)]
pub struct ChangeHub {
    subscribers: RwLock<Vec<Subscriber>>,
}

impl std::fmt::Debug for ChangeHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChangeHub")
    }
}

impl ChangeHub {
    /// Tells this process's subscribers (synchronously: the write's response is not sent
    /// before they have forgotten what it made stale).
    pub fn apply(&self, change: &Change) {
        let subscribers = self.subscribers.read().unwrap_or_else(|p| p.into_inner());
        for subscriber in subscribers.iter() {
            subscriber(change);
        }
    }
}

/// Sends `changes` to every node's listener in one round trip; inside a transaction they
/// are delivered at commit. (Postgres only: `unnest` of an array.)
pub(crate) async fn notify(
    conn: &mut sqlx::PgConnection,
    changes: &[Change],
) -> Result<(), sqlx::Error> {
    const NOTIFY: &str = "SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload";
    if changes.is_empty() {
        return Ok(());
    }
    let payloads: Vec<String> = changes.iter().map(Change::payload).collect();
    sqlx::query(NOTIFY)
        .bind(CHANNEL)
        .bind(payloads)
        .execute(conn)
        .await
        .map(|_| ())
}

impl Store {
    /// Calls `subscriber` with every change this process makes or hears of.
    pub fn subscribe(&self, subscriber: impl Fn(&Change) + Send + Sync + 'static) {
        self.changes
            .subscribers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(Box::new(subscriber));
    }

    /// Announces changes a write just made outside a transaction: here at once, then to the
    /// other nodes. A failed notification is logged, not returned: the write is done, and
    /// the other nodes' entries still expire after `WARDEN_CACHE_TTL`.
    pub(crate) async fn changed(&self, changes: &[Change]) {
        for change in changes {
            self.changes.apply(change);
        }
        if let Db::Postgres(pool) = &self.db
            && !changes.is_empty()
        {
            let sent = match super::pool_metrics::acquire(pool, &self.health).await {
                Ok(mut conn) => notify(&mut conn, changes).await,
                Err(e) => Err(e),
            };
            if let Err(e) = sent {
                tracing::warn!(error = %e, "could not notify other nodes of a change");
            }
        }
    }

    /// A listener for `CHANNEL`, on Postgres (an embedded SQLite file has one server).
    pub async fn changes_listener(
        &self,
    ) -> Option<Result<sqlx::postgres::PgListener, sqlx::Error>> {
        match &self.db {
            Db::Postgres(pool) => Some(
                async {
                    let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
                    listener.listen(CHANNEL).await?;
                    Ok(listener)
                }
                .await,
            ),
            Db::Sqlite(_) => None,
        }
    }

    /// Applies a change another node announced (or this one: its own notifications come
    /// back too, and forgetting twice is harmless).
    pub fn heard(&self, change: &Change) {
        self.changes.apply(change);
    }
}

/// The hub, shared by every clone of a `Store`.
pub(crate) fn hub() -> Arc<ChangeHub> {
    Arc::new(ChangeHub::default())
}

#[cfg(test)]
mod tests {
    use super::Change;

    #[test]
    fn a_change_survives_its_notification_payload() {
        for change in [
            Change::Client("https://app.example/client.json".into()),
            Change::Resource("https://mcp.example/mcp".into()),
            Change::Grant("0192".into()),
            Change::User("u:1".into()),
            Change::Everything,
        ] {
            assert_eq!(Change::from_payload(&change.payload()), change);
        }
        assert_eq!(Change::from_payload(""), Change::Everything);
        assert_eq!(Change::from_payload("table:x"), Change::Everything);
    }
}
