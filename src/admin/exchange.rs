//! Token exchange policy: which resources may exchange toward which (with scope mappings
//! and the clients allowed to impersonate), trusted external issuers, and the audit log.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::admin::{AdminError, Page, change_event, conflict_on_duplicate, key_source};
use crate::domain::{Actor, AuditEvent, AuditKind, Outcome, SubjectMode};
use crate::oauth::policy::uri_list;
use crate::oauth::resource::canonicalize;
use crate::store::Store;
use crate::store::audit::AuditFilter;
use crate::store::exchange::{DownstreamRow, TrustedIssuerRow};

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Downstream {
    /// A registered resource URI tokens for this resource may be exchanged toward.
    pub target: String,
    /// Source scope to the target scopes it may become (beyond scopes both accept).
    #[serde(default)]
    pub scope_map: BTreeMap<String, Vec<String>>,
    /// Clients that exchange for this target without an `act` claim.
    #[serde(default)]
    pub impersonation_clients: Vec<String>,
}

impl From<DownstreamRow> for Downstream {
    fn from(row: DownstreamRow) -> Downstream {
        Downstream {
            target: row.target,
            scope_map: serde_json::from_str(&row.scope_map).unwrap_or_default(),
            impersonation_clients: uri_list(&row.impersonators),
        }
    }
}

/// Replaces the downstream targets of resource `id`.
pub async fn set_downstreams(
    store: &Store,
    id: &str,
    links: Vec<Downstream>,
    now: i64,
    actor: &Actor,
) -> Result<Vec<Downstream>, AdminError> {
    let source = crate::admin::resources::get(store, id).await?;
    let before: Vec<Downstream> = store
        .downstreams_of(&source.uri)
        .await?
        .into_iter()
        .map(Downstream::from)
        .collect();
    let source_scopes = source.scopes.clone();
    let mut rows: Vec<DownstreamRow> = Vec::new();
    for link in links {
        let target_uri =
            canonicalize(&link.target).map_err(|m| AdminError::invalid("target", m))?;
        let target = store
            .resource_by_uri(&target_uri)
            .await?
            .filter(|t| !t.builtin)
            .ok_or_else(|| {
                AdminError::invalid(
                    "target",
                    format!("{target_uri} is not a registered resource"),
                )
            })?;
        if target.uri == source.uri || rows.iter().any(|r| r.target == target.uri) {
            return Err(AdminError::invalid(
                "target",
                format!("{target_uri} is listed twice or is the resource itself"),
            ));
        }
        let accepted = &target.scopes;
        for (from, to) in &link.scope_map {
            if !source_scopes.contains(from) {
                return Err(AdminError::invalid(
                    "scope_map",
                    format!("{from} is not accepted by {}", source.uri),
                ));
            }
            if let Some(bad) = to.iter().find(|s| !accepted.contains(s)) {
                return Err(AdminError::invalid(
                    "scope_map",
                    format!("{bad} is not accepted by {}", target.uri),
                ));
            }
        }
        for client in &link.impersonation_clients {
            if store.client(client).await?.is_none() {
                return Err(AdminError::invalid(
                    "impersonation_clients",
                    format!("no client {client}"),
                ));
            }
        }
        rows.push(DownstreamRow {
            source: source.uri.clone(),
            target: target.uri,
            scope_map: serde_json::to_string(&link.scope_map).map_err(anyhow::Error::from)?,
            impersonators: serde_json::to_string(&link.impersonation_clients)
                .map_err(anyhow::Error::from)?,
            created_at: now,
        });
    }
    let after: Vec<Downstream> = rows.iter().cloned().map(Downstream::from).collect();
    let event = AuditEvent::new(AuditKind::DownstreamsReplaced, actor.clone(), now)
        .resource(&source.uri)
        .details(json!({ "downstreams": { "before": before, "after": after } }));
    store
        .replace_downstreams(&source.uri, &rows, &event)
        .await?;
    Ok(after)
}

pub async fn downstreams(store: &Store, id: &str) -> Result<Vec<Downstream>, AdminError> {
    let source = crate::admin::resources::get(store, id).await?;
    Ok(store
        .downstreams_of(&source.uri)
        .await?
        .into_iter()
        .map(Downstream::from)
        .collect())
}

/// Adds `link` to resource `id`'s downstream targets, or replaces the link to the same
/// target (the console edits one link at a time; the rules are `set_downstreams`').
pub async fn put_downstream(
    store: &Store,
    id: &str,
    link: Downstream,
    now: i64,
    actor: &Actor,
) -> Result<Vec<Downstream>, AdminError> {
    let target = canonicalize(&link.target).map_err(|m| AdminError::invalid("target", m))?;
    let mut links = downstreams(store, id).await?;
    match links.iter_mut().find(|l| l.target == target) {
        Some(existing) => *existing = link,
        None => links.push(link),
    }
    set_downstreams(store, id, links, now, actor).await
}

/// Removes the link from resource `id` to the resource `target_id`.
pub async fn remove_downstream(
    store: &Store,
    id: &str,
    target_id: &str,
    now: i64,
    actor: &Actor,
) -> Result<Vec<Downstream>, AdminError> {
    let target = crate::admin::resources::get(store, target_id).await?;
    let mut links = downstreams(store, id).await?;
    let before = links.len();
    links.retain(|l| l.target != target.uri);
    if links.len() == before {
        return Err(AdminError::NotFound(format!(
            "no downstream link to {}",
            target.uri
        )));
    }
    set_downstreams(store, id, links, now, actor).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewTrustedIssuer)]
