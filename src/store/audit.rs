//! The audit log (`audit_events`): written with `insert` on the connection of the change it
//! records (so a rolled-back change leaves no event), read newest first with filters and a
//! cursor on (at, id), purged after the retention period.

use serde_json::Value;

use crate::clock::UnixTime;
use crate::domain::{Actor, ActorKind, AuditEvent, AuditKind, Outcome, UnknownValue};
use crate::store::tx::{Conn, on_conn};
use crate::store::{Store, on_pool};

macro_rules! columns {
    () => {
        "id, at, kind, actor_kind, actor_id, subject, client_id, resource, grant_id, \
         source_addr, outcome, reason, details"
    };
}

#[derive(Debug, sqlx::FromRow)]
struct AuditRow {
    id: String,
    at: UnixTime,
    kind: String,
    actor_kind: String,
    actor_id: Option<String>,
    subject: Option<String>,
    client_id: Option<String>,
    resource: Option<String>,
    grant_id: Option<String>,
    source_addr: Option<String>,
    outcome: String,
    reason: String,
    details: String,
}

impl TryFrom<AuditRow> for AuditEvent {
    type Error = UnknownValue;

    fn try_from(r: AuditRow) -> Result<AuditEvent, UnknownValue> {
        Ok(AuditEvent {
            id: r.id,
            at: r.at,
            kind: r.kind.parse::<AuditKind>()?,
            actor: Actor {
                kind: r.actor_kind.parse::<ActorKind>()?,
                id: r.actor_id,
            },
            subject: r.subject,
            client_id: r.client_id,
            resource: r.resource,
            grant_id: r.grant_id,
            source: r.source_addr,
            outcome: r.outcome.parse::<Outcome>()?,
            reason: r.reason,
            // Written by us from a `Value`; a row copied by the migration that does not
            // parse still shows everything else.
            details: serde_json::from_str(&r.details).unwrap_or(Value::Null),
        })
    }
}

fn decode(rows: Vec<AuditRow>) -> Result<Vec<AuditEvent>, sqlx::Error> {
    rows.into_iter()
        .map(|r| AuditEvent::try_from(r).map_err(|e| sqlx::Error::Decode(Box::new(e))))
        .collect()
}

/// Which events a listing returns; every member narrows it.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub actor_kind: Option<ActorKind>,
    pub actor_id: Option<String>,
    pub subject: Option<String>,
    pub client_id: Option<String>,
    pub resource: Option<String>,
    pub kind: Option<AuditKind>,
    /// At or after.
    pub since: Option<UnixTime>,
    /// Before.
    pub until: Option<UnixTime>,
}

/// Where the previous page (newest first) ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub at: UnixTime,
    pub id: String,
}

impl Cursor {
    pub fn of(event: &AuditEvent) -> Cursor {
        Cursor {
            at: event.at,
            id: event.id.clone(),
        }
    }

    /// `{at}.{id}`: ids are UUIDs, which hold no dot.
    pub fn parse(value: &str) -> Option<Cursor> {
        let (at, id) = value.split_once('.')?;
        Some(Cursor {
            at: at.parse().ok()?,
            id: id.to_owned(),
        })
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.at, self.id)
    }
}

/// Binds `$1`…`$13` of an insert to the event's columns, in `columns!()` order.
macro_rules! bind_event {
    ($query:expr, $event:expr) => {
        $query
            .bind(&$event.id)
            .bind($event.at)
            .bind($event.kind.as_str())
            .bind($event.actor.kind.as_str())
            .bind(&$event.actor.id)
            .bind(&$event.subject)
            .bind(&$event.client_id)
            .bind(&$event.resource)
            .bind(&$event.grant_id)
            .bind(&$event.source)
            .bind($event.outcome.as_str())
            .bind(&$event.reason)
            .bind($event.details.to_string())
    };
}

/// Records `event` on `c`: inside a transaction, it stands or falls with the change.
pub async fn insert(c: Conn<'_>, event: &AuditEvent) -> Result<(), sqlx::Error> {
    const INSERT_EVENT: &str = concat!(
        "INSERT INTO audit_events (",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    );
    on_conn!(c, |c| bind_event!(sqlx::query(INSERT_EVENT), event)
        .execute(c)
        .await
        .map(|_| ()))
}

