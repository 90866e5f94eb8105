//! Reading the audit log: the filters of `GET /admin/v1/audit` and `warden audit`, and
//! the cursor of its pages (newest first).

use serde::Deserialize;

use crate::admin::{AdminError, MAX_PAGE, Page, PageQuery};
use crate::domain::{ActorKind, AuditEvent, AuditKind};
use crate::store::Store;
use crate::store::audit::{AuditFilter, Cursor};

/// The query of `GET /admin/v1/audit`.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// An actor id (user id or client id), an actor kind (`user`, `client`,
    /// `admin_client`, `cli`, `system`, `anonymous`), or `kind:id`.
    pub actor: Option<String>,
    /// The user id the events concern.
    pub subject: Option<String>,
    /// A client id.
    pub client: Option<String>,
    /// A resource URI.
    pub resource: Option<String>,
    /// One kind of event.
    #[param(value_type = Option<AuditKind>, inline)]
    pub kind: Option<String>,
    /// Events at or after this time (Unix seconds).
    pub since: Option<i64>,
    /// Events before this time (Unix seconds).
    pub until: Option<i64>,
    /// Page size.
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<i64>,
    /// The `next` of the previous page.
    pub before: Option<String>,
}

impl AuditQuery {
    pub fn filter(&self) -> Result<AuditFilter, AdminError> {
        let (actor_kind, actor_id) = match self.actor.as_deref() {
            None => (None, None),
            Some(actor) => actor_filter(actor),
        };
        let kind = match self.kind.as_deref() {
            None => None,
            Some(kind) => Some(kind.parse::<AuditKind>().map_err(|e| {
                AdminError::invalid("kind", format!("{e} (see docs/admin.md#audit-log)"))
            })?),
        };
        Ok(AuditFilter {
            actor_kind,
            actor_id,
            subject: self.subject.clone(),
            client_id: self.client.clone(),
            resource: self.resource.clone(),
            kind,
            since: self.since,
            until: self.until,
        })
    }
}

/// `cli` is a kind, `admin_client:abc` a kind and an id, anything else an id (client ids
/// may be URLs, whose scheme is no kind).
fn actor_filter(actor: &str) -> (Option<ActorKind>, Option<String>) {
    if let Ok(kind) = actor.parse::<ActorKind>() {
        return (Some(kind), None);
    }
    if let Some((kind, id)) = actor.split_once(':')
        && let Ok(kind) = kind.parse::<ActorKind>()
    {
        return (Some(kind), Some(id.to_owned()));
    }
    (None, Some(actor.to_owned()))
}

/// One page of events matching `filter`, newest first, after `before`.
pub async fn page(
    store: &Store,
    filter: &AuditFilter,
    before: Option<&str>,
    limit: i64,
) -> Result<Page<AuditEvent>, AdminError> {
    let cursor = match before {
        None => None,
        Some(raw) => Some(Cursor::parse(raw).ok_or_else(|| {
            AdminError::invalid("before", "not a cursor from a previous page's next")
        })?),
    };
    let events = store.audit_page(filter, cursor.as_ref(), limit).await?;
    Ok(Page::of(events, limit, |e| Cursor::of(e).to_string()))
}

/// `GET /admin/v1/audit`.
pub async fn list(store: &Store, query: &AuditQuery) -> Result<Page<AuditEvent>, AdminError> {
    let limit = PageQuery {
        limit: query.limit,
        after: None,
    }
    .limit()?;
    page(store, &query.filter()?, query.before.as_deref(), limit).await
}

/// The newest `n` events, oldest of them first (`warden audit tail`).
pub async fn tail(store: &Store, n: i64) -> Result<Vec<AuditEvent>, AdminError> {
    let mut events = Vec::new();
    let mut cursor = None;
    while (events.len() as i64) < n {
        let want = (n - events.len() as i64).min(MAX_PAGE);
        let page = store
            .audit_page(&AuditFilter::default(), cursor.as_ref(), want)
            .await?;
        let done = (page.len() as i64) < want;
        cursor = page.last().map(Cursor::of);
        events.extend(page);
        if done {
            break;
        }
    }
    events.reverse();
    Ok(events)
}

/// Every event at or after `since`, oldest first, a page at a time to `each`.
pub async fn export(
    store: &Store,
    since: i64,
    mut each: impl FnMut(&AuditEvent) -> anyhow::Result<()>,
) -> Result<(), AdminError> {
    let mut cursor = None;
    loop {
        let page = store.audit_since(since, cursor.as_ref(), MAX_PAGE).await?;
        for event in &page {
            each(event)?;
        }
        if (page.len() as i64) < MAX_PAGE {
            return Ok(());
        }
        cursor = page.last().map(Cursor::of);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_actor_filter_is_a_kind_an_id_or_both() {
        assert_eq!(actor_filter("cli"), (Some(ActorKind::Cli), None));
        assert_eq!(
            actor_filter("admin_client:abc"),
            (Some(ActorKind::AdminClient), Some("abc".into()))
        );
        assert_eq!(
            actor_filter("https://app.example/client.json"),
            (None, Some("https://app.example/client.json".into()))
        );
    }
}