pub struct NewIssuer {
    pub issuer: String,
    pub jwks_uri: String,
    /// The aud its tokens carry: the URI of the Warden resource they count as.
    pub audience: String,
    /// Default ES256 and RS256.
    #[serde(default = "default_algs")]
    #[schema(schema_with = key_source::algorithms_schema)]
    pub algorithms: Vec<String>,
    /// `keep` (default) or `username`.
    #[schema(value_type = Option<SubjectMode>)]
    pub subject: Option<String>,
}

fn default_algs() -> Vec<String> {
    vec!["ES256".into(), "RS256".into()]
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = TrustedIssuer)]
pub struct IssuerView {
    pub id: String,
    pub issuer: String,
    pub jwks_uri: String,
    pub audience: String,
    #[schema(schema_with = key_source::algorithms_schema)]
    pub algorithms: Vec<String>,
    #[schema(value_type = SubjectMode)]
    pub subject: String,
    /// Unix time, seconds.
    pub created_at: i64,
}

impl From<TrustedIssuerRow> for IssuerView {
    fn from(r: TrustedIssuerRow) -> IssuerView {
        IssuerView {
            id: r.id,
            issuer: r.issuer,
            jwks_uri: r.jwks_uri,
            audience: r.audience,
            algorithms: r.algorithms.split(' ').map(str::to_owned).collect(),
            subject: r.subject_mode.as_str().to_owned(),
            created_at: r.created_at,
        }
    }
}

pub async fn add_issuer(
    store: &Store,
    input: NewIssuer,
    now: i64,
    actor: &Actor,
) -> Result<IssuerView, AdminError> {
    key_source::https_url("issuer", &input.issuer)?;
    key_source::https_url("jwks_uri", &input.jwks_uri)?;
    let audience = canonicalize(&input.audience).map_err(|m| AdminError::invalid("audience", m))?;
    key_source::algorithms(&input.algorithms)?;
    let subject = match input.subject.as_deref() {
        None => SubjectMode::Keep,
        Some(mode) => mode
            .parse()
            .map_err(|_| AdminError::invalid("subject", "must be keep or username"))?,
    };
    let row = TrustedIssuerRow {
        id: uuid::Uuid::now_v7().to_string(),
        issuer: input.issuer,
        jwks_uri: input.jwks_uri,
        algorithms: input.algorithms.join(" "),
        audience,
        subject_mode: subject,
        created_at: now,
    };
    let event = change_event(
        AuditKind::TrustedIssuerCreated,
        actor,
        now,
        Value::Null,
        IssuerView::from(row.clone()),
    );
    store
        .insert_trusted_issuer(&row, &event)
        .await
        .map_err(|e| {
            conflict_on_duplicate(e, format!("issuer {} is already trusted", row.issuer))
        })?;
    Ok(IssuerView::from(row))
}

pub async fn issuers(store: &Store) -> Result<Vec<IssuerView>, AdminError> {
    Ok(store
        .trusted_issuers()
        .await?
        .into_iter()
        .map(IssuerView::from)
        .collect())
}

pub async fn remove_issuer(
    store: &Store,
    id: &str,
    now: i64,
    actor: &Actor,
) -> Result<(), AdminError> {
    let before = store
        .trusted_issuers()
        .await?
        .into_iter()
        .find(|t| t.id == id);
    let event = change_event(
        AuditKind::TrustedIssuerDeleted,
        actor,
        now,
        before.map(IssuerView::from),
        Value::Null,
    )
    .detail("id", id);
    if !store.delete_trusted_issuer(id, &event).await? {
        return Err(AdminError::NotFound(format!("no trusted issuer {id}")));
    }
    Ok(())
}

/// One token exchange as `GET /admin/v1/exchanges` has always shown it, read from the
/// audit log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Exchange)]
pub struct ExchangeView {
    pub id: String,
    /// Unix time, seconds.
    pub at: i64,
    pub client_id: String,
    pub subject: String,
    pub source: String,
    pub target: String,
    pub scope: String,
    pub actor: String,
    /// `issued` or `refused`.
    #[schema(value_type = String)]
    pub outcome: &'static str,
    pub reason: String,
}

impl From<AuditEvent> for ExchangeView {
    fn from(e: AuditEvent) -> ExchangeView {
        let detail = |name: &str| {
            e.details
                .get(name)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        ExchangeView {
            source: detail("source"),
            scope: detail("scope"),
            actor: detail("actor"),
            id: e.id,
            at: e.at,
            client_id: e.client_id.unwrap_or_default(),
            subject: e.subject.unwrap_or_default(),
            target: e.resource.unwrap_or_default(),
            outcome: match e.outcome {
                Outcome::Success => "issued",
                Outcome::Failure => "refused",
            },
            reason: e.reason,
        }
    }
}

/// Token exchanges, newest first, after `before` (the previous page's `next`).
pub async fn audit(
    store: &Store,
    before: Option<&str>,
    limit: i64,
) -> Result<Page<ExchangeView>, AdminError> {
    let filter = AuditFilter {
        kind: Some(AuditKind::TokenExchange),
        ..Default::default()
    };
    crate::admin::audit::page(store, &filter, before, limit)
        .await
        .map(|page| page.map(ExchangeView::from))
}