/// Records `event` unless one of its kind about its subject was recorded at or after
/// `since` (a repeated condition, once per period); true when it was written. One statement:
/// on SQLite a read followed by a write in one transaction can fail at once under
/// concurrent writers (`SQLITE_BUSY_SNAPSHOT`), where a single write waits its turn.
pub async fn insert_once_since(
    c: Conn<'_>,
    event: &AuditEvent,
    since: UnixTime,
) -> Result<bool, sqlx::Error> {
    const INSERT_ONCE: &str = concat!(
        "INSERT INTO audit_events (",
        columns!(),
        ") SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 WHERE NOT EXISTS \
         (SELECT 1 FROM audit_events WHERE subject = $6 AND kind = $3 AND at >= $14)"
    );
    on_conn!(c, |c| bind_event!(sqlx::query(INSERT_ONCE), event)
        .bind(since)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// One JSON log line (target `audit`) for an event already written (`WARDEN_AUDIT_LOG`).
pub fn log(event: &AuditEvent) {
    tracing::info!(
        target: "audit",
        id = %event.id,
        at = event.at,
        kind = %event.kind,
        actor_kind = %event.actor.kind,
        actor_id = event.actor.id.as_deref(),
        subject = event.subject.as_deref(),
        client_id = event.client_id.as_deref(),
        resource = event.resource.as_deref(),
        grant_id = event.grant_id.as_deref(),
        source = event.source.as_deref(),
        outcome = %event.outcome,
        reason = %event.reason,
        details = %event.details,
        "audit event"
    );
}

impl Store {
    /// Records an event that belongs to no other write (a refused sign-in), on a
    /// connection of its own.
    pub async fn audit(&self, event: &AuditEvent) -> Result<(), sqlx::Error> {
        on_pool!(self, |pool| insert(Conn::from(&mut *pool), event).await)?;
        if self.logs_audit_events() {
            log(event);
        }
        Ok(())
    }

    /// `insert_once_since` on a connection of its own.
    pub async fn audit_once_since(
        &self,
        event: &AuditEvent,
        since: UnixTime,
    ) -> Result<(), sqlx::Error> {
        let written = on_pool!(self, |pool| insert_once_since(
            Conn::from(&mut *pool),
            event,
            since
        )
        .await)?;
        if written {
            self.audited(event);
        }
        Ok(())
    }

    /// A page of events, newest first, after `cursor`.
    pub async fn audit_page(
        &self,
        filter: &AuditFilter,
        cursor: Option<&Cursor>,
        limit: i64,
    ) -> Result<Vec<AuditEvent>, sqlx::Error> {
        const AUDIT_PAGE: &str = concat!(
            "SELECT ",
            columns!(),
            " FROM audit_events WHERE ($1 IS NULL OR actor_kind = $1) AND ($2 IS NULL OR \
             actor_id = $2) AND ($3 IS NULL OR subject = $3) AND ($4 IS NULL OR client_id = \
             $4) AND ($5 IS NULL OR resource = $5) AND ($6 IS NULL OR kind = $6) AND ($7 IS \
             NULL OR at >= $7) AND ($8 IS NULL OR at < $8) AND ($9 IS NULL OR at < $9 OR (at \
             = $9 AND id < $10)) ORDER BY at DESC, id DESC LIMIT $11"
        );
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, AuditRow>(AUDIT_PAGE)
            .bind(filter.actor_kind.map(ActorKind::as_str))
            .bind(&filter.actor_id)
            .bind(&filter.subject)
            .bind(&filter.client_id)
            .bind(&filter.resource)
            .bind(filter.kind.map(AuditKind::as_str))
            .bind(filter.since)
            .bind(filter.until)
            .bind(cursor.map(|c| c.at))
            .bind(cursor.map(|c| c.id.as_str()))
            .bind(limit)
            .fetch_all(&mut *pool)
            .await)?;
        decode(rows)
    }

    /// Events at or after `since`, oldest first, after `cursor` (an export in pages).
    pub async fn audit_since(
        &self,
        since: UnixTime,
        cursor: Option<&Cursor>,
        limit: i64,
    ) -> Result<Vec<AuditEvent>, sqlx::Error> {
        const AUDIT_SINCE: &str = concat!(
            "SELECT ",
            columns!(),
            " FROM audit_events WHERE at >= $1 AND ($2 IS NULL OR at > $2 OR (at = $2 AND id > \
             $3)) ORDER BY at, id LIMIT $4"
        );
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, AuditRow>(AUDIT_SINCE)
            .bind(since)
            .bind(cursor.map(|c| c.at))
            .bind(cursor.map(|c| c.id.as_str()))
            .bind(limit)
            .fetch_all(&mut *pool)
            .await)?;
        decode(rows)
    }

    /// Deletes events older than `before`; returns how many.
    pub async fn purge_audit(&self, before: UnixTime) -> Result<u64, sqlx::Error> {
        const PURGE_AUDIT: &str = "DELETE FROM audit_events WHERE at < $1";
        on_pool!(self, |pool| sqlx::query(PURGE_AUDIT)
            .bind(before)
            .execute(&mut *pool)
            .await
            .map(|r| r.rows_affected()))
    }

    /// Logs `event` (with `WARDEN_AUDIT_LOG`) once the transaction that wrote it committed.
    pub(crate) fn audited(&self, event: &AuditEvent) {
        if self.logs_audit_events() {
            log(event);
        }
    }

    /// `WARDEN_AUDIT_LOG`: also log every event, once it is committed.
    pub fn log_audit_events(&self, on: bool) {
        self.audit_log
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn logs_audit_events(&self) -> bool {
        self.audit_log.load(std::sync::atomic::Ordering::Relaxed)
    }
}
